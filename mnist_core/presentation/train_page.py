"""The Train page's logic: its controls and their ranges, the controls as a RunConfig and back, a preset edited by
the controls and a new run's default name, the settings as a link (the URL's query) and back, and the live view's
progress with its time-left estimate."""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from mnist_core.i18n import Message, Translator, marked, translator
from mnist_core.networks.config import EMA_MOMENTA as EMA_CHOICES
from mnist_core.networks.config import LR_SCHEDULES, OPTIMIZERS, PADDINGS, PRECISIONS, ConfigError, RunConfig
from mnist_core.networks.metrics import EpochMetrics, ProgressPoint
from mnist_core.networks.presets import DEFAULT_PRESET, get_preset
from mnist_core.store.records import Progress

ALL_TRAINING_IMAGES = 60_000
TEST_IMAGES = 10_000  # every run ends with the whole MNIST test set
# What the "augmentation" toggle turns on unless its sliders say otherwise.
# Slant stays 0 unless its slider says otherwise: the presets' augmentation has none.
AUGMENTATION = {
    "augment_shift": 0.1,
    "augment_rotation": 10.0,
    "augment_zoom": 0.1,
    "augment_shear": 0.0,
    "augment_elastic": 0.0,
    "augment_stroke": 0.0,
}
NO_AUGMENTATION = dict.fromkeys(AUGMENTATION, 0.0)
DEFAULT_PATIENCE = 3


# --- the controls and what they may hold ---------------------------------------------------------------------
KERNEL_SIZES = (1, 3, 5, 7)
DENSE_UNITS = (0, 32, 64, 128, 256, 512, 1024)
BATCH_SIZES = (32, 64, 128, 256, 512, 1024)
LEARNING_RATES = (0.0001, 0.0003, 0.001, 0.002, 0.003, 0.01, 0.03)
TRAIN_LIMITS = (1000, 2000, 5000, 10000, 30000, ALL_TRAINING_IMAGES)
# Adam's betas: Keras' defaults (0.9, 0.999) and the `fast` recipe's (0.7, 0.9) among the usual values.
ADAM_BETA_1S = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
ADAM_BETA_2S = (0.9, 0.95, 0.99, 0.999)
# Weight averaging: off, or an average over about the last 100 to 10,000 steps.
EMA_MOMENTA = (0.0, *EMA_CHOICES)


@dataclass(frozen=True)
class Range:
    """A slider's or number field's values: low to high in steps (a value between two steps is not one of them)."""

    low: float
    high: float
    step: float = 1

    def holds(self, value: float) -> bool:
        steps = (value - self.low) / self.step
        return self.low <= value <= self.high and math.isclose(steps, round(steps), abs_tol=1e-6)


RANGES = {
    "blocks": Range(1, 4),
    "convs_per_block": Range(1, 3),
    "filters": Range(1, 512),
    "dropout": Range(0.0, 0.9, 0.05),
    "epochs": Range(1, 50),
    "validation_split": Range(0.0, 0.5, 0.05),
    "augment_shift": Range(0.0, 0.3, 0.05),
    "augment_rotation": Range(0.0, 45.0, 5.0),
    "augment_zoom": Range(0.0, 0.5, 0.05),
    "augment_shear": Range(0.0, 0.5, 0.05),
    "augment_elastic": Range(0.0, 60.0, 2.0),
    "augment_stroke": Range(0.0, 1.0, 0.1),
    "early_stopping_patience": Range(0, 20),  # 0: off (the toggle); the patience field itself starts at 1
    "label_smoothing": Range(0.0, 0.5, 0.05),
}
CHOICES = {
    "kernel_size": KERNEL_SIZES,
    "dense_units": DENSE_UNITS,
    "batch_size": BATCH_SIZES,
    "learning_rate": LEARNING_RATES,
    "optimizer": OPTIMIZERS,
    "lr_schedule": LR_SCHEDULES,
    "train_limit": TRAIN_LIMITS,
    "padding": PADDINGS,
    "adam_beta_1": ADAM_BETA_1S,
    "adam_beta_2": ADAM_BETA_2S,
    "ema_momentum": EMA_MOMENTA,
    "precision": PRECISIONS,
}
# The settings a link and an edited preset name, as the config names them, in the order the page shows them; each
# with its control's label (translated where it is shown).
SETTINGS = {
    "filters": marked("Filters"),
    "kernel_size": marked("Kernel size"),
    "padding": marked("Padding"),
    "convs_per_block": marked("Convolutions per block"),
    "dense_units": marked("Dense units"),
    "dropout": marked("Dropout"),
    "batch_norm": marked("Batch normalisation"),
    "epochs": marked("Epochs"),
    "batch_size": marked("Batch size"),
    "learning_rate": marked("Learning rate"),
    "validation_split": marked("Validation split"),
    "augment_shift": marked("Shift (fraction of the image)"),
    "augment_rotation": marked("Rotation (degrees)"),
    "augment_zoom": marked("Zoom (fraction)"),
    "augment_shear": marked("Slant (fraction of the height)"),
    "augment_elastic": marked("Elastic distortion (strength)"),
    "augment_stroke": marked("Stroke width (share thicker or thinner)"),
    "early_stopping_patience": marked("Early stopping"),
    "optimizer": marked("Optimizer"),
    "lr_schedule": marked("Learning-rate schedule"),
    "adam_beta_1": marked("Adam's beta_1"),
    "adam_beta_2": marked("Adam's beta_2"),
    "label_smoothing": marked("Label smoothing"),
    "ema_momentum": marked("Weight averaging (EMA momentum)"),
    "precision": marked("Arithmetic precision"),
    "train_limit": marked("Training images"),
}


