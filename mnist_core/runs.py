"""The run store: one directory per training run, written by training, read by the pages and the command line.

    runs/<run_id>/
        meta.json       name, preset, created_at            (written on create and rename)
        config.json     the RunConfig                       (written once)
        status.json     state, times, pid, error            (written by the process that trains)
        history.json    per-epoch metrics                   (rewritten after each epoch)
        progress.json   within-epoch points for live curves (rewritten at most twice a second)
        results.json    test metrics and evaluation         (written when training ends)
        model.keras     the trained model                   (written when training ends)
        stop            present when a stop was requested

Every write is atomic (`mnist_core.storage`), so a process killed at any instant leaves earlier files whole. A run
whose status says "running" but whose process is gone is reported as "interrupted". A directory that cannot be
read is listed as damaged and skipped by everything else; it never breaks the listing.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mnist_core.config import ConfigError, RunConfig
from mnist_core.storage import atomic_write_json, read_json

RUNS_DIR_ENV = "MNIST_LAB_RUNS"
DEFAULT_RUNS_DIR = "runs"

QUEUED, RUNNING, COMPLETED, STOPPED, FAILED, INTERRUPTED = (
    "queued",
    "running",
    "completed",
    "stopped",
    "failed",
    "interrupted",
)
STATES = (QUEUED, RUNNING, COMPLETED, STOPPED, FAILED, INTERRUPTED)
ACTIVE_STATES = (QUEUED, RUNNING)
FINISHED_WITH_MODEL = (COMPLETED, STOPPED)
MAX_NAME_LENGTH = 80


class RunStoreError(RuntimeError):
    """A request on the run store cannot be done; the message says why and what to do."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def default_runs_dir() -> Path:
    return Path(os.environ.get(RUNS_DIR_ENV) or DEFAULT_RUNS_DIR)


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise RunStoreError("A run name cannot be empty.")
    if len(name) > MAX_NAME_LENGTH:
        raise RunStoreError(f"A run name has at most {MAX_NAME_LENGTH} characters (got {len(name)}).")
    if any(not ch.isprintable() for ch in name):
        raise RunStoreError("A run name cannot hold control characters such as new lines.")
    return name


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "run"


def process_alive(pid: int | None, host: str | None) -> bool:
    """Whether the process that claims a run still exists (a different host cannot be checked: assume alive)."""
    if not pid:
        return False
    if host and host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) is not training any more.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


@dataclass
class Run:
    """One run directory. Readers tolerate files that do not exist yet; writers replace files atomically."""

    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    # --- reading -------------------------------------------------------------------------------------------
    def meta(self) -> dict:
        return read_json(self.path / "meta.json")

    def config(self) -> RunConfig:
        return RunConfig.from_dict(read_json(self.path / "config.json"))

    def raw_status(self) -> dict:
        return _read_optional(self.path / "status.json", {"state": QUEUED})

    def status(self) -> dict:
        """The status with a dead trainer's "running" shown as "interrupted"."""
        status = self.raw_status()
        if status.get("state") == RUNNING and not process_alive(status.get("pid"), status.get("host")):
            status = {**status, "state": INTERRUPTED, "error": status.get("error") or "the training process ended"}
        return status

    @property
    def state(self) -> str:
        return self.status().get("state", QUEUED)

    def history(self) -> list[dict]:
        return _read_optional(self.path / "history.json", [])

    def progress(self) -> dict:
        return _read_optional(self.path / "progress.json", {})

    def results(self) -> dict:
        return _read_optional(self.path / "results.json", {})

    @property
    def model_path(self) -> Path:
        return self.path / "model.keras"

    def has_model(self) -> bool:
        return self.model_path.exists()

    def stop_requested(self) -> bool:
        return (self.path / "stop").exists()

    def summary(self) -> dict:
        """One row of the runs table, plain data for the CLI's JSON and the Runs page."""
        meta, status, config, history, results = (
            self.meta(),
            self.status(),
            self.config(),
            self.history(),
            self.results(),
        )
        best = min((h for h in history if h.get("val_loss") is not None), key=lambda h: h["val_loss"], default=None)
        last = history[-1] if history else {}
        gap = None
        if last.get("accuracy") is not None and last.get("val_accuracy") is not None:
            gap = last["accuracy"] - last["val_accuracy"]
        return {
            "run_id": self.id,
            "name": meta.get("name", self.id),
            "preset": meta.get("preset"),
            "created_at": meta.get("created_at"),
            "status": status.get("state"),
            "error": status.get("error"),
            "parameters": results.get("parameters") or meta.get("parameters"),
            "epochs": config.epochs,
            "epochs_completed": len(history),
            "best_epoch": best["epoch"] if best else None,
            "best_val_accuracy": max(
                (h["val_accuracy"] for h in history if h.get("val_accuracy") is not None), default=None
            ),
            "train_accuracy": last.get("accuracy"),
            "val_accuracy": last.get("val_accuracy"),
            "train_val_gap": gap,
            "test_accuracy": results.get("test_accuracy"),
            "test_loss": results.get("test_loss"),
            "train_seconds": status.get("train_seconds"),
            "model_path": str(self.model_path) if self.has_model() else None,
        }

    # --- writing (by the process that trains, except request_stop) ------------------------------------------
    def write_status(self, state: str, **fields) -> dict:
        status = {**self.raw_status(), **fields, "state": state, "updated_at": now_iso()}
        atomic_write_json(self.path / "status.json", status)
        return status

    def write_history(self, history: list[dict]) -> None:
        atomic_write_json(self.path / "history.json", history)

    def write_progress(self, progress: dict) -> None:
        atomic_write_json(self.path / "progress.json", progress)

    def write_results(self, results: dict) -> None:
        atomic_write_json(self.path / "results.json", results)

    def request_stop(self) -> None:
        (self.path / "stop").touch()


