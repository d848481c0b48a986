import numpy as np

from mnist_core.predict import Predictor
from mnist_core.training import to_model_input


def test_fast_single_image_path_agrees_with_model_predict(trained_run, mnist):
    predictor = Predictor.from_path(trained_run.model_path)
    images = to_model_input(mnist.x_test[:20])
    slow = predictor.model.predict(images, verbose=0)
    fast = np.concatenate([predictor.probabilities(image[..., 0][np.newaxis]) for image in images])
    assert np.allclose(slow, fast, atol=1e-5)
    prediction = predictor.predict_image01(images[0][..., 0])
    assert prediction.digit == int(np.argmax(slow[0])) and 0 < prediction.confidence <= 1
    assert abs(sum(prediction.probabilities) - 1) < 1e-4


def test_missing_model_file_says_what_to_do(tmp_path):
    import pytest

    with pytest.raises(FileNotFoundError, match="Train a run first"):
        Predictor.from_path(tmp_path / "model.keras")
