"""Train a model for a RunConfig: the post's compile-and-fit, plus progress, a cooperative stop and the best weights.

The callbacks here report and decide, nothing more: progress goes to a *sink* (the run store, a terminal progress
bar), a stop is a request the training honours after the current batch, and the weights with the lowest val_loss
are kept. They are written like Keras' own callbacks, so Keras drives them inside a plain `model.fit`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np

from mnist_core.data.mnist import NUM_CLASSES, MnistData
from mnist_core.networks.config import (
    EXPONENTIAL_DECAY_PER_EPOCH,
    PLATEAU_FACTOR,
    PLATEAU_MIN_LR,
    PLATEAU_PATIENCE,
    SGD_MOMENTUM,
    WARMUP_FRACTION,
    WARMUP_START_FACTOR,
    RunConfig,
)
from mnist_core.networks.metrics import (
    EpochMetrics,
    ForwardingSink,
    ProgressPoint,
    ProgressSink,
    accuracy,
    cross_entropy,
)
from mnist_core.networks.model import build_model


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1], as the post does: scale pixels, add the channel axis."""
    return (images.astype("float32") / 255.0)[..., np.newaxis]


def to_targets(labels: np.ndarray) -> np.ndarray:
    """Digit labels -> one-hot rows, for categorical cross-entropy."""
    return keras.utils.to_categorical(labels, NUM_CLASSES)


def training_arrays(config: RunConfig, data: MnistData) -> tuple[np.ndarray, np.ndarray]:
    x, y = data.x_train, data.y_train
    if config.train_limit:
        x, y = x[: config.train_limit], y[: config.train_limit]
    return to_model_input(x), to_targets(y)


def compile_model(model: keras.Model, config: RunConfig, steps_per_epoch: int) -> None:
    model.compile(
        optimizer=make_optimizer(config, steps_per_epoch),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
        if config.label_smoothing
        else "categorical_crossentropy",
        metrics=["accuracy"],
    )


def make_optimizer(config: RunConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    learning_rate = config.learning_rate
    if config.lr_schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(
            config.learning_rate, decay_steps=max(1, config.epochs * steps_per_epoch)
        )
    elif config.lr_schedule == "exponential":
        learning_rate = keras.optimizers.schedules.ExponentialDecay(
            config.learning_rate, decay_steps=max(1, steps_per_epoch), decay_rate=EXPONENTIAL_DECAY_PER_EPOCH
        )
    elif config.lr_schedule == "warmup_cosine":
        learning_rate = warmup_cosine(config.learning_rate, config.epochs * steps_per_epoch)
    betas = {"beta_1": config.adam_beta_1, "beta_2": config.adam_beta_2}
    # Keras swaps the average in when `fit` ends (`finalize_variable_values`): the model trained is the averaged one.
    ema = {"use_ema": True, "ema_momentum": config.ema_momentum} if config.ema_momentum else {}
    optimizers = {
        "adam": lambda: keras.optimizers.Adam(learning_rate, **betas, **ema),
        "adamw": lambda: keras.optimizers.AdamW(learning_rate, **betas, **ema),
        "sgd": lambda: keras.optimizers.SGD(learning_rate, momentum=SGD_MOMENTUM, nesterov=True, **ema),
        "rmsprop": lambda: keras.optimizers.RMSprop(learning_rate, **ema),
    }
    return optimizers[config.optimizer]()


def warmup_cosine(learning_rate: float, total_steps: int) -> keras.optimizers.schedules.CosineDecay:
    """A straight climb from WARMUP_START_FACTOR x the rate to the rate over WARMUP_FRACTION of the steps, then a
    cosine down to 0 at the last step (config.py says why)."""
    total_steps = max(1, total_steps)
    warmup_steps = int(WARMUP_FRACTION * total_steps)
    return keras.optimizers.schedules.CosineDecay(
        learning_rate * WARMUP_START_FACTOR,
        decay_steps=max(1, total_steps - warmup_steps),
        warmup_target=learning_rate,
        warmup_steps=warmup_steps,
    )


class ProgressReporter(keras.callbacks.Callback):
    """Hands per-epoch metrics, and throttled within-epoch points, to a sink (so a live chart is never blank)."""

    # The hooks only read numbers and call the sink, so Keras may run them off the training thread.
    async_safe = True

    def __init__(self, sink: ProgressSink, every_seconds: float = 0.5, first_batch: tuple | None = None):
        super().__init__()
        self.sink = sink
        self.every_seconds = every_seconds
        self.first_batch = first_batch
        self._epoch = 0
        self._epoch_start = 0.0
        self._last_point = 0.0
        self._train_start = 0.0

    def on_train_begin(self, logs=None):
        self._train_start = time.monotonic()
        self.sink.on_train_begin(self.params.get("epochs", 0), self.params.get("steps") or 0)
        if self.first_batch is not None:
            self.sink.on_batch(self._starting_point(*self.first_batch))

    def _starting_point(self, images: np.ndarray, targets: np.ndarray) -> ProgressPoint:
        """The untrained model's loss and accuracy on the first batch, so a live chart starts at once: the first
        training step waits for TensorFlow to trace the training function (1-2 s on two cores)."""
        probabilities = keras.ops.convert_to_numpy(self.model(images, training=False))
        labels = targets.argmax(axis=1)
        return ProgressPoint(
            epoch=1,
            batch=0,
            steps=self.params.get("steps") or 0,
            progress=0.0,
            loss=_number(cross_entropy(probabilities, labels)),
            accuracy=_number(accuracy(probabilities, labels)),
            elapsed=time.monotonic() - self._train_start,
        )

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_start = time.monotonic()
        # The first batch of the run is reported at once, so a live chart has a point as soon as training starts.
        self._last_point = -np.inf if epoch == 0 else self._epoch_start

    def on_train_batch_end(self, batch, logs=None):
        now = time.monotonic()
        if now - self._last_point < self.every_seconds:
            return
        self._last_point = now
        logs = logs or {}
        steps = self.params.get("steps") or 0
        self.sink.on_batch(
            ProgressPoint(
                epoch=self._epoch + 1,
                batch=batch + 1,
                steps=steps,
                # Fractional epoch for the x axis of a live curve.
                progress=self._epoch + (batch + 1) / steps if steps else float(self._epoch),
                loss=_number(logs.get("loss")),
                accuracy=_number(logs.get("accuracy")),
                elapsed=now - self._train_start,
            )
        )

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.sink.on_epoch(
            EpochMetrics(
                epoch=epoch + 1,
                loss=_number(logs.get("loss")),
                accuracy=_number(logs.get("accuracy")),
                val_loss=_number(logs.get("val_loss")),
                val_accuracy=_number(logs.get("val_accuracy")),
                learning_rate=_number(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)),
                seconds=time.monotonic() - self._epoch_start,
            )
        )


