"""Training progress for a person at a terminal: Rich progress bars (rate and time left, for the epoch and the
whole run) when stderr is a terminal, plain lines otherwise (a log file, a pipe, CI), so logs stay readable.

A `TerminalProgress` is a training progress sink (see `mnist_core.training.ProgressSink`): it only draws.
"""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from mnist_core.store.records import EpochMetrics, ProgressPoint


def epoch_line(metrics: EpochMetrics, epochs: int) -> str:
    """One finished epoch as Keras' progress bar ends it: loss, accuracy and (with a validation split) val_*."""
    parts = [f"epoch {metrics.epoch}/{epochs}:"]
    for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
        value = getattr(metrics, name)
        if value is not None:
            parts.append(f"{name} {value:.4f}")
    if metrics.seconds is not None:
        parts.append(f"({metrics.seconds:.1f} s)")
    return " ".join(parts)


class TerminalProgress:
    """Bars for a terminal, lines for everything else."""

    def __init__(self, stream: TextIO | None = None, force_terminal: bool | None = None):
        self.stream = stream or sys.stderr
        self.console = Console(file=self.stream, force_terminal=force_terminal)
        self.epochs = 0
        self._bars: Progress | None = None
        self._run_task = self._epoch_task = None

    @property
    def interactive(self) -> bool:
        return self.console.is_terminal

    def on_train_begin(self, epochs: int, steps_per_epoch: int) -> None:
        self.epochs = epochs
        if not self.interactive:
            return
        self._bars = Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[loss]}"),
            console=self.console,
        )
        self._run_task = self._bars.add_task("run (epochs)", total=epochs, rate="", loss="")
        self._epoch_task = self._bars.add_task("epoch 1", total=steps_per_epoch or None, rate="", loss="")
        self._bars.start()

    def on_batch(self, point: ProgressPoint) -> None:
        if self._bars is None:
            return
        rate = ""
        if point.elapsed:
            done = (point.epoch - 1) * point.steps + point.batch
            rate = f"{done / point.elapsed:.0f} batch/s"
        loss = f"loss {point.loss:.4f}" if point.loss is not None else ""
        self._bars.update(
            self._epoch_task,
            description=f"epoch {point.epoch}/{self.epochs}",
            total=point.steps or None,
            completed=point.batch,
            rate=rate,
            loss=loss,
        )

    def on_epoch(self, metrics: EpochMetrics) -> None:
        line = epoch_line(metrics, self.epochs)
        if self._bars is None:
            print(line, file=self.stream, flush=True)
            return
        self._bars.console.print(line)
        self._bars.update(self._run_task, completed=metrics.epoch)
        if metrics.epoch < self.epochs:
            self._bars.reset(self._epoch_task, description=f"epoch {metrics.epoch + 1}/{self.epochs}")
        else:
            self.close()

    def close(self) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None
