"""Background training: a queue of runs and one worker process per run store that trains them one at a time.

The dashboard must not train inside its script run (a widget click reruns the script and would kill it), and these
machines have two cores, so two trainings at once would each run at half speed. So a page only *queues* a run and
makes sure a worker is running; the worker is a separate process (`python -m mnist_core worker`) that survives
reruns, page changes and closed tabs, takes queued runs oldest first, and exits when the queue is empty. An
exclusive lock file makes sure that at most one worker trains from a store at a time.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

from mnist_core.config import RunConfig
from mnist_core.runs import QUEUED, RUNNING, STOPPED, Run, RunStore, RunStoreError, now_iso

LOCK_NAME = ".worker.lock"
LOG_NAME = ".worker.log"


def submit(store: RunStore, config: RunConfig, name: str | None = None, preset: str | None = None) -> Run:
    """Queue a run and make sure a worker will train it; returns at once."""
    run = store.create(config, name=name, preset=preset)
    ensure_worker(store)
    return run


def queued_runs(store: RunStore) -> list[Run]:
    """Queued runs, oldest first (the order they will train in)."""
    return sorted((r for r in store.runs() if r.state == QUEUED), key=lambda r: r.id)


def running_run(store: RunStore) -> Run | None:
    return next((r for r in store.runs() if r.state == RUNNING), None)


def lock_held(path: Path) -> bool:
    """Whether some process holds an flock on `path` (the file is created if missing)."""
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def worker_alive(store: RunStore) -> bool:
    """Whether some process holds the store's worker lock."""
    store.root.mkdir(parents=True, exist_ok=True)
    return lock_held(store.root / LOCK_NAME)


def ensure_worker(store: RunStore) -> None:
    """Start a worker process if queued runs wait and none is running. Safe to call on every page run."""
    if not queued_runs(store) or worker_alive(store):
        return
    store.root.mkdir(parents=True, exist_ok=True)
    log = open(store.root / LOG_NAME, "ab")
    project_root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [project_root, os.environ.get("PYTHONPATH")]))}
    # A new session: the worker outlives the Streamlit script run, the page and the browser tab that started it.
    subprocess.Popen(
        [sys.executable, "-m", "mnist_core", "worker", "--runs-dir", str(store.root)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
        env=env,
        cwd=project_root,
    )
    log.close()


def stop(store: RunStore, run_id: str) -> None:
    """Stop a running run after its current batch (it keeps what it learned), or cancel a queued one."""
    run = store.get(run_id)
    state = run.state
    if state == RUNNING:
        run.request_stop()
    elif state == QUEUED:
        run.request_stop()  # the worker skips it even if it is picked up right now
        run.write_status(STOPPED, finished_at=now_iso(), error="cancelled before it started")
    else:
        raise RunStoreError(f"Run {run_id} is {state}; only queued or running runs can be stopped.")


def run_worker(store: RunStore) -> int:
    """The worker's loop: train queued runs one at a time while holding the lock. Returns how many it trained."""
    from mnist_core.data import load_mnist
    from mnist_core.quiet import tensorflow_logs

    trained = 0
    data = None
    while True:
        store.root.mkdir(parents=True, exist_ok=True)
        with open(store.root / LOCK_NAME, "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return trained  # another worker has the store
            while queue := queued_runs(store):
                run = queue[0]
                if run.stop_requested():
                    run.write_status(STOPPED, finished_at=now_iso(), error="cancelled before it started")
                    continue
                data = data or load_mnist()
                with tensorflow_logs():
                    from mnist_core.runner import execute_run
                try:
                    execute_run(run, data)
                except Exception as error:  # noqa: BLE001 - recorded on the run; go on with the queue
                    print(f"run {run.id} failed: {error}", file=sys.stderr, flush=True)
                trained += 1
        # Lock released. A run queued just as we were leaving would find the lock still held and no new worker
        # started, so look once more before exiting.
        if not queued_runs(store):
            return trained