# --- a preset, edited -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    """One setting in which the controls differ from the chosen preset."""

    setting: str  # a key of SETTINGS
    preset_value: object
    value: object


def changes_from_preset(config: RunConfig, preset: RunConfig) -> list[Change]:
    """Where `config` differs from the preset's config, in the page's order. The number of training images is not
    a preset's (every preset trains on all of them; the control is the user's), so it is never a change."""
    return [
        Change(name, getattr(preset, name), getattr(config, name))
        for name in SETTINGS
        if name != "train_limit" and getattr(config, name) != getattr(preset, name)
    ]


def plain_value(setting: str, value: object) -> str:
    """A setting's value in a run name or a link: numbers as written, filters as 32-64, switches as on / off,
    early stopping as its patience (0: off)."""
    if setting in ("filters", "kernel_size") and isinstance(value, tuple):  # one per block: 32-64, 5-3
        return "-".join(str(count) for count in value)
    if isinstance(value, bool) or (setting == "early_stopping_patience" and value == 0):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


NAME_CHANGES = 2  # changes a default run name spells out; more are counted ("+3")


def edited_name(preset: str, changes: Sequence[Change]) -> str:
    """The default run name of a preset edited by the controls: "fast (epochs 1)", "fast (epochs 1, dropout 0.2,
    +2)". In the config's words in every language: a run's name is data, listed in every reader's language."""
    if not changes:
        return preset
    parts = [f"{change.setting} {plain_value(change.setting, change.value)}" for change in changes[:NAME_CHANGES]]
    if len(changes) > NAME_CHANGES:
        parts.append(f"+{len(changes) - NAME_CHANGES}")
    return f"{preset} ({', '.join(parts)})"


# --- run names ------------------------------------------------------------------------------------------------
def default_run_name(base: str, taken: Collection[str]) -> str:
    """A new run's name when the user typed none: its preset's name, or the edited preset's ("fast (epochs 1)"),
    numbered when a run has it already ("fast 2"), so runs of one preset are told apart wherever runs are listed by
    name."""
    if base not in taken:
        return base
    number = 2
    while f"{base} {number}" in taken:
        number += 1
    return f"{base} {number}"


# --- the settings as a link -------------------------------------------------------------------------------------
PRESET_PARAM = "preset"
# Query parameters of other owners, left alone: the reader's language (pages/shared.py).
OTHER_PARAMS = frozenset({"lang"})


def settings_query(preset: str, config: RunConfig) -> dict[str, str]:
    """The query of a link that opens the Train page set up as now: the preset and every setting that differs from
    it (training images included), e.g. {"preset": "fast", "epochs": "1", "dropout": "0.2"}."""
    query = {PRESET_PARAM: preset}
    base = get_preset(preset).config
    for name in SETTINGS:
        value, usual = getattr(config, name), getattr(base, name)
        if name == "train_limit":
            value, usual = value or ALL_TRAINING_IMAGES, ALL_TRAINING_IMAGES
        if value != usual:
            query[name] = plain_value(name, value)
    return query


