"""Carry out one run of the run store: train, evaluate on the test set, save the model, record every step.

This is the one training path: the command line calls it in the foreground, the dashboard's background worker in
its own process. The run directory says at every moment what is happening, so any reader can follow along.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from collections.abc import Callable

from mnist_core.data import MnistData, load_mnist
from mnist_core.runs import COMPLETED, FAILED, INTERRUPTED, RUNNING, STOPPED, Run, now_iso
from mnist_core.training import ProgressSink


class RunRecorder:
    """A progress sink that writes what training reports into the run directory, and forwards it."""

    def __init__(self, run: Run, outer: ProgressSink | None = None):
        self.run = run
        self.outer = outer
        self.history: list[dict] = []
        self.points: list[dict] = []
        self.epochs = 0
        self.steps = 0

    def on_train_begin(self, epochs, steps_per_epoch):
        self.epochs, self.steps = epochs, steps_per_epoch
        self._write_progress()
        if self.outer:
            self.outer.on_train_begin(epochs, steps_per_epoch)

    def on_batch(self, point):
        self.points.append(point)
        self._write_progress(point)
        if self.outer:
            self.outer.on_batch(point)

    def on_epoch(self, metrics):
        self.history.append(metrics)
        self.run.write_history(self.history)
        self._write_progress()
        if self.outer:
            self.outer.on_epoch(metrics)

    def _write_progress(self, latest: dict | None = None):
        self.run.write_progress(
            {
                "epochs": self.epochs,
                "steps": self.steps,
                "epoch": latest["epoch"] if latest else len(self.history),
                "batch": latest["batch"] if latest else (self.steps if self.history else 0),
                "points": self.points,
                "updated_at": time.time(),
            }
        )


def execute_run(
    run: Run,
    data: MnistData | None = None,
    sink: ProgressSink | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict:
    """Train `run` to the end (completed), to a stop request (stopped), or to an error (failed); return its status."""
    run.write_status(RUNNING, pid=os.getpid(), host=socket.gethostname(), started_at=now_iso(), error=None)
    started = time.monotonic()
    try:
        config = run.config()
        data = data or load_mnist()
        # Imported here: a status of "running" is on disk before the seconds TensorFlow takes to import.
        from mnist_core.evaluation import evaluate_model
        from mnist_core.training import to_model_input, train

        def stop_now() -> bool:
            return run.stop_requested() or bool(should_stop and should_stop())

        result = train(config, data, RunRecorder(run, sink), stop_now)
        evaluation = evaluate_model(result.model, to_model_input(data.x_test), data.y_test)
        _save_model(result.model, run)
        run.write_results(
            {
                **evaluation,
                "parameters": int(result.model.count_params()),
                "best_epoch": result.best_epoch,
                "data_source": data.source,
            }
        )
        state = STOPPED if result.stopped else COMPLETED
        return run.write_status(
            state,
            finished_at=now_iso(),
            train_seconds=round(result.seconds, 2),
            wall_seconds=round(time.monotonic() - started, 2),
            epochs_completed=len(result.history),
            test_accuracy=evaluation["test_accuracy"],
            test_loss=evaluation["test_loss"],
        )
    except KeyboardInterrupt:
        run.write_status(INTERRUPTED, finished_at=now_iso(), error="interrupted before the end (second Ctrl-C)")
        raise
    except Exception as error:
        run.write_status(
            FAILED,
            finished_at=now_iso(),
            error=f"{type(error).__name__}: {error}",
            traceback=traceback.format_exc(limit=8),
        )
        raise


def _save_model(model, run: Run) -> None:
    """Save to a temporary .keras file, then rename: a crash mid-save never leaves a half-written model."""
    tmp_path = run.path / ".model.tmp.keras"
    model.save(tmp_path)
    os.replace(tmp_path, run.model_path)
