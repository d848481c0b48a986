"""Opening model files people bring: Keras 2 .h5 files, .keras files of other shapes, and every kind of bad file.

The Keras 2 file is real (tests/data/models/post-keras2.h5, made by tf_keras with the post's code); the other models
are tiny and made here. Every bad file must give a ModelFileError whose one line says what is wrong.
"""

import json
import zipfile

import keras
import numpy as np
import pytest

from mnist_core.inspection.predict import Predictor
from mnist_core.networks.config import RunConfig
from mnist_core.networks.model import build_model
from mnist_core.networks.model_files import ModelFileError, as_digit_classifier, load_model_file
from mnist_core.networks.training import to_model_input
from mnist_core.store import RunState, RunStore, Trainer
from tests.support.commands import ROOT, cli

MODELS = ROOT / "tests" / "data" / "models"
POST_KERAS2 = MODELS / "post-keras2.h5"


def tiny_model(input_shape=(28, 28, 1), classes=10, activation="softmax", extra=()):
    """A one-Dense-layer model: enough for shapes and formats, trained by nobody."""
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [keras.Input(input_shape), *extra, keras.layers.Flatten(), keras.layers.Dense(classes, activation=activation)]
    )


def saved(model, path):
    model.save(path)
    return path


def digits(mnist, count=64):
    return to_model_input(mnist.x_test[:count])


def one_line_error(path, match):
    """Load `path`; assert it fails with a one-line ModelFileError that names the file and matches `match`."""
    with pytest.raises(ModelFileError, match=match) as caught:
        as_digit_classifier(load_model_file(path), str(path))
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    return message


