"""One training at a time per run store, whoever queues it: the background worker, the command line and Ctrl-C.

Real processes and real (tiny) trainings: the worker is `python -m mnist_core worker`, the CLI is the CLI.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

from mnist_core.jobs import queue
from mnist_core.jobs.launch import ensure_worker, submit, worker_alive
from mnist_core.store import RunStore
from tests.support.commands import ROOT, SMALL, cli_env, wait_until

QUICK = SMALL.replace(epochs=1, train_limit=1000)
LONG = SMALL.replace(epochs=200, train_limit=20000, batch_size=64)  # stopped or killed long before its end


@pytest.fixture(autouse=True)
def short_idle(monkeypatch):
    """Workers spawned by these tests stay warm for 3 s only, so they do not outlive the test for minutes."""
    monkeypatch.setenv("MNIST_LAB_WORKER_IDLE", "3")


def spans(store: RunStore) -> list[tuple[str, str, str]]:
    return sorted((r.status.started_at, r.status.finished_at, r.id) for r in store.runs() if r.status.started_at)


def assert_one_at_a_time(store: RunStore) -> None:
    times = spans(store)
    for (_, finished, first), (started, _, second) in zip(times[:-1], times[1:], strict=True):
        assert finished <= started, f"{first} and {second} trained at the same time"


def cli_train(store: RunStore, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "mnist_core", "train", "--runs-dir", str(store.root), *args],
        cwd=ROOT,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_queued_runs_train_one_at_a_time_in_a_warm_worker_that_then_leaves(store):
    first = submit(store, QUICK, name="first")
    second = submit(store, QUICK, name="second")
    wait_until(lambda: worker_alive(store), 30, "a worker process to take the queue")
    wait_until(lambda: all(store.get(r).state == "completed" for r in (first, second)), 180, "both runs")
    assert_one_at_a_time(store)
    assert spans(store)[0][2] == first, "the run queued first trains first"
    # Warm: the same worker, TensorFlow loaded, takes a run queued after the line emptied.
    assert worker_alive(store)
    third = submit(store, QUICK, name="third")
    wait_until(lambda: store.get(third).state == "completed", 120, "the third run")
    assert store.get(third).status.pid == store.get(first).status.pid, "the warm worker trained it"
    wait_until(lambda: not worker_alive(store), 30, "the worker to leave after its idle time")


def test_stop_keeps_a_running_run_and_cancels_a_queued_one(store):
    long = submit(store, LONG, name="long")
    waiting = submit(store, QUICK, name="waiting")
    # A third of an epoch trained (the first point is the untrained model's, reported before the first step).
    wait_until(
        lambda: store.progress(long).points and store.progress(long).points[-1].progress > 0.3,
        120,
        "the long run to train a while",
    )
    assert store.stop(waiting) == "cancelled"
    assert store.get(waiting).state == "stopped"
    assert store.stop(long) == "stopping"
    wait_until(lambda: store.get(long).state == "stopped", 60, "the long run to stop")
    run = store.get(long)
    assert run.has_model
    assert run.results.test_accuracy > 0.5
    assert len(run.history) < LONG.epochs
    assert not store.get(waiting).has_model


def test_the_command_line_waits_its_turn_behind_the_worker_and_never_trains_beside_it(store):
    busy = submit(store, LONG, name="from the dashboard")
    wait_until(lambda: store.progress(busy).points, 120, "the dashboard's run to start")
    refused = cli_train(store, "--epochs", "1", "--limit", "1000", "--no-wait")
    _, refusal = refused.communicate(timeout=120)
    assert refused.returncode == 2
    assert "from the dashboard" in refusal
    assert "one training at a time" in refusal
    assert len(store.entries()) == 1, "--no-wait leaves nothing behind"

    waiting = cli_train(store, "--epochs", "1", "--limit", "1000", "--name", "from the terminal", "--json")
    wait_until(lambda: len(store.runs()) == 2, 60, "the CLI's run to be queued")
    time.sleep(2)
    cli_run = next(r for r in store.runs() if r.name == "from the terminal")
    assert cli_run.state == "queued", "it waits while the dashboard's run trains"
    store.stop(busy)
    out, err = waiting.communicate(timeout=180)
    assert waiting.returncode == 0, err
    assert "waiting in the queue, 1 run ahead; training now: from the dashboard" in err
    assert store.get(cli_run.id).state == "completed"
    assert_one_at_a_time(store)


def test_ctrl_c_while_waiting_leaves_nothing_queued(store):
    busy = submit(store, LONG, name="busy")
    wait_until(lambda: store.progress(busy).points, 120, "the first run to start")
    waiting = cli_train(store, "--epochs", "1", "--limit", "1000", "--name", "impatient")
    wait_until(lambda: any(r.name == "impatient" for r in store.runs()), 60, "the CLI's run to be queued")
    waiting.send_signal(signal.SIGINT)
    _, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 130
    assert "cancelled before it started" in err
    impatient = next(r for r in store.runs() if r.name == "impatient")
    assert impatient.state == "stopped"
    assert [r.id for r in queue.line(store)] == [busy]
    store.stop(busy)
    wait_until(lambda: store.get(busy).state == "stopped", 60, "the first run to stop")


def test_a_killed_worker_is_replaced_and_its_queue_goes_on(store):
    doomed = submit(store, LONG, name="doomed")
    behind = submit(store, QUICK, name="behind")
    wait_until(lambda: store.progress(doomed).points, 120, "the first run to start")
    os.kill(store.get(doomed).status.pid, signal.SIGKILL)
    wait_until(lambda: not worker_alive(store), 30, "the worker to be gone")
    assert store.get(doomed).state == "interrupted"
    assert store.get(behind).state == "queued"
    assert ensure_worker(store), "what every refresh of the Train page does"
    wait_until(lambda: store.get(behind).state == "completed", 180, "the queued run to be trained")
    assert store.get(doomed).state == "interrupted", "never retrained"
