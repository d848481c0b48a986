"""Studies: many runs that differ in a few settings, searched by Optuna and compared in one table.

The seed post tuned by hand: it edited the script, reran it and read a chart, seven times. A *study* does that
in one go. Three kinds:

    presets   named presets one after another (the seed's study: its seven runs)
    grid      every combination of a few values per setting (filters x epochs x dropout ...)
    search    "the best within N trials" over ranges the user sets (Optuna's default TPE sampler)

Optuna does the bookkeeping: a GridSampler for presets and grids (trial number n trains grid cell n, and the
storage hands out trial numbers atomically, so several workers never train the same cell), a MedianPruner fed each
epoch's val_loss when pruning is on, and a storage (an SQLite file in the run store by default, or any database
URL) that lets workers on one or many machines share a study and lets a killed study resume. Every trial is an
ordinary run in the run store, trained by `runner.execute_run`; the trial records its run id, and the run's meta
records its study and trial. A trial's value is its lowest val_loss (the post's lesson: watch the loss; choosing
on test accuracy would tune on the test set).

A worker trains one trial at a time and takes the run store's worker lock (`jobs.LOCK_NAME`) for each, so a study
and the Train page's queue never train at the same time on one machine; between trials it lets runs queued on the
Train page go first. A trial whose worker died (a crash, a kill: seen from its pid on this machine, from a
heartbeat older than five minutes on another) or that was stopped is marked failed with an `interrupted` note;
`resume` (and every worker start) queues it again, so finished trials are never repeated.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import fcntl
import io
import itertools
import json
import math
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import optuna
from optuna.trial import TrialState

from mnist_core.config import ConfigError, RunConfig
from mnist_core.presets import PRESETS, STUDY
from mnist_core.runs import STOPPED, RunStore, RunStoreError, process_alive
from mnist_core.storage import atomic_write_json

optuna.logging.set_verbosity(optuna.logging.WARNING)

KINDS = ("presets", "grid", "search")
MAX_GRID_CELLS = 200
MAX_TRIALS = 500
MAX_NAME_LENGTH = 60
STORAGE_FILE = ".studies.db"
WORKER_LOG = ".study-worker.log"
# Settings a study may vary: every RunConfig field (filters as "16/36" strings, since Optuna params are scalars).
FIELD_TYPES = {f.name: f.type for f in dataclasses.fields(RunConfig)}
VARIABLE_FIELDS = tuple(name for name in FIELD_TYPES if name != "train_limit")
STOP_ATTR = "stop_requested"
SPEC_ATTR = "spec"
STOP_POLL_SECONDS = 2.0
# A worker on another machine cannot be checked by its pid: it writes a heartbeat into its trial instead, and a
# trial whose heartbeat is older than STALE_SECONDS counts as interrupted.
HEARTBEAT_SECONDS = 60.0
STALE_SECONDS = 300.0


class StudyError(ConfigError):
    """A study definition or request is wrong; `field` says where (e.g. "grid.dropout"), the message what to do."""


# --- the definition of a study ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudySpec:
    """What a study varies, saved as JSON in the study so that every worker reads the same definition."""

    kind: str
    presets: tuple[str, ...] = ()  # kind "presets": the presets to train, in order
    base: str = "seed"  # kinds "grid" and "search": the preset the varied settings start from
    grid: dict = field(default_factory=dict)  # field -> list of values
    search: dict = field(default_factory=dict)  # field -> {"low", "high", "log"} or {"choices": [...]}
    n_trials: int | None = None  # kind "search": how many trials
    overrides: dict = field(default_factory=dict)  # applied to every trial (quick studies): epochs, train_limit
    prune: bool = False  # stop trials whose val_loss is worse than the median of earlier trials at the same epoch

    # --- checking ----------------------------------------------------------------------------------------------
    def validate(self) -> "StudySpec":
        if self.kind not in KINDS:
            raise StudyError("kind", f"must be one of {', '.join(KINDS)} (got {self.kind!r})")
        if self.kind == "presets":
            if not self.presets:
                raise StudyError("presets", "choose at least one preset")
            for name in self.presets:
                if name not in PRESETS:
                    raise StudyError("presets", f"no preset {name!r}; choose from {', '.join(PRESETS)}")
            if len(set(self.presets)) != len(self.presets):
                raise StudyError("presets", "a preset is listed twice")
        elif self.base not in PRESETS:
            raise StudyError("base", f"no preset {self.base!r}; choose from {', '.join(PRESETS)}")
        varied = self.grid if self.kind == "grid" else self.search if self.kind == "search" else {}
        for name in set(self.overrides) & set(varied):
            raise StudyError(name, f"is varied by the {self.kind} and also fixed for every trial; drop one of them")
        base = self._checked_overrides()
        if self.kind == "grid":
            self._validate_grid(base)
        elif self.kind == "search":
            self._validate_search(base)
        else:
            for name in self.presets:
                self._checked(lambda: self.config_for({"preset": name}), f"presets.{name}")
        return self

    def _checked_overrides(self) -> RunConfig:
        for name in self.overrides:
            if name not in FIELD_TYPES:
                raise StudyError(name, f"is not a config field (known: {', '.join(FIELD_TYPES)})")
        base = PRESETS[self.base].config if self.kind != "presets" else PRESETS[self.presets[0]].config
        return self._checked(lambda: base.replace(**self.overrides), "overrides")

    def _validate_grid(self, base: RunConfig) -> None:
        if not self.grid:
            raise StudyError("grid", "is empty: give at least one setting with at least one value")
        for name, values in self.grid.items():
            _check_variable(name, "grid")
            if not isinstance(values, (list, tuple)) or not values:
                raise StudyError(f"grid.{name}", "has no values: give at least one")
            if len({encode_value(name, v) for v in values}) != len(values):
                raise StudyError(f"grid.{name}", "lists a value twice")
            for value in values:
                self._checked(lambda: base.replace(**{name: decode_value(name, value)}), f"grid.{name}")
        cells = math.prod(len(v) for v in self.grid.values())
        if cells > MAX_GRID_CELLS:
            raise StudyError("grid", f"has {cells:,} combinations; at most {MAX_GRID_CELLS} (fewer values or a search)")
        for params in self.cells():
            self._checked(lambda: self.config_for(params), "grid " + describe_params(params))

    def _validate_search(self, base: RunConfig) -> None:
        if not self.search:
            raise StudyError("search", "is empty: give at least one setting with a range or choices")
        if isinstance(self.n_trials, bool) or not isinstance(self.n_trials, int) or not 1 <= self.n_trials <= MAX_TRIALS:
            raise StudyError("n_trials", f"must be a whole number between 1 and {MAX_TRIALS} (got {self.n_trials!r})")
        for name, space in self.search.items():
            _check_variable(name, "search")
            where = f"search.{name}"
            if not isinstance(space, dict):
                raise StudyError(where, "must be a range {low, high} or {choices: [...]}")
            if "choices" in space:
                choices = space["choices"]
                if not isinstance(choices, (list, tuple)) or not choices:
                    raise StudyError(where, "has no choices: give at least one")
                for value in choices:
                    self._checked(lambda: base.replace(**{name: decode_value(name, value)}), where)
                continue
            kind = _numeric_kind(name)
            if kind is None:
                raise StudyError(where, f"{name} takes choices, not a range (e.g. {name}=a,b)")
            low, high = space.get("low"), space.get("high")
            for end, value in (("low", low), ("high", high)):
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                    raise StudyError(where, f"{end} must be a number (got {value!r})")
                if kind is int and value != int(value):
                    raise StudyError(where, f"{end} must be a whole number for {name} (got {value!r})")
            if low >= high:
                raise StudyError(where, f"low ({low:g}) must be below high ({high:g})")
            if space.get("log") and low <= 0:
                raise StudyError(where, f"a log range needs low above 0 (got {low:g})")
            for value in (low, high):
                self._checked(lambda: base.replace(**{name: kind(value)}), where)

    @staticmethod
    def _checked(make: Callable[[], Any], where: str):
        try:
            return make()
        except ConfigError as error:
            raise StudyError(where, error.message if where.endswith(error.field) else str(error)) from None

    # --- what the trials are -----------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        """How many trials the study plans: presets, grid cells, or the search's budget."""
        if self.kind == "presets":
            return len(self.presets)
        if self.kind == "grid":
            return math.prod(len(v) for v in self.grid.values())
        return int(self.n_trials or 0)

    def grid_space(self) -> dict[str, list]:
        """The GridSampler's search space: Optuna parameter name -> encoded values."""
        if self.kind == "presets":
            return {"preset": list(self.presets)}
        return {name: [encode_value(name, v) for v in values] for name, values in self.grid.items()}

    def cells(self) -> list[dict]:
        """Every grid cell as {param: encoded value}, in the order the user gave (presets: theirs)."""
        space = self.grid_space()
        names = list(space)
        return [dict(zip(names, combo)) for combo in itertools.product(*space.values())]

    def suggest(self, trial: optuna.Trial) -> dict:
        """Ask the trial for every varied setting; returns {param: encoded value}."""
        if self.kind != "search":
            return {name: trial.suggest_categorical(name, values) for name, values in self.grid_space().items()}
        params = {}
        for name, space in self.search.items():
            if "choices" in space:
                params[name] = trial.suggest_categorical(name, [encode_value(name, v) for v in space["choices"]])
            elif _numeric_kind(name) is int:
                params[name] = trial.suggest_int(name, int(space["low"]), int(space["high"]), log=bool(space.get("log")))
            else:
                params[name] = trial.suggest_float(name, space["low"], space["high"], log=bool(space.get("log")))
        return params

    def preset_for(self, params: dict) -> str:
        return params["preset"] if self.kind == "presets" else self.base

    def config_for(self, params: dict) -> RunConfig:
        """The RunConfig a trial with these params trains."""
        if self.kind == "presets":
            base, changes = PRESETS[params["preset"]].config, {}
        else:
            base = PRESETS[self.base].config
            changes = {name: decode_value(name, value) for name, value in params.items()}
        return base.replace(**changes, **self.overrides)

    def describe(self, params: dict) -> str:
        """What changed in this trial, for the table's first column."""
        if self.kind == "presets":
            return PRESETS[params["preset"]].description
        return describe_params(params)

    # --- saving ------------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["presets"] = list(self.presets)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "StudySpec":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise StudyError(unknown[0], f"is not part of a study definition (known: {', '.join(sorted(known))})")
        values = dict(data)
        values["presets"] = tuple(values.get("presets") or ())
        return cls(**values).validate()