def with_config_edited(path, old: bytes, new: bytes, out):
    """A copy of the .keras file at `path` as `out`, with `old` replaced by `new` in its config.json."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["config.json"] = members["config.json"].replace(old, new)
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out


# --- files that work -------------------------------------------------------------------------------------------


def test_the_posts_keras2_h5_classifies_as_well_as_it_did_in_keras2(mnist):
    recorded = json.loads((MODELS / "post-keras2.json").read_text())
    assert recorded["saved_by"].startswith("tf_keras 2.")

    model = as_digit_classifier(load_model_file(POST_KERAS2), str(POST_KERAS2))
    assert model.input_shape == (None, 28, 28, 1)
    assert model.output_shape == (None, 10)
    probabilities = np.asarray(model.predict(to_model_input(mnist.x_test), batch_size=2000, verbose=0))
    answers = probabilities.argmax(axis=1)

    accuracy = float(np.mean(answers == mnist.y_test))
    keras2_answers = np.array([int(digit) for digit in recorded["test_predictions"]])
    assert accuracy > 0.95
    assert abs(accuracy - recorded["test_accuracy"]) <= 0.001
    assert np.mean(answers == keras2_answers) >= 0.999  # the same answers, image by image
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-4)


def test_the_posts_keras2_h5_opens_in_the_predictor(mnist):
    predictor = Predictor.from_path(POST_KERAS2)
    prediction = predictor.predict_image01(mnist.x_test[0] / 255.0)
    assert prediction.digit == mnist.y_test[0]


def test_a_flat_784_input_model_gets_a_reshape_in_front(tmp_path, mnist):
    original = tiny_model(input_shape=(784,))
    model = as_digit_classifier(load_model_file(saved(original, tmp_path / "flat.keras")), "flat.keras")
    images = digits(mnist)
    assert model.input_shape == (None, 28, 28, 1)
    expected = original.predict(images.reshape(-1, 784), verbose=0)
    assert np.allclose(model.predict(images, verbose=0), expected, atol=1e-6)


def test_a_28x28_input_model_gets_a_reshape_in_front(tmp_path, mnist):
    original = tiny_model(input_shape=(28, 28))
    model = as_digit_classifier(load_model_file(saved(original, tmp_path / "square.keras")), "square.keras")
    images = digits(mnist)
    assert np.allclose(model.predict(images, verbose=0), original.predict(images[..., 0], verbose=0), atol=1e-6)


def test_a_logits_model_gets_a_softmax_after(tmp_path, mnist):
    original = tiny_model(activation=None)
    model = as_digit_classifier(load_model_file(saved(original, tmp_path / "logits.keras")), "logits.keras")
    images = digits(mnist)
    logits = original.predict(images, verbose=0)
    probabilities = model.predict(images, verbose=0)
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert np.allclose(probabilities, keras.ops.convert_to_numpy(keras.ops.softmax(logits)), atol=1e-6)


def test_a_model_that_already_fits_is_used_as_it_is(tmp_path):
    loaded = load_model_file(saved(tiny_model(), tmp_path / "fits.keras"))
    assert as_digit_classifier(loaded, "fits.keras") is loaded


def test_the_predictor_adapts_a_flat_logits_model(tmp_path, mnist):
    path = saved(tiny_model(input_shape=(784,), activation=None), tmp_path / "flat-logits.keras")
    probabilities = Predictor.from_path(path).probabilities(mnist.x_test[:8] / 255.0)
    assert probabilities.shape == (8, 10)
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)


# --- models of the wrong shape ---------------------------------------------------------------------------------


def test_a_colour_32x32_model_is_refused_naming_both_shapes(tmp_path):
    message = one_line_error(saved(tiny_model(input_shape=(32, 32, 3)), tmp_path / "cifar.keras"), "32x32x3")
    assert "28x28" in message


def test_a_five_class_model_is_refused_naming_both_sizes(tmp_path):
    message = one_line_error(saved(tiny_model(classes=5), tmp_path / "five.keras"), "outputs shape 5")
    assert "10 classes" in message


# --- files that are refused ------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_lambda_layer_is_refused_as_arbitrary_code(tmp_path, suffix):
    model = tiny_model(extra=[keras.layers.Lambda(lambda x: x * 2)])
    message = one_line_error(saved(model, tmp_path / f"lambda{suffix}"), "Lambda layer")
    assert "arbitrary code" in message


def test_an_unknown_layer_is_named(tmp_path):
    # A layer class this Keras does not know, as in a file from someone's custom code.
    good = saved(tiny_model(), tmp_path / "good.keras")
    custom = with_config_edited(good, b'"Flatten"', b'"MyFlatten"', tmp_path / "custom.keras")
    one_line_error(custom, "does not know: MyFlatten")


def test_a_file_with_the_projects_own_layers_that_fails_to_load_does_not_call_them_unknown(tmp_path):
    # Keras 3.15's RandomShear once made such a file: the layers at fault were Keras' own, the message named ours.
    model = build_model(RunConfig(filters=(4,), dense_units=8, augment_shear=0.2, augment_stroke=0.5))
    good = saved(model, tmp_path / "good.keras")
    assert load_model_file(good).get_layer("augmentation").layers[0].name == "stroke_width"
    broken = with_config_edited(good, b'"factor": 0.5', b'"factor": 0.5, "wobble": 1', tmp_path / "broken.keras")
    message = one_line_error(broken, "cannot rebuild the model")
    assert "does not know" not in message


def test_a_weights_only_h5_says_it_has_no_architecture(tmp_path):
    weights = tmp_path / "model.weights.h5"
    tiny_model().save_weights(weights)
    one_line_error(weights, "weights only")


def test_a_zero_byte_file_is_empty(tmp_path):
    (tmp_path / "model.keras").write_bytes(b"")
    one_line_error(tmp_path / "model.keras", r"empty \(0 bytes\)")


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_garbage_bytes_are_not_a_model(tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    one_line_error(path, "neither a .keras archive")


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_truncated_file_is_damaged(tmp_path, suffix):
    whole = saved(tiny_model(), tmp_path / f"whole{suffix}").read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole[: len(whole) // 2])
    one_line_error(cut, "truncated or damaged")


def test_a_corrupted_byte_inside_the_archive_is_damaged(tmp_path):
    data = bytearray(saved(tiny_model(), tmp_path / "whole.keras").read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the stored weights: the zip directory still reads, the checksum fails
    (tmp_path / "flipped.keras").write_bytes(bytes(data))
    one_line_error(tmp_path / "flipped.keras", "truncated or damaged")


def test_a_directory_is_not_a_model_file(tmp_path):
    (tmp_path / "model.keras").mkdir()
    one_line_error(tmp_path / "model.keras", "is a directory")


def test_a_missing_file(tmp_path):
    one_line_error(tmp_path / "nowhere.keras", "no such file")


def test_a_txt_suffix_is_not_a_model_file_name(tmp_path):
    text = saved(tiny_model(), tmp_path / "model.keras").rename(tmp_path / "model.txt")
    message = one_line_error(text, r"\.txt is not a model file name")
    assert ".keras" in message


def test_a_format_under_the_other_suffix_says_how_to_rename(tmp_path):
    h5_named_keras = saved(tiny_model(), tmp_path / "a.h5").rename(tmp_path / "a.keras")
    one_line_error(h5_named_keras, "Rename it to end in .h5")
    keras_named_h5 = saved(tiny_model(), tmp_path / "b.keras").rename(tmp_path / "b.h5")
    one_line_error(keras_named_h5, "Rename it to end in .keras")


# --- the command line ------------------------------------------------------------------------------------------


def assert_one_line_error(result, match):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert match in lines[0]


@pytest.fixture
def broken_run(tmp_path):
    """A run whose model.keras is garbage, as after a disk fault."""
    store = RunStore(tmp_path / "runs")
    with store.create(RunConfig(epochs=1), name="broken", trainer=Trainer.OWNER) as writer:
        writer.write_status(RunState.COMPLETED)
    store.model_path(writer.id).write_bytes(b"\x00garbage after a disk fault" * 40)
    return store.get(writer.id)


def test_cli_predict_with_a_garbage_run_model_is_one_line(broken_run, tmp_path):
    image = tmp_path / "digit.png"
    image.write_bytes(b"")  # never read: the model fails first
    runs = str(broken_run.model_path.parents[1])
    result = cli("predict", "--run", "broken", str(image), "--runs-dir", runs, check=False)
    assert_one_line_error(result, f"error: {broken_run.model_path}: is not a Keras model")


def test_cli_export_onto_a_directory_is_one_line(broken_run, tmp_path):
    (tmp_path / "out.keras").mkdir()
    runs = str(broken_run.model_path.parents[1])
    result = cli("export", "broken", str(tmp_path / "out.keras"), "--runs-dir", runs, check=False)
    assert_one_line_error(result, "is a directory")
    assert not any((tmp_path / "out.keras").iterdir())


def test_cli_predict_with_a_directory_as_an_image_is_one_line(tmp_path):
    (tmp_path / "pictures").mkdir()
    result = cli("predict", str(tmp_path / "pictures"), "--runs-dir", str(tmp_path / "runs"), check=False)
    assert_one_line_error(result, "is a directory, not an image file")
    assert result.stdout == ""