@dataclass
class LinkedSettings:
    """What a link's query sets up: a preset, the config of its controls, and what could not be used (each a
    sentence that names the parameter, for a notice; the setting keeps the preset's value)."""

    preset: str
    config: RunConfig
    problems: list[Message] = field(default_factory=list)


def settings_from_query(
    query: Mapping[str, str | Sequence[str]], default: str = DEFAULT_PRESET
) -> LinkedSettings | None:
    """The settings a link's query asks for, or None when it names none (a plain link to the page).

    A bad or stale value never stops the page: an unknown preset falls back to `default`, and a value a control
    cannot hold (out of range, between two steps, not a number, not one of the choices), one that does not go with
    the settings before it (early stopping without a validation set) or an unknown parameter is left out, its
    setting left at the preset's value; each is reported."""
    query = {key: _last(value) for key, value in query.items() if key not in OTHER_PARAMS}
    if not query:
        return None
    problems: list[Message] = []
    asked = query.pop(PRESET_PARAM, None)
    preset = default
    if asked is not None:
        try:
            preset = get_preset(asked).name  # an old name of a renamed preset opens the preset it became
        except ConfigError:
            problems.append(Message("preset={value}: no such preset (now {default})", value=asked, default=default))
    config = get_preset(preset).config
    for key, text in query.items():
        if key not in SETTINGS:
            problems.append(Message("{key}={value}: not a setting of this page", key=key, value=text))
            continue
        try:
            config = config.replace(**{key: _parse(key, text)})
        except ValueError:
            problems.append(Message("{key}={value}: not a value this control can take", key=key, value=text))
        except ConfigError as error:  # a value the control holds, but not with the settings before it
            problems.append(Message("{key}={value}: {problem}", key=key, value=text, problem=error.message))
    return LinkedSettings(preset, config, problems)


def _last(value: str | Sequence[str]) -> str:
    """A parameter given twice counts once, as its last value (st.query_params reads it so too)."""
    return value if isinstance(value, str) else (list(value) or [""])[-1]


_TRUE, _FALSE = {"on", "true", "1", "yes"}, {"off", "false", "0", "no"}


def _parse(setting: str, text: str) -> object:
    """A link's value for one setting, checked against what its control can hold; ValueError if it cannot."""
    text = text.strip().lower()
    if setting == "filters":
        counts = [_number(part, integer=True) for part in text.replace(",", "-").split("-")]
        if not 1 <= len(counts) <= RANGES["blocks"].high or not all(RANGES["filters"].holds(c) for c in counts):
            raise ValueError(text)
        return tuple(counts)
    if setting == "kernel_size" and "-" in text:  # one per block: 5-3
        sizes = [_number(part, integer=True) for part in text.split("-")]
        if not 1 <= len(sizes) <= RANGES["blocks"].high or not all(size in KERNEL_SIZES for size in sizes):
            raise ValueError(text)
        return tuple(sizes)
    if setting == "batch_norm":
        if text not in _TRUE | _FALSE:
            raise ValueError(text)
        return text in _TRUE
    if setting == "early_stopping_patience" and text in _FALSE:
        return 0
    if setting == "train_limit":
        number = ALL_TRAINING_IMAGES if text == "all" else _number(text, integer=True)
        if number not in TRAIN_LIMITS:
            raise ValueError(text)
        return None if number == ALL_TRAINING_IMAGES else number
    integer = type(getattr(RunConfig(), setting)) is int
    if setting in CHOICES:
        value = text if isinstance(CHOICES[setting][0], str) else _number(text, integer)
        if value not in CHOICES[setting]:
            raise ValueError(text)
        return value
    number = _number(text, integer)
    if not RANGES[setting].holds(number):
        raise ValueError(text)
    return number


