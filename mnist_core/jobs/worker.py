"""The background worker: the process that trains the dashboard's runs, so no training lives in a Streamlit script.

A page only *queues* a run (`submit`) and makes sure a worker is alive (`ensure_worker`); the worker is a separate
process (`python -m mnist_core worker`) that survives reruns, page changes and closed tabs. It takes the store's
queued Trainer.WORKER runs in the queue's order (waiting its turn behind runs of the command line and of studies), and
after the line empties it stays a while, warm, with TensorFlow imported and MNIST loaded, so that the next Start
begins training at once. At most one worker per store: it holds `.worker.lock` while it lives, with its process id
written in it, so that `stop_worker` (`python -m mnist_core worker --stop`) can ask that very process to stop.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from mnist_core.jobs.launch import waiting_for_worker
from mnist_core.jobs.queue import POLL_SECONDS, line, training_slot
from mnist_core.store.locks import Lock
from mnist_core.store.records import RunState, Trainer
from mnist_core.store.runs import CANCELLED, RunStore, now_iso

IDLE_ENV = "MNIST_LAB_WORKER_IDLE"
DEFAULT_IDLE_SECONDS = 300.0


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
    """The worker's life: hold the worker lock, warm up, train Trainer.WORKER runs as they reach the head of the line,
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
    from mnist_core.data.mnist import load_mnist
    from mnist_core.networks.backend import tensorflow_logs

    with tensorflow_logs():
        from mnist_core.jobs.runner import execute_run
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
        if head is None or head.state != RunState.QUEUED or head.status.trainer != Trainer.WORKER or not slot.acquire():
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
                    writer.write_status(RunState.STOPPED, finished_at=now_iso(), error=CANCELLED)
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
