"""Carrying out a run: what a finished run holds, that plain Keras reloads it, and how failures are recorded."""

import keras
import numpy as np
import pytest

from mnist_core.jobs.runner import execute_run
from mnist_core.networks.config import ConfigError
from mnist_core.networks.training import to_model_input
from mnist_core.store import RunStore, Trainer
from tests.support.commands import SMALL


def test_a_finished_run_has_everything_on_disk(trained_run):
    status = trained_run.status
    assert status.state == "completed"
    assert status.epochs_completed == 2
    assert status.started_at <= status.finished_at
    assert len(trained_run.history) == 2
    results = trained_run.results
    assert results.test_accuracy > 0.85
    assert results.test_images == 10_000
    assert results.parameters == 232_590
    assert np.array(results.confusion_matrix).sum() == 10_000
    assert RunStore(trained_run.model_path.parents[1]).progress(trained_run.id).points, "within-epoch points"
    row = trained_run.summary()
    assert row["status"] == "completed"
    assert row["best_epoch"] in (1, 2)
    assert row["train_val_gap"] == row["train_accuracy"] - row["val_accuracy"]


def test_saved_model_reloads_in_plain_keras_with_the_same_accuracy(trained_run, mnist):
    model = keras.saving.load_model(trained_run.model_path)
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
    loss, accuracy = model.evaluate(
        to_model_input(mnist.x_test), keras.utils.to_categorical(mnist.y_test, 10), verbose=0, batch_size=1000
    )
    assert abs(accuracy - trained_run.results.test_accuracy) < 1e-6
    assert abs(loss - trained_run.results.test_loss) < 1e-3


def test_a_failing_run_is_recorded_as_failed_with_the_reason(store, mnist, monkeypatch):
    from mnist_core.jobs import runner

    def broken_training(*args, **kwargs):
        raise ConfigError("epochs", "must be between 1 and 500 (got 0)")

    monkeypatch.setattr(runner, "train", broken_training)
    with store.create(SMALL, trainer=Trainer.OWNER) as writer, pytest.raises(ConfigError):
        execute_run(writer, mnist)
    status = store.get(writer.id).status
    assert status.state == "failed"
    assert "epochs" in status.error
    assert "broken_training" in status.traceback