def preset_study(presets=STUDY, **overrides) -> StudySpec:
    """The seed's study (its seven runs), with optional overrides for every trial, e.g. epochs=1, train_limit=2000."""
    return StudySpec("presets", presets=tuple(presets), overrides=_drop_none(overrides)).validate()


def grid_study(grid: dict, base: str = "seed", prune: bool = False, **overrides) -> StudySpec:
    return StudySpec("grid", base=base, grid=dict(grid), overrides=_drop_none(overrides), prune=prune).validate()


def search_study(search: dict, n_trials: int, base: str = "seed", prune: bool = True, **overrides) -> StudySpec:
    return StudySpec(
        "search", base=base, search=dict(search), n_trials=n_trials, overrides=_drop_none(overrides), prune=prune
    ).validate()


def spec_from_form(
    kind: str,
    presets=STUDY,
    base: str = "seed",
    grid: dict[str, str] | None = None,
    search: dict[str, str] | None = None,
    n_trials: int | None = None,
    prune: bool | None = None,
    epochs: int | None = None,
    train_limit: int | None = None,
) -> StudySpec:
    """A study from what a person typed: {field: "16/36, 32/64"} for a grid, {field: "0.1:0.5"} for a search.

    Blank fields are not varied; 0 or None for epochs / train_limit means "as each trial's config says".
    """
    overrides = {"epochs": epochs or None, "train_limit": train_limit or None}
    filled = lambda texts: {k: v for k, v in (texts or {}).items() if v and v.strip()}  # noqa: E731
    if kind == "presets":
        return preset_study(presets, **overrides)
    if kind == "grid":
        grid_values = {name: parse_values(name, text) for name, text in filled(grid).items()}
        return grid_study(grid_values, base=base, prune=bool(prune), **overrides)
    if kind == "search":
        ranges = {name: parse_range(name, text) for name, text in filled(search).items()}
        return search_study(ranges, n_trials, base=base, prune=True if prune is None else prune, **overrides)
    raise StudyError("kind", f"must be one of {', '.join(KINDS)} (got {kind!r})")


