"""Inside the network, layer by layer: every layer's output for one digit, from real (untrained) Keras models."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mnist_core.inspection.layers import FEATURE_MAPS, INPUT, PROBABILITIES, UNSUPPORTED, VECTOR, LayerInspector
from mnist_core.inspection.predict import Predictor
from mnist_core.networks.config import RunConfig
from mnist_core.networks.model import build_model
from mnist_core.networks.model_files import as_digit_classifier, load_model_file
from mnist_core.networks.presets import PRESETS
from mnist_core.presentation import layer_pictures as pictures

IMAGE = np.random.default_rng(0).random((28, 28)).astype(np.float32)


def every_layer(model, prefix: str = "") -> list[str]:
    """The model's layers in order, those of nested models by their path, as the view names them."""
    names = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model):
            names += every_layer(layer, f"{prefix}{layer.name}/")
        else:
            names.append(prefix + layer.name)
    return names


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_is_shown_layer_by_layer_from_the_input_to_the_probabilities(preset):
    config = PRESETS[preset].config
    model = build_model(config)
    view = LayerInspector(model).inspect(IMAGE)
    steps = view.steps

    assert [s.name for s in steps] == ["input", *every_layer(model)]
    assert [s.index for s in steps] == list(range(len(steps)))
    assert steps[0].kind == INPUT
    assert steps[-1].kind == PROBABILITIES
    assert np.allclose(view.probabilities, model.predict_on_batch(IMAGE[None, ..., None])[0], atol=1e-5)
    for step in steps[1:]:
        if "/" not in step.name:  # not inside the augmentation
            assert step.output_shape == tuple(model.get_layer(step.name).output.shape[1:])
        assert step.kind in (FEATURE_MAPS, VECTOR, PROBABILITIES)
        assert step.note
        if step.type == "Conv2D":
            expected = "before normalisation" if config.batch_norm else "After ReLU (built into this Conv2D)"
            assert expected in str(step.note)
        if step.type == "Dropout" or step.type.startswith("Random"):
            assert "does nothing at inference" in str(step.note)
            assert np.array_equal(step.activations, steps[step.fed_by].activations)  # its output is its input
        if step.kind == FEATURE_MAPS:
            assert step.activations.shape == (step.output_shape[2], *step.output_shape[:2])
    if config.batch_norm:  # each step between the convolution and the pooling is shown
        types = [s.type for s in steps]
        first = types.index("Conv2D")
        assert types[first : first + 3] == ["Conv2D", "BatchNormalization", "Activation"]
        assert steps[first + 2].activations.min() >= 0
    names = [s.name for s in steps]
    assert names.index("flatten") < names.index("digit")
    assert steps[names.index("flatten")].kind == VECTOR


def test_one_forward_pass_gives_every_layer(monkeypatch):
    model = build_model(PRESETS["best"].config)
    inspector = LayerInspector(model)
    calls = []
    original = keras.Model.predict_on_batch

    def counting(self, *args, **kwargs):
        calls.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "predict_on_batch", counting)
    monkeypatch.setattr(keras.Model, "predict", lambda *a, **k: pytest.fail("predict was called"))
    view = inspector.inspect(IMAGE)
    assert calls == ["layer_view"]
    assert len(view.steps) == 30
    assert view.map_count > 1000  # ~1700 maps for the largest preset, all from that one pass