def _number(text: str, integer: bool) -> float:
    """A finite number (a whole one where `integer`); ValueError for anything else ("abc", "nan", "1e999", "2.5")."""
    number = float(text)
    if not math.isfinite(number) or (integer and not number.is_integer()):
        raise ValueError(text)
    return int(number) if integer else number


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

    def label(self, t: Translator | None = None) -> str:
        """Where the training stands ("Epoch 2/20, batch 40/188"), in the reader's language."""
        t = t or translator()
        words = {"epoch": self.epoch, "epochs": self.epochs, "batch": self.batch, "steps": self.steps}
        if self.steps:
            return t("Epoch {epoch}/{epochs}, batch {batch}/{steps}", **words)
        return t("Epoch {epoch}/{epochs}", **words)


def live_progress(
    progress: Progress,
    history: Sequence[EpochMetrics],
    epochs: int,
    now: float | None = None,
    config: RunConfig | None = None,
) -> Live:
    """Progress, elapsed time and ETA from a run's progress and history records; `config`, the run's settings,
    lets the ETA count the test evaluation at the end."""
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
        if done_epochs >= last.epoch:  # the latest write was an epoch's end, after the last point
            elapsed = max(elapsed, _start(progress.points) + finished_seconds)
        if progress.updated_at:
            elapsed += max(0.0, now - progress.updated_at)
        elapsed = max(elapsed, finished_seconds)
    elif history:
        elapsed = finished_seconds
    eta = seconds_left(progress.points, history, epochs, elapsed, config)
    return Live(epoch, epochs, batch, steps, fraction, elapsed, eta)


def split_images(config: RunConfig) -> tuple[int, int]:
    """The images a run trains on each epoch and those it holds back to validate on."""
    images = config.train_limit or ALL_TRAINING_IMAGES
    held_out = int(images * config.validation_split)
    return images - held_out, held_out


# What a run does after its last epoch, measured on this project's 2-core machines (bench/record_eta.py, the runs
# replayed in tests/test_presentation.py): predicting the 10,000 test images cost about three quarters of what
# training cost per image (Keras' predict at batch 1024 is little faster per image on these CPUs: 1.8-3.8 s for the
# small models, 30 s for `best`), plus about a second to trace the prediction, save the model and write the results.
# A validation pass is a prediction too, priced the same way.
TEST_SHARE = 0.6  # seconds per predicted image, as a share of the training's seconds per image
TAIL_SECONDS = 1.0
# The pace is measured over about this many of the latest epochs, so that it follows a machine that grew busier.
PACE_EPOCHS = 1.0


def seconds_left(
    points: Sequence[ProgressPoint],
    history: Sequence[EpochMetrics],
    epochs: int,
    elapsed: float | None,
    config: RunConfig | None = None,
) -> float | None:
    """The time until the run is done: the training steps left, each epoch's end left (validation, the next
    epoch's start), then the test evaluation and saving.

    The training pace comes from the run's own points, from spans within one epoch, the latest first: the start-up
    (building the model, TensorFlow tracing the training step, 1-8 s here) comes before the first step's point and
    is paid once, and the untrained model's point at batch 0 comes before it. An epoch's end costs what the
    cheapest span across an epoch boundary took beyond that pace (a busy machine can stall any one of them for
    seconds); until a boundary is crossed, a validation pass is priced from the pace per image, as is the test
    evaluation at the end (both need `config`, the run's settings; without it they count as nothing). Between two
    points the estimate counts down with the clock. None until a pace can be measured.
    """
    timed = [p for p in points if p.elapsed is not None and p.progress > 0]
    pairs = list(zip(timed, timed[1:], strict=False))
    within = [(b.elapsed - a.elapsed, b.progress - a.progress) for a, b in pairs if a.epoch == b.epoch]
    within = [(seconds, done) for seconds, done in within if done > 0]
    if not within:
        if history:  # a single point per epoch so far (or none kept): the mean epoch so far
            position = max([len(history)] + [p.progress for p in points[-1:]])
            per_epoch = sum(h.seconds or 0 for h in history) / len(history)
            return max(0.0, (epochs - position) * per_epoch)
        return None
    seconds = done = 0.0
    for span_seconds, span_done in reversed(within):  # the latest epoch's worth of spans
        seconds, done = seconds + span_seconds, done + span_done
        if done >= PACE_EPOCHS:
            break
    pace = seconds / done  # seconds per epoch of training steps
    trained, held_out = split_images(config) if config else (0, 0)
    per_image = TEST_SHARE * pace / trained if trained else 0.0  # seconds to predict one image
    test = TAIL_SECONDS + TEST_IMAGES * per_image if config else 0.0
    crossings = [(b.elapsed - a.elapsed) - pace * (b.progress - a.progress) for a, b in pairs if b.epoch > a.epoch]
    epoch_end = max(0.0, min(crossings)) if crossings else held_out * per_image
    last = timed[-1]
    if len(history) >= last.epoch:  # an epoch has ended since the last point: count from its end
        done, at = len(history), _start(points) + sum(h.seconds or 0 for h in history)
        ends_left = epochs - done
    else:
        done, at = last.progress, last.elapsed
        ends_left = epochs - last.epoch + 1  # the epoch in progress ends too
    since = max(0.0, (elapsed or at) - at)
    return max(0.0, (epochs - done) * pace + ends_left * epoch_end + test - since)