@dataclass
class DamagedRun:
    """A run directory that could not be read; listed so the user can see and delete it."""

    path: Path
    error: str

    @property
    def id(self) -> str:
        return self.path.name

    def summary(self) -> dict:
        return {"run_id": self.id, "name": self.id, "status": "damaged", "error": self.error}


class RunStore:
    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_runs_dir()

    def create(self, config: RunConfig, name: str | None = None, preset: str | None = None) -> Run:
        config.validate()
        name = check_name(name or preset or "run")
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        run_id = f"{stamp}-{_slug(name)}-{secrets.token_hex(2)}"
        # Build the directory under a hidden name and rename it into place: a listing never sees half a run.
        staging = self.root / f".new-{run_id}"
        staging.mkdir(parents=True)
        atomic_write_json(staging / "config.json", config.to_dict())
        atomic_write_json(staging / "meta.json", {"name": name, "preset": preset, "created_at": now_iso()})
        atomic_write_json(staging / "status.json", {"state": QUEUED, "updated_at": now_iso()})
        os.replace(staging, self.root / run_id)
        return Run(self.root / run_id)

    def get(self, run_id: str) -> Run:
        path = self.root / run_id
        if not run_id or run_id.startswith(".") or "/" in run_id or not (path / "meta.json").exists():
            known = ", ".join(r.id for r in self.runs()[:5]) or "none yet"
            raise RunStoreError(f"No run {run_id!r} in {self.root} (runs: {known}). List them with `runs`.")
        return Run(path)

    def find(self, key: str) -> Run:
        """A run by its id, a unique id prefix, or its exact name."""
        runs = self.runs()
        for matches in (
            [r for r in runs if r.id == key],
            [r for r in runs if r.id.startswith(key)],
            [r for r in runs if _safe_name(r) == key],
        ):
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise RunStoreError(f"{key!r} matches {len(matches)} runs; give the full run id.")
        return self.get(key)

    def entries(self) -> list[Run | DamagedRun]:
        """Every run directory, newest first; damaged ones as DamagedRun."""
        if not self.root.is_dir():
            return []
        entries: list[Run | DamagedRun] = []
        for path in sorted(self.root.iterdir(), key=lambda p: p.name, reverse=True):
            if not path.is_dir() or path.name.startswith("."):
                continue
            run = Run(path)
            try:
                run.meta()
                run.config()
                run.raw_status()
            except (OSError, ValueError, TypeError, ConfigError) as error:
                entries.append(DamagedRun(path, _describe_damage(path, error)))
                continue
            entries.append(run)
        return entries

    def runs(self) -> list[Run]:
        return [e for e in self.entries() if isinstance(e, Run)]

    def summaries(self) -> list[dict]:
        rows = []
        for entry in self.entries():
            try:
                rows.append(entry.summary())
            except (OSError, ValueError, TypeError, ConfigError) as error:
                rows.append(DamagedRun(entry.path, _describe_damage(entry.path, error)).summary())
        return rows

    def active_runs(self) -> list[Run]:
        return [run for run in self.runs() if run.state in ACTIVE_STATES]

    def rename(self, run_id: str, new_name: str) -> Run:
        run = self.get(run_id)
        meta = {**run.meta(), "name": check_name(new_name)}
        atomic_write_json(run.path / "meta.json", meta)
        return run

    def delete(self, run_id: str) -> None:
        path = self.root / run_id
        if not run_id or run_id.startswith(".") or "/" in run_id or not path.is_dir():
            raise RunStoreError(f"No run {run_id!r} in {self.root}.")
        try:
            state = Run(path).state
        except (OSError, ValueError):
            state = "damaged"
        if state == RUNNING:
            raise RunStoreError(f"Run {run_id} is still training: stop it first, then delete it.")
        # Rename first so the run vanishes from listings at once, even if removing the files takes a while.
        trash = self.root / f".deleted-{run_id}-{time.time_ns()}"
        os.replace(path, trash)
        shutil.rmtree(trash, ignore_errors=True)


def _read_optional(path: Path, default):
    try:
        return read_json(path)
    except FileNotFoundError:
        return default


def _safe_name(run: Run) -> str | None:
    try:
        return run.meta().get("name")
    except (OSError, ValueError):
        return None


def _describe_damage(path: Path, error: Exception) -> str:
    if isinstance(error, FileNotFoundError):
        return f"missing {Path(error.filename).name if error.filename else 'a file'}"
    if isinstance(error, ConfigError):
        return f"config.json is invalid ({error})"
    return f"unreadable ({type(error).__name__}: {str(error)[:120]})"
