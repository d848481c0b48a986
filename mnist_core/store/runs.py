"""The run store: one directory per run, typed records in and out, and the one owner of every file under its root.

Callers never open a run's files: they get `Run` snapshots (meta, config, status, history, results, all checked)
or a `DamagedRun` with the reason when any record fails its check, and they write through a `RunWriter`, which
holds the run's lock for as long as its owner carries the run out. Every write is atomic, so a process killed at
any instant leaves earlier files whole; its lock vanishes with it, so its run is reported interrupted, not running.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import stat
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import mnist_core.store.records as records
from mnist_core.atomic import atomic_write_bytes
from mnist_core.i18n import Message, TranslatableError, as_message
from mnist_core.naming import name_problem
from mnist_core.networks.config import RunConfig
from mnist_core.networks.metrics import EpochMetrics
from mnist_core.store.layout import Layout, slug, valid_run_id
from mnist_core.store.locks import Lock, is_held
from mnist_core.store.own_digits import OwnDigits
from mnist_core.store.records import (
    ACTIVE_STATES,
    DAMAGED,
    Progress,
    RecordError,
    Results,
    RunKind,
    RunMeta,
    RunState,
    RunStatus,
    Trainer,
)

RUNS_DIR_ENV = "MNIST_LAB_RUNS"
DEFAULT_RUNS_DIR = "runs"
MAX_NAME_LENGTH = 80
CANCELLED = "cancelled before it started"


class RunStoreError(TranslatableError, RuntimeError):
    """A request on the run store cannot be done; the message says why and what to do (a Message: English as a
    string, the reader's language on a page)."""

    def __init__(self, explanation: str | Message):
        super().__init__(as_message(explanation))


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def default_runs_dir() -> Path:
    return Path(os.environ.get(RUNS_DIR_ENV) or DEFAULT_RUNS_DIR)


def check_name(name: str | None) -> str:
    name, problem = name_problem(name, MAX_NAME_LENGTH)
    if problem:
        raise RunStoreError(Message("A run name {problem}.", problem=problem))
    return name


# --- what readers get ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """A run as it stood when it was read: every record checked. Read it again to see it move."""

    id: str
    meta: RunMeta
    config: RunConfig | None  # None for an imported model: it was trained elsewhere, with settings we do not know
    status: RunStatus  # as believed: a recorded "running" whose owner is gone reads "interrupted"
    history: tuple[EpochMetrics, ...]
    results: Results | None
    model_path: Path  # for Keras to load; exists only when `has_model`
    model_version: int | None  # when the model file was last written (ns): a cache key for a loaded model
    stop_requested: bool

    @property
    def has_model(self) -> bool:
        return self.model_version is not None

    @property
    def state(self) -> str:
        return self.status.state

    @property
    def name(self) -> str:
        return self.meta.name

    def best_epoch(self) -> EpochMetrics | None:
        """The epoch with the lowest val_loss (whose weights training kept, unless it averaged them), if there was a
        validation split."""
        scored = [h for h in self.history if h.val_loss is not None]
        return min(scored, key=lambda h: h.val_loss) if scored else None

    def summary(self) -> dict:
        """One row of the runs table: plain data for the CLI's JSON and the Runs page."""
        best = self.best_epoch()
        last = self.history[-1] if self.history else None
        gap = None
        if last and last.accuracy is not None and last.val_accuracy is not None:
            gap = last.accuracy - last.val_accuracy
        results = self.results
        return {
            "run_id": self.id,
            "name": self.meta.name,
            "kind": self.meta.kind,
            "source_file": self.meta.source_file,
            "preset": self.meta.preset,
            "study": self.meta.study,
            "created_at": self.meta.created_at,
            "status": self.state,
            "error": self.status.error,
            "parameters": results.parameters if results else None,
            "epochs": self.config.epochs if self.config else None,
            "epochs_completed": len(self.history),
            "best_epoch": best.epoch if best else None,
            "best_val_accuracy": max(
                (h.val_accuracy for h in self.history if h.val_accuracy is not None), default=None
            ),
            "train_accuracy": last.accuracy if last else None,
            "val_accuracy": last.val_accuracy if last else None,
            "train_val_gap": gap,
            "test_accuracy": results.test_accuracy if results else None,
            "test_loss": results.test_loss if results else None,
            "train_seconds": self.status.train_seconds,
            "model_path": str(self.model_path) if self.has_model else None,
        }


@dataclass(frozen=True)
class DamagedRun:
    """A run directory with a record that fails its check: listed with the reason so it can be seen and deleted.
    `reason` is the English text (the summary's "error", `--json`); `why` the same as a Message, for a page to show
    in its reader's language."""

    id: str
    why: Message
    state = DAMAGED

    @property
    def reason(self) -> str:
        return str(self.why)

    def summary(self) -> dict:
        return {"run_id": self.id, "name": self.id, "status": self.state, "error": self.reason}


# --- the store -----------------------------------------------------------------------------------------------------


class RunStore:
    """The runs under one root directory."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.layout = Layout(Path(root) if root is not None else default_runs_dir())
        self.root = self.layout.root

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    @property
    def own_digits(self) -> OwnDigits:
        """The user's own digits, kept beside the runs ("Wrong? It is a ..." on the Draw page)."""
        return OwnDigits(self.layout)

    # --- creating ------------------------------------------------------------------------------------------------
    def create(
        self,
        config: RunConfig | None,
        name: str | None = None,
        preset: str | None = None,
        *,
        trainer: str = Trainer.WORKER,
        kind: str = RunKind.TRAINED,
        study: str | None = None,
        trial: int | None = None,
        source_file: str | None = None,
    ) -> RunWriter:
        """A new queued run, locked by the caller from before it is visible: a caller killed at any later instant
        leaves it interrupted, never queued for someone else to train. Close the writer (or leave the `with`) to
        hand a Trainer.WORKER run to the store's worker."""
        if config is None and kind != RunKind.IMPORTED:
            raise RunStoreError(Message("A run trained here needs its config; only an imported model may have none."))
        name = check_name(name or preset or "run")
        self._check_writable()
        now = datetime.now()
        # Milliseconds too: ids sort in creation order (newest first in listings) even when two share a second.
        run_id = f"{now:%Y%m%d-%H%M%S}.{now.microsecond // 1000:03d}-{slug(name)}-{secrets.token_hex(2)}"
        staging = self.layout.staging_dir(run_id)
        staging.mkdir()
        lock = Lock(staging / self.layout.owner_lock(run_id).name)
        lock.acquire()
        meta = RunMeta(
            name=name,
            created_at=now_iso(),
            preset=preset,
            kind=kind,
            source_file=source_file,
            study=study,
            trial=trial,
        )
        status = RunStatus(state=RunState.QUEUED, updated_at=now_iso(), trainer=trainer, queued_at=time.time())
        files = {"meta.json": records.encode(meta), "status.json": records.encode(status)}
        if config is not None:
            files["config.json"] = records.encode_config(config)
        try:
            for file, data in files.items():
                atomic_write_bytes(staging / file, data)
            # Renamed into place whole: a listing never sees half a run. The lock is on the file: it moves along.
            os.replace(staging, self.layout.run_dir(run_id))
        except BaseException:  # a full disk, a Ctrl-C: no half-made run is left behind
            lock.release()
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return RunWriter(self, run_id, lock)

    def _check_writable(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise RunStoreError(
                Message("{root} is a file, not a run store folder: give another --runs-dir.", root=self.root)
            ) from None
        except OSError as error:
            raise RunStoreError(
                Message("{root}: cannot create the run store ({reason}).", root=self.root, reason=error.strerror)
            ) from None
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise RunStoreError(
                Message("{root}: no permission to write here; give a --runs-dir you can write to.", root=self.root)
            )

    # --- reading -------------------------------------------------------------------------------------------------
    def check_readable(self) -> None:
        """Raise a clear RunStoreError if the root exists but cannot be listed as a run store."""
        if self.root.exists() and not self.root.is_dir():
            raise RunStoreError(
                Message("{root} is a file, not a run store folder: give another --runs-dir.", root=self.root)
            )
        try:
            self.layout.run_ids()
        except PermissionError:
            raise RunStoreError(Message("{root}: no permission to read this folder.", root=self.root)) from None
        except OSError as error:
            raise RunStoreError(
                Message("{root}: cannot list it as a run store ({reason}).", root=self.root, reason=error.strerror)
            ) from None

    def read(self, run_id: str) -> Run | DamagedRun:
        """The run as it stands, or a DamagedRun naming the first record that fails its check."""
        try:
            return self._read(run_id)
        except RecordError as error:
            return DamagedRun(run_id, error.explanation)
        except OSError as error:
            return DamagedRun(
                run_id, Message("cannot be read ({detail})", detail=error.strerror or type(error).__name__)
            )

    def _read(self, run_id: str) -> Run:
        layout = self.layout
        meta = _read_record(layout.run_file(run_id, "meta.json"), RunMeta)
        # An imported model has no config; a trained run without one is damaged.
        config_missing = None if meta.kind == RunKind.IMPORTED else _MISSING
        config = _read_record(layout.run_file(run_id, "config.json"), RunConfig, missing=config_missing)
        status = self._believed(run_id, _read_record(layout.run_file(run_id, "status.json"), RunStatus))
        history = _read_record(layout.run_file(run_id, "history.json"), tuple[EpochMetrics, ...], missing=())
        results = _read_record(layout.run_file(run_id, "results.json"), Results, missing=None)
        return Run(
            id=run_id,
            meta=meta,
            config=config,
            status=status,
            history=history,
            results=results,
            model_path=layout.model(run_id),
            model_version=_file_version(layout.model(run_id)),
            stop_requested=layout.stop_request(run_id).exists(),
        )

    def _believed(self, run_id: str, status: RunStatus) -> RunStatus:
        """A recorded queued or running state, checked against the lock of whoever claims the run."""
        if status.state not in ACTIVE_STATES or is_held(self.layout.owner_lock(run_id)):
            return status
        if status.state == RunState.QUEUED and status.trainer == Trainer.WORKER:
            return status  # waiting for the store's worker, which takes the lock when it starts it
        # The owner may have finished between our two reads: believe the file once more before saying it died.
        again = _read_record(self.layout.run_file(run_id, "status.json"), RunStatus)
        if again.state not in ACTIVE_STATES or is_held(self.layout.owner_lock(run_id)):
            return again
        return _orphaned(again)

    def entries(self) -> list[Run | DamagedRun]:
        """Every run directory, newest first; damaged ones as DamagedRun. Never raises for a bad run."""
        return [self.read(run_id) for run_id in self.layout.run_ids()]

    def runs(self) -> list[Run]:
        return [entry for entry in self.entries() if isinstance(entry, Run)]

    def summaries(self) -> list[dict]:
        return [entry.summary() for entry in self.entries()]

    def get(self, run_id: str) -> Run:
        """The run with exactly this id; RunStoreError if there is none or it is damaged."""
        if not valid_run_id(run_id) or not self.layout.run_dir(run_id).is_dir():
            known = ", ".join(self.layout.run_ids()[:5]) or "none yet"
            raise RunStoreError(
                Message(
                    "No run {run_id!r} in {root} (runs: {known}). List them with `runs`.",
                    run_id=run_id,
                    root=self.root,
                    known=known,
                )
            )
        entry = self.read(run_id)
        if isinstance(entry, DamagedRun):
            raise RunStoreError(
                Message(
                    "Run {run_id} is damaged ({reason}); delete it with `delete {run_id}`.",
                    run_id=run_id,
                    reason=entry.why,
                )
            )
        return entry

    def find(self, key: str) -> Run:
        """A run by its id, a unique id prefix, or its exact name. An empty or ambiguous key matches nothing."""
        key = (key or "").strip()
        if not key:
            raise RunStoreError(
                Message("Give a run id, a unique id prefix or a run name (an empty one matches no run).")
            )
        ids = self.layout.run_ids()
        if key in ids:
            return self.get(key)
        by_prefix = [run_id for run_id in ids if run_id.startswith(key)]
        if len(by_prefix) == 1:
            return self.get(by_prefix[0])
        by_name = [run.id for run in self.runs() if run.name == key]
        if len(by_name) == 1:
            return self.get(by_name[0])
        matches = len(by_prefix) or len(by_name)
        if matches > 1:
            raise RunStoreError(
                Message(
                    "{key!r} matches {matches} runs; give the full run id (list them with `runs`).",
                    key=key,
                    matches=matches,
                )
            )
        return self.get(key)

    def progress(self, run_id: str) -> Progress:
        """Within-epoch progress of a run; an empty Progress before training starts. RecordError if damaged."""
        return _read_record(self.layout.run_file(run_id, "progress.json"), Progress, missing=Progress())

    def model_path(self, run_id: str) -> Path:
        return self.layout.model(run_id)

    def model_bytes(self, run_id: str) -> bytes:
        """The run's .keras file as bytes (a download). RunStoreError if it has none (any more)."""
        try:
            return self.layout.model(run_id).read_bytes()
        except OSError as error:
            raise RunStoreError(
                Message("Run {run_id} has no model file to read ({reason}).", run_id=run_id, reason=error.strerror)
            ) from None

    # --- changing ------------------------------------------------------------------------------------------------
    def rename(self, run_id: str, new_name: str) -> Run:
        run = self.get(run_id)
        self._check_writable()
        meta = records.replace(run.meta, name=check_name(new_name))
        _write_record(self.layout.run_file(run_id, "meta.json"), records.encode(meta))
        return self.get(run_id)

    def delete(self, run_id: str) -> None:
        """Delete a run (damaged ones too) and its model. A run being trained must be stopped first."""
        if not valid_run_id(run_id) or not self.layout.run_dir(run_id).is_dir():
            raise RunStoreError(Message("No run {run_id!r} in {root}.", run_id=run_id, root=self.root))
        self._check_writable()
        entry = self.read(run_id)
        if entry.state in ACTIVE_STATES:
            raise RunStoreError(
                Message("Run {run_id} is {state}: stop it first, then delete it.", run_id=run_id, state=entry.state)
            )
        # Renamed first so the run vanishes from listings at once, even if removing the files takes a while.
        trash = self.layout.trash_dir(run_id)
        os.replace(self.layout.run_dir(run_id), trash)
        shutil.rmtree(trash, ignore_errors=True)

    def stop(self, run_id: str) -> str:
        """Stop a running run after its current batch (it keeps what it learned), or cancel a queued one.
        Returns what was done: "stopping" or "cancelled"."""
        run = self.get(run_id)
        if run.state not in ACTIVE_STATES:
            raise RunStoreError(
                Message(
                    "Run {run_id} is {state}; only queued or running runs can be stopped.",
                    run_id=run_id,
                    state=run.state,
                )
            )
        self._check_writable()
        self.layout.stop_request(run_id).touch()
        if run.state == RunState.QUEUED and run.status.trainer == Trainer.WORKER:
            # Not taken by the worker yet: cancel it here. If the worker takes it this instant, it sees the request.
            writer = self.claim(run_id)
            if writer is not None:
                with writer:
                    writer.write_status(RunState.STOPPED, finished_at=now_iso(), error=CANCELLED)
                return "cancelled"
        return "stopping"

    def claim(self, run_id: str) -> RunWriter | None:
        """Take a queued Trainer.WORKER run to carry it out (the worker does this); None if someone else has it."""
        lock = Lock(self.layout.owner_lock(run_id))
        if not lock.acquire():
            return None
        try:
            status = _read_record(self.layout.run_file(run_id, "status.json"), RunStatus)
        except (RecordError, OSError):
            lock.release()
            return None
        if status.state != RunState.QUEUED or status.trainer != Trainer.WORKER:
            lock.release()
            return None
        return RunWriter(self, run_id, lock)

    def sweep(self) -> list[str]:
        """Tidy up after killed processes: unfinished creations and deletions, temporary files of saves whose
        writer is gone, and runs whose owner died recorded as interrupted. Returns what was done, for the log."""
        done: list[str] = []
        if not self.root.is_dir():
            return done
        for leftover in self.layout.leftovers():
            if leftover.name.startswith(".new-") and is_held(leftover / ".owner.lock"):
                continue  # being created right now
            shutil.rmtree(leftover, ignore_errors=True)
            done.append(f"removed {leftover.name}")
        for run_id in self.layout.run_ids():
            lock = Lock(self.layout.owner_lock(run_id))
            try:
                if not lock.acquire():
                    continue  # its owner is alive and may be saving
            except OSError:
                continue  # a folder we cannot write to: nothing of ours to tidy there
            with lock:
                for tmp in self.layout.temporary_files(self.layout.run_dir(run_id)):
                    tmp.unlink(missing_ok=True)
                    done.append(f"removed {run_id}/{tmp.name}")
                # We hold the lock, so nobody carries this run out: a recorded active state is a dead owner's.
                try:
                    status = _read_record(self.layout.run_file(run_id, "status.json"), RunStatus)
                except (RecordError, OSError):
                    continue
                if status.state == RunState.RUNNING or (
                    status.state == RunState.QUEUED and status.trainer == Trainer.OWNER
                ):
                    status = records.replace(_orphaned(status), updated_at=now_iso(), finished_at=now_iso())
                    _write_record(self.layout.run_file(run_id, "status.json"), records.encode(status))
                    done.append(f"recorded {run_id} as interrupted")
        return done


# --- what the owner of a run writes with ---------------------------------------------------------------------------


class RunWriter:
    """The owner's handle on one run: writes its records while holding its lock. Close it when done."""

    def __init__(self, store: RunStore, run_id: str, lock: Lock):
        self.store = store
        self.id = run_id
        self._lock = lock
        self._layout = store.layout

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Let go of the run: from now on a recorded queued or running state is no longer believed (queued runs
        for the worker aside, which wait for the worker)."""
        self._lock.release()

    def read(self) -> Run:
        return self.store.get(self.id)

    @property
    def config(self) -> RunConfig | None:
        return _read_record(self._layout.run_file(self.id, "config.json"), RunConfig, missing=None)

    def stop_requested(self) -> bool:
        return self._layout.stop_request(self.id).exists()

    def write_status(self, state: str, **changes) -> RunStatus:
        recorded = _read_record(self._layout.run_file(self.id, "status.json"), RunStatus)
        status = records.replace(recorded, state=state, updated_at=now_iso(), **changes)
        _write_record(self._layout.run_file(self.id, "status.json"), records.encode(status))
        return status

    def start(self) -> RunStatus:
        return self.write_status(
            RunState.RUNNING,
            started_at=now_iso(),
            host=socket.gethostname(),
            pid=os.getpid(),
            error=None,
            traceback=None,
        )

    def update_meta(self, **changes) -> RunMeta:
        meta = records.replace(_read_record(self._layout.run_file(self.id, "meta.json"), RunMeta), **changes)
        _write_record(self._layout.run_file(self.id, "meta.json"), records.encode(meta))
        return meta

    def write_history(self, history: list[EpochMetrics]) -> None:
        _write_record(self._layout.run_file(self.id, "history.json"), records.encode(history))

    def write_progress(self, progress: Progress) -> None:
        _write_record(self._layout.run_file(self.id, "progress.json"), records.encode(progress))

    def write_results(self, results: Results) -> None:
        _write_record(self._layout.run_file(self.id, "results.json"), records.encode(results))

    def save_model(self, model) -> Path:
        """Save to a temporary .keras file, then rename: a crash mid-save never leaves a half-written model (and
        `RunStore.sweep` removes the temporary file a killed save left)."""
        tmp = self._layout.model_tmp(self.id)
        model.save(tmp)
        os.replace(tmp, self._layout.model(self.id))
        return self._layout.model(self.id)


def _file_version(path: Path) -> int | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns if stat.S_ISREG(info.st_mode) else None


def _orphaned(status: RunStatus) -> RunStatus:
    """A queued or running status whose owner is gone, as it is reported: interrupted, saying when it died."""
    started = status.state == RunState.RUNNING
    why = "its training process ended before it finished" if started else "its process ended before it started"
    return records.replace(status, state=RunState.INTERRUPTED, error=status.error or why)


# --- reading and writing one record --------------------------------------------------------------------------------

_MISSING = object()
# Decoded records by path, reused while the file is the same (inode, size and mtime unchanged): pages poll the store
# every second, and most files of most runs never change after training.
_cache: dict[Path, tuple[tuple, object]] = {}
_cache_lock = threading.Lock()
_CACHE_LIMIT = 4096


def _read_record(path: Path, record_type, missing=_MISSING):
    try:
        stat = path.stat()
    except FileNotFoundError:
        if missing is _MISSING:
            raise RecordError(path.name, Message("the file is missing")) from None
        return missing
    key = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    cached = _cache.get(path)
    if cached is not None and cached[0] == key:
        return cached[1]
    if not path.is_file():
        raise RecordError(path.name, Message("is not a file"))
    data = path.read_bytes()
    if record_type is RunConfig:
        record = records.decode_config(data, path.name)
    else:
        record = records.decode(data, record_type, path.name)
    with _cache_lock:
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[path] = (key, record)
    return record


def _write_record(path: Path, data: bytes) -> None:
    atomic_write_bytes(path, data)