def test_one_colour_scale_per_layer():
    model = build_model(RunConfig(filters=(8,), dense_units=16))
    step = LayerInspector(model).inspect(IMAGE).steps[1]
    assert step.value_range == (float(step.activations.min()), float(step.activations.max()))
    # Two maps, the second half the first: on one scale the second is dimmer, not stretched to full brightness.
    maps = np.stack([step.activations[0], step.activations[0] / 2])
    low, high = float(maps.min()), float(maps.max())
    sheet = pictures.maps_sheet(maps, (low, high), columns=2)
    tile = sheet.shape[1] // 2 - 2
    first, second = sheet[:tile, :tile], sheet[:tile, -tile:]
    assert first.max() == pictures.LEVELS
    assert abs(int(second.max()) - pictures.LEVELS // 2) <= 1


def test_negative_values_get_the_cold_colours_and_zero_is_black():
    levels = pictures.levels(np.array([-2.0, 0.0, 1.0, 2.0]), (-2.0, 2.0))
    assert levels.tolist() == [2 * pictures.LEVELS, 0, pictures.LEVELS // 2, pictures.LEVELS]
    assert pictures.colours(levels)[1].tolist() == [0, 0, 0]


def test_kernel_slices_are_the_weights_of_the_convolution_that_made_the_map():
    keras.utils.set_random_seed(1)
    model = build_model(RunConfig(filters=(4, 6), batch_norm=True, dense_units=8, kernel_size=3))
    inspector = LayerInspector(model)
    view = inspector.inspect(IMAGE)
    names = [s.name for s in view.steps]

    first = inspector.kernel_for(view, names.index("conv1_relu"), 2)  # a ReLU's map: made by conv1's channel 2
    kernel1 = model.get_layer("conv1").kernel.numpy()
    assert first.conv_name == "conv1"
    assert len(first.slices) == 1
    assert np.array_equal(first.slices[0].weights, kernel1[:, :, 0, 2])
    assert np.array_equal(first.slices[0].input_map, IMAGE)
    assert first.bias is None  # batch norm's offset replaces the convolution's bias

    later = inspector.kernel_for(view, names.index("pool2"), 5)  # through pooling, ReLU and batch norm to conv2
    kernel2 = model.get_layer("conv2").kernel.numpy()
    assert later.conv_name == "conv2"
    assert [s.input_channel for s in later.slices] == sorted(range(4), key=lambda c: -np.abs(kernel2[:, :, c, 5]).sum())
    pool1 = view.steps[names.index("pool1")].activations
    for piece in later.slices:
        assert np.array_equal(piece.weights, kernel2[:, :, piece.input_channel, 5])
        assert np.isclose(piece.weight, np.abs(kernel2[:, :, piece.input_channel, 5]).sum())
        assert np.array_equal(piece.input_map, pool1[piece.input_channel])
    assert len(later.top) + len(later.rest) == 4
    assert np.array_equal(later.feature_map, view.steps[names.index("pool2")].activations[5])


def test_a_convolution_with_its_relu_built_in_has_its_bias():
    model = build_model(RunConfig(filters=(3,), dense_units=8))
    inspector = LayerInspector(model)
    view = inspector.inspect(IMAGE)
    kernel = inspector.kernel_for(view, 1, 0)
    assert kernel.bias == float(model.get_layer("conv1").bias.numpy()[0])
    with pytest.raises(ValueError, match="no feature map 3"):
        inspector.kernel_for(view, 1, 3)


@pytest.fixture(scope="module")
def imported_cnn(tmp_path_factory):
    """A CNN trained elsewhere that reads 28x28 and gives logits, imported as a run keeps it: wrapped by
    as_digit_classifier (a Reshape in front, a Softmax after), saved, and loaded as the Draw page loads it."""
    folder = tmp_path_factory.mktemp("imported")
    keras.utils.set_random_seed(0)
    original = keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Reshape((28, 28, 1)),
            keras.layers.Conv2D(6, 3, name="own_conv"),
            keras.layers.ReLU(name="own_relu"),
            keras.layers.MaxPooling2D(name="own_pool"),
            keras.layers.Flatten(name="own_flatten"),
            keras.layers.Dense(10, name="own_logits"),
        ],
        name="theirs",
    )
    original.save(folder / "logits.keras")
    wrapped = as_digit_classifier(load_model_file(folder / "logits.keras"), "logits.keras")
    wrapped.save(folder / "run-model.keras")
    return original, Predictor.from_path(folder / "run-model.keras").model


