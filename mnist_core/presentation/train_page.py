"""The Train page's logic: its controls as a RunConfig and back, a new run's default name, and the live view's
progress with its time-left estimate."""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from mnist_core.networks.config import ConfigError, RunConfig
from mnist_core.networks.metrics import EpochMetrics, ProgressPoint
from mnist_core.store.records import Progress

ALL_TRAINING_IMAGES = 60_000
# What the "augmentation" toggle turns on unless its sliders say otherwise.
AUGMENTATION = {"augment_shift": 0.1, "augment_rotation": 10.0, "augment_zoom": 0.1}
NO_AUGMENTATION = {"augment_shift": 0.0, "augment_rotation": 0.0, "augment_zoom": 0.0}
DEFAULT_PATIENCE = 3


# --- run names ------------------------------------------------------------------------------------------------
def default_run_name(base: str, taken: Collection[str]) -> str:
    """A new run's name when the user typed none: its preset's name (or "custom"), numbered when a run has it
    already ("fast 2"), so runs of one preset are told apart wherever runs are listed by name."""
    if base not in taken:
        return base
    number = 2
    while f"{base} {number}" in taken:
        number += 1
    return f"{base} {number}"


# --- live progress ------------------------------------------------------------------------------------------
@dataclass
class Live:
    """Where a run stands, for the progress bar and the ETA line."""

    epoch: int  # the epoch in progress (1-based), or the last one finished
    epochs: int
    batch: int
    steps: int
    fraction: float  # of the whole run, 0..1
    elapsed: float | None  # seconds of training so far
    eta: float | None  # seconds left, None until it can be estimated

    @property
    def label(self) -> str:
        text = f"Epoch {self.epoch}/{self.epochs}"
        if self.steps:
            text += f", batch {self.batch}/{self.steps}"
        return text


def live_progress(progress: Progress, history: Sequence[EpochMetrics], epochs: int, now: float | None = None) -> Live:
    """Progress, elapsed time and ETA from a run's progress and history records."""
    now = time.time() if now is None else now
    epochs = progress.epochs or epochs or 1
    steps = progress.steps
    last = progress.points[-1] if progress.points else None
    done_epochs = len(history)
    if last and last.epoch > done_epochs:
        epoch, batch = last.epoch, last.batch
        within = batch / steps if steps else 0.0
    else:
        epoch, batch, within = max(done_epochs, 1), steps if done_epochs else 0, 0.0
    fraction = min(1.0, (done_epochs + within) / epochs)

    elapsed = None
    finished_seconds = sum(h.seconds or 0 for h in history)
    if last and last.elapsed is not None:
        elapsed = last.elapsed
        if progress.updated_at:
            elapsed += max(0.0, now - progress.updated_at)
        elapsed = max(elapsed, finished_seconds)
    elif history:
        elapsed = finished_seconds
    eta = seconds_left(progress.points, history, epochs, elapsed)
    return Live(epoch, epochs, batch, steps, fraction, elapsed, eta)


def seconds_left(
    points: Sequence[ProgressPoint], history: Sequence[EpochMetrics], epochs: int, elapsed: float | None
) -> float | None:
    """The training time left, from the pace since the run's first training step.

    The first step's point comes after the start-up (building the model, TensorFlow tracing the training step:
    1-3 s here, most of a short run's first epoch), which is paid once. Extrapolating from the fraction done since
    the start charged it again to every batch left: "about 25 s left" for a 6-second run. The pace from the first
    step to the latest point leaves it out (as it leaves out the untrained model's point at batch 0, taken before
    the start-up), and once an epoch has ended it includes the epoch's validation. Between two points the estimate
    counts down with the clock. None until a pace can be measured.
    """
    timed = [p for p in points if p.elapsed is not None and p.progress > 0]
    if len(timed) >= 2 and timed[-1].progress > timed[0].progress:
        first, last = timed[0], timed[-1]
        seconds_per_epoch = (last.elapsed - first.elapsed) / (last.progress - first.progress)
        since_last = max(0.0, (elapsed or last.elapsed) - last.elapsed)
        return max(0.0, (epochs - last.progress) * seconds_per_epoch - since_last)
    if history:  # a single point so far (or none kept): the mean epoch so far
        position = max([len(history)] + [p.progress for p in points[-1:]])
        per_epoch = sum(h.seconds or 0 for h in history) / len(history)
        return max(0.0, (epochs - position) * per_epoch)
    return None


# --- the Train page's controls ------------------------------------------------------------------------------
def controls_from_config(config: RunConfig) -> dict:
    """The Train page's control values for a config (a preset fills the controls with these)."""
    return {
        "blocks": config.conv_blocks,
        "convs_per_block": config.convs_per_block,
        **{f"filters_{i}": f for i, f in enumerate(config.filters, start=1)},
        "kernel_size": config.kernel_size,
        "dense_units": config.dense_units,
        "dropout": config.dropout,
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "validation_split": config.validation_split,
        "learning_rate": config.learning_rate,
        "batch_norm": config.batch_norm,
        "augmentation": config.augments,
        # With augmentation off, its sliders wait at the usual values for when the user turns it on.
        **({k: getattr(config, k) for k in AUGMENTATION} if config.augments else AUGMENTATION),
        "early_stopping": bool(config.early_stopping_patience),
        "patience": config.early_stopping_patience or DEFAULT_PATIENCE,
        "optimizer": config.optimizer,
        "lr_schedule": config.lr_schedule,
    }


def config_from_controls(values: Mapping, base: RunConfig | None = None) -> RunConfig:
    """A validated RunConfig from the control values; raises ConfigError naming the field to explain."""
    base = base or RunConfig()
    blocks = int(values["blocks"])
    filters = []
    for i in range(1, blocks + 1):
        count = values.get(f"filters_{i}")
        if count is None:  # a block just added: twice the filters of the one before, as the post's models do
            count = min(2 * (filters[-1] if filters else 16), 512)
        filters.append(int(count))
    limit = values.get("train_limit")
    changes = {
        "filters": filters,
        "kernel_size": int(values["kernel_size"]),
        "convs_per_block": int(values.get("convs_per_block", base.convs_per_block)),
        "dense_units": int(values["dense_units"]),
        "dropout": float(values["dropout"]),
        "epochs": int(values["epochs"]),
        "batch_size": int(values["batch_size"]),
        "validation_split": float(values["validation_split"]),
        "learning_rate": float(values["learning_rate"]),
        "batch_norm": bool(values["batch_norm"]),
        "early_stopping_patience": int(values.get("patience") or DEFAULT_PATIENCE) if values["early_stopping"] else 0,
        "optimizer": values.get("optimizer", base.optimizer),
        "lr_schedule": values.get("lr_schedule", base.lr_schedule),
        "train_limit": None if not limit or int(limit) >= ALL_TRAINING_IMAGES else int(limit),
    }
    augment = {name: float(values.get(name, usual)) for name, usual in AUGMENTATION.items()}
    changes.update(augment if values["augmentation"] else NO_AUGMENTATION)
    return base.replace(**changes)


def check_controls(values: Mapping, base: RunConfig | None = None) -> tuple[RunConfig | None, ConfigError | None]:
    try:
        return config_from_controls(values, base), None
    except ConfigError as error:
        return None, error


def matching_preset(config: RunConfig, presets: Mapping) -> str | None:
    """The name of the preset whose config this is, or None for a custom one (train_limit aside)."""
    for name, preset in presets.items():
        if preset.config == config.replace(train_limit=None):
            return name
    return None