def _drop_none(values: dict) -> dict:
    return {k: v for k, v in values.items() if v is not None}


def _check_variable(name: str, where: str) -> None:
    if name not in FIELD_TYPES:
        raise StudyError(f"{where}.{name}", f"is not a config field (known: {', '.join(VARIABLE_FIELDS)})")
    if name not in VARIABLE_FIELDS:
        raise StudyError(f"{where}.{name}", "is set for every trial (--limit), not varied")


def _numeric_kind(name: str):
    kind = FIELD_TYPES[name]
    return {"int": int, "float": float}.get(kind if isinstance(kind, str) else getattr(kind, "__name__", ""))


def encode_value(name: str, value):
    """A config value as an Optuna parameter (str, int, float or bool): filters (16, 36) -> "16/36"."""
    if name == "filters":
        if isinstance(value, str):
            return value
        if isinstance(value, int):
            return str(value)
        return "/".join(str(int(v)) for v in value)
    return value


def decode_value(name: str, value):
    """An Optuna parameter back to a config value: "16/36" -> (16, 36)."""
    if name == "filters" and isinstance(value, str):
        try:
            return tuple(int(part) for part in value.split("/"))
        except ValueError:
            raise ConfigError("filters", f"must be filter counts per block like 16/36 (got {value!r})") from None
    return value


def describe_params(params: dict) -> str:
    return ", ".join(f"{name} {_short(value)}" for name, value in params.items()) or "(no change)"


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


# --- parsing what a person types (command line, page) ----------------------------------------------------------


def parse_values(name: str, text: str) -> list:
    """ "16/36, 32/64" or "0.25,0.5" -> a list of config values for `name`; raises StudyError with the field."""
    if name not in FIELD_TYPES:
        raise StudyError(name, f"is not a config field (known: {', '.join(VARIABLE_FIELDS)})")
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise StudyError(name, "has no values: give one or more, separated by commas")
    return [_parse_one(name, part) for part in parts]


def parse_range(name: str, text: str) -> dict:
    """ "0.1:0.5", "1e-4:1e-2:log" -> a range; "a,b" -> choices."""
    if name not in FIELD_TYPES:
        raise StudyError(name, f"is not a config field (known: {', '.join(VARIABLE_FIELDS)})")
    text = text.strip()
    if ":" not in text:
        return {"choices": parse_values(name, text)}
    parts = [p.strip() for p in text.split(":")]
    log = parts[-1].lower() == "log"
    if log:
        parts = parts[:-1]
    if len(parts) != 2:
        raise StudyError(name, f"a range is LOW:HIGH or LOW:HIGH:log (got {text!r})")
    low, high = (_parse_number(name, p) for p in parts)
    return {"low": low, "high": high, "log": log}


