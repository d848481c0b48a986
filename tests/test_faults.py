"""The run store's promises (docs/run-store.md), broken on purpose: kill -9 at random instants, damaged files, bad
paths, an unwritable store and a user without permissions. Each must leave every run readable, correctly reported
and untouched, and the command line must answer in one line with a non-zero exit, never a traceback."""

import functools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mnist_core import cli as cli_module
from mnist_core.jobs.launch import ensure_worker, submit, worker_alive, worker_pid
from mnist_core.store import RunStore
from tests.support.commands import ROOT, SMALL, cli, cli_env, wait_until

NOBODY = 65534
QUICK = ("--epochs", "1", "--limit", "1000", "--json")
run_cli = functools.partial(cli, check=False)  # these tests look at the failures themselves


def snapshot(path: Path) -> dict:
    return {p.relative_to(path): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def assert_one_line_error(result: subprocess.CompletedProcess, *expected: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in lines[0], (text, lines[0])


def assert_nothing_left_active_or_half_written(store: RunStore) -> None:
    for entry in store.entries():
        assert entry.state not in ("queued", "running", "damaged"), (entry.id, entry.state)
    store.sweep()
    leftovers = [p for p in store.root.rglob(".*") if p.name.endswith(".tmp") or p.name == ".model.tmp.keras"]
    leftovers += [p for p in store.root.iterdir() if p.name.startswith((".new-", ".deleted-"))]
    assert not leftovers, leftovers


@pytest.fixture
def store_with_a_finished_run(store, trained_run):
    shutil.copytree(trained_run.model_path.parent, store.root / trained_run.id)
    return store, trained_run.id


def test_kill_9_of_train_at_random_instants_never_leaves_a_run_queued_running_or_damaged(store_with_a_finished_run):
    store, earlier = store_with_a_finished_run
    before = snapshot(store.root / earlier)
    rng = random.Random(9)
    # From the first instant (Python starting, TensorFlow importing, the run being created) to the model's save.
    delays = [rng.uniform(0.0, 1.5) for _ in range(4)] + [rng.uniform(1.5, 9.0) for _ in range(8)]
    for delay in delays:
        process = subprocess.Popen(
            [sys.executable, "-m", "mnist_core", "train", "--runs-dir", str(store.root), *QUICK],
            cwd=ROOT,
            env=cli_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        for entry in store.entries():
            assert entry.state not in ("queued", "running", "damaged"), (delay, entry.id, entry.state, entry)
        assert snapshot(store.root / earlier) == before, f"the earlier run changed (kill after {delay:.2f} s)"
    states = {entry.state for entry in store.entries() if entry.id != earlier}
    assert "interrupted" in states, states
    assert_nothing_left_active_or_half_written(store)
    assert snapshot(store.root / earlier) == before


def test_kill_9_of_the_worker_at_random_instants_interrupts_only_the_run_it_trained(store, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_WORKER_IDLE", "2")
    rng = random.Random(11)
    interrupted_before = 0
    for _ in range(4):
        submit(store, SMALL.replace(epochs=3, train_limit=3000), name="first")
        submit(store, SMALL.replace(epochs=1, train_limit=1000), name="second")
        wait_until(lambda: worker_alive(store), 30, "the worker to start")
        time.sleep(rng.uniform(0.0, 8.0))
        pid = worker_pid(store)  # the worker's own record in its lock, trusted only while it holds the lock
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not worker_alive(store), 30, "the worker to die")
        states = {run.id: run.state for run in store.runs()}
        assert set(states.values()) <= {"queued", "interrupted", "completed"}, states
        interrupted = list(states.values()).count("interrupted")
        assert interrupted - interrupted_before <= 1, "a kill interrupts the one run being trained, no other"
        interrupted_before = interrupted
        waiting = [run_id for run_id, state in states.items() if state == "queued"]
        ensure_worker(store)  # as the Train page's refresh does
        wait_until(lambda w=waiting: all(store.get(r).state == "completed" for r in w), 180, "the queue to go on")
        for run_id, state in states.items():
            if state != "queued":
                assert store.get(run_id).state == state, "a killed run is never trained again"
    wait_until(lambda: not worker_alive(store), 30, "the last worker to leave")
    assert_nothing_left_active_or_half_written(store)


def test_a_damaged_file_in_any_run_is_a_line_in_runs_and_one_line_errors_elsewhere(store_with_a_finished_run):
    store, good = store_with_a_finished_run
    bad = f"{good[:-4]}dead"
    shutil.copytree(store.root / good, store.root / bad)
    for file, content in [("results.json", "[1, 2, 3]"), ("results.json", "garbage"), ("meta.json", "[]")]:
        (store.root / bad / file).write_text(content)
        listed = run_cli("runs", "--runs-dir", str(store.root), "--json")
        assert listed.returncode == 0, listed.stderr
        rows = {row["run_id"]: row for row in json.loads(listed.stdout)}
        assert rows[bad]["status"] == "damaged"
        assert rows[bad]["error"].startswith(file)
        assert rows[good]["status"] == "completed"
        for command in (["evaluate", bad], ["export", bad, str(store.root.parent / "x.keras")], ["rename", bad, "y"]):
            assert_one_line_error(run_cli(*command, "--runs-dir", str(store.root)), "damaged", file)
        shutil.copy(store.root / good / file, store.root / bad / file)


def test_bad_paths_for_the_run_store_are_one_line(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert_one_line_error(run_cli("runs", "--runs-dir", str(afile)), "is a file")
    assert_one_line_error(run_cli("train", *QUICK, "--runs-dir", str(afile)), "is a file")
    assert_one_line_error(run_cli("train", *QUICK, "--runs-dir", str(afile / "below")), str(afile))
    assert_one_line_error(run_cli("runs", "--runs-dir", "/proc/1"), "/proc/1")


# Root without the capabilities that let it ignore file permissions meets the same checks as any other user.
AS_ANOTHER_USER = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner,-chown"]


def test_a_store_the_user_cannot_write_to_is_one_line_and_stays_as_it_was(store_with_a_finished_run):
    store, run_id = store_with_a_finished_run
    for path in [store.root, *store.root.rglob("*")]:
        os.chown(path, NOBODY, NOBODY)  # someone else's store, readable by all, writable by its owner only
        os.chmod(path, 0o555 if path.is_dir() else 0o444)
    before = snapshot(store.root)
    for args in (["train", *QUICK], ["rename", run_id, "new"], ["delete", run_id]):
        result = run_cli(*args, "--runs-dir", str(store.root), prefix=AS_ANOTHER_USER)
        assert_one_line_error(result, "permission")
    listed = run_cli("runs", "--runs-dir", str(store.root), "--json", prefix=AS_ANOTHER_USER)
    assert listed.returncode == 0, listed.stderr
    assert [row["status"] for row in json.loads(listed.stdout)] == ["completed"], "a read-only store still lists"
    assert snapshot(store.root) == before


def test_empty_and_ambiguous_keys_match_no_run(store_with_a_finished_run):
    store, run_id = store_with_a_finished_run
    shutil.copytree(store.root / run_id, store.root / f"{run_id[:-4]}beef")  # the same first 26 characters
    before = snapshot(store.root)
    for args in (["delete", ""], ["rename", "", "x"], ["evaluate", " "], ["delete", run_id[:20]], ["delete", "small"]):
        result = run_cli(*args, "--runs-dir", str(store.root))
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr
    assert snapshot(store.root) == before


def test_a_programming_error_is_a_traceback_not_a_user_error(monkeypatch):
    def buggy(args, store):
        return {}["missing"]

    monkeypatch.setitem(cli_module.COMMANDS, "runs", buggy)
    with pytest.raises(KeyError):
        cli_module.main(["runs"])