def _start(points: Sequence[ProgressPoint]) -> float:
    """When the first epoch began on the points' clock: at the untrained model's point (batch 0), if kept."""
    first = points[0] if points else None
    return first.elapsed or 0.0 if first is not None and first.progress == 0 else 0.0


# --- the Train page's controls ------------------------------------------------------------------------------
def controls_from_config(config: RunConfig) -> dict:
    """The Train page's control values for a config (a preset fills the controls with these).

    The kernel size is one control for every block ("kernel_size"), or, with "per_block_kernels" on, one per block
    ("kernel_size_1"...), as the filters are.
    """
    return {
        "blocks": config.conv_blocks,
        "convs_per_block": config.convs_per_block,
        **{f"filters_{i}": f for i, f in enumerate(config.filters, start=1)},
        "kernel_size": config.kernel_sizes[0],
        "per_block_kernels": isinstance(config.kernel_size, tuple),
        **{f"kernel_size_{i}": size for i, size in enumerate(config.kernel_sizes, start=1)},
        "padding": config.padding,
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
        "adam_beta_1": config.adam_beta_1,
        "adam_beta_2": config.adam_beta_2,
        "label_smoothing": config.label_smoothing,
        "ema_momentum": config.ema_momentum,
        "precision": config.precision,
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
        "kernel_size": _kernel_size(values, blocks),
        "padding": values.get("padding", base.padding),
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
        "adam_beta_1": float(values.get("adam_beta_1", base.adam_beta_1)),
        "adam_beta_2": float(values.get("adam_beta_2", base.adam_beta_2)),
        "label_smoothing": float(values.get("label_smoothing", base.label_smoothing)),
        "ema_momentum": float(values.get("ema_momentum", base.ema_momentum)),
        "precision": values.get("precision", base.precision),
        "train_limit": None if not limit or int(limit) >= ALL_TRAINING_IMAGES else int(limit),
    }
    augment = {name: float(values.get(name, usual)) for name, usual in AUGMENTATION.items()}
    changes.update(augment if values["augmentation"] else NO_AUGMENTATION)
    return base.replace(**changes)


def _kernel_size(values: Mapping, blocks: int) -> int | tuple[int, ...]:
    """One size for every block, or one per block; equal sizes per block are one size, so a config that differs
    from a preset only in how its kernels were chosen still is the preset."""
    size = int(values["kernel_size"])
    if not values.get("per_block_kernels"):
        return size
    sizes = []
    for i in range(1, blocks + 1):
        chosen = values.get(f"kernel_size_{i}")
        sizes.append(int(chosen) if chosen is not None else (sizes[-1] if sizes else size))  # a block just added
    return sizes[0] if len(set(sizes)) == 1 else tuple(sizes)


def precision_note(bf16_flags: Sequence[str]) -> Message:
    """The precision control's help: whether this CPU (`backend.cpu_bf16_flags()`) makes bfloat16 pay."""
    if bf16_flags:
        return Message(
            "This CPU has bfloat16 units ({flags}): mixed_bfloat16 computes the layers in 16-bit numbers and trains"
            " faster here, at the same accuracy; the weights and the probabilities stay float32.",
            flags=", ".join(bf16_flags),
        )
    return Message(
        "This CPU has no bfloat16 units: mixed_bfloat16 would be emulated here, slower than float32. It pays on"
        " CPUs with AVX-512 BF16 or AMX."
    )


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
