"""The one module that speaks to Optuna, through its public API only: storages, studies, trials, heartbeats.

What the rest of MNIST Lab sees is plain data: an `Attempt` per Optuna trial and a `StudyHandle` with a few verbs.
How a study is kept:

- Every planned trial is queued when the study is created (`enqueue_trial`), numbered from 1 in user attribute
  `trial`: a grid's cells with their values in the order the user gave, a search's trials empty (its sampler
  chooses their settings when they start). A worker only takes queued trials, so no cell is trained twice.
  Optuna hands a queued trial to one worker only: on a server database by a row lock (SELECT ... FOR UPDATE); on
  SQLite, which has no row locks, a file lock beside the database makes taking a trial one worker at a time.
- A trial is a `study.optimize(..., n_trials=1)`, so Optuna's heartbeat runs beside it. A worker that dies (kill
  -9, a machine switched off) stops beating; after the grace period any worker's `fail_stale_trials` marks its trial
  failed and `RetryHeartbeatStaleTrialCallback` queues a copy of it (same trial number, same settings).
- Errors of the database (a wrong URL, a server down, a missing database) become one `StorageError` line that says
  what to check, with any password in the URL hidden (`mnist_core.study.database`).
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy.exc
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback, fail_stale_trials
from optuna.trial import TrialState

from mnist_core.store.locks import Lock
from mnist_core.study.database import StorageError, describe_error

# The worker says itself what became of each trial: Optuna's own warning would add a traceback for every stop.
optuna.logging.set_verbosity(optuna.logging.ERROR)


@contextlib.contextmanager
def _experimental() -> Iterator[None]:
    """Optuna marks the heartbeat and its retry callback experimental (since 2.8/2.9); we know."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


# How often a working trial beats, and how long a silent one is given before another worker takes it over.
HEARTBEAT_SECONDS = 10
GRACE_SECONDS = 60
MAX_RETRIES = 3  # a trial that kills its worker every time (out of memory, say) is not retried for ever
ENGINE = 2  # studies whose planned trials are queued at creation (1: the GridSampler engine before it)
SLOT, SURPLUS = "trial", "surplus"  # user attributes: the planned trial's number; a trial nobody planned

Pruned = optuna.TrialPruned
OptunaError = optuna.exceptions.OptunaError


# --- plain data out -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """One Optuna trial: one attempt at a planned trial (`slot`); a retried trial has several."""

    number: int  # Optuna's trial number, unique in the study, in the order trials were queued
    slot: int  # the planned trial it trains, from 1
    state: str  # "waiting", "running", "complete", "pruned" or "fail"
    params: dict  # the settings chosen, or queued for it before it starts
    attrs: dict  # what the worker recorded: host, run_id, result, error, interrupted
    value: float | None
    intermediate: dict[int, float] = field(default_factory=dict)  # epoch -> val_loss, as reported
    started: datetime | None = None
    completed: datetime | None = None


_STATES = {
    TrialState.WAITING: "waiting",
    TrialState.RUNNING: "running",
    TrialState.COMPLETE: "complete",
    TrialState.PRUNED: "pruned",
    TrialState.FAIL: "fail",
}


def _attempt(trial: optuna.trial.FrozenTrial) -> Attempt:
    attrs = dict(trial.user_attrs)
    return Attempt(
        number=trial.number,
        slot=int(attrs.get(SLOT) or trial.number + 1),
        state=_STATES[trial.state],
        params=dict(trial.params) or dict(attrs.get("cell") or {}),
        attrs=attrs,
        value=trial.value if trial.state == TrialState.COMPLETE else None,
        intermediate={int(step): value for step, value in trial.intermediate_values.items()},
        started=trial.datetime_start,
        completed=trial.datetime_complete,
    )


# --- storages -----------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def storage_errors(url: str) -> Iterator[None]:
    """Turn a database failure inside the block into a StorageError line."""
    try:
        yield
    except (sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError, ImportError) as error:
        raise StorageError(describe_error(url, error)) from None


_storages: dict[tuple, RDBStorage] = {}
_storages_lock = threading.Lock()


def storage(url: str, heartbeat: tuple[int, int] | None = None) -> RDBStorage:
    """The storage at `url`, opened once per process (pages poll it every two seconds)."""
    key = (url, heartbeat)
    with _storages_lock:
        if key not in _storages:
            kwargs: dict[str, Any] = {}
            if url.startswith("sqlite:"):
                kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}  # workers wait for the file's lock
            with storage_errors(url), _experimental():
                if heartbeat:
                    kwargs.update(
                        heartbeat_interval=heartbeat[0],
                        grace_period=heartbeat[1],
                        heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES),
                    )
                _storages[key] = RDBStorage(url, **kwargs)
        return _storages[key]


def study_names(url: str) -> list[str]:
    with storage_errors(url):
        return sorted(optuna.get_all_study_names(storage(url)))


# --- studies ------------------------------------------------------------------------------------------------------


def create_study(
    url: str,
    name: str,
    planned: list[dict],
    attrs: dict,
    search: bool,
    prune: bool,
    heartbeat: tuple[int, int] = (HEARTBEAT_SECONDS, GRACE_SECONDS),
) -> None:
    """A new study whose planned trials are queued at once, numbered from 1 in the order given."""
    with storage_errors(url):
        study = optuna.create_study(study_name=name, storage=storage(url), direction="minimize")
        settings = {"engine": ENGINE, "search": search, "prune": prune, "heartbeat": list(heartbeat)}
        for key, value in {**attrs, **settings}.items():
            study.set_user_attr(key, value)
        for slot, params in enumerate(planned, start=1):
            study.enqueue_trial(params, user_attrs={SLOT: slot, "cell": params})


