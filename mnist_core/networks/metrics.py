"""What training measures: one row per epoch (the post's `history.history`) and the within-epoch points of a live
curve. Training reports them to a sink; the run store keeps them (history.json, progress.json), checking the bounds
written here on every read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import msgspec

Count = Annotated[int, msgspec.Meta(ge=0)]
Epoch = Annotated[int, msgspec.Meta(ge=1)]
Fraction = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]


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