class StopOnRequest(keras.callbacks.Callback):
    """Cooperative stop: when `should_stop()` turns true, training ends after the current batch."""

    async_safe = True

    def __init__(self, should_stop: Callable[[], bool], every_seconds: float = 0.2):
        super().__init__()
        self.should_stop = should_stop
        self.every_seconds = every_seconds
        self.stopped = False
        self._last_check = 0.0

    def on_train_batch_end(self, batch, logs=None):
        now = time.monotonic()
        if now - self._last_check < self.every_seconds:
            return
        self._last_check = now
        if self.should_stop():
            self.stopped = True
            self.model.stop_training = True


class KeepBestWeights(keras.callbacks.Callback):
    """Remember the weights of the epoch with the lowest val_loss and put them back when training ends."""

    def __init__(self, monitor: str = "val_loss"):
        super().__init__()
        self.monitor = monitor
        self.best_value = np.inf
        self.best_epoch = 0
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and value < self.best_value:
            self.best_value, self.best_epoch = float(value), epoch + 1
            self.best_weights = self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


@dataclass
class TrainingResult:
    model: keras.Model
    history: list[EpochMetrics] = field(default_factory=list)
    stopped: bool = False
    best_epoch: int | None = None
    seconds: float = 0.0


class _Collector(ForwardingSink):
    """A sink that keeps epoch metrics on their way to an optional outer sink."""

    def __init__(self, outer: ProgressSink | None):
        super().__init__(outer)
        self.history: list[EpochMetrics] = []

    def on_epoch(self, metrics):
        self.history.append(metrics)
        super().on_epoch(metrics)


def train(
    config: RunConfig,
    data: MnistData,
    sink: ProgressSink | None = None,
    should_stop: Callable[[], bool] | None = None,
    progress_every_seconds: float = 0.5,
    extra_callbacks: tuple = (),
) -> TrainingResult:
    """Build, compile and fit the model for `config`; the post's steps 3-5 with progress, stop and best weights.

    `extra_callbacks` run before the best-weights keeper, so at each epoch end they see that epoch's weights.
    """
    keras.utils.set_random_seed(config.seed)
    x_train, y_train = training_arrays(config, data)
    steps_per_epoch = config.steps_per_epoch(len(x_train))

    model = build_model(config)
    compile_model(model, config, steps_per_epoch)

    collector = _Collector(sink)
    stopper = StopOnRequest(should_stop or (lambda: False))
    first_batch = (x_train[: config.batch_size], y_train[: config.batch_size])
    callbacks = [ProgressReporter(collector, progress_every_seconds, first_batch), stopper, *extra_callbacks]
    keeper = None
    if config.validation_split and config.ema_momentum:
        # Validate the averaged weights, the ones the model ends with. No best epoch to keep: the average already
        # smooths over the last epochs, and putting one epoch's weights back would throw it away.
        callbacks.append(keras.callbacks.SwapEMAWeights())
    elif config.validation_split:
        keeper = KeepBestWeights()
        callbacks.append(keeper)
    if config.early_stopping_patience:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.early_stopping_patience))
    if config.lr_schedule == "plateau":
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss", factor=PLATEAU_FACTOR, patience=PLATEAU_PATIENCE, min_lr=PLATEAU_MIN_LR
            )
        )

    start = time.monotonic()
    model.fit(
        x_train,
        y_train,
        batch_size=config.batch_size,
        epochs=config.epochs,
        validation_split=config.validation_split,
        callbacks=callbacks,
        verbose=0,
    )
    return TrainingResult(
        model=model,
        history=collector.history,
        stopped=stopper.stopped,
        best_epoch=keeper.best_epoch if keeper is not None and keeper.best_weights is not None else None,
        seconds=time.monotonic() - start,
    )


def _number(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None
