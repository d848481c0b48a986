"""Carry out one run: train, evaluate on the test set, save the model, and record every step in the run store.

This is the one training path: the command line calls it in the foreground, the background worker and study
workers in their own processes. The run's records say at every moment what is happening, so any reader can follow.
The caller owns the run (a `RunWriter`, holding its lock) and, when others share the store, its training slot.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable

from mnist_core.data.mnist import MnistData, load_mnist
from mnist_core.inspection.evaluation import evaluate_model
from mnist_core.networks.metrics import EpochMetrics, ProgressPoint
from mnist_core.networks.training import ProgressSink, to_model_input, train
from mnist_core.store import records
from mnist_core.store.records import Progress, RunState
from mnist_core.store.runs import RunWriter, now_iso


class RunRecorder:
    """A progress sink that writes what training reports into the run's records, and forwards it."""

    def __init__(self, writer: RunWriter, outer: ProgressSink | None = None):
        self.writer = writer
        self.outer = outer
        self.history: list[EpochMetrics] = []
        self.points: list[ProgressPoint] = []
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
        self.writer.write_history(self.history)
        self._write_progress()
        if self.outer:
            self.outer.on_epoch(metrics)

    def _write_progress(self, latest: ProgressPoint | None = None):
        self.writer.write_progress(
            Progress(
                epochs=self.epochs,
                steps=self.steps,
                epoch=latest.epoch if latest else len(self.history),
                batch=latest.batch if latest else (self.steps if self.history else 0),
                points=tuple(self.points),
                updated_at=time.time(),
            )
        )


def execute_run(
    writer: RunWriter,
    data: MnistData | None = None,
    sink: ProgressSink | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> records.RunStatus:
    """Train the run to the end (completed), to a stop request (stopped), or to an error (failed); return its
    status. A second Ctrl-C (KeyboardInterrupt) records it as interrupted and propagates."""
    writer.start()
    started = time.monotonic()
    try:
        config = writer.config
        data = data or load_mnist()

        def stop_now() -> bool:
            return writer.stop_requested() or bool(should_stop and should_stop())

        result = train(config, data, RunRecorder(writer, sink), stop_now)
        evaluation = evaluate_model(result.model, to_model_input(data.x_test), data.y_test)
        writer.save_model(result.model)
        writer.write_results(
            records.replace(
                evaluation,
                parameters=int(result.model.count_params()),
                best_epoch=result.best_epoch,
                data_source=data.source,
            )
        )
        return writer.write_status(
            RunState.STOPPED if result.stopped else RunState.COMPLETED,
            finished_at=now_iso(),
            train_seconds=round(result.seconds, 2),
            wall_seconds=round(time.monotonic() - started, 2),
            epochs_completed=len(result.history),
            test_accuracy=evaluation.test_accuracy,
            test_loss=evaluation.test_loss,
        )
    except KeyboardInterrupt:
        writer.write_status(
            RunState.INTERRUPTED, finished_at=now_iso(), error="interrupted before the end (second Ctrl-C)"
        )
        raise
    except Exception as error:
        writer.write_status(
            RunState.FAILED,
            finished_at=now_iso(),
            error=f"{type(error).__name__}: {error}",
            traceback=traceback.format_exc(limit=8),
        )
        raise
