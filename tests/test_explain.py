import numpy as np
import pytest

from mnist_core.inspection.explain import Explainer, enlarge, mosaic, normalise_maps, outline, overlay, png_data_url
from mnist_core.inspection.predict import Predictor
from mnist_core.networks.config import RunConfig
from mnist_core.networks.model import build_model
from mnist_core.networks.training import to_model_input


@pytest.fixture(scope="module")
def batch_norm_model():
    """An untrained model shaped like the `fast` and `best` presets: conv -> batch norm -> relu."""
    return build_model(RunConfig(filters=(8, 16), batch_norm=True, dense_units=16, augment_shift=0.1))


def test_feature_maps_are_taken_after_the_first_convolutions_normalisation_and_relu(batch_norm_model):
    explainer = Explainer(batch_norm_model)
    image = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    maps = explainer.feature_maps(image)
    assert maps.shape == (8, 28, 28)
    assert maps.min() >= 0  # after the ReLU, not the raw convolution
    assert explainer.first_conv is batch_norm_model.get_layer("conv1_relu").output


def test_feature_maps_of_a_plain_model_are_the_first_convolutions_output():
    model = build_model(RunConfig(filters=(4,), dense_units=8))
    explainer = Explainer(model)
    assert explainer.first_conv is model.get_layer("conv1").output
    assert explainer.feature_maps(np.zeros((28, 28), np.float32)).shape == (4, 28, 28)


def test_feature_maps_reach_the_first_convolution_inside_an_adapted_imported_model(tmp_path):
    # An imported model that reads 28x28 and gives logits: as_digit_classifier wraps it (Reshape in front, Softmax
    # after), and the run keeps the wrapper; its first convolution sits inside the wrapped model.
    import keras

    from mnist_core.networks.model_files import as_digit_classifier, load_model_file

    keras.utils.set_random_seed(0)
    original = keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Reshape((28, 28, 1)),
            keras.layers.Conv2D(6, 3, name="own_conv"),
            keras.layers.ReLU(name="own_relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )
    original.save(tmp_path / "logits.keras")
    wrapped = as_digit_classifier(load_model_file(tmp_path / "logits.keras"), "logits.keras")
    wrapped.save(tmp_path / "run-model.keras")
    reloaded = Predictor.from_path(tmp_path / "run-model.keras").model  # as the Draw page gets it from the run
    explainer = Explainer(reloaded)
    assert explainer.has_conv
    image = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    maps = explainer.feature_maps(image)
    own = keras.Model(original.inputs, original.get_layer("own_relu").output).predict_on_batch(image[np.newaxis])
    assert maps.shape == (6, 26, 26)
    assert np.allclose(maps, np.moveaxis(own[0], -1, 0), atol=1e-5)


def test_a_model_without_convolutions_has_no_feature_maps(tmp_path):
    import keras

    from mnist_core.networks.model_files import as_digit_classifier

    flat = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])
    assert not Explainer(as_digit_classifier(flat, "flat")).has_conv


def test_occlusion_map_marks_the_ink_the_answer_rests_on(trained_run, mnist):
    predictor = Predictor.from_path(trained_run.model_path)
    explainer = Explainer(predictor.model)
    for image in to_model_input(mnist.x_test[:5])[..., 0]:
        digit = predictor.predict_image01(image).digit
        heat = explainer.occlusion(image, digit)
        assert heat.shape == (28, 28)
        assert heat.min() >= 0
        assert heat.max() <= 1
        near_ink = enlarge(image, 1) > 0  # hiding empty background changes nothing, so heat sits on the strokes
        far = np.ones_like(near_ink)
        far[2:-2, 2:-2] = False
        if heat.max() > 0:
            assert heat[near_ink].mean() > heat[far & ~near_ink].mean()


def test_occlusion_of_an_empty_image_is_all_zero(batch_norm_model):
    heat = Explainer(batch_norm_model).occlusion(np.zeros((28, 28), np.float32), 3)
    assert not heat.any()


def test_pictures_for_the_page():
    image = np.zeros((28, 28), np.float32)
    image[10:18, 12:15] = 1.0
    big = enlarge(image)
    assert big.shape == (280, 280)
    assert big.dtype == np.uint8
    assert big[100, 125] == 255
    assert big[0, 0] == 0
    assert overlay(image, image).shape == (280, 280, 3)
    sheet = mosaic(normalise_maps(np.random.default_rng(1).random((10, 28, 28))), columns=4)
    assert sheet.shape == (3 * 84 + 2 * 2, 4 * 84 + 3 * 2)
    boxed = outline(np.zeros((280, 280, 4), np.uint8), (100, 120, 180, 160))
    assert boxed.shape == (280, 280, 3)
    assert boxed[98, 130].tolist() == [79, 70, 229]
    assert not boxed[140, 140].any()
    assert png_data_url(big).startswith("data:image/png;base64,")


def test_normalise_maps_leaves_silent_filters_dark():
    maps = np.zeros((2, 4, 4), np.float32)
    maps[1, 0, 0] = 5.0
    scaled = normalise_maps(maps)
    assert not scaled[0].any()
    assert scaled[1].max() == 1.0
