"""Every path under a run store's root, named once. Nothing outside mnist_core.store builds these paths.

<root>/
    <run_id>/                  one run
        config.json            the RunConfig                        (written once, at creation)
        meta.json              RunMeta: name, preset, kind, study   (written at creation and on rename)
        status.json            RunStatus                            (written by whoever carries the run out)
        history.json           [EpochMetrics]                       (rewritten after each epoch)
        progress.json          Progress, within-epoch points        (rewritten at most twice a second)
        results.json           Results of the test-set evaluation   (written when training ends)
        model.keras            the trained model                    (written when training ends)
        .owner.lock            held by the process carrying the run out, from creation for the CLI's runs
        .stop-requested        present when a stop was asked for
        .model.tmp.keras, .*.tmp   a save in progress (removed if its writer died)
    .new-<run_id>/             a run being created; renamed into place when whole
    .deleted-<run_id>-<ns>/    a run being deleted; removed right after the rename
    .training.lock             the one training slot of this store: held by whoever trains now
    .worker.lock, .worker.log  the background worker: alive while the lock is held; its output
    .studies.db                the studies' Optuna storage (SQLite) unless another database is given
    .study-worker.log          output of study workers started by the dashboard
    .study-<slug>.lock         held (shared) by every worker of a study, to show one is alive
    .own-digits/<id>.png       the user's own digits ("Wrong? It is a ..."): the picture, its record in a text chunk
"""

from __future__ import annotations

import re
import time
from pathlib import Path

MODEL_FILE = "model.keras"
_HIDDEN = "."


class Layout:
    """The paths of one run store."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    # --- runs ----------------------------------------------------------------------------------------------
    def run_dir(self, run_id: str) -> Path:
        return self.root / run_id

    def run_file(self, run_id: str, name: str) -> Path:
        return self.root / run_id / name

    def model(self, run_id: str) -> Path:
        return self.root / run_id / MODEL_FILE

    def model_tmp(self, run_id: str) -> Path:
        return self.root / run_id / ".model.tmp.keras"

    def owner_lock(self, run_id: str) -> Path:
        return self.root / run_id / ".owner.lock"

    def stop_request(self, run_id: str) -> Path:
        return self.root / run_id / ".stop-requested"

    def staging_dir(self, run_id: str) -> Path:
        return self.root / f".new-{run_id}"

    def trash_dir(self, run_id: str) -> Path:
        return self.root / f".deleted-{run_id}-{time.time_ns()}"

    def run_ids(self) -> list[str]:
        """The names of every run directory (hidden entries are the store's own), newest first."""
        try:
            entries = [entry for entry in self.root.iterdir() if not entry.name.startswith(_HIDDEN)]
        except FileNotFoundError:
            return []
        return sorted((entry.name for entry in entries if entry.is_dir()), reverse=True)

    def leftovers(self) -> list[Path]:
        """Staging and trash directories of creations and deletions that a killed process did not finish."""
        try:
            return [p for p in self.root.iterdir() if p.is_dir() and p.name.startswith((".new-", ".deleted-"))]
        except FileNotFoundError:
            return []

    @staticmethod
    def temporary_files(run_dir: Path) -> list[Path]:
        """Files of saves in progress inside a run directory (atomic writes and the model save)."""
        return [p for p in run_dir.glob(".*") if p.name.endswith(".tmp") or p.name == ".model.tmp.keras"]

    # --- the store's processes -----------------------------------------------------------------------------------
    @property
    def training_slot(self) -> Path:
        return self.root / ".training.lock"

    @property
    def worker_lock(self) -> Path:
        return self.root / ".worker.lock"

    @property
    def worker_log(self) -> Path:
        return self.root / ".worker.log"

    # --- studies -----------------------------------------------------------------------------------------------
    @property
    def studies_db(self) -> Path:
        return self.root / ".studies.db"

    @property
    def study_worker_log(self) -> Path:
        return self.root / ".study-worker.log"

    def study_presence(self, study_name: str) -> Path:
        return self.root / f".study-{slug(study_name)}.lock"

    # --- the user's own digits -------------------------------------------------------------------------------
    @property
    def own_digits_dir(self) -> Path:
        return self.root / ".own-digits"

    def own_digit(self, digit_id: str) -> Path:
        return self.own_digits_dir / f"{digit_id}.png"


def slug(text: str, length: int = 40) -> str:
    """Lower-case letters, digits and dashes: safe in a file name whatever the user typed."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:length] or "run"


def valid_run_id(run_id: str) -> bool:
    """A name that can only mean a directory directly under the root (no '..', no '/', not hidden, not empty)."""
    return bool(run_id) and not run_id.startswith(_HIDDEN) and "/" not in run_id and "\0" not in run_id
