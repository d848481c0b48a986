"""The dashboard's logic, kept out of the pages so it can be tested without Streamlit: the runs table, live
progress with its ETA, the Train page's controls as a RunConfig, and the metrics CSV a user downloads.
"""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mnist_core.data.mnist import NUM_CLASSES
from mnist_core.data.preprocess import THICK_STROKE
from mnist_core.networks.config import ConfigError, RunConfig
from mnist_core.networks.metrics import EpochMetrics, ProgressPoint
from mnist_core.store.records import Progress, Results

ALL_TRAINING_IMAGES = 60_000
# What the "augmentation" toggle turns on unless its sliders say otherwise.
AUGMENTATION = {"augment_shift": 0.1, "augment_rotation": 10.0, "augment_zoom": 0.1}
NO_AUGMENTATION = {"augment_shift": 0.0, "augment_rotation": 0.0, "augment_zoom": 0.0}
DEFAULT_PATIENCE = 3


# --- user text in markdown -----------------------------------------------------------------------------------
# Every ASCII punctuation character, which CommonMark lets a backslash make literal: no image, link, emphasis, code,
# HTML, LaTeX, colour directive or emoji shortcode can form from what a user typed.
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# What escaping cannot stop, because Streamlit finds it in the text after escapes are read: bare URLs and e-mail
# addresses turned into links, ":streamlit:" into a logo. An invisible word joiner breaks each pattern without
# changing what the reader sees. (Streamlit also draws " -> " as an arrow: typography, left as it is.)
_AFTER_ESCAPES = re.compile(r"(?<=:)(?=//|streamlit:)|(?<=@)|(?<=www)(?=\.)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def markdown_text(text: object) -> str:
    """User text (a run or study name, a file name, an error about either) for a Streamlit markdown string: shown
    exactly as typed, never as formatting, and never fetching anything."""
    text = " ".join(str(text).splitlines())
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", _AFTER_ESCAPES.sub(WORD_JOINER, text))


# --- the Draw page ------------------------------------------------------------------------------------------
# Digits drawn with a loop or a bowl (0, 6, 8, 9; the top of a 4; the bowls of 2, 3 and 5), which a pen too thick
# for the digit's size fills in: a small 5 then reads as 8. A 1 or a 7 is strokes only.
LOOPED_DIGITS = frozenset({0, 2, 3, 4, 5, 6, 8, 9})


def thick_pen_tip(stroke: float, digit: int, sure: bool) -> bool:
    """Whether to suggest a larger digit or a thinner pen: the pen was thick for the digit's size (its strokes were
    thinned to MNIST's width, which cannot reopen a loop that filled in) and the digit can have a loop, as far as
    the network can tell: it reads a looped digit, or it is not sure what it reads."""
    return stroke > THICK_STROKE and (digit in LOOPED_DIGITS or not sure)


# --- numbers as people read them ----------------------------------------------------------------------------
def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def one_hot(label: int) -> np.ndarray:
    """The target row the network is trained against for a label (numpy only: the Data page never loads Keras)."""
    return np.eye(NUM_CLASSES, dtype=np.float32)[int(label)]


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


# --- the runs table -----------------------------------------------------------------------------------------
def table_rows(summaries: Sequence[Mapping]) -> list[dict]:
    """One row per run for the Runs page's table. Numbers stay numbers so the table sorts them as numbers:
    accuracies in percent (99.21), the train - val gap in percentage points, epochs as counts (those run, and
    those planned in their own column). Missing values are None, shown blank."""
    rows = []
    for s in summaries:
        damaged = s.get("status") == "damaged"
        imported = s.get("kind") == "imported"  # a model file trained elsewhere: no preset, no epochs known
        rows.append(
            {
                "name": s.get("name") or s.get("run_id"),
                "preset": s.get("preset") or (None if damaged else "imported" if imported else "custom"),
                "status": s.get("status"),
                "parameters": s.get("parameters"),
                "epochs_run": None if damaged or imported else s.get("epochs_completed"),
                "epochs_planned": None if imported else s.get("epochs"),
                "best_val_accuracy_percent": percent(s.get("best_val_accuracy")),
                "test_accuracy_percent": percent(s.get("test_accuracy")),
                "train_val_gap_points": percent(s.get("train_val_gap")),
                "duration": s.get("train_seconds"),
                "created": (s.get("created_at") or "").replace("T", " ")[:16] or None,
                "run_id": s.get("run_id"),
                "problem": s.get("error") if damaged or s.get("status") in ("failed", "interrupted") else None,
            }
        )
    return rows


def percent(fraction: float | None) -> float | None:
    return None if fraction is None else 100.0 * fraction


def distinct_names(summaries: Sequence[Mapping]) -> dict[str, str]:
    """Run id -> the name to list it by: its own name, followed by the time it was created when another run listed
    has the same name ("seed (14:02:31)"), and by its id's last characters if even that is shared."""
    counts = Counter(s.get("name") for s in summaries)
    names = {}
    for s in summaries:
        name = s.get("name") or s["run_id"]
        if counts[s.get("name")] > 1:
            name += f" ({(s.get('created_at') or '')[11:19] or s['run_id']})"
        names[s["run_id"]] = name
    again = Counter(names.values())
    return {run_id: f"{name} {run_id[-4:]}" if again[name] > 1 else name for run_id, name in names.items()}


def per_class_rows(results: Results) -> list[dict]:
    """The per-class metrics table: precision, recall and F1 in percent (one format for all: 99.70, not 99.7)."""
    return [
        {
            "digit": row.digit,
            "test_images": row.support,
            "precision_percent": percent(row.precision),
            "recall_percent": percent(row.recall),
            "f1_percent": percent(row.f1),
        }
        for row in results.per_class
    ]


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
        if count is None:  # a block just added: twice the filters of the one before, as the seed's models do
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


# --- downloads ----------------------------------------------------------------------------------------------
HISTORY_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds")
TEST_COLUMNS = ("test_accuracy", "test_loss", "test_images", "parameters", "best_epoch")
PER_CLASS_COLUMNS = ("digit", "precision", "recall", "f1", "support")


def metrics_zip(history: Sequence[EpochMetrics], results: Results | None = None) -> bytes:
    """A run's metrics as a zip of CSV files, one table each, so each opens as it is in a spreadsheet or pandas:
    epochs.csv (per-epoch metrics), and for an evaluated run test.csv (one row) and per_class.csv (ten rows)."""
    tables = {"epochs.csv": _csv(HISTORY_COLUMNS, history)}
    if results is not None:
        tables["test.csv"] = _csv(TEST_COLUMNS, [results])
        tables["per_class.csv"] = _csv(PER_CLASS_COLUMNS, results.per_class)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in tables.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _csv(columns: Sequence[str], records: Sequence) -> str:
    """One CSV table: a header, then a row per record (a missing value is an empty cell)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow(["" if getattr(record, c) is None else getattr(record, c) for c in columns])
    return out.getvalue()
