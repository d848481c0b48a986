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

from mnist_core.data.mnist import IMAGE_SIZE, TRAIN_CLASS_COUNTS
from mnist_core.i18n import Message, TranslatableError, as_message

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
LR_SCHEDULES = ("constant", "cosine", "exponential", "plateau", "warmup_cosine")
PADDINGS = ("same", "valid")
# float32 everywhere, or Keras' mixed_bfloat16 policy on every layer but the output (weights kept in float32, the
# arithmetic in bfloat16, the probabilities and the loss in float32). Worth it only where the CPU has bf16 units
# (`networks.backend.preferred_precision`); elsewhere oneDNN emulates it, slower than float32.
PRECISIONS = ("float32", "mixed_bfloat16")

# What the optimizer and schedule names stand for beyond the config's numbers. Here, not in training.py, so that
# codegen.py can write them into a script without importing Keras (the Train page shows that script on every move).
SGD_MOMENTUM = 0.9  # with Nesterov momentum
EXPONENTIAL_DECAY_PER_EPOCH = 0.85  # the exponential schedule: the rate falls to this fraction of itself each epoch
PLATEAU_FACTOR = 0.5  # the plateau schedule halves the rate...
PLATEAU_PATIENCE = 2  # ...after this many epochs without a lower val_loss...
PLATEAU_MIN_LR = 1e-6  # ...but not below this
# The warm-up cosine schedule climbs in a straight line from WARMUP_START_FACTOR x the learning rate to the learning
# rate over the first WARMUP_FRACTION of all steps, then falls to 0 along a cosine. A rate of 0.01 from the first step
# moves Adam's still-empty moment estimates too far; these are the defaults of PyTorch's OneCycleLR (pct_start 0.3,
# div_factor 25) that tuomaso/train_mnist_fast trains with, and Keras' own CosineDecay(warmup_target=...) draws the
# same shape built in, so a saved model reloads without custom objects. Chosen on a validation split for `fast`: mean
# 99.32% over 4 seeds against 99.30% for a true OneCycleLR.
WARMUP_FRACTION = 0.3
WARMUP_START_FACTOR = 1 / 25
MAX_LABEL_SMOOTHING = 0.5
# Weight averaging: the optimizer keeps an exponential moving average of the weights (Keras' `use_ema`), and the model
# ends with the average, not the last step's weights. 0.99 averages about the last 100 steps, 0.999 the last 1,000.
MAX_EMA_MOMENTUM = 0.9999
# Keras' average starts at the untrained weights and keeps momentum**steps of them: a run needs at least this many
# times 1 / (1 - momentum) steps for the start to fall under 5% of the average (e**-3). Shorter, and the model it ends
# with is partly untrained: `best` with 0.995 on 9,600 images validated at 18% after its first 150 steps, 98% later.
EMA_MIN_HORIZONS = 3
EMA_MOMENTA = (0.99, 0.995, 0.999, 0.9995, 0.9999)  # the usual choices, offered by the Train page and in messages
# Slant: a lean about the image's centre, each row moving sideways by up to this slope times its height above or
# below the middle (0.2 leans a stroke by up to 11 degrees either way), as people's handwriting leans more or less
# than MNIST's writers'.
MAX_AUGMENT_SHEAR = 0.5
# Elastic distortion's strength, Simard et al.'s alpha for a field smoothed over 4 pixels (they used 34 on MNIST), and
# the stroke-width change, a share of the way to a 3x3 dilation (thicker) or to a stroke cut back (thinner); see
# mnist_core.networks.augmentation.
MAX_AUGMENT_ELASTIC = 60.0
ELASTIC_SIGMA = 4.0  # pixels: Simard et al.'s smoothing for 28x28 digits; the strength (alpha) is the knob
MAX_AUGMENT_STROKE = 1.0