def open_study(url: str, name: str) -> StudyHandle:
    with storage_errors(url):
        attrs = optuna.load_study(study_name=name, storage=storage(url)).user_attrs
        heartbeat = tuple(attrs.get("heartbeat") or (HEARTBEAT_SECONDS, GRACE_SECONDS))
        # Unseeded TPE for a search, so workers explore apart; a grid's trials arrive with their values.
        sampler = optuna.samplers.TPESampler() if attrs.get("search") else optuna.samplers.RandomSampler()
        # Two trials finished and two epochs passed before judging: early val_loss is noisy.
        pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=2) if attrs.get("prune") else None
        study = optuna.load_study(
            study_name=name,
            storage=storage(url, heartbeat),
            sampler=sampler,
            pruner=pruner or optuna.pruners.NopPruner(),
        )
    return StudyHandle(url, study, heartbeat)


class StudyHandle:
    """One study, opened with its heartbeat settings."""

    def __init__(self, url: str, study: optuna.Study, heartbeat: tuple[int, int]):
        self.url = url
        self.name = study.study_name
        self.heartbeat = heartbeat
        self._study = study

    @property
    def attrs(self) -> dict:
        """The study's attributes as stored now (read afresh: another machine may have set a stop)."""
        with storage_errors(self.url):
            return self._study.user_attrs

    def set_attr(self, key: str, value) -> None:
        with storage_errors(self.url):
            self._study.set_user_attr(key, value)

    def attempts(self) -> list[Attempt]:
        """Every trial but those nobody planned (a worker's ask that found the queue just emptied)."""
        with storage_errors(self.url):
            trials = self._study.get_trials(deepcopy=False)
        return [_attempt(t) for t in trials if not t.user_attrs.get(SURPLUS)]

    def enqueue(self, slot: int, params: dict) -> None:
        """Queue planned trial `slot` once more (after a stop, or when its retries ran out)."""
        with storage_errors(self.url):
            self._study.enqueue_trial(params, user_attrs={SLOT: slot, "cell": params})

    def fail_stale(self) -> None:
        """Optuna's own check: running trials whose heartbeat is older than the grace period fail, and are queued
        again by the retry callback."""
        with storage_errors(self.url), _experimental():
            fail_stale_trials(self._study)

    def run_one(self, objective: Callable[[TrialHandle], float]) -> bool:
        """Take the next queued trial and run `objective` on it as one `optimize` step (heartbeat on).
        Returns False, having run nothing, if no trial was queued."""
        with storage_errors(self.url), self._taking_a_trial() as taking:
            if not any(a.state == "waiting" for a in self.attempts()):
                return False

            def run(trial: optuna.Trial) -> float:
                taking.release()
                if SLOT not in trial.user_attrs:
                    # Another worker on a server database took the last queued trial between our look and our
                    # ask, so Optuna made a fresh one: it trains nothing and is left out of every table.
                    trial.set_user_attr(SURPLUS, True)
                    raise Pruned("no planned trial was left")
                return objective(TrialHandle(trial))

            with _experimental():
                self._study.optimize(run, n_trials=1, catch=(Exception,), gc_after_trial=True)
        return True

    @contextlib.contextmanager
    def _taking_a_trial(self) -> Iterator[Lock]:
        """SQLite has no row locks: two processes could pop the same queued trial. Take trials one at a time."""
        lock = Lock(Path(_sqlite_path(self.url) + ".take-lock")) if _sqlite_path(self.url) else _NoLock()
        lock.acquire(blocking=True)
        try:
            yield lock
        finally:
            lock.release()

    def figures(self) -> dict:
        """Optuna's parallel coordinates and importances of a search; {} until two trials have completed."""
        study = self._study
        completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if len(completed) < 2:
            return {}
        figures = {"parallel": optuna.visualization.plot_parallel_coordinate(study, target_name="best val_loss")}
        # Importance needs a setting that took more than one value; it can still fail with too few values.
        if any(len({repr(t.params.get(name)) for t in completed}) > 1 for name in completed[0].params):
            with contextlib.suppress(RuntimeError, ValueError):
                figures["importance"] = optuna.visualization.plot_param_importances(study, target_name="best val_loss")
        return figures


class TrialHandle:
    """The trial a worker trains: its planned number, its settings, its reports to the pruner."""

    def __init__(self, trial: optuna.Trial):
        self._trial = trial
        self.number = trial.number
        self.slot = int(trial.user_attrs[SLOT])

    def choose(self, space: dict[str, tuple]) -> dict:
        """The trial's settings: queued values for a grid's cell, the sampler's choice within a search's ranges."""
        trial, params = self._trial, {}
        for name, (kind, *args) in space.items():
            if kind == "categorical":
                params[name] = trial.suggest_categorical(name, args[0])
            elif kind == "int":
                params[name] = trial.suggest_int(name, args[0], args[1], log=args[2])
            else:
                params[name] = trial.suggest_float(name, args[0], args[1], log=args[2])
        return params

    def set(self, key: str, value) -> None:
        self._trial.set_user_attr(key, value)

    def report(self, value: float, epoch: int) -> None:
        self._trial.report(value, epoch)

    def should_prune(self) -> bool:
        return self._trial.should_prune()


class _NoLock:
    def acquire(self, blocking: bool = False) -> bool:
        return True

    def release(self) -> None:
        pass


def _sqlite_path(url: str) -> str | None:
    if not url.startswith("sqlite:///") or url.endswith(":memory:"):
        return None
    return url.removeprefix("sqlite:///")
