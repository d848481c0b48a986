"""The bundled default model: what the Draw page and `predict` use before the user has trained anything."""

import keras
import numpy as np

from mnist_core.inspection.predict import BUNDLED_MODEL
from mnist_core.networks.training import to_model_input


def test_bundled_model_is_small_inference_only_and_accurate(mnist):
    assert BUNDLED_MODEL.exists(), "rebuild it with the two commands in docs/run-store.md"
    assert BUNDLED_MODEL.stat().st_size <= 5 * 1024 * 1024
    model = keras.saving.load_model(BUNDLED_MODEL)
    assert getattr(model, "optimizer", None) is None  # exported without optimizer state
    probabilities = model.predict(to_model_input(mnist.x_test), batch_size=2000, verbose=0)
    accuracy = float((probabilities.argmax(axis=1) == mnist.y_test).mean())
    assert accuracy >= 0.994, accuracy
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-4)
