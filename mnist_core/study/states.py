"""The words a study and its trials are in, one name each, shared by the study code, the Experiments page and the
command line (Optuna's own trial states stay inside study/adapter.py). Each word is marked for translation: a page
or the terminal shows `t(state)`; `--json` and the CSV keep the English word."""

from __future__ import annotations

from enum import StrEnum

from mnist_core.i18n import marked


class TrialState(StrEnum):
    """Where one planned trial stands, as a person reads it."""

    QUEUED = marked("queued")  # waiting for a worker
    RUNNING = marked("running")
    COMPLETED = marked("completed")
    PRUNED = marked("pruned")  # stopped early by the pruner: its val_loss was behind the others'
    FAILED = marked("failed")  # an error a rerun would repeat
    INTERRUPTED = marked("interrupted")  # stopped, or its worker died: a resume trains it again
    NOT_RUN = marked("not run")  # never started: the study was stopped before its turn (a resume queues it again)


class StudyState(StrEnum):
    """Where a whole study stands."""

    FINISHED = marked("finished")
    RUNNING = marked("running")
    STOPPING = marked("stopping")  # a stop was asked; the running trial ends after its batch
    STOPPED = marked("stopped")
    WAITING = marked("waiting")  # a worker here waits for the store's training slot or TensorFlow's start-up
    QUEUED = marked("queued")  # trials wait for a worker to start
    INCOMPLETE = marked("incomplete")  # interrupted trials wait for a resume


# States in which a study still moves by itself (the page keeps polling).
ACTIVE_STUDY_STATES = frozenset({StudyState.QUEUED, StudyState.RUNNING, StudyState.STOPPING, StudyState.WAITING})
# Trials whose figures are those of a finished training.
FINISHED_TRIAL_STATES = frozenset({TrialState.COMPLETED, TrialState.PRUNED})
