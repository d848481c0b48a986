"""The code behind the sliders: a standalone Python script that trains exactly what a RunConfig trains.

The script reads like the blog post's (constants, the data, the model, its summary, compile, fit, evaluate), with a
short comment above each step as the post has, and needs numpy and keras only, so a student can take it anywhere. It
builds the same layers with the same names, in the same order, as `mnist_core.networks.model.build_model`, so its
`model.summary()` matches the Train page's table row for row, and it trains as `mnist_core.networks.training.train`
does: the same optimizer and learning-rate schedule, validation split, first N images, random seed and callbacks.
Code appears only for the options that are on, so the post's own model reads almost like the post.

The comments and docstrings are in the reader's language (`t`, a translator: English by default; the Chinese ones
use the post's own words); the code is the same in every language, so every reader trains the same network.

Plain string building, no Keras import: the Train page regenerates the script on every slider move.
"""

from __future__ import annotations

import ast
import functools
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from mnist_core.data.mnist import CACHE_ENV, IMAGE_SIZE, NUM_CLASSES
from mnist_core.i18n import Translator, marked, translator
from mnist_core.networks.config import (
    ELASTIC_SIGMA,
    EXPONENTIAL_DECAY_PER_EPOCH,
    PLATEAU_FACTOR,
    PLATEAU_MIN_LR,
    PLATEAU_PATIENCE,
    SGD_MOMENTUM,
    WARMUP_FRACTION,
    WARMUP_START_FACTOR,
    RunConfig,
)

DEFAULT_TITLE = marked("Your settings from MNIST Lab")
# Where mnist_core.data.mnist keeps its cache when $MNIST_LAB_CACHE is unset (`data.default_cache_path()`).
DEFAULT_CACHE = "~/.cache/mnist-lab/mnist.npz"
OPTIMIZER_CLASSES = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop"}
# Keras' own default rate for these optimizers: at that rate and without a schedule, the post's `optimizer="adam"`
# says it all.
KERAS_DEFAULT_RATE = {"adam": 0.001, "adamw": 0.001, "rmsprop": 0.001}
TITLE_MAX_COLUMNS = 100  # a run's name heads the docstring: a Chinese one of 60 characters takes 120 columns
LINE_LENGTH = 120  # the project's ruff setting, which the script keeps
# Chinese punctuation that may not start a line, and that which may not end one (the line breaks before or after it).
NO_BREAK_BEFORE = set("，。、；：？！）》」』”’,.;:?!)]")
NO_BREAK_AFTER = set("（《「『“‘([")
# Where a Chinese comment had best break: after a pause.
PAUSES = set("，；：、")