def test_an_imported_model_is_opened_up_layer_by_layer(imported_cnn):
    original, model = imported_cnn
    inspector = LayerInspector(model)
    view = inspector.inspect(IMAGE)
    names = [s.name for s in view.steps]
    assert all(name.startswith("theirs/") for name in names[2:8])  # the wrapped model's own layers, in order
    assert names[3:8] == [
        "theirs/own_conv",
        "theirs/own_relu",
        "theirs/own_pool",
        "theirs/own_flatten",
        "theirs/own_logits",
    ]
    assert [s.type for s in view.steps] == [
        "Input",
        "Reshape",
        "Reshape",
        "Conv2D",
        "ReLU",
        "MaxPooling2D",
        "Flatten",
        "Dense",
        "Softmax",
    ]
    conv = view.steps[names.index("theirs/own_conv")]
    own = keras.Model(original.inputs, original.get_layer("own_conv").output).predict_on_batch(IMAGE[np.newaxis])
    assert np.allclose(conv.activations, np.moveaxis(own[0], -1, 0), atol=1e-5)
    assert "before any activation" in str(conv.note)
    assert "logits" in str(view.steps[-2].note).lower()
    assert view.steps[-1].kind == PROBABILITIES
    assert np.isclose(view.probabilities.sum(), 1, atol=1e-5)
    kernel = inspector.kernel_for(view, names.index("theirs/own_pool"), 4)
    assert kernel.conv_name == "theirs/own_conv"
    assert np.array_equal(kernel.slices[0].weights, original.get_layer("own_conv").kernel.numpy()[:, :, 0, 4])


def test_a_flat_mlp_is_vectors_from_the_pixels_to_the_probabilities():
    flat = keras.Sequential(
        [keras.Input((784,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10, activation="softmax")]
    )
    view = LayerInspector(as_digit_classifier(flat, "mlp")).inspect(IMAGE)
    assert [(s.type, s.kind, s.shape_text) for s in view.steps] == [
        ("Input", INPUT, "28x28x1"),
        ("Reshape", VECTOR, "784"),
        ("Dense", VECTOR, "32"),
        ("Dense", PROBABILITIES, "10"),
    ]
    assert np.allclose(view.steps[1].activations, IMAGE.reshape(-1))
    assert "ReLU" in str(view.steps[2].note)
    assert view.map_count == 0


def test_a_layer_it_cannot_draw_is_listed_with_its_shape_and_a_note():
    rnn = keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.LSTM(8, return_sequences=True, name="rows"),
            keras.layers.LSTM(4, name="summary"),
            keras.layers.Dense(10, name="logits"),
        ]
    )
    view = LayerInspector(as_digit_classifier(rnn, "rnn")).inspect(IMAGE)
    rows = next(s for s in view.steps if s.name.endswith("rows"))
    assert rows.kind == UNSUPPORTED
    assert rows.shape_text == "28x8"
    assert rows.activations is None
    assert "cannot draw" in str(rows.note)
    assert "28x8" in str(rows.note)
    assert [s.kind for s in view.steps][-3:] == [VECTOR, VECTOR, PROBABILITIES]  # and the view goes on past it


def test_a_model_with_branches_still_lists_every_layer():
    image = keras.Input((28, 28, 1))
    a = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="left")(image)
    b = keras.layers.Conv2D(4, 5, padding="same", activation="relu", name="right")(image)
    x = keras.layers.Add(name="join")([a, b])
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    model = keras.Model(image, keras.layers.Dense(10, activation="softmax", name="out")(x))
    view = LayerInspector(model).inspect(IMAGE)
    assert [s.name for s in view.steps] == ["input", "left", "right", "join", "gap", "out"]
    assert view.steps[-1].kind == PROBABILITIES
    assert np.allclose(view.probabilities, model.predict_on_batch(IMAGE[None, ..., None])[0], atol=1e-5)
