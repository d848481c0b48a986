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

A worker trains one trial at a time and takes the run store's training slot (`store.queue`) for each, so a study
and the Train page's queue never train at the same time on one machine; between trials it lets runs queued on the
Train page go first. A trial whose worker died (a crash, a kill: seen from its pid on this machine, from a
heartbeat older than five minutes on another) or that was stopped is marked failed with an `interrupted` note;
`resume` (and every worker start) queues it again, so finished trials are never repeated.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

import optuna
from optuna.trial import TrialState

from mnist_core.config import ConfigError
from mnist_core.presets import PRESETS
from mnist_core.store import INTERRUPTED, OWNER, STOPPED, EpochMetrics, RunStore, RunStoreError, queue
from mnist_core.store.locks import has_holders, shared, waiting_for
from mnist_core.store.worker import ensure_worker, spawn_detached
from mnist_core.study_spec import (  # noqa: F401 - re-exported: callers use mnist_core.study for both
    FIELD_TYPES,
    KINDS,
    MAX_GRID_CELLS,
    MAX_NAME_LENGTH,
    MAX_TRIALS,
    VARIABLE_FIELDS,
    StudyError,
    StudySpec,
    _slug,
    check_study_name,
    decode_value,
    describe_params,
    encode_value,
    grid_study,
    parse_assignments,
    parse_range,
    parse_values,
    preset_study,
    search_study,
    spec_from_form,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)

STOP_ATTR = "stop_requested"
SPEC_ATTR = "spec"
STOP_POLL_SECONDS = 2.0
# A worker on another machine cannot be checked by its pid: it writes a heartbeat into its trial instead, and a
# trial whose heartbeat is older than STALE_SECONDS counts as interrupted.
HEARTBEAT_SECONDS = 60.0
STALE_SECONDS = 300.0


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


class TrialInterruptedError(RuntimeError):
    """A trial ended before its last epoch without being pruned (a stop); it will be trained again on resume."""