def parse_assignments(items: list[str] | None, parse: Callable[[str, str], Any], what: str) -> dict:
    """["filters=16/36,32/64", "epochs=5,10"] -> {field: parsed}."""
    result = {}
    for item in items or []:
        name, sep, text = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise StudyError(what, f"write FIELD=VALUES, e.g. dropout=0.25,0.5 (got {item!r})")
        if name in result:
            raise StudyError(f"{what}.{name}", "is given twice")
        result[name] = parse(name, text)
    return result


def _parse_one(name: str, text: str):
    kind = FIELD_TYPES[name]
    if name == "filters":
        decode_value("filters", text)  # checks the form
        return [int(p) for p in text.split("/")]
    if kind == "bool":
        if text.lower() in ("true", "yes", "on", "1"):
            return True
        if text.lower() in ("false", "no", "off", "0"):
            return False
        raise StudyError(name, f"must be true or false (got {text!r})")
    if _numeric_kind(name):
        return _parse_number(name, text)
    return text


def _parse_number(name: str, text: str):
    try:
        value = float(text)
    except ValueError:
        raise StudyError(name, f"must be a number (got {text!r})") from None
    if _numeric_kind(name) is int:
        if value != int(value):
            raise StudyError(name, f"must be a whole number (got {text!r})")
        return int(value)
    return value


def check_study_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise StudyError("name", "a study needs a name")
    if len(name) > MAX_NAME_LENGTH:
        raise StudyError("name", f"at most {MAX_NAME_LENGTH} characters (got {len(name)})")
    if any(not ch.isprintable() for ch in name):
        raise StudyError("name", "cannot hold control characters such as new lines")
    return name


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "study"


# --- trial bookkeeping -----------------------------------------------------------------------------------------


def is_retry(trial) -> bool:
    return trial.user_attrs.get("retry_of") is not None


def is_surplus(trial) -> bool:
    return bool(trial.user_attrs.get("surplus"))


def is_interrupted(trial) -> bool:
    return trial.state == TrialState.FAIL and bool(trial.user_attrs.get("interrupted"))


def is_resolved(trial) -> bool:
    """Finished for good: completed, pruned, or failed for a reason that a rerun would repeat."""
    if is_surplus(trial):
        return False
    return trial.state in (TrialState.COMPLETE, TrialState.PRUNED) or (
        trial.state == TrialState.FAIL and not is_interrupted(trial)
    )


def trial_state(trial) -> str:
    if is_interrupted(trial):
        return "interrupted"
    return {
        TrialState.COMPLETE: "completed",
        TrialState.PRUNED: "pruned",
        TrialState.FAIL: "failed",
        TrialState.RUNNING: "running",
        TrialState.WAITING: "queued",
    }[trial.state]


def _cell_key(params: dict) -> str:
    return json.dumps(params, sort_keys=True)


class TrialInterrupted(RuntimeError):
    """A trial ended before its last epoch without being pruned (a stop); it will be trained again on resume."""


class SurplusTrial(RuntimeError):
    """Another worker took the last slot between our check and our ask; this trial trains nothing."""


class _TrialReporter:
    """A progress sink that reports each epoch's val_loss to Optuna and asks the pruner whether to go on."""

    def __init__(self, trial: optuna.Trial, prune: bool):
        self.trial = trial
        self.prune = prune
        self.pruned_at: int | None = None
        self.val_losses: list[float] = []
        self.epochs: int | None = None

    def on_train_begin(self, epochs, steps_per_epoch):
        self.epochs = epochs

    def on_batch(self, point):
        pass

    def on_epoch(self, metrics):
        val_loss = metrics.get("val_loss")
        if val_loss is None:
            return
        self.val_losses.append(val_loss)
        self.trial.report(val_loss, metrics["epoch"])
        # After the last epoch there is nothing left to save by pruning: the trial completes with its value.
        last = self.epochs is not None and metrics["epoch"] >= self.epochs
        if self.prune and not last and self.pruned_at is None and self.trial.should_prune():
            self.pruned_at = metrics["epoch"]


# --- the studies of one run store ------------------------------------------------------------------------------


class _GridSampler(optuna.samplers.GridSampler):
    """Optuna's GridSampler without its end-of-study check.

    `GridSampler.after_trial` reads the grid id of the finished trial, which a trial queued again by `resume`
    (`enqueue_trial`) does not have: it raises KeyError there (optuna 5.0.0). Our worker decides itself when the
    grid is done (`Studies.has_work`), so the check is not needed.
    """

    def after_trial(self, study, trial, state, values) -> None:
        pass


def default_storage(store: RunStore) -> str:
    return f"sqlite:///{(Path(store.root) / STORAGE_FILE).resolve()}"


