"""The network a RunConfig describes: the blog post's model, its parameter counts, its optional layers."""

import keras
import numpy as np

from mnist_core.networks.config import RunConfig
from mnist_core.networks.model import build_model, describe


def test_the_posts_model_matches_the_post():
    rows, parameters = describe(RunConfig())
    assert parameters == 232_590  # the post's model.summary() total
    types = [row["type"] for row in rows]
    assert types == [
        "InputLayer",
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "MaxPooling2D",
        "Dropout",
        "Flatten",
        "Dense",
        "Dropout",
        "Dense",
    ]
    shapes = {row["layer"]: row["output_shape"] for row in rows}
    assert shapes["conv1"] == "28x28x16"
    assert shapes["pool2"] == "7x7x36"
    assert shapes["digit"] == "10"


def conv(kernel: int, channels_in: int, filters: int) -> int:
    """Weights and biases of a convolution layer."""
    return kernel * kernel * channels_in * filters + filters


def dense(inputs: int, units: int) -> int:
    return inputs * units + units


def test_parameter_counts_follow_the_filters_block_by_block():
    """Each block's convolution, then the 2x2 pooling halving the field (28, 14, 7, 3), then dense 128 and 10."""
    counts = {filters: describe(RunConfig(filters=filters))[1] for filters in [(16,), (16, 36), (16, 36, 64), (32, 64)]}
    assert counts == {
        (16,): conv(3, 1, 16) + dense(14 * 14 * 16, 128) + dense(128, 10),  # 402,986
        (16, 36): conv(3, 1, 16) + conv(3, 16, 36) + dense(7 * 7 * 36, 128) + dense(128, 10),  # 232,590
        (16, 36, 64): conv(3, 1, 16) + conv(3, 16, 36) + conv(3, 36, 64) + dense(3 * 3 * 64, 128) + dense(128, 10),
        (32, 64): conv(3, 1, 32) + conv(3, 32, 64) + dense(7 * 7 * 64, 128) + dense(128, 10),  # 421,642
    }
    assert len(set(counts.values())) == 4


def test_options_add_their_layers():
    model = build_model(
        RunConfig(filters=(8, 8), convs_per_block=2, batch_norm=True, augment_shift=0.1, augment_rotation=10)
    )
    names = [layer.name for layer in model.layers]
    assert "augmentation" in names
    assert "conv1_2" in names
    assert "conv2_2_bn" in names
    assert model.output_shape == (None, 10)


def test_every_layer_is_plain_keras_so_the_model_reloads_in_safe_mode_and_answers_the_same(tmp_path):
    """Built from Keras layers only (no Lambda, no backend ops): the saved file opens with plain
    keras.saving.load_model, safe mode on (which refuses a Lambda's saved code), and gives the same probabilities."""
    config = RunConfig(filters=(8, 8), convs_per_block=2, batch_norm=True, augment_shift=0.1, augment_rotation=10)
    model = build_model(config)
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    images = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    assert np.allclose(reloaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)
