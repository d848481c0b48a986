"""Three augmentations Keras has no working layer for, written with `keras.ops` only (any backend): slant, elastic
distortion and stroke width. They change the training images only; at inference they pass the image through.

Keras 3.15's `RandomShear` would slant, but a model holding it cannot be loaded again (its saved config stores the
range as (-f, f), which its own constructor then refuses), and it shears about the top row, so the digit also moves
sideways; `RandomSlant` leans the image about its centre.

Keras 3 has `RandomElasticTransform`, but it ties its smoothing to its strength (sigma = 1.4 px x scale on a 28 px
image, at most 1.4 px): on MNIST it shreds strokes into noise instead of bending them as Simard et al. (2003) do with
a field smoothed over 4 px. People's pens also differ from MNIST's writers' in width, which no Keras layer changes.

The layers are registered with Keras under the package name below, so a model that holds them saves to a `.keras`
file and loads again wherever this module has been imported (`model_files.load_model_file` imports it); the script
`code` exports defines the same classes under the same names.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops

from mnist_core.networks.config import ELASTIC_SIGMA

PACKAGE = "MnistLab"


def gaussian_taps(sigma: float) -> list[float]:
    """A normalised 1-D Gaussian, cut at two sigmas each side."""
    radius = math.ceil(2 * sigma)
    taps = [math.exp(-(i * i) / (2 * sigma * sigma)) for i in range(-radius, radius + 1)]
    return [tap / sum(taps) for tap in taps]


def bilinear(images, rows, columns):
    """(B, H, W, 1) images read at (B, H, W) fractional rows and columns, bilinearly; outside the image is 0.
    (`ops.image.map_coordinates` would do it, but under TensorFlow it needs the batch size when the graph is built.)"""
    shape = ops.shape(images)
    height, width = shape[1], shape[2]
    flat = ops.reshape(images, (-1,))
    first = ops.cast(ops.arange(shape[0]) * height * width, "int32")[:, None, None]  # each image's first pixel
    top, left = ops.floor(rows), ops.floor(columns)
    result = 0.0
    for row, row_weight in ((top, 1.0 - (rows - top)), (top + 1.0, rows - top)):
        for column, column_weight in ((left, 1.0 - (columns - left)), (left + 1.0, columns - left)):
            inside = (row >= 0) & (row <= height - 1) & (column >= 0) & (column <= width - 1)
            r = ops.cast(ops.clip(row, 0, height - 1), "int32")
            c = ops.cast(ops.clip(column, 0, width - 1), "int32")
            value = ops.take(flat, first + r * width + c)
            result = result + ops.where(inside, value * row_weight * column_weight, 0.0)
    return result


class RandomAmount(layers.Layer):
    """An augmentation of a random amount for each image, up to `factor`; what it does is the subclass' `call`."""

    def __init__(self, factor: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.factor, self.seed = float(factor), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "seed": self.seed}


@keras.saving.register_keras_serializable(package=PACKAGE)
class RandomSlant(RandomAmount):
    """Leans each image left or right about its centre: each row moves sideways by the slope times its height above
    or below the middle row, a slope drawn for each image up to `factor` either way (0.2 is 11 degrees)."""

    def call(self, images, training=None):
        if not training or not self.factor:
            return images
        shape = ops.shape(images)
        batch, height, width = shape[0], shape[1], shape[2]
        slope = keras.random.uniform((batch, 1, 1), -self.factor, self.factor, seed=self.seed_generator)
        rows = ops.cast(ops.arange(height), "float32")[None, :, None]
        columns = ops.cast(ops.arange(width), "float32")[None, None, :] + slope * (rows - (height - 1) / 2)
        return bilinear(images, rows + ops.zeros_like(columns), columns)[..., None]


@keras.saving.register_keras_serializable(package=PACKAGE)
class RandomElasticDistortion(layers.Layer):
    """Moves every pixel along a random field, smoothed by a Gaussian of `sigma` pixels and scaled by `alpha`, a new
    field for each image (Simard et al., 2003: alpha 34, sigma 4 on MNIST)."""

    def __init__(self, alpha: float, sigma: float = ELASTIC_SIGMA, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.alpha, self.sigma, self.seed = float(alpha), float(sigma), seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        taps = np.asarray(gaussian_taps(self.sigma), "float32")
        # The field's two channels (row and column shifts) are smoothed alike, down the rows then across: a
        # separable Gaussian as two depthwise kernels, (height, width, channels, 1).
        self._down = np.repeat(taps[:, None, None, None], 2, axis=2)
        self._across = np.repeat(taps[None, :, None, None], 2, axis=2)

    def call(self, images, training=None):
        if not training or not self.alpha:
            return images
        shape = ops.shape(images)
        batch, height, width = shape[0], shape[1], shape[2]
        field = keras.random.uniform((batch, height, width, 2), -1.0, 1.0, seed=self.seed_generator)
        field = ops.depthwise_conv(field, self._down, strides=1, padding="same")
        field = ops.depthwise_conv(field, self._across, strides=1, padding="same") * self.alpha
        rows = ops.cast(ops.arange(height), "float32")[None, :, None] + field[..., 0]
        columns = ops.cast(ops.arange(width), "float32")[None, None, :] + field[..., 1]
        return bilinear(images, rows, columns)[..., None]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "sigma": self.sigma, "seed": self.seed}


@keras.saving.register_keras_serializable(package=PACKAGE)
class RandomStrokeWidth(RandomAmount):
    """Thicker or thinner strokes, a random amount for each image up to `factor` (0 to 1) either way. Thicker: the
    image moves toward its 3x3 dilation by that share. Thinner: the grey edge of every stroke is cut back, the ink
    below that share of half the image's brightest ink is dropped and the rest stretched to it again (an erosion
    would dim a stroke two pixels wide as much as thin it)."""

    def call(self, images, training=None):
        if not training or not self.factor:
            return images
        share = keras.random.uniform(
            (ops.shape(images)[0], 1, 1, 1), -self.factor, self.factor, seed=self.seed_generator
        )
        thicker = images + ops.relu(share) * (ops.max_pool(images, pool_size=3, strides=1, padding="same") - images)
        brightest = ops.max(images, axis=(1, 2, 3), keepdims=True)
        cut = ops.relu(-share) / 2
        thinner = ops.minimum(ops.relu(images - cut * brightest) / (1 - cut), brightest)
        return ops.where(share > 0, thicker, thinner)


# The layer classes this module adds to what Keras knows, by name: the loader's custom objects (and the layers it
# does not call unknown when a file fails to load).
OWN_LAYERS = {cls.__name__: cls for cls in (RandomSlant, RandomElasticDistortion, RandomStrokeWidth)}