class Studies:
    """The studies kept in one Optuna storage, whose trials train into one run store."""

    def __init__(self, store: RunStore, storage: str | None = None):
        self.store = store
        self.url = storage or default_storage(store)
        self._storage = None

    @property
    def storage(self) -> optuna.storages.BaseStorage:
        if self._storage is None:
            engine_kwargs = None
            if self.url.startswith("sqlite:///"):
                Path(self.store.root).mkdir(parents=True, exist_ok=True)
                # Several workers write to one file: wait for a lock rather than fail at once.
                engine_kwargs = {"connect_args": {"timeout": 60}}
            try:
                self._storage = optuna.storages.RDBStorage(self.url, engine_kwargs=engine_kwargs)
            except Exception as error:  # noqa: BLE001 - a bad URL or an unreachable database, said plainly
                raise StudyError("storage", f"cannot open {self.url!r}: {type(error).__name__}: {error}") from None
        return self._storage

    # --- creating and reading ----------------------------------------------------------------------------------
    def names(self) -> list[str]:
        if self.url.startswith("sqlite:///") and not Path(self.url.removeprefix("sqlite:///")).exists():
            return []
        return sorted(s.study_name for s in self.storage.get_all_studies())

    def create(self, name: str, spec: StudySpec) -> optuna.Study:
        name = check_study_name(name)
        spec.validate()
        if name in self.names():
            raise StudyError("name", f"a study named {name!r} already exists; show it, resume it or pick another name")
        study = optuna.create_study(
            study_name=name, storage=self.storage, direction="minimize", sampler=self._sampler(spec),
            pruner=self._pruner(spec),
        )  # fmt: skip
        study.set_user_attr(SPEC_ATTR, spec.to_dict())
        study.set_user_attr("created_at", time.strftime("%Y-%m-%dT%H:%M:%S"))
        return study

    def load(self, name: str) -> tuple[optuna.Study, StudySpec]:
        if name not in self.names():
            known = ", ".join(self.names()) or "none yet"
            raise StudyError("name", f"no study {name!r} in {self.url} (studies: {known})")
        probe = optuna.load_study(study_name=name, storage=self.storage)
        spec = StudySpec.from_dict(probe.user_attrs[SPEC_ATTR])
        study = optuna.load_study(
            study_name=name, storage=self.storage, sampler=self._sampler(spec), pruner=self._pruner(spec)
        )
        return study, spec

    @staticmethod
    def _sampler(spec: StudySpec) -> optuna.samplers.BaseSampler:
        if spec.kind == "search":
            return optuna.samplers.TPESampler()  # Optuna's default; unseeded so parallel workers explore apart
        # The same seed in every worker: the grid's order, and so trial n's cell, is the same everywhere.
        return _GridSampler(spec.grid_space(), seed=0)

    @staticmethod
    def _pruner(spec: StudySpec) -> optuna.pruners.BasePruner:
        if not spec.prune:
            return optuna.pruners.NopPruner()
        # Let two trials finish and two epochs pass before judging: early val_loss is noisy.
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=2)

    # --- stop and resume ---------------------------------------------------------------------------------------
    def stop_requested(self, study: optuna.Study) -> bool:
        return bool(self.storage.get_study_user_attrs(study._study_id).get(STOP_ATTR))

    def request_stop(self, name: str) -> list[str]:
        """Stop the study: workers start no new trial and the current ones stop after their batch. Returns run ids."""
        study, _ = self.load(name)
        study.set_user_attr(STOP_ATTR, True)
        stopped = []
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            run_id = trial.user_attrs.get("run_id")
            if run_id and (self.store.root / run_id).is_dir():
                self.store.get(run_id).request_stop()
                stopped.append(run_id)
        return stopped

    def prepare_resume(self, name: str) -> list[int]:
        """Clear a stop and queue interrupted trials again; returns the trial numbers queued again."""
        study, spec = self.load(name)
        study.set_user_attr(STOP_ATTR, False)
        return self.recover(study, spec)

    def recover(self, study: optuna.Study, spec: StudySpec) -> list[int]:
        """Mark trials whose worker is gone as interrupted, and queue every interrupted trial once more."""
        storage = self.storage
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if _worker_gone(trial):
                storage.set_trial_user_attr(trial._trial_id, "interrupted", "its worker ended mid-trial")
                with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
                    storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        requeued = []
        for trial in self._pending(study.get_trials(deepcopy=False), spec):
            study.enqueue_trial(self._params_of(trial, spec), user_attrs={"retry_of": trial.number})
            requeued.append(trial.number)
        return requeued

    def _pending(self, trials, spec: StudySpec) -> list:
        """Interrupted trials not yet queued again (one per grid cell; none whose cell finished or is running)."""
        retried = {t.user_attrs["retry_of"] for t in trials if is_retry(t)}
        busy = {_cell_key(t.params) for t in trials if is_resolved(t) or t.state == TrialState.RUNNING}
        busy |= {_cell_key(t.system_attrs.get("fixed_params", {})) for t in trials if t.state == TrialState.WAITING}
        pending = []
        for trial in trials:
            if not is_interrupted(trial) or trial.number in retried:
                continue
            params = self._params_of(trial, spec)
            if params is None:
                continue  # killed before it chose its settings: a search simply samples a new one
            key = _cell_key(params)
            if spec.kind != "search" and key in busy:
                continue
            busy.add(key)
            pending.append(trial)
        return pending

    def _params_of(self, trial, spec: StudySpec) -> dict | None:
        names = list(spec.grid_space()) if spec.kind != "search" else list(spec.search)
        if all(name in trial.params for name in names):
            return {name: trial.params[name] for name in names}
        if spec.kind != "search" and "grid_id" in trial.system_attrs:
            # Killed between taking its grid cell and asking for the values: the cell is known all the same.
            sampler = self._sampler(spec)
            values = sampler._all_grids[trial.system_attrs["grid_id"]]
            return dict(zip(sampler._param_names, values))
        return None

    # --- the worker --------------------------------------------------------------------------------------------
    def has_work(self, study: optuna.Study, spec: StudySpec) -> bool:
        trials = study.get_trials(deepcopy=False)
        if any(t.state == TrialState.WAITING for t in trials):
            return True
        return self._slots_taken(trials) < spec.size

    @staticmethod
    def _slots_taken(trials) -> int:
        """Trials that used one of the study's planned slots (retries reuse the slot of the trial they redo)."""
        return sum(1 for t in trials if not is_retry(t) and not is_surplus(t) and not _void(t))

    def run_worker(
        self,
        name: str,
        data=None,
        log: Callable[[str], None] | None = None,
        should_exit: Callable[[], bool] | None = None,
        max_trials: int | None = None,
    ) -> int:
        """Train trials of `name` one at a time until none is left, a stop, or `should_exit()`. Returns how many."""
        from mnist_core import jobs

        study, spec = self.load(name)
        log = log or (lambda message: None)
        if self.stop_requested(study):
            raise StudyError("name", f"study {name!r} was stopped; resume it to go on")
        self.recover(study, spec)
        exiting = should_exit or (lambda: False)
        trained = 0
        state = {"data": data}
        with self._study_presence(name):
            try:
                while (max_trials is None or trained < max_trials) and not exiting():
                    if self.stop_requested(study) or not self.has_work(study, spec):
                        break
                    self._let_queued_runs_go_first(lambda: exiting() or self.stop_requested(study))
                    with _store_lock(self.store, lambda: exiting() or self.stop_requested(study)) as held:
                        if not held or self.stop_requested(study) or not self.has_work(study, spec):
                            break
                        objective = self._objective(study, spec, state, log, exiting)
                        study.optimize(objective, n_trials=1, catch=(Exception,), gc_after_trial=True)
                        trained += 1
            finally:
                # Runs queued on the Train page while we held the store waited for us: start their worker now.
                with contextlib.suppress(Exception):
                    jobs.ensure_worker(self.store)
        return trained

    def _let_queued_runs_go_first(self, give_up: Callable[[], bool], poll_seconds: float = 1.0) -> None:
        """Between trials, let runs queued on the Train page train first, so a long study does not starve them."""
        from mnist_core import jobs

        while jobs.queued_runs(self.store) and not give_up():
            jobs.ensure_worker(self.store)
            time.sleep(poll_seconds)

    def _objective(self, study, spec: StudySpec, state: dict, log, exiting):
        store = self.store

        def objective(trial: optuna.Trial) -> float:
            trial.set_user_attr("worker", {"pid": os.getpid(), "host": socket.gethostname()})
            trial.set_user_attr("alive_at", time.time())
            if not is_retry(trial):
                earlier = [t for t in study.get_trials(deepcopy=False) if t.number < trial.number]
                if self._slots_taken(earlier) >= spec.size:
                    trial.set_user_attr("surplus", True)
                    raise SurplusTrial("every planned trial was already taken by another worker")
            params = spec.suggest(trial)
            config = spec.config_for(params)
            label = spec.describe(params) if spec.kind != "presets" else params["preset"]
            run = store.create(config, name=f"{study.study_name} #{trial.number} {label}"[:80],
                               preset=spec.preset_for(params))  # fmt: skip
            meta = {**run.meta(), "study": study.study_name, "trial": trial.number}
            atomic_write_json(run.path / "meta.json", meta)
            trial.set_user_attr("run_id", run.id)
            trial.set_user_attr("host", socket.gethostname())
            log(f"trial {trial.number} ({label}): run {run.id}")

            if state["data"] is None:
                from mnist_core.data import load_mnist

                state["data"] = load_mnist()
            from mnist_core.quiet import tensorflow_logs

            with tensorflow_logs():
                from mnist_core.runner import execute_run

            reporter = _TrialReporter(trial, spec.prune)
            poll = {"at": 0.0, "stop": False, "beat": time.monotonic()}

            def should_stop() -> bool:
                if reporter.pruned_at is not None or exiting():
                    return True
                now = time.monotonic()
                if now - poll["at"] > STOP_POLL_SECONDS:
                    poll["at"], poll["stop"] = now, self.stop_requested(study)
                if now - poll["beat"] > HEARTBEAT_SECONDS:
                    poll["beat"] = now
                    trial.set_user_attr("alive_at", time.time())
                return poll["stop"]

            try:
                status = execute_run(run, state["data"], sink=reporter, should_stop=should_stop)
            except KeyboardInterrupt:
                trial.set_user_attr("interrupted", "interrupted by Ctrl-C")
                raise
            except Exception as error:
                trial.set_user_attr("error", f"{type(error).__name__}: {error}")
                raise
            result = _result_of(run)
            trial.set_user_attr("result", result)
            if reporter.pruned_at is not None:
                message = (f"pruned by study {study.study_name!r} after epoch {reporter.pruned_at}: its val_loss was "
                           f"worse than the median of earlier trials at that epoch")  # fmt: skip
                run.write_status(status["state"], error=message)
                atomic_write_json(run.path / "meta.json", {**run.meta(), "pruned": True})
                log(f"trial {trial.number}: {message}")
                raise optuna.TrialPruned(message)
            if status["state"] == STOPPED:
                trial.set_user_attr("interrupted", "stopped before its last epoch")
                log(f"trial {trial.number}: stopped; it will be trained again when the study resumes")
                raise TrialInterrupted("stopped before its last epoch")
            value = min(reporter.val_losses)
            log(f"trial {trial.number}: val_loss {value:.4f}, test accuracy {result['test_accuracy']:.4f}")
            return value

        return objective

    @contextlib.contextmanager
    def _study_presence(self, name: str):
        """Hold a shared lock on the study's presence file while working, so the page can see a worker is alive."""
        path = _presence_path(self.store, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH)
            yield

    def worker_alive(self, name: str) -> bool:
        path = _presence_path(self.store, name)
        if not path.exists():
            return False
        with open(path, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False

    def launch_worker(self, name: str) -> bool:
        """Start a background worker process for the study (the dashboard's "Queue"); False if one is there."""
        if self.worker_alive(name):
            return False
        root = Path(self.store.root)
        root.mkdir(parents=True, exist_ok=True)
        project_root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [project_root, os.environ.get("PYTHONPATH")]))}
        with open(root / WORKER_LOG, "ab") as log:
            # A new session: the worker outlives the script run, the page and the browser tab that started it.
            subprocess.Popen(
                [sys.executable, "-m", "mnist_core", "study", "run", name, "--runs-dir", str(root), "--storage", self.url],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, env=env, cwd=project_root,
            )  # fmt: skip
        return True

    # --- reading results ---------------------------------------------------------------------------------------
    def progress(self, name: str) -> dict:
        """Where the study stands: planned, finished, running, queued, interrupted, and one word for it all."""
        study, spec = self.load(name)
        trials = [t for t in study.get_trials(deepcopy=False) if not is_surplus(t)]
        if spec.kind == "search":
            finished = sum(1 for t in trials if is_resolved(t))
        else:
            finished = len({_cell_key(t.params) for t in trials if is_resolved(t)})
        running = [t for t in trials if t.state == TrialState.RUNNING]
        pending = self._pending(trials, spec)
        worker = self.worker_alive(name)
        stop = self.stop_requested(study)
        if finished >= spec.size:
            word = "finished"
        elif not trials and not stop:
            word = "queued"  # created, no trial yet: waiting for a worker to start
        elif running:
            word = "stopping" if stop else "running"
        elif stop:
            word = "stopped"
        elif worker:
            word = "waiting"  # for the store's lock (the Train page's queue) or TensorFlow's start-up
        else:
            word = "incomplete"
        current = None
        if running:
            run_id = running[-1].user_attrs.get("run_id")
            current = {"trial": running[-1].number, "run_id": run_id}
        return {
            "study": name,
            "kind": spec.kind,
            "state": word,
            "planned": spec.size,
            "finished": finished,
            "running": len(running),
            "queued": sum(1 for t in trials if t.state == TrialState.WAITING),
            "interrupted": len(pending),
            "worker_alive": worker,
            "stop_requested": stop,
            "current": current,
            "created_at": study.user_attrs.get("created_at"),
        }

    def rows(self, name: str) -> list[dict]:
        """The results table: one row per trial (queued retries and surplus trials left out)."""
        study, spec = self.load(name)
        rows = []
        for trial in study.get_trials(deepcopy=False):
            if is_surplus(trial) or trial.state == TrialState.WAITING:
                continue
            rows.append(self._row(trial, spec))
        return rows

    def _row(self, trial, spec: StudySpec) -> dict:
        params = self._params_of(trial, spec) or {}
        result = dict(trial.user_attrs.get("result") or {})
        run = self._local_run(trial)
        if run is not None and (trial.state == TrialState.RUNNING or not result):
            with contextlib.suppress(OSError, ValueError, ConfigError):
                result = _result_of(run)
        config = None
        with contextlib.suppress(ConfigError, KeyError):
            config = spec.config_for(params) if params else None
        row = {
            "trial": trial.number,
            "state": trial_state(trial),
            "changed": spec.describe(params) if params else "",
        }
        if spec.kind == "presets":
            row["preset"] = params.get("preset")
        else:
            row.update({name: _display(name, value) for name, value in params.items()})
        row.update(
            {
                "parameters": result.get("parameters"),
                "epochs": config.epochs if config else None,
                "epochs_run": result.get("epochs_completed"),
                "best_epoch": result.get("best_epoch"),
                "train_accuracy": result.get("train_accuracy"),
                "val_accuracy": result.get("val_accuracy"),
                "test_accuracy": result.get("test_accuracy"),
                "train_val_gap": result.get("train_val_gap"),
                "best_val_loss": trial.value if trial.state == TrialState.COMPLETE else _best(trial),
                "seconds": result.get("train_seconds"),
                "run_id": trial.user_attrs.get("run_id"),
                "note": trial.user_attrs.get("interrupted") or trial.user_attrs.get("error") or "",
            }
        )
        if spec.kind == "presets":
            row["post_accuracy"] = PRESETS[params["preset"]].reported_accuracy if params else None
        return row

    def _local_run(self, trial):
        run_id = trial.user_attrs.get("run_id")
        if not run_id or trial.user_attrs.get("host", socket.gethostname()) != socket.gethostname():
            return None
        try:
            return self.store.get(run_id)
        except RunStoreError:
            return None

    def curves(self, name: str) -> dict[str, list[dict]]:
        """{trial label: per-epoch history} for the overlay chart: the run's history, or the val_loss Optuna kept."""
        study, spec = self.load(name)
        curves = {}
        for trial in study.get_trials(deepcopy=False):
            if is_surplus(trial) or trial.state == TrialState.WAITING:
                continue
            params = self._params_of(trial, spec) or {}
            label = f"#{trial.number} " + (params.get("preset") or describe_params(params))
            run = self._local_run(trial)
            history = run.history() if run is not None else []
            if not history:
                history = [{"epoch": int(step), "val_loss": value} for step, value in sorted(trial.intermediate_values.items())]
            if history:
                curves[label] = history
        return curves

    def optuna_study(self, name: str) -> optuna.Study:
        return self.load(name)[0]


