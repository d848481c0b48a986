"""The code behind the sliders: a standalone Python script that trains exactly what a RunConfig trains.

The script reads like the blog post's (constants, the data, the model, its summary, compile, fit, evaluate) and needs
numpy and keras only, so a student can take it anywhere. It builds the same layers with the same names, in the same
order, as `mnist_core.networks.model.build_model`, so its `model.summary()` matches the Train page's table row for
row, and it trains as `mnist_core.networks.training.train` does: the same optimizer and learning-rate schedule,
validation split, first N images, random seed and callbacks. Code appears only for the options that are on, so the
post's own model reads almost like the post.

Plain string building, no Keras import: the Train page regenerates the script on every slider move.
"""

from __future__ import annotations

from mnist_core.data.mnist import CACHE_ENV, IMAGE_SIZE, NUM_CLASSES
from mnist_core.networks.config import (
    EXPONENTIAL_DECAY_PER_EPOCH,
    PLATEAU_FACTOR,
    PLATEAU_MIN_LR,
    PLATEAU_PATIENCE,
    SGD_MOMENTUM,
    RunConfig,
)

DEFAULT_TITLE = "Your settings from MNIST Lab"
# Where mnist_core.data.mnist keeps its cache when $MNIST_LAB_CACHE is unset (`data.default_cache_path()`).
DEFAULT_CACHE = "~/.cache/mnist-lab/mnist.npz"
OPTIMIZER_CLASSES = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop"}
# Keras' own default rate for these optimizers: at that rate and without a schedule, the post's `optimizer="adam"`
# says it all.
KERAS_DEFAULT_RATE = {"adam": 0.001, "adamw": 0.001, "rmsprop": 0.001}
TITLE_MAX_CHARS = 100
LINE_LENGTH = 120  # the project's ruff setting, which the script keeps


