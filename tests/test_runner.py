import signal
import subprocess
import sys

import keras
import numpy as np

from conftest import ROOT, SMALL, cli_env, wait_until
from mnist_core.runner import execute_run
from mnist_core.training import to_model_input


def test_a_finished_run_has_everything_on_disk(trained_run):
    status = trained_run.status()
    assert status["state"] == "completed"
    assert status["epochs_completed"] == 2
    assert status["started_at"] <= status["finished_at"]
    assert len(trained_run.history()) == 2
    results = trained_run.results()
    assert results["test_accuracy"] > 0.85
    assert results["test_images"] == 10_000
    assert results["parameters"] == 232_590
    assert np.array(results["confusion_matrix"]).sum() == 10_000
    assert trained_run.progress()["points"], "within-epoch points were recorded"
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
    results = trained_run.results()
    assert abs(accuracy - results["test_accuracy"]) < 1e-6
    assert abs(loss - results["test_loss"]) < 1e-3


def test_a_failing_run_is_recorded_as_failed(store, mnist):
    run = store.create(SMALL)
    (run.path / "config.json").write_text('{"epochs": 0}')  # made invalid after creation
    try:
        execute_run(run, mnist)
    except Exception:  # noqa: BLE001
        pass
    status = run.status()
    assert status["state"] == "failed"
    assert "epochs" in status["error"]


def test_killing_a_training_process_leaves_earlier_runs_intact(store, trained_run, tmp_path):
    # An earlier, finished run in the same store, copied byte for byte.
    import shutil

    earlier = store.root / trained_run.id
    shutil.copytree(trained_run.path, earlier)
    before = {p.name: p.read_bytes() for p in earlier.iterdir()}

    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mnist_core",
            "train",
            "--runs-dir",
            str(store.root),
            "--epochs",
            "50",
            "--limit",
            "20000",
            "--batch-size",
            "64",
            "--name",
            "doomed",
            "--json",
        ],
        cwd=ROOT,
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: any(r.progress().get("points") for r in store.runs() if r.id != trained_run.id),
            60,
            "training to start",
        )
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        process.kill()

    runs = {r.id: r for r in store.runs()}
    doomed = next(r for r in runs.values() if r.meta()["name"] == "doomed")
    assert doomed.state == "interrupted"
    assert {p.name: p.read_bytes() for p in earlier.iterdir()} == before
    assert runs[trained_run.id].summary()["test_accuracy"] == trained_run.summary()["test_accuracy"]
    rows = {row["run_id"]: row for row in store.summaries()}
    assert rows[doomed.id]["status"] == "interrupted"