def _worker_gone(trial, now: float | None = None) -> bool:
    """Whether the worker of a running trial is gone: its pid on this machine, its heartbeat on another."""
    worker = trial.user_attrs.get("worker") or {}
    if not worker:
        return False  # between its creation and its first line: too young to judge
    if worker.get("host") == socket.gethostname():
        return not process_alive(worker.get("pid"), worker.get("host"))
    alive_at = trial.user_attrs.get("alive_at") or 0.0
    return (now or time.time()) - alive_at > STALE_SECONDS


def _best(trial) -> float | None:
    values = list(trial.intermediate_values.values())
    return min(values) if values else None


def _void(trial) -> bool:
    """An interrupted search trial that died before choosing its settings: it used no slot."""
    return is_interrupted(trial) and not trial.params and "grid_id" not in trial.system_attrs


def _display(name: str, value):
    return value


def _result_of(run) -> dict:
    row = run.summary()
    keys = ("parameters", "epochs_completed", "best_epoch", "train_accuracy", "val_accuracy", "train_val_gap",
            "test_accuracy", "test_loss", "train_seconds", "status")  # fmt: skip
    return {key: row.get(key) for key in keys}


def _presence_path(store: RunStore, name: str) -> Path:
    return Path(store.root) / f".study-{_slug(name)}.lock"


