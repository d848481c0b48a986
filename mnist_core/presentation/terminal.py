"""Training progress for a person at a terminal: Rich progress bars (rate and time left, for the epoch and the
whole run) when stderr is a terminal, plain lines otherwise (a log file, a pipe, CI), so logs stay readable.

A `TerminalProgress` is a training progress sink (see `mnist_core.networks.training.ProgressSink`): it only draws.
A `StudyProgress` is a study worker's display: a bar for the whole study above each trial's `TerminalProgress`.
Both speak the command line's language (`mnist_core.i18n.process_translator`); Keras' metric names stay as they are.
"""

from __future__ import annotations

import sys
import time
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

from mnist_core.i18n import process_translator
from mnist_core.networks.metrics import EpochMetrics, ProgressPoint


def epoch_line(metrics: EpochMetrics, epochs: int) -> str:
    """One finished epoch as Keras' progress bar ends it: loss, accuracy and (with a validation split) val_*."""
    t = process_translator()
    parts = [t("epoch {epoch}/{epochs}:", epoch=metrics.epoch, epochs=epochs)]
    for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
        value = getattr(metrics, name)
        if value is not None:
            parts.append(f"{name} {value:.4f}")
    if metrics.seconds is not None:
        parts.append(f"({metrics.seconds:.1f} s)")
    return " ".join(parts)


def make_bars(console: Console) -> Progress:
    """The bars' columns: what, bar, n of total, percent, rate, elapsed, time left, loss."""
    t = process_translator()
    return Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn(t("left")),
        TimeRemainingColumn(),
        TextColumn("{task.fields[loss]}"),
        console=console,
        # Time left from the average since the start: a study's trials take minutes each.
        speed_estimate_period=3600,
    )


class TerminalProgress:
    """Bars for a terminal, lines for everything else. Given `bars` (a study's, already on screen), the run's two
    bars are added to them and taken away when the run ends."""

    def __init__(self, stream: TextIO | None = None, force_terminal: bool | None = None, bars: Progress | None = None):
        self.stream = stream or sys.stderr
        self.console = bars.console if bars is not None else Console(file=self.stream, force_terminal=force_terminal)
        self.epochs = 0
        self._shared = bars
        self._bars: Progress | None = None
        self._run_task = self._epoch_task = None

    @property
    def interactive(self) -> bool:
        return self.console.is_terminal

    def on_train_begin(self, epochs: int, steps_per_epoch: int) -> None:
        self.epochs = epochs
        if not self.interactive:
            return
        self._bars = self._shared or make_bars(self.console)
        t = process_translator()
        self._run_task = self._bars.add_task(t("run (epochs)"), total=epochs, rate="", loss="")
        self._epoch_task = self._bars.add_task(
            t("epoch {epoch}/{epochs}", epoch=1, epochs=epochs), total=steps_per_epoch or None, rate="", loss=""
        )
        if self._shared is None:
            self._bars.start()

    def on_batch(self, point: ProgressPoint) -> None:
        if self._bars is None:
            return
        rate = ""
        if point.elapsed:
            done = (point.epoch - 1) * point.steps + point.batch
            rate = f"{done / point.elapsed:.0f} batch/s"
        loss = f"loss {point.loss:.4f}" if point.loss is not None else ""
        t = process_translator()
        self._bars.update(
            self._epoch_task,
            description=t("epoch {epoch}/{epochs}", epoch=point.epoch, epochs=self.epochs),
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
            t = process_translator()
            description = t("epoch {epoch}/{epochs}", epoch=metrics.epoch + 1, epochs=self.epochs)
            self._bars.reset(self._epoch_task, description=description)
        else:
            self.close()

    def close(self) -> None:
        if self._bars is None:
            return
        if self._shared is None:
            self._bars.stop()
        else:
            for task in (self._run_task, self._epoch_task):
                self._bars.remove_task(task)
        self._bars = None


class StudyProgress:
    """A study worker's display. In a terminal: a bar for the study (trials finished of planned, trials per minute,
    time left) with each trial's epoch bars under it; elsewhere, or with `lines`, one plain line per event."""

    def __init__(self, name: str, stream: TextIO | None = None, force_terminal: bool | None = None, lines=False):
        self.name = name
        self.stream = stream or sys.stderr
        self.console = Console(file=self.stream, force_terminal=force_terminal)
        self.lines = lines or not self.console.is_terminal
        self._bars: Progress | None = None
        self._task = None
        self._first: tuple[float, int] | None = None  # (when, trials finished) when this worker started

    def log(self, message: str) -> None:
        if self._bars is not None:
            self._bars.console.print(message, markup=False, highlight=False)
        else:
            print(message, file=self.stream, flush=True)

    def study(self, progress: dict) -> None:
        finished, planned = progress["finished"], progress["planned"]
        now = time.monotonic()
        if self._first is None:
            self._first = (now, finished)
        started, finished_then = self._first
        per_minute = (finished - finished_then) / max(now - started, 1e-9) * 60
        t = process_translator()
        rate = t("{rate:.1f} trials/min", rate=per_minute) if finished > finished_then else ""
        if self.lines:
            left = ""
            if finished > finished_then and finished < planned:
                seconds = (planned - finished) / per_minute * 60
                left = (
                    t(", about {minutes:.0f} min left", minutes=seconds / 60)
                    if seconds >= 90
                    else t(", about {seconds:.0f} s left", seconds=seconds)
                )
            speed = f", {rate}" if rate else ""
            line = t(
                "study {name}: {finished}/{planned} trials finished ({state})",
                name=self.name,
                finished=finished,
                planned=planned,
                state=progress["state"],
            )
            self.log(f"{line}{speed}{left}")
            return
        if self._bars is None:
            self._bars = make_bars(self.console)
            self._task = self._bars.add_task(t("study"), total=planned, completed=finished, rate="", loss="")
            self._bars.start()
        self._bars.update(self._task, total=planned, completed=finished, rate=rate)

    def trial_sink(self, title: str) -> TerminalProgress:
        if self.lines or self._bars is None:
            return TerminalProgress(self.stream, force_terminal=False)
        return TerminalProgress(bars=self._bars)

    def close(self) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None
