"""The typed records of a run, and the one place that turns them into JSON and back.

Every file of a run directory holds one record. Reading checks type and shape (msgspec decodes straight into these
dataclasses and names the first field that is wrong), so a hand-edited, truncated or foreign file becomes a
`RecordError` that says which file and what is wrong, never a half-read dict that fails three calls later on a page.
Unknown keys are ignored, so a newer MNIST Lab can add fields without making older runs unreadable.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, TypeVar

import msgspec

from mnist_core.data.mnist import NUM_CLASSES
from mnist_core.i18n import Message, TranslatableError, as_message
from mnist_core.networks.config import ConfigError, RunConfig
from mnist_core.networks.metrics import Count, Epoch, Fraction, ProgressPoint
from mnist_core.networks.presets import canonical_preset


class RunState(StrEnum):
    """Where a run stands (status.json's `state`). A listing also shows "damaged" (`DamagedRun.state`) for a run
    whose files fail their check: that one is never recorded."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


DAMAGED = "damaged"
ACTIVE_STATES = frozenset({RunState.QUEUED, RunState.RUNNING})
FINISHED_WITH_MODEL = frozenset({RunState.COMPLETED, RunState.STOPPED})


class Trainer(StrEnum):
    """Who carries out a queued run: the store's background worker (the dashboard's Start), or the process that
    created it and holds its lock (the command line's `train`, a study worker). A worker never trains another
    owner's run."""

    WORKER = "worker"
    OWNER = "owner"


class RunKind(StrEnum):
    """How a run came to be: trained here, or a model file someone brought (`import`)."""

    TRAINED = "trained"
    IMPORTED = "imported"


Digit = Annotated[int, msgspec.Meta(ge=0, le=NUM_CLASSES - 1)]
Text = Annotated[str, msgspec.Meta(max_length=10_000)]
ConfusionRow = Annotated[list[Count], msgspec.Meta(min_length=NUM_CLASSES, max_length=NUM_CLASSES)]


class RecordError(TranslatableError, ValueError):
    """A run file that cannot be read as its record: `file` names it, `problem` (a Message) says what is wrong."""

    def __init__(self, file: str, problem: str | Message):
        problem = as_message(problem)
        super().__init__(Message("{file}: {problem}", file=file, problem=problem))
        self.file = file
        self.problem = problem


@dataclass(frozen=True)
class RunMeta:
    """meta.json: what the run is called and where it came from (rewritten on rename)."""

    name: Text
    created_at: str
    preset: str | None = None
    kind: RunKind = RunKind.TRAINED
    source_file: str | None = None  # an imported model: the file's name as it was given
    study: str | None = None  # a study's trial: the study and trial number
    trial: Count | None = None
    pruned: bool = False

    def __post_init__(self):
        # A preset recorded under an old name (`seed`, before it became `post`) reads, compares and is rewritten
        # under the name it has now. msgspec calls this on every read, as the dataclass does on every creation.
        if self.preset is not None:
            object.__setattr__(self, "preset", canonical_preset(self.preset))


@dataclass(frozen=True)
class RunStatus:
    """status.json: where the run stands, written by whoever carries it out.

    A recorded "queued" or "running" is only believed while its owner holds the run's lock (or, for a queued run the
    worker trains, until the worker takes it); the store reports such a run as interrupted otherwise.
    """

    state: RunState
    updated_at: str
    trainer: Trainer = Trainer.WORKER
    queued_at: float | None = None  # time.time() when queued: the queue's order
    started_at: str | None = None
    finished_at: str | None = None
    host: str | None = None
    pid: int | None = None  # shown to people only; liveness is decided by the lock, since pids are reused
    error: Text | None = None
    traceback: Text | None = None
    train_seconds: float | None = None
    wall_seconds: float | None = None
    epochs_completed: Count | None = None
    test_accuracy: Fraction | None = None
    test_loss: float | None = None


@dataclass(frozen=True)
class Progress:
    """progress.json: where a training stands within its epochs (rewritten at most twice a second)."""

    epochs: Count = 0
    steps: Count = 0
    epoch: Count = 0
    batch: Count = 0
    points: tuple[ProgressPoint, ...] = ()
    updated_at: float | None = None


@dataclass(frozen=True)
class ClassMetrics:
    digit: Digit
    precision: Fraction
    recall: Fraction
    f1: Fraction
    support: Count


@dataclass(frozen=True)
class Misclassified:
    index: Count
    true: Digit
    predicted: Digit
    confidence: Fraction


@dataclass(frozen=True)
class Results:
    """results.json: the evaluation on the MNIST test set, written once when training (or an import) ends."""

    test_accuracy: Fraction
    test_loss: float
    test_images: Count
    confusion_matrix: Annotated[list[ConfusionRow], msgspec.Meta(min_length=NUM_CLASSES, max_length=NUM_CLASSES)]
    per_class: Annotated[tuple[ClassMetrics, ...], msgspec.Meta(min_length=NUM_CLASSES, max_length=NUM_CLASSES)]
    misclassified: tuple[Misclassified, ...] = ()  # most confident mistakes first
    parameters: Count | None = None
    best_epoch: Epoch | None = None
    data_source: str | None = None


class DigitSource(StrEnum):
    """Where a kept digit came from: drawn on the Draw page's canvas, an uploaded picture, or an imported set."""

    CANVAS = "canvas"
    UPLOAD = "upload"
    IMPORTED = "imported"


@dataclass(frozen=True)
class OwnDigitRecord:
    """A digit a user kept with its right label ("Wrong? It is a ..." on the Draw page), written inside its own
    PNG (one file per digit, so saving one is a single atomic write and an exported PNG still says what it is)."""

    label: Digit
    saved_at: str
    predicted: Digit | None = None  # what the model said when it was kept
    model: Text | None = None  # which model said it (its name, as the Draw page listed it)
    source: DigitSource = DigitSource.CANVAS


R = TypeVar("R")
_DECODERS: dict[object, msgspec.json.Decoder] = {}


def decode(data: bytes, record_type: type[R] | object, file: str) -> R:
    """Bytes of a run file -> its record; RecordError naming the file and the first wrong field."""
    decoder = _DECODERS.get(record_type)
    if decoder is None:
        decoder = _DECODERS[record_type] = msgspec.json.Decoder(record_type)
    try:
        return decoder.decode(data)
    except msgspec.ValidationError as error:  # valid JSON of the wrong shape: says what and where ("at `$.state`")
        raise RecordError(file, Message("unexpected content ({detail})", detail=str(error))) from None
    except msgspec.DecodeError as error:
        problem = (
            Message("not valid JSON ({detail})", detail=str(error)) if data.strip() else Message("the file is empty")
        )
        raise RecordError(file, problem) from None


def encode(record) -> bytes:
    """A record (or a list of them) as indented JSON, readable in any editor."""
    return msgspec.json.format(msgspec.json.encode(record), indent=2) + b"\n"


def decode_config(data: bytes, file: str = "config.json") -> RunConfig:
    """config.json -> a validated RunConfig (its own checks name the field and the allowed range)."""
    raw = decode(data, dict, file)
    try:
        return RunConfig.from_dict(raw)
    except ConfigError as error:
        raise RecordError(file, error.explanation) from None


def encode_config(config: RunConfig) -> bytes:
    return encode(config.to_dict())


def replace(record: R, **changes) -> R:
    return dataclasses.replace(record, **changes)
