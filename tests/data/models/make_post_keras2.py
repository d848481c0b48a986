"""Make `post-keras2.h5`: the seed post's model, trained briefly and saved by real Keras 2 as an HDF5 file.

The post (`../shared/seed/` from the repository root) builds its CNN with Keras 2's `Sequential`: Conv 16 -> pool ->
Conv 36 -> pool -> Dropout -> Flatten -> Dense 128 -> Dropout -> Dense 10 softmax, compiles it with Adam and
categorical cross-entropy, and fits with a 20% validation split. This script does the same with two changes so that
it takes seconds: 10,000 training images for 2 epochs at batch 32 (the post: all 60,000 for 20 epochs at batch 256).
The post's text shows no save step; Keras 2 users saved with `model.save("....h5")` (legacy HDF5, optimizer state
included), which is what this does. It also records what Keras 2 measured on the 10,000 MNIST test images in
`post-keras2.json`, which the tests compare with the same file opened by Keras 3 through
`mnist_core.networks.model_files`.

It needs Keras 2 itself: the `tf_keras` package, which is NOT a project requirement. It was run once like this, with
the project's virtualenv (TensorFlow 2.21) and tf_keras installed beside it in a throwaway folder:

    .venv/bin/pip install --no-deps --target /tmp/tfk "tf_keras==2.21.*"
    PYTHONPATH=/tmp/tfk TF_CPP_MIN_LOG_LEVEL=3 .venv/bin/python tests/data/models/make_post_keras2.py

MNIST comes from the project's cache (Keras' mnist.npz layout): ~/.cache/mnist-lab/mnist.npz, or $MNIST_LAB_CACHE.
Rerunning it here wrote byte-identical files.

Measured: post-keras2.h5 is 2,836,136 bytes (232,590 weights, 0.93 MB, plus Adam's two moments for each). Keras 2
gives 96.68% on the MNIST test set; Keras 3.15.1 opening it through `mnist_core.networks.model_files` gives 96.68%
too, with the same answer for all 10,000 test images.
"""

import json
import os
from pathlib import Path

import numpy as np
import tensorflow as tf
import tf_keras as keras  # Keras 2: the post's `from keras.models import Sequential` etc.
from tf_keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from tf_keras.models import Sequential

HERE = Path(__file__).resolve().parent
TRAIN_IMAGES = 10_000
EPOCHS = 2
BATCH_SIZE = 32
SEED = 0

cache = Path(os.environ.get("MNIST_LAB_CACHE", Path.home() / ".cache" / "mnist-lab" / "mnist.npz"))
with np.load(cache) as npz:
    x_train, y_train, x_test, y_test = (npz[k] for k in ("x_train", "y_train", "x_test", "y_test"))
x_train, y_train = x_train[:TRAIN_IMAGES], y_train[:TRAIN_IMAGES]

# The post's preprocessing: (N, 28, 28, 1) float32 in [0, 1], one-hot labels.
x_train4d = x_train.reshape(x_train.shape[0], 28, 28, 1).astype("float32") / 255
x_test4d = x_test.reshape(x_test.shape[0], 28, 28, 1).astype("float32") / 255
y_train_onehot = keras.utils.to_categorical(y_train)
y_test_onehot = keras.utils.to_categorical(y_test)

keras.utils.set_random_seed(SEED)

# The post's model, layer for layer.
model = Sequential()
model.add(Conv2D(filters=16, kernel_size=(3, 3), padding="same", input_shape=(28, 28, 1), activation="relu"))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Conv2D(filters=36, kernel_size=(3, 3), padding="same", activation="relu"))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Dropout(0.25))
model.add(Flatten())
model.add(Dense(128, activation="relu"))
model.add(Dropout(0.25))
model.add(Dense(10, activation="softmax"))
model.summary()

model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(
    x=x_train4d,
    y=y_train_onehot,
    validation_split=0.2,
    epochs=EPOCHS,
    batch_size=BATCH_SIZE,
    verbose=2,
)
scores = model.evaluate(x_test4d, y_test_onehot, verbose=0)
predicted = np.argmax(model.predict(x_test4d, verbose=0), axis=1)
print("test accuracy:", scores[1])

target = HERE / "post-keras2.h5"
model.save(str(target))  # the legacy HDF5 format, as the post's readers saved it
record = {
    "file": target.name,
    "saved_by": f"tf_keras {keras.__version__} on TensorFlow {tf.__version__}",
    "train_images": TRAIN_IMAGES,
    "epochs": EPOCHS,
    "batch_size": BATCH_SIZE,
    "validation_split": 0.2,
    "test_accuracy": float(scores[1]),
    # Keras 2's answer for every test image, one digit each: the tests check Keras 3 gives the same answers.
    "test_predictions": "".join(map(str, predicted)),
}
(HERE / "post-keras2.json").write_text(json.dumps(record, indent=2) + "\n")
print(f"wrote {target} ({target.stat().st_size / 1e6:.2f} MB) and post-keras2.json")
