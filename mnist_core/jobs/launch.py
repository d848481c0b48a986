"""Starting the background worker: queue a run for it (`submit`) and make sure one is alive (`ensure_worker`).

Pages and the queue call these; the worker's own loop is in `worker.py`. A worker is a separate process started in a
session of its own, so it survives reruns, page changes and closed tabs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mnist_core.networks.config import RunConfig
from mnist_core.store.locks import is_held
from mnist_core.store.records import QUEUED, WORKER
from mnist_core.store.runs import RunStore

MAX_LOG_BYTES = 1_000_000


def spawn_detached(args: list[str], log_path: Path) -> None:
    """Start `python -m mnist_core ARGS` in a session of its own: it outlives the script run, the page and the
    browser tab that started it. Its output goes to `log_path` (started afresh once it grows past a megabyte)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    too_big = log_path.exists() and log_path.stat().st_size > MAX_LOG_BYTES
    with open(log_path, "wb" if too_big else "ab") as log:
        subprocess.Popen(
            [sys.executable, "-m", "mnist_core", *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )


def worker_alive(store: RunStore) -> bool:
    return is_held(store.layout.worker_lock)


def waiting_for_worker(store: RunStore) -> bool:
    """Whether some queued run waits for the store's worker to train it."""
    return any(run.state == QUEUED and run.status.trainer == WORKER for run in store.runs())


def submit(store: RunStore, config: RunConfig, name: str | None = None, preset: str | None = None) -> str:
    """Queue a run for the worker and make sure a worker will train it; returns its id at once."""
    with store.create(config, name=name, preset=preset, trainer=WORKER) as writer:
        run_id = writer.id
    ensure_worker(store)
    return run_id


def ensure_worker(store: RunStore, warm: bool = False) -> bool:
    """Start a worker if runs wait for one and none is alive; with `warm`, start one even before any run is queued
    (the Train page does, so its first Start is quick). Cheap enough to call on every refresh. True if started."""
    if worker_alive(store) or not (warm or waiting_for_worker(store)):
        return False
    try:
        store.root.mkdir(parents=True, exist_ok=True)
        spawn_detached(["worker", "--runs-dir", str(store.root.resolve())], store.layout.worker_log)
    except OSError:
        return False  # a store we cannot write to has nothing to train; the page says what it can
    return True
