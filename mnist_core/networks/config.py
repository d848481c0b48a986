"""The settings of one training run, validated before any training starts.

A `RunConfig` is plain data: it is saved as `config.json` in every run directory, filled by the Train page's
controls and the command line's flags, and turned into a Keras model by `mnist_core.networks.model`. It is checked
where it is made (a widget, a flag, a file): a RunConfig that exists is valid, so nothing downstream checks it
again. The check names the field and the allowed range, so a typo never costs a ten-minute training.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass

from mnist_core.i18n import Message, TranslatableError, as_message

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
LR_SCHEDULES = ("constant", "cosine", "exponential", "plateau")

# What the optimizer and schedule names stand for beyond the config's numbers. Here, not in training.py, so that
# codegen.py can write them into a script without importing Keras (the Train page shows that script on every move).
SGD_MOMENTUM = 0.9  # with Nesterov momentum
EXPONENTIAL_DECAY_PER_EPOCH = 0.85  # the exponential schedule: the rate falls to this fraction of itself each epoch
PLATEAU_FACTOR = 0.5  # the plateau schedule halves the rate...
PLATEAU_PATIENCE = 2  # ...after this many epochs without a lower val_loss...
PLATEAU_MIN_LR = 1e-6  # ...but not below this

# Each 2x2 pooling halves the 28x28 image; four blocks leave a 1x1 map, a fifth would leave nothing.
MAX_CONV_BLOCKS = 4
MAX_FILTERS = 512
MAX_EPOCHS = 500


class ConfigError(TranslatableError, ValueError):
    """A config value is out of range; `field` names the offending field for the UI to show next to its control,
    `message` says what is wrong (a Message: English as a string, the reader's language on a page)."""

    def __init__(self, field_name: str, message: str | Message):
        message = as_message(message)
        super().__init__(Message("{field}: {problem}", field=field_name, problem=message))
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class RunConfig:
    # Architecture: conv blocks are [Conv2D x convs_per_block -> (BatchNorm) -> MaxPool 2x2], as in the post.
    filters: tuple[int, ...] = (16, 36)
    kernel_size: int = 3
    convs_per_block: int = 1
    dense_units: int = 128
    dropout: float = 0.25
    batch_norm: bool = False
    # Training.
    epochs: int = 20
    batch_size: int = 256
    validation_split: float = 0.2
    optimizer: str = "adam"
    learning_rate: float = 0.001
    lr_schedule: str = "constant"
    early_stopping_patience: int = 0  # 0 = off; else epochs without a better val_loss before stopping
    # Data augmentation, applied to training images only (0 = off for each).
    augment_shift: float = 0.0  # fraction of the image size, e.g. 0.1 = up to 2.8 px
    augment_rotation: float = 0.0  # degrees
    augment_zoom: float = 0.0  # fraction, e.g. 0.1 = 90%..110%
    seed: int = 42
    train_limit: int | None = None  # use only the first N training images (quick runs)

    def __post_init__(self) -> None:
        if isinstance(self.filters, list):  # from JSON or a form: a tuple, so configs compare and hash alike
            object.__setattr__(self, "filters", tuple(self.filters))
        self.validate()

    @property
    def conv_blocks(self) -> int:
        return len(self.filters)

    @property
    def augments(self) -> bool:
        return bool(self.augment_shift or self.augment_rotation or self.augment_zoom)

    def replace(self, **changes) -> RunConfig:
        """A copy with some fields changed (checked like any new config)."""
        if "filters" in changes:
            changes["filters"] = tuple(changes["filters"])
        return dataclasses.replace(self, **changes)

    def validate(self) -> RunConfig:
        """Return self if every field is sensible, else raise ConfigError naming the first bad field."""
        if not isinstance(self.filters, tuple):
            raise ConfigError(
                "filters",
                Message("must be a list of filter counts, one per block (got {value})", value=repr(self.filters)),
            )
        _check_int("filters", len(self.filters), 1, MAX_CONV_BLOCKS, what=Message("number of convolution blocks"))
        for count in self.filters:
            _check_int("filters", count, 1, MAX_FILTERS, what=Message("filters per block"))
        _check_int("kernel_size", self.kernel_size, 1, 7)
        if self.kernel_size % 2 == 0:
            raise ConfigError(
                "kernel_size",
                Message("must be odd (got {value}) so 'same' padding stays centred", value=self.kernel_size),
            )
        _check_int("convs_per_block", self.convs_per_block, 1, 3)
        _check_int("dense_units", self.dense_units, 0, 4096)
        _check_float("dropout", self.dropout, 0.0, 0.9)
        _check_int("epochs", self.epochs, 1, MAX_EPOCHS)
        _check_int("batch_size", self.batch_size, 1, 8192)
        _check_float("validation_split", self.validation_split, 0.0, 0.5)
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError("optimizer", _one_of(OPTIMIZERS, self.optimizer))
        _check_float("learning_rate", self.learning_rate, 1e-6, 1.0)
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError("lr_schedule", _one_of(LR_SCHEDULES, self.lr_schedule))
        _check_int("early_stopping_patience", self.early_stopping_patience, 0, MAX_EPOCHS)
        if (self.early_stopping_patience or self.lr_schedule == "plateau") and self.validation_split == 0:
            raise ConfigError(
                "validation_split",
                Message("must be above 0 when early stopping or the plateau schedule is on: both watch val_loss"),
            )
        _check_float("augment_shift", self.augment_shift, 0.0, 0.3)
        _check_float("augment_rotation", self.augment_rotation, 0.0, 45.0)
        _check_float("augment_zoom", self.augment_zoom, 0.0, 0.5)
        _check_int("seed", self.seed, 0, 2**31 - 1)
        if self.train_limit is not None:
            _check_int("train_limit", self.train_limit, 100, 60_000)
            val_images = int(self.train_limit * self.validation_split)
            if self.validation_split and val_images < 10:
                raise ConfigError(
                    "validation_split",
                    Message("leaves only {count} validation images; raise train_limit", count=val_images),
                )
        return self

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["filters"] = list(self.filters)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict) -> RunConfig:
        """Build and validate a config from saved or user data; unknown keys are an error, missing ones default."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                unknown[0], Message("is not a config field (known: {fields})", fields=", ".join(sorted(known)))
            )
        return cls(**data)


def _one_of(choices: tuple[str, ...], value) -> Message:
    return Message("must be one of {choices} (got {value})", choices=", ".join(choices), value=repr(value))


def _check_int(name: str, value, low: int, high: int, what: Message | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, Message("must be a whole number (got {value})", value=repr(value)))
    if not low <= value <= high:
        raise ConfigError(
            name,
            Message(
                "{what} must be between {low} and {high} (got {value})",
                what=what or Message("value"),
                low=low,
                high=high,
                value=value,
            ),
        )


def _check_float(name: str, value, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(name, Message("must be a number (got {value})", value=repr(value)))
    if not low <= value <= high:
        raise ConfigError(
            name, Message("must be between {low:g} and {high:g} (got {value:g})", low=low, high=high, value=value)
        )