def script_for(config: RunConfig, title: str | None = None) -> str:
    """The whole script for `config`, ruff-formatted, ending in a newline; `title` heads its docstring."""
    sections = [
        _header(config, title),
        _imports(config),
        _constants(config),
        _random_seed(),
        _data(config),
        _augmentation(config),
        _model(config),
        _compile(config),
        _keep_best_weights(config),
        _fit(config),
        _evaluate(),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def _header(config: RunConfig, title: str | None) -> str:
    title = _plain_title(title) or DEFAULT_TITLE
    images = f"the first {config.train_limit:,}" if config.train_limit else "all 60,000"
    return f'''"""{title}

Trains a convolutional network on {images} MNIST training images as MNIST Lab trains these settings: the same
layers, optimizer, learning-rate schedule, callbacks and random seed. Needs numpy and keras only.
"""'''


def _plain_title(title: str | None) -> str:
    """One line that cannot end the docstring or start an escape sequence in it."""
    words = " ".join((title or "").split()).replace("\\", "/").replace('"', "'")
    return "".join(char for char in words if char.isprintable())[:TITLE_MAX_CHARS].rstrip()


def _imports(config: RunConfig) -> str:
    standard = ["import math", "import os"] if _needs_steps_per_epoch(config) else ["import os"]
    return "\n".join(standard) + "\n\nimport keras\nimport numpy as np\nfrom keras import layers"


def _constants(config: RunConfig) -> str:
    lines = [f"EPOCHS = {config.epochs}", f"BATCH_SIZE = {config.batch_size}"]
    if config.validation_split:
        lines.append(
            f"VALIDATION_SPLIT = {config.validation_split!r}  # the last images, held back to measure val_loss"
        )
    if _uses_learning_rate_constant(config):
        lines.append(f"LEARNING_RATE = {config.learning_rate!r}")
    if config.early_stopping_patience:
        lines.append(f"PATIENCE = {config.early_stopping_patience}  # epochs without a lower val_loss before stopping")
    if config.train_limit:
        lines.append(f"TRAIN_LIMIT = {config.train_limit}  # train on the first N training images only")
    lines += [
        f"RANDOM_SEED = {config.seed}",
        f"NUM_CLASSES = {NUM_CLASSES}",
        f"INPUT_SHAPE = ({IMAGE_SIZE}, {IMAGE_SIZE}, 1)",
        "# MNIST Lab's copy of MNIST (Keras' mnist.npz layout): where it is set up, the script runs offline.",
        f'MNIST_CACHE = os.path.expanduser(os.environ.get("{CACHE_ENV}") or "{DEFAULT_CACHE}")',
    ]
    return "\n".join(lines)


def _random_seed() -> str:
    return (
        "# The same starting weights and the same random choices (shuffles, dropout) on every run.\n"
        "keras.utils.set_random_seed(RANDOM_SEED)"
    )


def _data(config: RunConfig) -> str:
    limit = "x_train, y_train = x_train[:TRAIN_LIMIT], y_train[:TRAIN_LIMIT]\n" if config.train_limit else ""
    return f"""# The data: 60,000 training and 10,000 test images of 28x28 grey pixels, and their digits.
if os.path.exists(MNIST_CACHE):
    with np.load(MNIST_CACHE) as mnist:
        x_train, y_train = mnist["x_train"], mnist["y_train"]
        x_test, y_test = mnist["x_test"], mnist["y_test"]
else:
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
{limit}print("training images:", x_train.shape, "test images:", x_test.shape)

# Pixels 0..255 become 0..1, and each image gets the channel axis the convolutions expect: (N, 28, 28, 1).
x_train = (x_train.astype("float32") / 255)[..., np.newaxis]
x_test = (x_test.astype("float32") / 255)[..., np.newaxis]
# One-hot labels for categorical cross-entropy: 5 becomes [0, 0, 0, 0, 0, 1, 0, 0, 0, 0].
y_train = keras.utils.to_categorical(y_train, NUM_CLASSES)
y_test = keras.utils.to_categorical(y_test, NUM_CLASSES)"""


def _model(config: RunConfig) -> str:
    lines = [
        "# The model, layer by layer, with the names of MNIST Lab's summary table.",
        'inputs = keras.Input(shape=INPUT_SHAPE, name="image")',
    ]
    previous = "inputs"
    if config.augments:
        lines.append("x = augmentation(inputs)")
        previous = "x"
    kernel = f"kernel_size=({config.kernel_size}, {config.kernel_size})"
    lines.append(
        f"# Convolution blocks: {config.kernel_size}x{config.kernel_size} filters with 'same' padding keep the"
        " image's size, 2x2 max pooling halves it."
    )
    if config.batch_norm:
        lines.append(
            "# Batch normalisation after each convolution; its own offset makes the convolution's bias redundant."
        )
    for block, filters in enumerate(config.filters, start=1):
        for conv in range(1, config.convs_per_block + 1):
            name = f"conv{block}" if config.convs_per_block == 1 else f"conv{block}_{conv}"
            if config.batch_norm:
                lines += [
                    f'x = layers.Conv2D({filters}, {kernel}, padding="same", use_bias=False, name="{name}")'
                    f"({previous})",
                    f'x = layers.BatchNormalization(name="{name}_bn")(x)',
                    f'x = layers.Activation("relu", name="{name}_relu")(x)',
                ]
            else:
                lines.append(
                    f'x = layers.Conv2D({filters}, {kernel}, padding="same", activation="relu", name="{name}")'
                    f"({previous})"
                )
            previous = "x"
        lines.append(f'x = layers.MaxPooling2D(pool_size=(2, 2), name="pool{block}")(x)')
    if config.dropout:
        lines.append(f'x = layers.Dropout({config.dropout!r}, name="dropout_conv")(x)  # against overfitting')
    lines.append('x = layers.Flatten(name="flatten")(x)')
    if config.dense_units:
        lines.append(f'x = layers.Dense({config.dense_units}, activation="relu", name="dense")(x)')
        if config.dropout:
            lines.append(f'x = layers.Dropout({config.dropout!r}, name="dropout_dense")(x)')
    lines += [
        "# One output per digit; softmax turns them into probabilities.",
        'outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="digit")(x)',
        'model = keras.Model(inputs, outputs, name="mnist_cnn")',
        "model.summary()",
    ]
    return "\n".join(lines)


def _augmentation(config: RunConfig) -> str:
    if not config.augments:
        return ""
    steps = []
    if config.augment_rotation:
        steps.append(
            f'layers.RandomRotation({_number(config.augment_rotation)} / 360, fill_mode="constant", seed=RANDOM_SEED),'
            "  # a fraction of a full turn"
        )
    if config.augment_zoom:
        steps.append(f'layers.RandomZoom({config.augment_zoom!r}, fill_mode="constant", seed=RANDOM_SEED),')
    if config.augment_shift:
        shift = repr(config.augment_shift)
        steps.append(f'layers.RandomTranslation({shift}, {shift}, fill_mode="constant", seed=RANDOM_SEED),')
    listed = "\n".join(f"        {step}" for step in steps)
    return f"""# Random rotations, zoom and shifts of the training images; Keras skips these layers at test time.
augmentation = keras.Sequential(
    [
{listed}
    ],
    name="augmentation",
)"""


def _compile(config: RunConfig) -> str:
    lines = []
    if _needs_steps_per_epoch(config) and config.validation_split:
        lines += [
            "# The optimizer steps through the images Keras does not hold back, one batch at a time.",
            "fit_images = len(x_train) - int(len(x_train) * VALIDATION_SPLIT)",
            "steps_per_epoch = math.ceil(fit_images / BATCH_SIZE)",
        ]
    elif _needs_steps_per_epoch(config):
        lines.append("steps_per_epoch = math.ceil(len(x_train) / BATCH_SIZE)  # optimizer steps, one per batch")
    if config.lr_schedule == "cosine":
        lines += [
            "# The learning rate falls from LEARNING_RATE to 0 along a cosine, over every step of every epoch.",
            "learning_rate = keras.optimizers.schedules.CosineDecay("
            "LEARNING_RATE, decay_steps=EPOCHS * steps_per_epoch)",
        ]
    elif config.lr_schedule == "exponential":
        lines += [
            f"# The learning rate falls to {EXPONENTIAL_DECAY_PER_EPOCH!r} of itself over each epoch.",
            "learning_rate = keras.optimizers.schedules.ExponentialDecay("
            f"LEARNING_RATE, decay_steps=steps_per_epoch, decay_rate={EXPONENTIAL_DECAY_PER_EPOCH!r})",
        ]
    rate = "learning_rate" if _needs_steps_per_epoch(config) else "LEARNING_RATE"
    if not _uses_learning_rate_constant(config):
        optimizer = f'"{config.optimizer}"'
    else:
        if config.optimizer == "sgd":
            lines.append(f"optimizer = keras.optimizers.SGD({rate}, momentum={SGD_MOMENTUM!r}, nesterov=True)")
        else:
            lines.append(f"optimizer = keras.optimizers.{OPTIMIZER_CLASSES[config.optimizer]}({rate})")
        optimizer = "optimizer"
    lines.append(f'model.compile(loss="categorical_crossentropy", optimizer={optimizer}, metrics=["accuracy"])')
    return "\n".join(lines)


def _keep_best_weights(config: RunConfig) -> str:
    """Empty without a validation split: there is nothing to choose by, and the last epoch's weights stay."""
    if not config.validation_split:
        return ""
    # Blank lines around: ruff format wants two around a top-level class.
    return '''
# MNIST Lab keeps the weights of the epoch with the lowest val_loss, not the last epoch's. Keras 3's
# EarlyStopping(restore_best_weights=True) also restores them at the end, but it is a stopping rule first, and older
# Keras restores only when it stopped the training itself: a few lines of our own say exactly what happens.
class KeepBestWeights(keras.callbacks.Callback):
    """Put back the weights of the epoch with the lowest val_loss when training ends."""

    def on_train_begin(self, logs=None):
        self.best_val_loss, self.best_epoch, self.best_weights = float("inf"), 0, None

    def on_epoch_end(self, epoch, logs=None):
        val_loss = (logs or {}).get("val_loss")
        if val_loss is not None and val_loss < self.best_val_loss:
            self.best_val_loss, self.best_epoch, self.best_weights = val_loss, epoch + 1, self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
            print(f"kept the weights of epoch {self.best_epoch}, the lowest val_loss: {self.best_val_loss:.4f}")
'''


def _fit(config: RunConfig) -> str:
    callbacks = []
    if config.validation_split:
        callbacks.append("KeepBestWeights()")
    if config.early_stopping_patience:
        callbacks.append('keras.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE)')
    if config.lr_schedule == "plateau":
        callbacks.append(
            f'keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor={PLATEAU_FACTOR!r}, '
            f"patience={PLATEAU_PATIENCE}, min_lr={PLATEAU_MIN_LR!r})"
        )
    arguments = ["x_train", "y_train"]
    if config.validation_split:
        arguments.append("validation_split=VALIDATION_SPLIT")
    arguments += ["epochs=EPOCHS", "batch_size=BATCH_SIZE"]
    comments = (
        [] if config.validation_split else ["# No validation split: the weights of the last epoch are the model's."]
    )
    if callbacks:
        inline = "callbacks=[" + ", ".join(callbacks) + "]"
        if len(inline) + len("    ,") <= LINE_LENGTH:
            arguments.append(inline)
        else:
            arguments.append("callbacks=[\n" + "".join(f"        {callback},\n" for callback in callbacks) + "    ]")
        if config.lr_schedule == "plateau":
            comments.append(
                f"# ReduceLROnPlateau multiplies the learning rate by {PLATEAU_FACTOR!r} after {PLATEAU_PATIENCE}"
                " epochs without a lower val_loss."
            )
    arguments.append("verbose=2")
    listed = "\n".join(f"    {argument}," for argument in arguments)
    comments.append("# history.history holds each epoch's loss and accuracy, to plot as the post does.")
    return "\n".join([*comments, "history = model.fit(", listed, ")"])


def _evaluate() -> str:
    return """loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy: {accuracy:.4f}")"""


def _needs_steps_per_epoch(config: RunConfig) -> bool:
    return config.lr_schedule in ("cosine", "exponential")


def _uses_learning_rate_constant(config: RunConfig) -> bool:
    default = KERAS_DEFAULT_RATE.get(config.optimizer)
    return _needs_steps_per_epoch(config) or config.learning_rate != default


def _number(value: float) -> str:
    """10.0 -> '10', 12.5 -> '12.5': degrees read better without a trailing .0."""
    return str(int(value)) if float(value).is_integer() else repr(value)