# Each 2x2 pooling halves the 28x28 image; four blocks leave a 1x1 map, a fifth would leave nothing. With 'valid'
# padding each convolution also trims kernel_size - 1 pixels: `validate` follows the size block by block.
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
    kernel_size: int | tuple[int, ...] = 3  # one size for every block, or one per block: (5, 3)
    padding: str = "same"  # "same" keeps a convolution's output the size of its input; "valid" trims the edges
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
    adam_beta_1: float = 0.9  # Adam's and AdamW's decay rates of the gradient's running mean...
    adam_beta_2: float = 0.999  # ...and of its running square (Keras' defaults)
    label_smoothing: float = 0.0  # the target puts 1 - s on the digit and s spread over all ten classes
    precision: str = "float32"  # see PRECISIONS
    early_stopping_patience: int = 0  # 0 = off; else epochs without a better val_loss before stopping
    ema_momentum: float = 0.0  # 0 = off; else the model ends with this moving average of its weights
    # Data augmentation, applied to training images only (0 = off for each).
    augment_shift: float = 0.0  # fraction of the image size, e.g. 0.1 = up to 2.8 px
    augment_rotation: float = 0.0  # degrees
    augment_zoom: float = 0.0  # fraction, e.g. 0.1 = 90%..110%
    augment_shear: float = 0.0  # slant: a slope, e.g. 0.2 = a lean of up to 11 degrees either way
    augment_elastic: float = 0.0  # elastic distortion's strength (alpha), e.g. 34
    augment_stroke: float = 0.0  # stroke width: up to this share thicker or thinner, e.g. 0.5
    seed: int = 42
    train_limit: int | None = None  # use only the first N training images (quick runs)

    def __post_init__(self) -> None:
        for name in ("filters", "kernel_size"):  # from JSON or a form: a tuple, so configs compare and hash alike
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))
        self.validate()

    @property
    def conv_blocks(self) -> int:
        return len(self.filters)

    @property
    def kernel_sizes(self) -> tuple[int, ...]:
        """The kernel size of each block."""
        if isinstance(self.kernel_size, tuple):
            return self.kernel_size
        return (self.kernel_size,) * self.conv_blocks

    def steps_per_epoch(self, images: int) -> int:
        """Optimizer steps in an epoch over `images` training images: Keras' validation_split holds back the last of
        them, and the last batch may be short."""
        fit_images = images - int(images * self.validation_split)
        return -(-fit_images // self.batch_size)

    @property
    def steps(self) -> int:
        """How many optimizer steps the run takes on MNIST if no early stop ends it."""
        return self.epochs * self.steps_per_epoch(self.train_limit or sum(TRAIN_CLASS_COUNTS))

    @property
    def augments(self) -> bool:
        return any(
            (
                self.augment_shift,
                self.augment_rotation,
                self.augment_zoom,
                self.augment_shear,
                self.augment_elastic,
                self.augment_stroke,
            )
        )

    def replace(self, **changes) -> RunConfig:
        """A copy with some fields changed (checked like any new config)."""
        for name in ("filters", "kernel_size"):
            if isinstance(changes.get(name), list):
                changes[name] = tuple(changes[name])
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
        self._validate_kernels()
        _check_int("convs_per_block", self.convs_per_block, 1, 3)
        if self.padding not in PADDINGS:
            raise ConfigError("padding", _one_of(PADDINGS, self.padding))
        self._validate_image_size()
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
        for name in ("adam_beta_1", "adam_beta_2"):
            value = getattr(self, name)
            _check_float(name, value, -math.inf, math.inf)  # a number
            if (
                not 0.0 <= value < 1.0
            ):  # at 1 the running average never forgets its start, and Adam divides by 1 - beta**t
                raise ConfigError(name, Message("must be at least 0 and below 1 (got {value:g})", value=value))
        _check_float("label_smoothing", self.label_smoothing, 0.0, MAX_LABEL_SMOOTHING)
        if self.precision not in PRECISIONS:
            raise ConfigError("precision", _one_of(PRECISIONS, self.precision))
        _check_int("early_stopping_patience", self.early_stopping_patience, 0, MAX_EPOCHS)
        _check_float("ema_momentum", self.ema_momentum, 0.0, MAX_EMA_MOMENTUM)
        self._validate_ema_length()
        if (self.early_stopping_patience or self.lr_schedule == "plateau") and self.validation_split == 0:
            raise ConfigError(
                "validation_split",
                Message("must be above 0 when early stopping or the plateau schedule is on: both watch val_loss"),
            )
        _check_float("augment_shift", self.augment_shift, 0.0, 0.3)
        _check_float("augment_rotation", self.augment_rotation, 0.0, 45.0)
        _check_float("augment_zoom", self.augment_zoom, 0.0, 0.5)
        _check_float("augment_shear", self.augment_shear, 0.0, MAX_AUGMENT_SHEAR)
        _check_float("augment_elastic", self.augment_elastic, 0.0, MAX_AUGMENT_ELASTIC)
        _check_float("augment_stroke", self.augment_stroke, 0.0, MAX_AUGMENT_STROKE)
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

    def _validate_ema_length(self) -> None:
        if not self.ema_momentum or self.steps >= EMA_MIN_HORIZONS / (1 - self.ema_momentum):
            return
        fitting = [m for m in EMA_MOMENTA if self.steps >= EMA_MIN_HORIZONS / (1 - m)]  # what the Train page offers
        advice = (
            Message("choose {momentum:g} or less, or train for more epochs", momentum=fitting[-1])
            if fitting
            else Message("turn it off, or train for more epochs")
        )
        raise ConfigError(
            "ema_momentum",
            Message(
                "averages about the last {averaged:,} steps, but this run takes only {steps:,}: the average would still"
                " hold much of the untrained start; {advice}",
                averaged=round(1 / (1 - self.ema_momentum)),
                steps=self.steps,
                advice=advice,
            ),
        )

    def _validate_kernels(self) -> None:
        if isinstance(self.kernel_size, tuple) and len(self.kernel_size) != self.conv_blocks:
            raise ConfigError(
                "kernel_size",
                Message(
                    "gives {sizes} kernel sizes for {blocks} blocks: give one size, or one per block",
                    sizes=len(self.kernel_size),
                    blocks=self.conv_blocks,
                ),
            )
        for size in self.kernel_sizes:
            _check_int("kernel_size", size, 1, 7)
            if size % 2 == 0:
                raise ConfigError(
                    "kernel_size", Message("must be odd (got {value}) so 'same' padding stays centred", value=size)
                )

    def _validate_image_size(self) -> None:
        """With 'valid' padding every convolution trims kernel_size - 1 pixels: the image must last every block."""
        size = IMAGE_SIZE
        for block, kernel in enumerate(self.kernel_sizes, start=1):
            if self.padding == "valid":
                size -= self.convs_per_block * (kernel - 1)
            size //= 2  # the block's 2x2 pooling
            if size < 1:
                raise ConfigError(
                    "padding",
                    Message(
                        "'valid' padding leaves no image after block {block} of {blocks}: use 'same' padding, "
                        "smaller kernels or fewer blocks",
                        block=block,
                        blocks=self.conv_blocks,
                    ),
                )

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["filters"] = list(self.filters)
        if isinstance(self.kernel_size, tuple):
            data["kernel_size"] = list(self.kernel_size)
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