@contextlib.contextmanager
def _store_lock(store: RunStore, give_up: Callable[[], bool], poll_seconds: float = 0.5):
    """Hold the run store's worker lock (the one `jobs` trains under): one training at a time on this machine.

    Yields True once held, or False if `give_up()` turned true while waiting.
    """
    from mnist_core.jobs import LOCK_NAME

    root = Path(store.root)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_NAME, "a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if give_up():
                    yield False
                    return
                time.sleep(poll_seconds)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- tables for people -----------------------------------------------------------------------------------------

TABLE_COLUMNS = (
    "trial", "state", "changed", "parameters", "epochs_run", "best_epoch", "train_accuracy", "val_accuracy",
    "test_accuracy", "train_val_gap", "best_val_loss", "seconds", "run_id",
)  # fmt: skip


def rows_csv(rows: list[dict]) -> str:
    """The results table as CSV (every column any row has, in first-seen order)."""
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def format_table(rows: list[dict]) -> str:
    """A plain-text table for the terminal."""
    if not rows:
        return "no trials yet"
    has_post = any("post_accuracy" in row for row in rows)
    header = (f"{'trial':>5} {'state':<11} {'changed':<44} {'params':>9} {'epochs':>6} {'best':>4} {'train':>7} "
              f"{'val':>7} {'test':>7}" + (f" {'post':>7}" if has_post else "") + f" {'gap':>7} {'time':>7}")  # fmt: skip
    lines = [header]
    for row in rows:
        epochs = f"{row['epochs_run'] if row['epochs_run'] is not None else '-'}/{row['epochs'] or '-'}"
        line = (f"{row['trial']:>5} {row['state']:<11} {row['changed'][:44]:<44} {_fmt(row['parameters'], ',d'):>9} "
                f"{epochs:>6} {_fmt(row['best_epoch'], 'd'):>4} {_fmt(row['train_accuracy'], '.2%'):>7} "
                f"{_fmt(row['val_accuracy'], '.2%'):>7} {_fmt(row['test_accuracy'], '.2%'):>7}")  # fmt: skip
        if has_post:
            line += f" {_fmt(row.get('post_accuracy'), '.2%'):>7}"
        line += f" {_fmt(row['train_val_gap'], '+.2%'):>7} {_fmt(row['seconds'], '.0f'):>6}s"
        lines.append(line)
    return "\n".join(lines)


def _fmt(value, spec: str) -> str:
    if value is None:
        return "-"
    try:
        return format(value, spec)
    except (TypeError, ValueError):
        return str(value)