def script_for(config: RunConfig, title: str | None = None, t: Translator | None = None) -> str:
    """The whole script for `config`, ruff-formatted, ending in a newline; `title` heads its docstring, and its
    comments are in `t`'s language (English by default)."""
    t = t or translator()
    sections = [
        _header(config, title, t),
        _imports(config, t),
        _constants(config, t),
        _random_seed(t),
        _data(config, t),
        _own_layers(config, t),
        _augmentation(config, t),
        _model(config, t),
        _compile(config, t),
        _keep_best_weights(config, t),
        _fit(config, t),
        _evaluate(t),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def preset_title(preset: str, changed: Iterable[str] = (), t: Translator | None = None) -> str:
    """The title of a preset's script: "The fast preset", "..., with epochs, filters changed"."""
    t = t or translator()
    return with_changes(t("The {preset} preset", preset=preset), changed, t)


def with_changes(title: str, changed: Iterable[str] = (), t: Translator | None = None) -> str:
    """`title`, naming the settings (as the config names them) changed from it, if any."""
    t = t or translator()
    changed = sorted(changed)
    return t("{title}, with {settings} changed", title=title, settings=", ".join(changed)) if changed else title


# --- comments that fit the line ----------------------------------------------------------------------------------


def width(text: str) -> int:
    """Columns on screen, as ruff measures a line: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def wrap(text: str, columns: int) -> list[str]:
    """`text` in lines of at most `columns` columns. A newline in it starts a new line (a translator's choice, as
    the post splits its longer comments); English breaks at spaces, Chinese between any two characters, preferably
    after a comma or semicolon (，；：、) in the last third of the line, never before a closing mark such as ，or 。
    nor after an opening one. A single word longer than a line stays whole."""
    return [line for paragraph in text.split("\n") for line in _wrap_paragraph(paragraph, columns)]


def _wrap_paragraph(text: str, columns: int) -> list[str]:
    lines: list[list[tuple[bool, str]]] = []
    line: list[tuple[bool, str]] = []
    for unit in _units(text):
        if line and width(_joined([*line, unit])) > columns:
            pause = max((i for i, (_, u) in enumerate(line) if u[-1] in PAUSES), default=-1) + 1
            if pause and width(_joined(line[:pause])) >= columns * 2 // 3:
                lines.append(line[:pause])
                line = line[pause:]
            else:
                lines.append(line)
                line = []
        line.append(unit)
    return [_joined(units) for units in [*lines, line] if units]


def _joined(units: list[tuple[bool, str]]) -> str:
    return "".join((" " if space and index else "") + unit for index, (space, unit) in enumerate(units))


def _units(text: str) -> list[tuple[bool, str]]:
    """What a line may break between, each with whether a space came before it: English words, single Chinese
    characters, a mark kept with the unit it belongs to."""
    units: list[tuple[bool, str]] = []
    space = False
    for char in text:
        if char.isspace():
            space = True
            continue
        wide = width(char) == 2
        glued = (
            units
            and not space
            and (
                char in NO_BREAK_BEFORE
                or units[-1][1][-1] in NO_BREAK_AFTER
                or not (wide or width(units[-1][1][-1]) == 2)  # an English word goes on
            )
        )
        if glued:
            units[-1] = (units[-1][0], units[-1][1] + char)
        else:
            units.append((space, char))
        space = False
    return units


def _comment(text: str, indent: str = "") -> str:
    """`text` as comment lines (`# ...`) that fit the line length."""
    prefix = indent + "# "
    return "\n".join(prefix + line for line in wrap(text, LINE_LENGTH - width(prefix)))


def _percent(fraction: float) -> str:
    """0.2 -> '20%', 0.125 -> '12.5%'."""
    return f"{fraction * 100:g}%"


# --- the script, section by section ------------------------------------------------------------------------------


def _header(config: RunConfig, title: str | None, t: Translator) -> str:
    title = _plain_title(title) or t(DEFAULT_TITLE)
    if config.train_limit:
        about = t(
            "Trains a convolutional network on the first {count} MNIST training images as MNIST Lab trains these"
            " settings: the same layers, optimizer, learning-rate schedule, callbacks and random seed. Needs numpy"
            " and keras only.",
            count=f"{config.train_limit:,}",
        )
    else:
        about = t(
            "Trains a convolutional network on all 60,000 MNIST training images as MNIST Lab trains these settings:"
            " the same layers, optimizer, learning-rate schedule, callbacks and random seed. Needs numpy and keras"
            " only."
        )
    paragraph = "\n".join(wrap(about, LINE_LENGTH))
    return f'"""{title}\n\n{paragraph}\n"""'


def _plain_title(title: str | None) -> str:
    """One line that cannot end the docstring or start an escape sequence in it, at most TITLE_MAX_COLUMNS wide."""
    words = " ".join((title or "").split()).replace("\\", "/").replace('"', "'")
    kept = ""
    for char in filter(str.isprintable, words):
        if width(kept + char) > TITLE_MAX_COLUMNS:
            break
        kept += char
    return kept.rstrip()


def _imports(config: RunConfig, t: Translator) -> str:
    math = _needs_steps_per_epoch(config) or config.augment_elastic
    standard = ["import math", "import os"] if math else ["import os"]
    own_layers = _uses_own_layers(config)
    return "\n".join(
        [
            _comment(t("Import the modules.")),
            *standard,
            "",
            "import keras",
            "import numpy as np",
            "from keras import layers, ops" if own_layers else "from keras import layers",
        ]
    )


# The project's own augmentation layers, copied into a script that uses them from their module's source: read as
# text, not imported, since that module imports Keras and this one must not (the Train page shows the script).
AUGMENTATION_SOURCE = Path(__file__).with_name("augmentation.py")


@functools.cache
def _own_definitions() -> dict[str, tuple[ast.AST, int, list[str]]]:
    """Each top-level function, class and constant of augmentation.py by name: its node, the number of its first
    line (its decorators' included) and its source lines."""
    source = AUGMENTATION_SOURCE.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            found[node.name] = node, start, lines[start - 1 : node.end_lineno]
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            found[node.targets[0].id] = node, node.lineno, lines[node.lineno - 1 : node.end_lineno]
    return found


def _own_definition(name: str, docstring: str | None = None) -> str:
    """A definition from augmentation.py without its comments, its docstring (if any) replaced by `docstring`."""
    node, start, lines = _own_definitions()[name]
    body = getattr(node, "body", [])
    doc = body[0] if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else None
    kept = []
    for number, line in enumerate(lines, start=start):
        if doc is not None and doc.lineno <= number <= doc.end_lineno:
            if number == doc.lineno:
                kept.append(" " * doc.col_offset + f'"""{docstring}"""')
        elif not line.lstrip().startswith("#"):
            kept.append(line.split("  # ")[0])  # no comment after the code either
    return "\n".join(kept)


def _uses_own_layers(config: RunConfig) -> bool:
    return bool(config.augment_shear or config.augment_elastic or config.augment_stroke)


def _own_layers(config: RunConfig, t: Translator) -> str:
    """The definitions of the project's own augmentation layers the config uses; empty when it uses none."""
    if not _uses_own_layers(config):
        return ""
    parts = [
        _comment(
            t(
                "Augmentation layers of MNIST Lab's own (Keras has none that does this), the same code as"
                " mnist_core/networks/augmentation.py and registered under the same names, so a model saved here"
                " loads in MNIST Lab too."
            )
        ),
        _own_definition("PACKAGE"),
    ]
    if config.augment_elastic:
        parts.append(f"ELASTIC_SIGMA = {ELASTIC_SIGMA!r}")
    if config.augment_shear or config.augment_elastic:
        parts.append(
            "\n\n"
            + _own_definition(
                "bilinear", t("Read each image at fractional rows and columns, bilinearly; outside the image is 0.")
            )
        )
    if config.augment_shear or config.augment_stroke:
        parts.append(
            "\n\n"
            + _own_definition("RandomAmount", t("An augmentation of a random amount for each image, up to factor."))
        )
    if config.augment_shear:
        parts.append(
            "\n\n"
            + _own_definition(
                "RandomSlant", t("Lean each image left or right about its centre, by a slope up to factor either way.")
            )
        )
    if config.augment_elastic:
        parts += [
            "\n\n" + _own_definition("gaussian_taps", t("A normalised 1-D Gaussian, cut at two sigmas each side.")),
            "\n\n"
            + _own_definition(
                "RandomElasticDistortion",
                t("Elastic distortion: every pixel moves along a smooth random field, a new one for each image."),
            ),
        ]
    if config.augment_stroke:
        parts.append(
            "\n\n"
            + _own_definition(
                "RandomStrokeWidth", t("Strokes thicker or thinner by a random share up to factor, for each image.")
            )
        )
    return "\n".join(parts) + "\n"


def _constants(config: RunConfig, t: Translator) -> str:
    lines = [
        _comment(t("epochs: how many times training goes through all the training images.")),
        f"EPOCHS = {config.epochs}",
        _comment(t("batch_size: how many images the optimizer learns from in each step.")),
        f"BATCH_SIZE = {config.batch_size}",
    ]
    if config.validation_split:
        lines += [
            _comment(
                t(
                    "validation_split: the last {percent} of the training images are held back as the validation"
                    " set, to measure val_loss.",
                    percent=_percent(config.validation_split),
                )
            ),
            f"VALIDATION_SPLIT = {config.validation_split!r}",
        ]
    if _uses_learning_rate_constant(config):
        lines += [
            _comment(t("learning_rate: how big a step the optimizer takes.")),
            f"LEARNING_RATE = {config.learning_rate!r}",
        ]
    if config.early_stopping_patience:
        lines += [
            _comment(t("Early stopping: stop after this many epochs without a lower val_loss.")),
            f"PATIENCE = {config.early_stopping_patience}",
        ]
    if config.train_limit:
        lines += [
            _comment(t("Train on the first TRAIN_LIMIT training images only.")),
            f"TRAIN_LIMIT = {config.train_limit}",
        ]
    lines += [
        _comment(t("The random seed (see keras.utils.set_random_seed below).")),
        f"RANDOM_SEED = {config.seed}",
        _comment(t("10 classes: the digits 0 to 9.")),
        f"NUM_CLASSES = {NUM_CLASSES}",
        _comment(t("Each image is 28x28 pixels with 1 channel (grey).")),
        f"INPUT_SHAPE = ({IMAGE_SIZE}, {IMAGE_SIZE}, 1)",
        _comment(
            t("MNIST Lab's copy of MNIST (Keras' mnist.npz layout): where it is set up, the script runs offline.")
        ),
        f'MNIST_CACHE = os.path.expanduser(os.environ.get("{CACHE_ENV}") or "{DEFAULT_CACHE}")',
    ]
    return "\n".join(lines)


def _random_seed(t: Translator) -> str:
    return "\n".join(
        [
            _comment(
                t(
                    "Fix the random seed: the same starting weights and the same random choices (shuffles, dropout)"
                    " on every run."
                )
            ),
            "keras.utils.set_random_seed(RANDOM_SEED)",
        ]
    )


def _data(config: RunConfig, t: Translator) -> str:
    limit = (
        [
            _comment(t("Only the first TRAIN_LIMIT training images.")),
            "x_train, y_train = x_train[:TRAIN_LIMIT], y_train[:TRAIN_LIMIT]",
        ]
        if config.train_limit
        else []
    )
    lines = [
        _comment(
            t(
                "Load the handwritten digits: 60,000 training and 10,000 test images of 28x28 grey pixels, with"
                " their labels; MNIST Lab's copy if there is one, else Keras downloads them."
            )
        ),
        "if os.path.exists(MNIST_CACHE):",
        "    with np.load(MNIST_CACHE) as mnist:",
        '        x_train, y_train = mnist["x_train"], mnist["y_train"]',
        '        x_test, y_test = mnist["x_test"], mnist["y_test"]',
        "else:",
        "    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()",
        *limit,
        _comment(t("Show the shapes of the data: (number of images, 28, 28).")),
        'print("training images:", x_train.shape, "test images:", x_test.shape)',
        "",
        _comment(
            t(
                "Data preprocessing: reshape to a 4-D array (number of images, 28, 28, 1), adding the grey channel"
                " Conv2D expects."
            )
        ),
        "x_train = x_train.reshape(-1, *INPUT_SHAPE)",
        "x_test = x_test.reshape(-1, *INPUT_SHAPE)",
        _comment(t("Normalise: pixel values 0-255 become 0-1.")),
        'x_train = x_train.astype("float32") / 255',
        'x_test = x_test.astype("float32") / 255',
        _comment(
            t(
                "One-hot encode the labels, as 0s and 1s, for categorical_crossentropy: 5 becomes"
                " [0, 0, 0, 0, 0, 1, 0, 0, 0, 0]."
            )
        ),
        "y_train = keras.utils.to_categorical(y_train, NUM_CLASSES)",
        "y_test = keras.utils.to_categorical(y_test, NUM_CLASSES)",
    ]
    return "\n".join(lines)


def _model(config: RunConfig, t: Translator) -> str:
    lines = []
    if config.precision != "float32":
        lines += [
            _comment(
                t(
                    "Mixed precision: the layers below compute in bfloat16 (fast where the CPU has bf16 units), their"
                    " weights stay float32."
                )
            ),
            f'keras.mixed_precision.set_global_policy("{config.precision}")',
        ]
    lines += [
        _comment(t("Build the model layer by layer; the layer names are those of MNIST Lab's summary table.")),
        _comment(t("The input layer: one 28x28x1 image of a digit.")),
        'inputs = keras.Input(shape=INPUT_SHAPE, name="image")',
    ]
    previous = "inputs"
    if config.augments:
        lines += [_comment(t("Data augmentation first (while training only).")), "x = augmentation(inputs)"]
        previous = "x"
    number = 0
    for block, (filters, size) in enumerate(zip(config.filters, config.kernel_sizes, strict=True), start=1):
        kernel = f"kernel_size=({size}, {size})"
        for conv in range(1, config.convs_per_block + 1):
            number += 1
            name = f"conv{block}" if config.convs_per_block == 1 else f"conv{block}_{conv}"
            if config.batch_norm:
                lines += [
                    _comment(
                        t(
                            "Convolution layer {number}: {filters} filters of {size}x{size}, zero padding (same) keeps"
                            " the size; no bias, as batch normalisation follows.",
                            number=number,
                            filters=filters,
                            size=size,
                        )
                        if config.padding == "same"
                        else t(
                            "Convolution layer {number}: {filters} filters of {size}x{size}, no padding (valid): the"
                            " image loses {trim} pixels of height and width; no bias, as batch normalisation follows.",
                            number=number,
                            filters=filters,
                            size=size,
                            trim=size - 1,
                        )
                    ),
                    f'x = layers.Conv2D({filters}, {kernel}, padding="{config.padding}", use_bias=False, '
                    f'name="{name}")({previous})',
                    _comment(t("Batch normalisation, then the relu activation.")),
                    f'x = layers.BatchNormalization(name="{name}_bn")(x)',
                    f'x = layers.Activation("relu", name="{name}_relu")(x)',
                ]
            else:
                lines += [
                    _comment(
                        t(
                            "Convolution layer {number}: {filters} filters of {size}x{size}, zero padding (same) keeps"
                            " the size, relu activation.",
                            number=number,
                            filters=filters,
                            size=size,
                        )
                        if config.padding == "same"
                        else t(
                            "Convolution layer {number}: {filters} filters of {size}x{size}, no padding (valid): the"
                            " image loses {trim} pixels of height and width; relu activation.",
                            number=number,
                            filters=filters,
                            size=size,
                            trim=size - 1,
                        )
                    ),
                    f'x = layers.Conv2D({filters}, {kernel}, padding="{config.padding}", activation="relu", '
                    f'name="{name}")({previous})',
                ]
            previous = "x"
        lines += [
            _comment(
                t(
                    "Pooling layer {number}: max pooling over 2x2 windows (pool_size) halves the height and width.",
                    number=block,
                )
            ),
            f'x = layers.MaxPooling2D(pool_size=(2, 2), name="pool{block}")(x)',
        ]
    dropout = _comment(
        t(
            "Dropout against overfitting: while training, {percent} of the values are set to 0 at random.",
            percent=_percent(config.dropout),
        )
    )
    if config.dropout:
        lines += [dropout, f'x = layers.Dropout({config.dropout!r}, name="dropout_conv")(x)']
    lines += [
        _comment(t("Flatten layer: the feature maps become one long vector.")),
        'x = layers.Flatten(name="flatten")(x)',
    ]
    if config.dense_units:
        lines += [
            _comment(t("Hidden layer: {units} neurons, relu activation.", units=config.dense_units)),
            f'x = layers.Dense({config.dense_units}, activation="relu", name="dense")(x)',
        ]
        if config.dropout:
            lines += [dropout, f'x = layers.Dropout({config.dropout!r}, name="dropout_dense")(x)']
    lines += [
        _comment(
            t(
                "Output layer: 10 neurons, one per class (the digits 0 to 9); softmax turns them into probabilities"
                " to classify by."
            )
        ),
        *(
            [_comment(t("The output layer computes in float32, so the probabilities and the loss are exact."))]
            if config.precision != "float32"
            else []
        ),
        'outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="digit"'
        + (', dtype="float32"' if config.precision != "float32" else "")
        + ")(x)",
        _comment(t("The model: from the input layer to the output layer.")),
        'model = keras.Model(inputs, outputs, name="mnist_cnn")',
        _comment(t("Model summary: each layer's output shape and number of parameters.")),
        "model.summary()",
    ]
    return "\n".join(lines)


def _augmentation(config: RunConfig, t: Translator) -> str:
    if not config.augments:
        return ""
    steps = []

    def step(comment: str, call: str) -> None:
        """One layer of the augmentation, indented into its list, under its comment."""
        steps.extend([_comment(comment, " " * 8), f"        {call},"])

    if config.augment_stroke:
        step(
            t(
                "Strokes thicker or thinner by up to {percent} of the way to a 3x3 dilation or to a stroke cut back.",
                percent=_percent(config.augment_stroke),
            ),
            f'RandomStrokeWidth({config.augment_stroke!r}, seed=RANDOM_SEED, name="stroke_width")',
        )
    if config.augment_elastic:
        step(
            t(
                "Bend the strokes: an elastic distortion of strength {alpha}, smoothed over {sigma} pixels.",
                alpha=_number(config.augment_elastic),
                sigma=_number(ELASTIC_SIGMA),
            ),
            f'RandomElasticDistortion({config.augment_elastic!r}, seed=RANDOM_SEED, name="elastic")',
        )
    if config.augment_rotation:
        degrees = _number(config.augment_rotation)
        step(
            t("Rotate by up to {degrees} degrees either way, as a fraction of a full turn.", degrees=degrees),
            f'layers.RandomRotation({degrees} / 360, fill_mode="constant", seed=RANDOM_SEED)',
        )
    if config.augment_zoom:
        step(
            t("Zoom in or out by up to {percent}.", percent=_percent(config.augment_zoom)),
            f'layers.RandomZoom({config.augment_zoom!r}, fill_mode="constant", seed=RANDOM_SEED)',
        )
    if config.augment_shear:
        step(
            t(
                "Slant: lean the digit left or right about its centre, each row moving sideways by up to {factor}"
                " times its height above or below the middle row.",
                factor=repr(config.augment_shear),
            ),
            f'RandomSlant({config.augment_shear!r}, seed=RANDOM_SEED, name="slant")',
        )
    if config.augment_shift:
        shift = repr(config.augment_shift)
        step(
            t("Shift by up to {percent} of the width and of the height.", percent=_percent(config.augment_shift)),
            f'layers.RandomTranslation({shift}, {shift}, fill_mode="constant", seed=RANDOM_SEED)',
        )
    return "\n".join(
        [
            _comment(
                t(
                    "Data augmentation: random changes to the training images, so the model sees more varied"
                    " digits; Keras applies these layers while training only."
                )
            ),
            "augmentation = keras.Sequential(",
            "    [",
            *steps,
            "    ],",
            '    name="augmentation",',
            ")",
        ]
    )


def _compile(config: RunConfig, t: Translator) -> str:
    lines = []
    if _needs_steps_per_epoch(config) and config.validation_split:
        lines += [
            _comment(
                t(
                    "Optimizer steps per epoch: one per batch of the training images Keras does not hold back for"
                    " validation."
                )
            ),
            "fit_images = len(x_train) - int(len(x_train) * VALIDATION_SPLIT)",
            "steps_per_epoch = math.ceil(fit_images / BATCH_SIZE)",
        ]
    elif _needs_steps_per_epoch(config):
        lines += [
            _comment(t("Optimizer steps per epoch: one per batch.")),
            "steps_per_epoch = math.ceil(len(x_train) / BATCH_SIZE)",
        ]
    if config.lr_schedule == "cosine":
        lines += [
            _comment(
                t("The learning rate falls from LEARNING_RATE to 0 along a cosine, over every step of every epoch.")
            ),
            "learning_rate = keras.optimizers.schedules.CosineDecay("
            "LEARNING_RATE, decay_steps=EPOCHS * steps_per_epoch)",
        ]
    elif config.lr_schedule == "exponential":
        lines += [
            _comment(
                t(
                    "The learning rate falls to {factor} of itself over each epoch.",
                    factor=repr(EXPONENTIAL_DECAY_PER_EPOCH),
                )
            ),
            "learning_rate = keras.optimizers.schedules.ExponentialDecay("
            f"LEARNING_RATE, decay_steps=steps_per_epoch, decay_rate={EXPONENTIAL_DECAY_PER_EPOCH!r})",
        ]
    elif config.lr_schedule == "warmup_cosine":
        lines += [
            _comment(
                t(
                    "The learning rate climbs in a straight line from {start} x LEARNING_RATE to LEARNING_RATE over"
                    " the first {percent} of all steps (the warm-up), then falls to 0 along a cosine.",
                    start=repr(WARMUP_START_FACTOR),
                    percent=_percent(WARMUP_FRACTION),
                )
            ),
            "total_steps = EPOCHS * steps_per_epoch",
            f"warmup_steps = int({WARMUP_FRACTION!r} * total_steps)",
            "learning_rate = keras.optimizers.schedules.CosineDecay(",
            f"    LEARNING_RATE * {WARMUP_START_FACTOR!r}, decay_steps=total_steps - warmup_steps,"
            " warmup_target=LEARNING_RATE, warmup_steps=warmup_steps",
            ")",
        ]
    rate = "learning_rate" if _needs_steps_per_epoch(config) else "LEARNING_RATE"
    ema = f", use_ema=True, ema_momentum={config.ema_momentum!r}" if config.ema_momentum else ""
    if not _uses_learning_rate_constant(config):
        optimizer, optimizer_name = f'"{config.optimizer}"', config.optimizer
    else:
        optimizer_name = OPTIMIZER_CLASSES[config.optimizer]
        if config.optimizer == "sgd":
            lines += [
                _comment(
                    t(
                        "The optimizer: SGD with momentum {momentum} (Nesterov's) and the learning rate above.",
                        momentum=repr(SGD_MOMENTUM),
                    )
                ),
                f"optimizer = keras.optimizers.SGD({rate}, momentum={SGD_MOMENTUM!r}, nesterov=True{ema})",
            ]
        elif _custom_betas(config):
            lines += [
                _comment(
                    t(
                        "The optimizer: {optimizer} with the learning rate above; beta_1 and beta_2 set how fast its"
                        " running averages of the gradient and of its square forget.",
                        optimizer=optimizer_name,
                    )
                ),
                f"optimizer = keras.optimizers.{optimizer_name}("
                f"{rate}, beta_1={config.adam_beta_1!r}, beta_2={config.adam_beta_2!r}{ema})",
            ]
        else:
            lines += [
                _comment(t("The optimizer: {optimizer} with the learning rate above.", optimizer=optimizer_name)),
                f"optimizer = keras.optimizers.{optimizer_name}({rate}{ema})",
            ]
        if config.ema_momentum:
            lines.insert(
                -1,
                _comment(
                    t(
                        "use_ema: the optimizer keeps a moving average of the weights (momentum {momentum}: about the"
                        " last {steps} steps), and the model ends training with the average.",
                        momentum=repr(config.ema_momentum),
                        steps=f"{round(1 / (1 - config.ema_momentum)):,}",
                    )
                ),
            )
        optimizer = "optimizer"
    loss = '"categorical_crossentropy"'
    if config.label_smoothing:
        share = config.label_smoothing / NUM_CLASSES
        lines += [
            _comment(
                t(
                    "Label smoothing: the targets ask for {digit} on the right digit and {other} on each other class,"
                    " not 1 and 0, so the model is not pushed to be overconfident.",
                    digit=f"{1 - config.label_smoothing + share:.3g}",
                    other=f"{share:.3g}",
                )
            ),
            f"loss_function = keras.losses.CategoricalCrossentropy(label_smoothing={config.label_smoothing!r})",
        ]
        loss = "loss_function"
    lines += [
        _comment(
            t(
                "Define how to train: the loss function categorical_crossentropy, the optimizer {optimizer}, the"
                " metric accuracy.",
                optimizer=optimizer_name,
            )
        ),
        f'model.compile(loss={loss}, optimizer={optimizer}, metrics=["accuracy"])',
    ]
    return "\n".join(lines)


def _keep_best_weights(config: RunConfig, t: Translator) -> str:
    """Empty without a validation split: there is nothing to choose by, and the last epoch's weights stay; empty with
    weight averaging too, whose average is the model."""
    if not config.validation_split or config.ema_momentum:
        return ""
    why = _comment(
        t(
            "MNIST Lab keeps the weights of the epoch with the lowest val_loss, not the last epoch's. Keras 3's"
            " EarlyStopping(restore_best_weights=True) also restores them at the end, but it is a stopping rule"
            " first, and older Keras restores only when it stopped the training itself: a few lines of our own say"
            " exactly what happens."
        )
    )
    docstring = t("Put back the weights of the epoch with the lowest val_loss when training ends.")
    # Blank lines around: ruff format wants two around a top-level class.
    return f'''
{why}
class KeepBestWeights(keras.callbacks.Callback):
    """{docstring}"""

    def on_train_begin(self, logs=None):
        self.best_val_loss, self.best_epoch, self.best_weights = float("inf"), 0, None

    def on_epoch_end(self, epoch, logs=None):
        val_loss = (logs or {{}}).get("val_loss")
        if val_loss is not None and val_loss < self.best_val_loss:
            self.best_val_loss, self.best_epoch, self.best_weights = val_loss, epoch + 1, self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
            print(f"kept the weights of epoch {{self.best_epoch}}, the lowest val_loss: {{self.best_val_loss:.4f}}")
'''


def _fit(config: RunConfig, t: Translator) -> str:
    callbacks, comments = [], []
    if config.validation_split:
        comments.append(
            t(
                "Start training: x the training images, y their labels; validation_split holds back the last"
                " {percent} of them as the validation set.",
                percent=_percent(config.validation_split),
            )
        )
    else:
        comments.append(
            t(
                "Start training: x the training images, y their labels. No validation set: the weights of the last"
                " epoch are the model's."
            )
        )
    comments.append(
        t(
            "epochs {epochs}, batch_size {batch_size}; verbose 2 prints one line per epoch.",
            epochs=config.epochs,
            batch_size=config.batch_size,
        )
    )
    if config.validation_split and config.ema_momentum:
        callbacks.append("keras.callbacks.SwapEMAWeights()")
        comments.append(
            t(
                "SwapEMAWeights: validate the averaged weights, the ones the model ends with (no epoch's weights are"
                " put back: the average is the model)."
            )
        )
    elif config.validation_split:
        callbacks.append("KeepBestWeights()")
        comments.append(t("KeepBestWeights: at the end, the weights of the epoch with the lowest val_loss."))
    if config.early_stopping_patience:
        callbacks.append('keras.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE)')
        comments.append(t("EarlyStopping: stop after PATIENCE epochs without a lower val_loss."))
    if config.lr_schedule == "plateau":
        callbacks.append(
            f'keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor={PLATEAU_FACTOR!r}, '
            f"patience={PLATEAU_PATIENCE}, min_lr={PLATEAU_MIN_LR!r})"
        )
        comments.append(
            t(
                "ReduceLROnPlateau multiplies the learning rate by {factor} after {patience} epochs without a lower"
                " val_loss.",
                factor=repr(PLATEAU_FACTOR),
                patience=PLATEAU_PATIENCE,
            )
        )
    comments.append(t("history.history holds each epoch's loss and accuracy, to plot the training history."))
    arguments = ["x_train", "y_train"]
    if config.validation_split:
        arguments.append("validation_split=VALIDATION_SPLIT")
    arguments += ["epochs=EPOCHS", "batch_size=BATCH_SIZE"]
    if callbacks:
        inline = "callbacks=[" + ", ".join(callbacks) + "]"
        if len(inline) + len("    ,") <= LINE_LENGTH:
            arguments.append(inline)
        else:
            arguments.append("callbacks=[\n" + "".join(f"        {callback},\n" for callback in callbacks) + "    ]")
    arguments.append("verbose=2")
    listed = "\n".join(f"    {argument}," for argument in arguments)
    return "\n".join([*map(_comment, comments), "history = model.fit(", listed, ")"])


def _evaluate(t: Translator) -> str:
    return "\n".join(
        [
            _comment(t("Evaluate the model's accuracy on the 10,000 test images, which training never saw.")),
            "loss, accuracy = model.evaluate(x_test, y_test, verbose=0)",
            'print(f"test accuracy: {accuracy:.4f}")',
        ]
    )


def _needs_steps_per_epoch(config: RunConfig) -> bool:
    return config.lr_schedule in ("cosine", "exponential", "warmup_cosine")


def _uses_learning_rate_constant(config: RunConfig) -> bool:
    default = KERAS_DEFAULT_RATE.get(config.optimizer)
    return (
        _needs_steps_per_epoch(config)
        or config.learning_rate != default
        or _custom_betas(config)
        or bool(config.ema_momentum)
    )


def _custom_betas(config: RunConfig) -> bool:
    """Adam's or AdamW's betas other than Keras' defaults (the other optimizers have none)."""
    default = RunConfig()
    return config.optimizer in ("adam", "adamw") and (
        (config.adam_beta_1, config.adam_beta_2) != (default.adam_beta_1, default.adam_beta_2)
    )


def _number(value: float) -> str:
    """10.0 -> '10', 12.5 -> '12.5': degrees read better without a trailing .0."""
    return str(int(value)) if float(value).is_integer() else repr(value)
