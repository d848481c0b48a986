"""The background worker: the process that trains the dashboard's runs, so no training lives in a Streamlit script.

A page only *queues* a run (`submit`) and makes sure a worker is alive (`ensure_worker`); the worker is a separate
process (`python -m mnist_core worker`) that survives reruns, page changes and closed tabs. It takes the store's
queued WORKER runs in the queue's order (waiting its turn behind runs of the command line and of studies), and
after the line empties it stays a while, warm, with TensorFlow imported and MNIST loaded, so that the next Start
begins training at once. At most one worker per store: it holds `.worker.lock` while it lives, with its process id
written in it, so that `stop_worker` (`python -m mnist_core worker --stop`) can ask that very process to stop.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mnist_core.config import RunConfig
from mnist_core.store.locks import Lock, holder_pid, is_held
from mnist_core.store.queue import POLL_SECONDS, line, training_slot
from mnist_core.store.records import QUEUED, RUNNING, STOPPED, WORKER
from mnist_core.store.runs import CANCELLED, RunStore, RunStoreError, now_iso

IDLE_ENV = "MNIST_LAB_WORKER_IDLE"
DEFAULT_IDLE_SECONDS = 300.0
MAX_LOG_BYTES = 1_000_000
STOP_TIMEOUT_SECONDS = 30.0
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


def worker_pid(store: RunStore) -> int | None:
    """The process id of the store's worker, None if no worker holds the store (see `locks.holder_pid`)."""
    return holder_pid(store.layout.worker_lock)


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


class StopRequest:
    """Whether the worker was asked to stop (true when called), and whether it is training a run right now."""

    def __init__(self) -> None:
        self.requested = False
        self.training = False

    def __call__(self) -> bool:
        return self.requested


@contextlib.contextmanager
def stop_on_signals(log: Callable[[str], None] = print) -> Iterator[StopRequest]:
    """SIGTERM (what `stop_worker` sends) or Ctrl-C. While a run trains, it stops after its batch as `stopped`,
    keeping what it learned, and then the worker exits; a second signal aborts the run (it reads interrupted).
    Otherwise the worker exits at once: idle or warming up, it holds nothing that an abrupt end could leave
    half-done (the store stays whole when a process is killed at any instant; a run claimed but not yet started
    stays queued for the next worker)."""
    stop = StopRequest()

    def say(message: str) -> None:
        with contextlib.suppress(RuntimeError, OSError, ValueError):  # the signal came in the middle of a print
            log(f"worker {os.getpid()}: {message}")

    def on_signal(signum, frame):
        if not stop.training:
            say("asked to stop; leaving")
            os._exit(0)
        if stop.requested:
            raise KeyboardInterrupt  # a second signal aborts the run: it is recorded as interrupted
        stop.requested = True
        say("asked to stop; the run stops after this batch, then the worker leaves")

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_worker(
    store: RunStore,
    idle_seconds: float | None = None,
    log: Callable[[str], None] = print,
    stop: StopRequest | None = None,
) -> int:
    """The worker's life: hold the worker lock, warm up, train WORKER runs as they reach the head of the line,
    and exit after `idle_seconds` with nothing to do, or once `stop` is requested (a run in training then stops
    after its batch, as `stopped`, keeping what it learned; queued runs wait for the next worker). Returns how
    many runs it trained (0 if another worker already serves the store)."""
    idle_seconds = idle_seconds_default() if idle_seconds is None else idle_seconds
    should_exit = stop or StopRequest()
    trained = 0
    while not should_exit():
        lock = Lock(store.layout.worker_lock)
        store.root.mkdir(parents=True, exist_ok=True)
        if not lock.acquire():
            return trained
        with lock:
            lock.record_pid()  # for `stop_worker`, trusted only while the lock is held
            trained += _serve(store, idle_seconds, log, should_exit)
        # A run queued just as we let go found the lock still held and started no worker: look once more.
        if not waiting_for_worker(store):
            return trained
    return trained


def _serve(store: RunStore, idle_seconds: float, log: Callable[[str], None], should_exit: StopRequest) -> int:
    from mnist_core.data import load_mnist
    from mnist_core.quiet import tensorflow_logs

    with tensorflow_logs():
        from mnist_core.store.runner import execute_run
    data = load_mnist()
    for done in store.sweep():
        log(f"worker: {done}")
    log(f"worker {os.getpid()}: warm (TensorFlow and MNIST loaded), waiting for runs")
    slot = training_slot(store)
    trained = 0
    idle_since = time.monotonic()
    quiet_root = None  # the root's mtime when the line was last seen empty
    while True:
        if should_exit():
            log(f"worker {os.getpid()}: asked to stop; leaving")
            return trained
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
                should_exit.training = True  # from now on a stop request lets the run finish its batch
                try:
                    execute_run(writer, data, should_stop=should_exit)
                except Exception as error:  # noqa: BLE001 - recorded on the run; the queue goes on
                    log(f"worker: run {head.id} failed: {type(error).__name__}: {error}")
                finally:
                    should_exit.training = False
                trained += 1
        finally:
            slot.release()
            idle_since = time.monotonic()


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


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
        if run.state == RUNNING and run.status.trainer == WORKER and run.status.pid == pid:
            with contextlib.suppress(RunStoreError):  # finished meanwhile, or a store we may not write to
                store.stop(run.id)
                stopping.append(run.id)
    asked = time.monotonic()
    if not _signal(store, pid, signal.SIGTERM):
        return WorkerStop(pid=pid, outcome="stopped", stopping_runs=stopping, queued=_queued(store))
    if on_asked:
        on_asked(pid, stopping)
    outcome = "stopped"
    if not _wait(lambda: worker_pid(store) != pid, timeout):
        if _signal(store, pid, signal.SIGKILL):
            outcome = "killed"
        _wait(lambda: worker_pid(store) != pid, 10.0)
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
    return sum(1 for run in line(store) if run.state == QUEUED and run.status.trainer == WORKER)
