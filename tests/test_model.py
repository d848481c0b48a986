"""The network a RunConfig describes: the blog post's model, its parameter counts, its optional layers."""

import keras
import numpy as np

from mnist_core.networks.config import RunConfig
from mnist_core.networks.model import build_model, describe, inference_only
from mnist_core.networks.presets import get_preset


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


def test_slant_leans_an_upright_stroke_about_the_centre_and_only_while_training():
    model = build_model(RunConfig(filters=(8,), dense_units=16, augment_shear=0.3))
    [slant] = model.get_layer("augmentation").layers
    assert (type(slant).__name__, slant.factor) == ("RandomSlant", 0.3)
    bar = np.zeros((1, 28, 28, 1), np.float32)
    bar[0, 4:24, 13:15] = 1.0  # an upright stroke
    slanted = keras.ops.convert_to_numpy(slant(np.repeat(bar, 8, axis=0), training=True))
    spans = [np.flatnonzero(image[:, :, 0].max(axis=0) > 0.3) for image in slanted]
    assert max(len(span) for span in spans) > 4  # at least one now leans across more than its 2 columns
    for image in slanted:  # about the centre: the middle rows stay where they were, the ink is all there
        assert np.allclose(image[13:15, :, 0].sum(axis=1), 2.0, atol=0.35)
        assert image[13:15, 12:16, 0].sum() > 3.0
        assert abs(image.sum() - bar.sum()) < 0.05 * bar.sum()
    assert np.array_equal(keras.ops.convert_to_numpy(slant(bar, training=False)), bar)


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


def test_inference_only_drops_the_augmentation_and_shares_the_weights():
    config = RunConfig(filters=(8, 8), batch_norm=True, augment_shift=0.1, augment_shear=0.2, augment_stroke=0.5)
    model = build_model(config)
    lean = inference_only(model)
    assert [layer.name for layer in lean.layers] == [
        layer.name for layer in model.layers if layer.name != "augmentation"
    ]
    assert lean.get_layer("conv1") is model.get_layer("conv1")  # the trained weights, not new ones
    images = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    assert np.allclose(lean.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)


def test_inference_only_leaves_a_model_without_augmentation_or_with_a_branch_as_it_is():
    plain = build_model(RunConfig(filters=(8,)))
    assert inference_only(plain) is plain
    inputs = keras.Input((28, 28, 1), name="image")
    augmented = keras.layers.RandomRotation(0.1, name="augmentation")(inputs)
    features = keras.layers.Flatten()(keras.layers.Concatenate()([inputs, augmented]))  # reads the input twice
    branched = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(features))
    assert inference_only(branched) is branched


def test_the_fast_preset_is_conv5x5_24_conv3x3_32_valid_then_dense_256_as_its_layer_arithmetic_says():
    """'valid' padding: 28 -> 24 (5x5) -> pool 12 -> 10 (3x3) -> pool 5, so the dense layer sees 5 x 5 x 32 = 800."""
    rows, parameters = describe(get_preset("fast").config)
    shapes = {row["layer"]: row["output_shape"] for row in rows}
    assert [shapes[name] for name in ("conv1", "pool1", "conv2", "pool2", "flatten")] == [
        "24x24x24",
        "12x12x24",
        "10x10x32",
        "5x5x32",
        "800",
    ]
    assert "Dropout" not in {row["type"] for row in rows}
    assert parameters == conv(5, 1, 24) + conv(3, 24, 32) + dense(800, 256) + dense(256, 10) == 215_194


def test_mixed_bfloat16_is_set_layer_by_layer_with_float32_weights_and_probabilities():
    config = RunConfig(filters=(8, 8), batch_norm=True, augment_shift=0.1, precision="mixed_bfloat16")
    model = build_model(config)
    layers = {layer.name: layer for layer in model.layers}
    for name in ("conv1", "conv1_bn", "pool1", "conv2", "flatten", "dense", "dropout_dense"):
        assert layers[name].dtype_policy.name == "mixed_bfloat16", name
        assert layers[name].compute_dtype == "bfloat16", name
    assert {layer.dtype_policy.name for layer in layers["augmentation"].layers} == {"float32"}  # as the script's
    assert all(weight.dtype == "float32" for weight in model.weights)  # the weights Adam updates stay float32
    assert layers["digit"].dtype_policy.name == "float32"  # softmax and the loss in float32
    probabilities = model.predict(np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32), verbose=0)
    assert probabilities.dtype == np.float32
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    # Never Keras' global policy: the next model a long-lived worker builds is float32 again.
    assert keras.config.dtype_policy().name == "float32"
    assert {layer.compute_dtype for layer in build_model(RunConfig(filters=(8,))).layers[1:]} == {"float32"}


def test_a_mixed_bfloat16_model_reloads_with_its_precision_and_answers_the_same(tmp_path):
    model = build_model(get_preset("fast").config.replace(precision="mixed_bfloat16"))
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert reloaded.get_layer("conv1").compute_dtype == "bfloat16"
    images = np.random.default_rng(1).random((4, 28, 28, 1), dtype=np.float32)
    assert np.allclose(reloaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)
