"""The words a study and its trials are in, one name each, shared by the study code, the Experiments page and the
command line (Optuna's own trial states stay inside study/adapter.py)."""

from __future__ import annotations

from enum import StrEnum


class TrialState(StrEnum):
    """Where one planned trial stands, as a person reads it."""

    QUEUED = "queued"  # waiting for a worker
    RUNNING = "running"
    COMPLETED = "completed"
    PRUNED = "pruned"  # stopped early by the pruner: its val_loss was behind the others'
    FAILED = "failed"  # an error a rerun would repeat
    INTERRUPTED = "interrupted"  # stopped, or its worker died: a resume trains it again


class StudyState(StrEnum):
    """Where a whole study stands."""

    FINISHED = "finished"
    RUNNING = "running"
    STOPPING = "stopping"  # a stop was asked; the running trial ends after its batch
    STOPPED = "stopped"
    WAITING = "waiting"  # a worker here waits for the store's training slot or TensorFlow's start-up
    QUEUED = "queued"  # trials wait for a worker to start
    INCOMPLETE = "incomplete"  # interrupted trials wait for a resume


# States in which a study still moves by itself (the page keeps polling).
ACTIVE_STUDY_STATES = frozenset({StudyState.QUEUED, StudyState.RUNNING, StudyState.STOPPING, StudyState.WAITING})
# Trials whose figures are those of a finished training.
FINISHED_TRIAL_STATES = frozenset({TrialState.COMPLETED, TrialState.PRUNED})