class SurplusTrialError(RuntimeError):
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
        val_loss = metrics.val_loss
        if val_loss is None:
            return
        self.val_losses.append(val_loss)
        self.trial.report(val_loss, metrics.epoch)
        # After the last epoch there is nothing left to save by pruning: the trial completes with its value.
        last = self.epochs is not None and metrics.epoch >= self.epochs
        if self.prune and not last and self.pruned_at is None and self.trial.should_prune():
            self.pruned_at = metrics.epoch


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
    return f"sqlite:///{store.layout.studies_db.resolve()}"


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
            study_name=name,
            storage=self.storage,
            direction="minimize",
            sampler=self._sampler(spec),
            pruner=self._pruner(spec),
        )
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
                with contextlib.suppress(RunStoreError):
                    self.store.stop(run_id)
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
            if self._worker_gone(trial):
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
            return dict(zip(sampler._param_names, values, strict=True))
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
                    slot = queue.training_slot(self.store)
                    with waiting_for(slot, lambda: exiting() or self.stop_requested(study)) as held:
                        if not held or self.stop_requested(study) or not self.has_work(study, spec):
                            break
                        objective = self._objective(study, spec, state, log, exiting)
                        study.optimize(objective, n_trials=1, catch=(Exception,), gc_after_trial=True)
                        trained += 1
            finally:
                # Runs queued on the Train page while we held the store waited for us: start their worker now.
                ensure_worker(self.store)
        return trained

    def _let_queued_runs_go_first(self, give_up: Callable[[], bool], poll_seconds: float = 1.0) -> None:
        """Between trials, let runs queued on the Train page train first, so a long study does not starve them."""
        while queue.line(self.store) and not give_up():
            ensure_worker(self.store)
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
                    raise SurplusTrialError("every planned trial was already taken by another worker")
            params = spec.suggest(trial)
            config = spec.config_for(params)
            label = spec.describe(params) if spec.kind != "presets" else params["preset"]
            # Locked by this worker from its creation, so a worker killed at any instant leaves it interrupted.
            with store.create(
                config,
                name=f"{study.study_name} #{trial.number} {label}"[:80],
                preset=spec.preset_for(params),
                trainer=OWNER,
                study=study.study_name,
                trial=trial.number,
            ) as writer:
                trial.set_user_attr("run_id", writer.id)
                trial.set_user_attr("host", socket.gethostname())
                log(f"trial {trial.number} ({label}): run {writer.id}")
                return self._train_trial(study, trial, writer, spec, state, log, exiting)

        return objective

    def _train_trial(self, study, trial, writer, spec: StudySpec, state: dict, log, exiting) -> float:
        if state["data"] is None:
            from mnist_core.data import load_mnist

            state["data"] = load_mnist()
        from mnist_core.quiet import tensorflow_logs

        with tensorflow_logs():
            from mnist_core.store.runner import execute_run

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
            status = execute_run(writer, state["data"], sink=reporter, should_stop=should_stop)
        except KeyboardInterrupt:
            trial.set_user_attr("interrupted", "interrupted by Ctrl-C")
            raise
        except Exception as error:
            trial.set_user_attr("error", f"{type(error).__name__}: {error}")
            raise
        result = _result_of(writer.read())
        trial.set_user_attr("result", result)
        if reporter.pruned_at is not None:
            message = (
                f"pruned by study {study.study_name!r} after epoch {reporter.pruned_at}: its val_loss was "
                f"worse than the median of earlier trials at that epoch"
            )
            writer.write_status(status.state, error=message)
            writer.update_meta(pruned=True)
            log(f"trial {trial.number}: {message}")
            raise optuna.TrialPruned(message)
        if status.state == STOPPED:
            trial.set_user_attr("interrupted", "stopped before its last epoch")
            log(f"trial {trial.number}: stopped; it will be trained again when the study resumes")
            raise TrialInterruptedError("stopped before its last epoch")
        value = min(reporter.val_losses)
        log(f"trial {trial.number}: val_loss {value:.4f}, test accuracy {result['test_accuracy']:.4f}")
        return value

    @contextlib.contextmanager
    def _study_presence(self, name: str):
        """Hold a shared lock on the study's presence file while working, so the page can see a worker is alive."""
        self.store.root.mkdir(parents=True, exist_ok=True)
        with shared(self.store.layout.study_presence(name)):
            yield

    def worker_alive(self, name: str) -> bool:
        return has_holders(self.store.layout.study_presence(name))

    def launch_worker(self, name: str) -> bool:
        """Start a background worker process for the study (the dashboard's "Queue"); False if one is there."""
        if self.worker_alive(name):
            return False
        args = ["study", "run", name, "--runs-dir", str(self.store.root.resolve()), "--storage", self.url]
        spawn_detached(args, self.store.layout.study_worker_log)
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
            history = run.history if run is not None else ()
            if not history:
                values = sorted(trial.intermediate_values.items())
                history = [EpochMetrics(epoch=int(step), val_loss=value) for step, value in values]
            if history:
                curves[label] = history
        return curves

    def optuna_study(self, name: str) -> optuna.Study:
        return self.load(name)[0]

    def _worker_gone(self, trial, now: float | None = None) -> bool:
        """Whether the worker of a running trial is gone: its run's lock if the run is in our store, else its
        heartbeat (another machine, or another store on this one)."""
        worker = trial.user_attrs.get("worker") or {}
        if not worker:
            return False  # between its creation and its first line: too young to judge
        run_id = trial.user_attrs.get("run_id")
        if worker.get("host") == socket.gethostname() and run_id and (self.store.root / run_id).is_dir():
            return self.store.read(run_id).state in (INTERRUPTED, "damaged")  # its lock went with its worker
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
    keys = (
        "parameters",
        "epochs_completed",
        "best_epoch",
        "train_accuracy",
        "val_accuracy",
        "train_val_gap",
        "test_accuracy",
        "test_loss",
        "train_seconds",
        "status",
    )
    return {key: row.get(key) for key in keys}


# --- tables for people -----------------------------------------------------------------------------------------

TABLE_COLUMNS = (
    "trial",
    "state",
    "changed",
    "parameters",
    "epochs_run",
    "best_epoch",
    "train_accuracy",
    "val_accuracy",
    "test_accuracy",
    "train_val_gap",
    "best_val_loss",
    "seconds",
    "run_id",
)


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
    header = (
        f"{'trial':>5} {'state':<11} {'changed':<44} {'params':>9} {'epochs':>6} {'best':>4} {'train':>7} "
        f"{'val':>7} {'test':>7}" + (f" {'post':>7}" if has_post else "") + f" {'gap':>7} {'time':>7}"
    )
    lines = [header]
    for row in rows:
        epochs = f"{row['epochs_run'] if row['epochs_run'] is not None else '-'}/{row['epochs'] or '-'}"
        line = (
            f"{row['trial']:>5} {row['state']:<11} {row['changed'][:44]:<44} {_fmt(row['parameters'], ',d'):>9} "
            f"{epochs:>6} {_fmt(row['best_epoch'], 'd'):>4} {_fmt(row['train_accuracy'], '.2%'):>7} "
            f"{_fmt(row['val_accuracy'], '.2%'):>7} {_fmt(row['test_accuracy'], '.2%'):>7}"
        )
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
