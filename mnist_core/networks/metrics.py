"""What training measures: one row per epoch (the post's `history.history`) and the within-epoch points of a live
curve. Training reports them to a sink; the run store keeps them (history.json, progress.json), checking the bounds
written here on every read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Protocol

import msgspec
import numpy as np

Count = Annotated[int, msgspec.Meta(ge=0)]
Epoch = Annotated[int, msgspec.Meta(ge=1)]
Fraction = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]

# Keras clips probabilities to this before taking the log in categorical cross-entropy.
EPSILON = 1e-7


def cross_entropy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The mean categorical cross-entropy of (N, 10) probabilities against N integer labels, as Keras computes it:
    the loss the post minimises, for a batch or a test set."""
    true_probability = np.clip(probabilities[np.arange(len(labels)), labels], EPSILON, 1.0)
    return float(-np.log(true_probability).mean())


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float((probabilities.argmax(axis=1) == labels).mean())


@dataclass(frozen=True)
class EpochMetrics:
    """One row of history.json: the post's `history.history`, one epoch at a time."""

    epoch: Epoch
    loss: float | None = None
    accuracy: Fraction | None = None
    val_loss: float | None = None
    val_accuracy: Fraction | None = None
    learning_rate: float | None = None
    seconds: float | None = None


@dataclass(frozen=True)
class ProgressPoint:
    """A within-epoch point for a live curve: the running loss and accuracy after `batch` of `steps`."""

    epoch: Epoch
    batch: Count
    steps: Count
    progress: float  # fractional epochs done, the x axis of a live curve
    loss: float | None = None
    accuracy: Fraction | None = None
    elapsed: float | None = None  # seconds since training began


class ProgressSink(Protocol):
    """Whatever wants training progress: the run store, a progress bar, a test."""

    def on_train_begin(self, epochs: int, steps_per_epoch: int) -> None: ...

    def on_batch(self, point: ProgressPoint) -> None: ...

    def on_epoch(self, metrics: EpochMetrics) -> None: ...


class ForwardingSink:
    """A sink that passes everything on to another (`outer`, if any): subclass it to watch progress on its way."""

    def __init__(self, outer: ProgressSink | None = None):
        self.outer = outer

    def on_train_begin(self, epochs: int, steps_per_epoch: int) -> None:
        if self.outer:
            self.outer.on_train_begin(epochs, steps_per_epoch)

    def on_batch(self, point: ProgressPoint) -> None:
        if self.outer:
            self.outer.on_batch(point)

    def on_epoch(self, metrics: EpochMetrics) -> None:
        if self.outer:
            self.outer.on_epoch(metrics)
