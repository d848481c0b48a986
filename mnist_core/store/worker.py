"""The background worker: the process that trains the dashboard's runs, so no training lives in a Streamlit script.

A page only *queues* a run (`submit`) and makes sure a worker is alive (`ensure_worker`); the worker is a separate
process (`python -m mnist_core worker`) that survives reruns, page changes and closed tabs. It takes the store's
queued WORKER runs in the queue's order (waiting its turn behind runs of the command line and of studies), and
after the line empties it stays a while, warm, with TensorFlow imported and MNIST loaded, so that the next Start
begins training at once. At most one worker per store: it holds `.worker.lock` while it lives.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from mnist_core.networks.config import RunConfig
from mnist_core.store.locks import Lock, is_held
from mnist_core.store.queue import POLL_SECONDS, line, training_slot
from mnist_core.store.records import QUEUED, STOPPED, WORKER
from mnist_core.store.runs import CANCELLED, RunStore, now_iso

IDLE_ENV = "MNIST_LAB_WORKER_IDLE"
DEFAULT_IDLE_SECONDS = 300.0
MAX_LOG_BYTES = 1_000_000
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def spawn_detached(args: list[str], log_path: Path) -> None:
    """Start `python -m mnist_core ARGS` in a session of its own: it outlives the script run, the page and the
    browser tab that started it. Its output goes to `log_path` (started afresh once it grows past a megabyte)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    too_big = log_path.exists() and log_path.stat().st_size > MAX_LOG_BYTES
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))}
    with open(log_path, "wb" if too_big else "ab") as log:
        subprocess.Popen(
            [sys.executable, "-m", "mnist_core", *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            env=env,
            cwd=PROJECT_ROOT,
        )


def worker_alive(store: RunStore) -> bool:
    return is_held(store.layout.worker_lock)


def waiting_for_worker(store: RunStore) -> bool:
    """Whether some queued run waits for the store's worker to train it."""
    return any(run.state == QUEUED and run.status.trainer == WORKER for run in line(store))


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


def idle_seconds_default() -> float:
    try:
        return max(0.0, float(os.environ.get(IDLE_ENV, DEFAULT_IDLE_SECONDS)))
    except ValueError:
        return DEFAULT_IDLE_SECONDS


def run_worker(store: RunStore, idle_seconds: float | None = None, log: Callable[[str], None] = print) -> int:
    """The worker's life: hold the worker lock, warm up, train WORKER runs as they reach the head of the line,
    and exit after `idle_seconds` with nothing to do. Returns how many runs it trained (0 if another worker
    already serves the store)."""
    idle_seconds = idle_seconds_default() if idle_seconds is None else idle_seconds
    trained = 0
    while True:
        lock = Lock(store.layout.worker_lock)
        store.root.mkdir(parents=True, exist_ok=True)
        if not lock.acquire():
            return trained
        with lock:
            trained += _serve(store, idle_seconds, log)
        # A run queued just as we let go found the lock still held and started no worker: look once more.
        if not waiting_for_worker(store):
            return trained


def _serve(store: RunStore, idle_seconds: float, log: Callable[[str], None]) -> int:
    from mnist_core.data.mnist import load_mnist
    from mnist_core.networks.backend import tensorflow_logs

    with tensorflow_logs():
        from mnist_core.store.runner import execute_run
    data = load_mnist()
    for done in store.sweep():
        log(f"worker: {done}")
    slot = training_slot(store)
    trained = 0
    idle_since = time.monotonic()
    quiet_root = None  # the root's mtime when the line was last seen empty
    while True:
        root_mtime = _mtime(store.root)
        if quiet_root is not None and root_mtime == quiet_root:
            # Idle: nothing has been renamed into the store since the line was empty, so one stat is enough.
            if time.monotonic() - idle_since >= idle_seconds:
                return trained
            time.sleep(POLL_SECONDS)
            continue
        runs = line(store)
        quiet_root = None if runs else root_mtime
        if runs:
            idle_since = time.monotonic()  # the worker is idle only while nothing at all waits or trains
        head = runs[0] if runs else None
        if head is None or head.state != QUEUED or head.status.trainer != WORKER or not slot.acquire():
            if head is None and time.monotonic() - idle_since >= idle_seconds:
                return trained
            time.sleep(POLL_SECONDS)  # nothing to do, or the head of the line is another process's run
            continue
        try:
            writer = store.claim(head.id)
            if writer is None:
                continue
            with writer:
                if writer.stop_requested():
                    writer.write_status(STOPPED, finished_at=now_iso(), error=CANCELLED)
                    continue
                log(f"worker: training run {head.id}")
                try:
                    execute_run(writer, data)
                except Exception as error:  # noqa: BLE001 - recorded on the run; the queue goes on
                    log(f"worker: run {head.id} failed: {type(error).__name__}: {error}")
                trained += 1
        finally:
            slot.release()
            idle_since = time.monotonic()


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None
