"""How long a study will take on this machine, before it is queued, from the runs this machine already trained.

A training's time grows with how much arithmetic it does: images seen times the network's multiply-adds per image.
So each finished run in the store gives this machine's pace, in seconds per multiply-add, and a planned trial's
time is its own arithmetic at the pace of the runs most like it (nearest in multiply-adds per image and in batch
size: a tiny network and a small batch pay more per multiply-add than a wide one). With no finished run in the store,
a pace measured on this project's 2-core development machine stands in, and the estimate says so.

The arithmetic of a training, per image: the forward pass for each validation and test image, and about three
times that for a training image (forward, then the two products of the backward pass). Pure functions of configs
and plain numbers: no Keras, no Optuna.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mnist_core.data.mnist import NUM_CLASSES
from mnist_core.networks.config import RunConfig
from mnist_core.study.spec import StudySpec, encode_value

IMAGE_SIDE = 28
TRAINING_IMAGES = 60_000
TEST_IMAGES = 10_000
BACKWARD_FACTOR = 3.0  # a training image costs about three forward passes (forward, gradients of inputs and weights)
# Seconds per trial that do not grow with the arithmetic: building the model and tracing its first step, the data
# split, saving the model (1 epoch of 5,000 images took 5.3 s for the post's model, 8.2 s for `wide` with 3.1 times
# its arithmetic: about 3 s of it fixed).
TRIAL_SECONDS = 3.0
# The pace with no finished run in the store: the post's study (its seven runs on all 60,000 images, 1.36e14
# multiply-adds by the count below) took about 35 minutes on a quiet 2-core Intel Xeon (issue 16), 1.5e-11 s per
# multiply-add; the post's model at 3-5 s per epoch on a quiet 2-core AMD Zen 4 (docs) is 1.4e-11 to 2.4e-11.
REFERENCE_SECONDS_PER_MULTIPLY_ADD = 1.55e-11
NEIGHBOURS = 3  # finished runs whose pace a trial borrows (the median of theirs)


def multiply_adds(config: RunConfig) -> int:
    """Multiply-adds of one forward pass of one image through the network `config` builds (networks/model.py):
    conv blocks with "same" padding, each halved by a 2x2 pool, then the dense layer and the 10 outputs."""
    side, channels, total = IMAGE_SIDE, 1, 0
    for filters in config.filters:
        for _ in range(config.convs_per_block):
            total += side * side * config.kernel_size**2 * channels * filters
            channels = filters
        side //= 2
    flat = side * side * channels
    if config.dense_units:
        total += flat * config.dense_units + config.dense_units * NUM_CLASSES
    else:
        total += flat * NUM_CLASSES
    return total


def training_work(config: RunConfig, epochs: int | None = None) -> float:
    """Multiply-adds of a whole training: `epochs` (default the config's) over its training and validation images,
    then the test set once."""
    epochs = config.epochs if epochs is None else epochs
    images = min(config.train_limit or TRAINING_IMAGES, TRAINING_IMAGES)
    validation = int(images * config.validation_split)
    per_image = multiply_adds(config)
    return per_image * (epochs * (BACKWARD_FACTOR * (images - validation) + validation) + TEST_IMAGES)


@dataclass(frozen=True)
class Observation:
    """One finished run: its config, the epochs it trained and its time from start to saved model, in seconds."""

    config: RunConfig
    epochs: int
    seconds: float

    @property
    def pace(self) -> float:
        """Seconds per multiply-add on this machine."""
        return max(self.seconds - TRIAL_SECONDS, 0.1) / training_work(self.config, self.epochs)


@dataclass(frozen=True)
class Estimate:
    """A study's time on this machine: `seconds` in all, `per_trial` in the order planned; `runs` is how many
    finished runs of the store it is based on (0: the reference pace)."""

    seconds: float
    per_trial: tuple[float, ...]
    runs: int

    @property
    def from_reference(self) -> bool:
        return self.runs == 0


def observations(summaries: Iterable[tuple[RunConfig | None, dict]]) -> list[Observation]:
    """The finished runs worth learning a pace from: (config, `Run.summary()`-like dict with "status",
    "epochs_completed" and "wall_seconds" or "train_seconds"), completed and with a time."""
    found = []
    for config, summary in summaries:
        seconds = summary.get("wall_seconds") or summary.get("train_seconds")
        epochs = summary.get("epochs_completed")
        trained = summary.get("kind") in (None, "trained")  # an imported model has no training time of its own
        if config is None or not trained or summary.get("status") != "completed" or not seconds or not epochs:
            continue
        found.append(Observation(config, int(epochs), float(seconds)))
    return found


def trial_configs(spec: StudySpec) -> list[RunConfig]:
    """The config of each planned trial; a search's trials at the middle of each range (the geometric middle of a
    log range, the first of its choices), since its sampler picks their settings only when they start."""
    if spec.kind != "search":
        return [spec.config_for(params) for params in spec.planned()]
    params = {}
    for name, bounds in spec.search.items():
        if "choices" in bounds:
            params[name] = encode_value(name, bounds["choices"][0])
            continue
        low, high = bounds["low"], bounds["high"]
        middle = math.sqrt(low * high) if bounds.get("log") else (low + high) / 2
        params[name] = round(middle) if isinstance(low, int) and isinstance(high, int) else middle
    config = spec.config_for(params)
    return [config] * spec.size


def pace_for(config: RunConfig, observed: Sequence[Observation]) -> float:
    """Seconds per multiply-add for `config`: the median pace of the finished runs nearest to it."""
    if not observed:
        return REFERENCE_SECONDS_PER_MULTIPLY_ADD
    size = multiply_adds(config)

    def distance(o: Observation) -> float:
        return abs(math.log(multiply_adds(o.config) / size)) + abs(math.log(o.config.batch_size / config.batch_size))

    nearest = sorted(observed, key=distance)[:NEIGHBOURS]
    return statistics.median(o.pace for o in nearest)


def estimate(spec: StudySpec, observed: Sequence[Observation] = ()) -> Estimate:
    """The study's time on this machine, trained one trial after another (a pruned trial ends sooner: this is the
    time if none is pruned)."""
    per_trial = tuple(TRIAL_SECONDS + training_work(c) * pace_for(c, observed) for c in trial_configs(spec))
    return Estimate(seconds=sum(per_trial), per_trial=per_trial, runs=len(observed))
