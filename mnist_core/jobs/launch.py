"""Starting the background worker: queue a run for it (`submit`) and make sure one is alive (`ensure_worker`); and
stopping it (`stop_worker`, what `python -m mnist_core worker --stop` does), by the process id it wrote in its lock.

Pages and the queue call these; the worker's own loop is in `worker.py`. A worker is a separate process started in a
session of its own, so it survives reruns, page changes and closed tabs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mnist_core.networks.config import RunConfig
from mnist_core.store.locks import holder_pid, is_held
from mnist_core.store.records import RunState, Trainer
from mnist_core.store.runs import RunStore, RunStoreError

MAX_LOG_BYTES = 1_000_000
STOP_TIMEOUT_SECONDS = 30.0


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


def worker_pid(store: RunStore) -> int | None:
    """The process id of the store's worker, None if no worker holds the store (see `locks.holder_pid`)."""
    return holder_pid(store.layout.worker_lock)


def waiting_for_worker(store: RunStore) -> bool:
    """Whether some queued run waits for the store's worker to train it."""
    return any(run.state == RunState.QUEUED and run.status.trainer == Trainer.WORKER for run in store.runs())


def submit(store: RunStore, config: RunConfig, name: str | None = None, preset: str | None = None) -> str:
    """Queue a run for the worker and make sure a worker will train it; returns its id at once."""
    with store.create(config, name=name, preset=preset, trainer=Trainer.WORKER) as writer:
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


# --- stopping the worker ---------------------------------------------------------------------------------------------


@dataclass
class WorkerStop:
    """What `stop_worker` did: `outcome` is "none" (no worker), "stopped" (it left when asked) or "killed"."""

    pid: int | None
    outcome: str
    seconds: float = 0.0
    stopping_runs: list[str] = field(default_factory=list)
    queued: int = 0  # WORKER runs left queued for the next worker (the Train page starts one)


def stop_worker(
    store: RunStore,
    timeout: float = STOP_TIMEOUT_SECONDS,
    on_asked: Callable[[int, list[str]], None] | None = None,
) -> WorkerStop:
    """Ask the store's worker to stop, by the process id it recorded in its lock: the run it trains stops after
    its batch as the Train page's Stop does (a stop request on the run; it keeps what it learned), and the worker
    exits instead of staying warm (SIGTERM, which it handles). After `timeout` seconds a worker that still holds
    the store is killed (SIGKILL) and its run reads interrupted. No process is signalled unless it holds the
    worker lock and has the lock file open. `on_asked(pid, runs)` is called once the request is made."""
    pid = _holder_soon(store)
    if pid is None:
        return WorkerStop(pid=None, outcome="none")
    stopping = []
    for run in store.runs():
        if run.state == RunState.RUNNING and run.status.trainer == Trainer.WORKER and run.status.pid == pid:
            with contextlib.suppress(RunStoreError):  # finished meanwhile, or a store we may not write to
                store.stop(run.id)
                stopping.append(run.id)
    asked = time.monotonic()
    if not _signal(store, pid, signal.SIGTERM):
        return WorkerStop(pid=pid, outcome="stopped", stopping_runs=stopping, queued=_queued(store))
    if on_asked:
        on_asked(pid, stopping)
    outcome = "stopped"
    if not _wait(lambda: _let_go(store, pid), timeout):
        if _signal(store, pid, signal.SIGKILL):
            outcome = "killed"
        _wait(lambda: _let_go(store, pid), 10.0)
    # It has let go of the store; let it finish exiting (never signalled again: the lock no longer vouches for it).
    _wait(lambda: not _process_exists(pid), max(0.0, timeout - (time.monotonic() - asked)))
    seconds = round(time.monotonic() - asked, 1)
    return WorkerStop(pid=pid, outcome=outcome, seconds=seconds, stopping_runs=stopping, queued=_queued(store))


def _holder_soon(store: RunStore, grace: float = 3.0) -> int | None:
    """The worker's pid; when the lock is held but the pid is not (yet) the holder's, a worker that has just
    taken the lock is about to write its own: wait a moment for it."""
    deadline = time.monotonic() + grace
    while True:
        pid = worker_pid(store)
        if pid is not None or not worker_alive(store):
            return pid
        if time.monotonic() >= deadline:
            raise RunStoreError(
                f"{store.root}: its worker lock is held by a process that did not record its id (a worker of an "
                f"older version?); nothing was signalled. It leaves on its own after its idle time."
            )
        time.sleep(0.1)


def _let_go(store: RunStore, pid: int) -> bool:
    """Whether worker `pid` no longer holds the store: the lock is free, or another worker holds it. A lock held
    by no process we can name is not let go: a process that is exiting (its memory freed first, a large one for a
    while) holds its lock until its files are closed, last."""
    if not worker_alive(store):
        return True
    holder = worker_pid(store)
    return holder is not None and holder != pid


def _signal(store: RunStore, pid: int, signum: int) -> bool:
    """Send `signum` to the worker `pid` if it still holds the store's worker lock; False if it is gone."""
    if worker_pid(store) != pid:
        return False
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:
        raise RunStoreError(
            f"{store.root}: its worker (process {pid}) belongs to another user; no permission to stop it."
        ) from None
    return True


def _wait(done: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def _process_exists(pid: int) -> bool:
    """Whether `pid` is a process that has not exited (a zombie waiting for its parent has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        if Path("/proc/self").exists():
            return False
        try:  # no /proc (macOS): ask the kernel
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _queued(store: RunStore) -> int:
    return sum(1 for run in store.runs() if run.state == RunState.QUEUED and run.status.trainer == Trainer.WORKER)
