"""`python -m mnist_core worker --stop`: the store's worker is found by the pid it wrote in its lock, asked to stop
(its run stops as `stopped`, keeping its model, as the Train page's Stop does), and killed by that pid when it does
not leave in time. A pid left in a lock nobody holds, or not written by the lock's holder, is never signalled.

Real worker processes; the trainings are tiny or stopped long before their end.
"""

import json
import os
import signal
import subprocess

import pytest

from mnist_core.jobs.launch import ensure_worker, submit, worker_alive, worker_pid
from mnist_core.store import RunStore
from mnist_core.store.locks import Lock, holder_pid
from tests.support.commands import SMALL, cli, wait_until
from tests.support.process_guard import alive

LONG = SMALL.replace(epochs=200, train_limit=20000, batch_size=64)  # stopped or killed long before its end


@pytest.fixture(autouse=True)
def long_idle(monkeypatch):
    """Workers that would stay warm for the whole test: only a stop makes them leave."""
    monkeypatch.setenv("MNIST_LAB_WORKER_IDLE", "600")


@pytest.fixture
def unrelated():
    """A live process that has nothing to do with any run store (its pid is what a stale lock may hold)."""
    process = subprocess.Popen(["sleep", "600"])
    yield process
    process.kill()
    process.wait()


def stop(store: RunStore, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return cli("worker", "--stop", "--runs-dir", str(store.root), *args, check=check, timeout=120)


def warm_worker(store: RunStore) -> int:
    assert ensure_worker(store, warm=True), "what opening the Train page does"
    wait_until(lambda: "warm" in read_log(store), 120, "the worker to be warm")
    pid = worker_pid(store)
    assert pid is not None
    return pid


def read_log(store: RunStore) -> str:
    try:
        return store.layout.worker_log.read_text()
    except FileNotFoundError:
        return ""


def training(store: RunStore, run_id: str) -> bool:
    progress = store.progress(run_id)
    return bool(progress and progress.points and progress.points[-1].progress > 0.2)


def test_the_worker_records_its_pid_in_its_lock_only_while_it_holds_it(store):
    store.root.mkdir(parents=True)
    path = store.layout.worker_lock
    with Lock(path) as lock:
        assert lock.acquire()
        lock.record_pid()
        assert holder_pid(path) == os.getpid()
    assert path.read_text().strip() == str(os.getpid()), "the pid stays in the file"
    assert holder_pid(path) is None, "but is not trusted once the lock is free"


def test_an_idle_warm_worker_is_stopped_and_leaves(store):
    pid = warm_worker(store)
    result = stop(store)
    lines = result.stdout.splitlines()
    assert lines[0] == f"asked worker {pid} of {store.root} to stop (idle)"
    assert lines[1].startswith(f"worker {pid} stopped after ")
    assert not worker_alive(store)
    assert not alive(pid)
    assert "asked to stop; leaving" in read_log(store)


def test_a_training_run_stops_as_stopped_with_its_model_and_the_worker_leaves(store):
    run_id = submit(store, LONG, name="long")
    wait_until(lambda: training(store, run_id), 180, "the run to train a while")
    pid = worker_pid(store)
    assert store.get(run_id).status.pid == pid
    report = json.loads(stop(store, "--json").stdout)
    assert report["outcome"] == "stopped", report
    assert (report["pid"], report["stopping_runs"], report["queued"]) == (pid, [run_id], 0)
    run = store.get(run_id)
    assert run.state == "stopped"
    assert run.stop_requested, "as the Train page's Stop button asks it"
    assert run.has_model
    assert run.results.test_accuracy > 0.3, "it keeps what it learned"
    assert len(run.history) < LONG.epochs
    assert not worker_alive(store)
    assert not alive(pid)


def test_a_worker_that_ignores_the_request_is_killed_after_the_timeout_and_its_run_reads_interrupted(store):
    run_id = submit(store, LONG, name="doomed")
    wait_until(lambda: training(store, run_id), 180, "the run to train a while")
    pid = worker_pid(store)
    os.kill(pid, signal.SIGSTOP)  # a hung worker: the request is never seen
    try:
        result = stop(store, "--timeout", "2")
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"asked worker {pid} of {store.root} to stop "
        f"(run {run_id} stops after its current batch, keeping what it learned)"
    )
    assert lines[1] == f"worker {pid} did not stop within 2 s: killed it (SIGKILL); run {run_id} reads interrupted"
    assert not alive(pid)
    assert not worker_alive(store)
    assert store.get(run_id).state == "interrupted"


def test_without_a_worker_it_says_so_and_succeeds(store):
    result = stop(store)
    assert result.stdout == f"no worker is running for {store.root}\n"
    report = json.loads(stop(store, "--json").stdout)
    assert (report["outcome"], report["pid"]) == ("none", None)


def test_a_stale_pid_in_a_lock_nobody_holds_is_never_signalled(store, unrelated):
    store.root.mkdir(parents=True)
    store.layout.worker_lock.write_text(f"{unrelated.pid}\n")  # a worker killed long ago; its pid reused since
    result = stop(store, "--timeout", "1")
    assert result.stdout == f"no worker is running for {store.root}\n"
    assert unrelated.poll() is None, "the unrelated process is alive"


def test_a_held_lock_whose_pid_is_not_the_holders_is_never_signalled(store, unrelated):
    """A new holder that has not written its pid yet (or one of an older version that never does)."""
    store.root.mkdir(parents=True)
    with Lock(store.layout.worker_lock) as lock:
        assert lock.acquire()
        store.layout.worker_lock.write_text(f"{unrelated.pid}\n")
        result = stop(store, "--timeout", "1", check=False)
    assert result.returncode == 2
    assert "did not record its id" in result.stderr
    assert "nothing was signalled" in result.stderr
    assert unrelated.poll() is None, "the unrelated process is alive"
