"""Shared fixtures: genuine MNIST (from the offline package, via the cache) and a small trained run.

Tests use real data and real Keras training on small subsets; nothing here is mocked. Every process a test starts
is stopped when the test ends: the run stores of `store` and `runs` have their worker stopped by its pid (as
`python -m mnist_core worker --stop` does), and a process that still carries the test's marker after that is
stopped too and fails the test; one that outlives the session fails the session (tests/support/process_guard.py).
"""

from __future__ import annotations

import os
import re
import secrets
import time

import pytest

from mnist_core.data.mnist import load_mnist
from mnist_core.jobs.launch import stop_worker
from mnist_core.store import RunStore, Trainer
from tests.support import process_guard
from tests.support.commands import SMALL

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def mnist():
    return load_mnist()


# --- no process outlives the test that started it -------------------------------------------------------------------

_leaks: dict[int, str] = {}


def pytest_configure(config):
    """Mark the session: every process started from now on carries the marker in its environment."""
    os.environ[process_guard.SESSION_ENV] = process_guard.new_marker()


@pytest.fixture(autouse=True)
def no_process_left(request):
    """Mark what this test starts; after its teardown, a marked process still alive is stopped and fails it."""
    owner = process_guard.new_marker()
    os.environ[process_guard.OWNER_ENV] = owner
    yield
    os.environ.pop(process_guard.OWNER_ENV, None)
    found = process_guard.survivors(process_guard.OWNER_ENV, owner, grace=3.0)
    if found:
        pytest.fail(
            f"{request.node.nodeid} left {len(found)} process(es) running (now stopped):\n"
            + process_guard.describe(found),
            pytrace=False,
        )


def pytest_sessionfinish(session, exitstatus):
    """A process the session started that is still alive (e.g. from a module's or the session's fixtures): stop it
    by its pid and fail the session, naming it."""
    marker = os.environ.get(process_guard.SESSION_ENV)
    if marker:
        _leaks.update(process_guard.survivors(process_guard.SESSION_ENV, marker, grace=5.0))
    if _leaks and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    if _leaks:
        terminalreporter.section("processes left running by the test session", red=True)
        terminalreporter.write_line(
            f"{len(_leaks)} process(es) outlived the session (now stopped); the session fails:\n"
            + process_guard.describe(_leaks),
            red=True,
        )


def stop_store_worker(store: RunStore) -> None:
    """Stop the store's worker by the pid in its lock, as `worker --stop` does; a worker still starting (spawned
    by a page or `submit` just before the test ended) takes the lock within moments and is stopped then."""
    deadline = time.monotonic() + 15
    while True:
        result = stop_worker(store, timeout=30)
        owner = os.environ.get(process_guard.OWNER_ENV)
        starting = owner and process_guard.marked(process_guard.OWNER_ENV, owner)
        if result.outcome == "killed":
            raise AssertionError(f"the worker of {store.root} did not stop when asked: killed it")
        if not starting or time.monotonic() > deadline:
            return
        time.sleep(0.2)


@pytest.fixture
def store(tmp_path) -> RunStore:
    """An empty run store; its worker, if a test starts one, is stopped when the test ends."""
    store = RunStore(tmp_path / "runs")
    yield store
    stop_store_worker(store)


@pytest.fixture
def runs(store, monkeypatch) -> RunStore:
    """`store`, as the app's run store ($MNIST_LAB_RUNS): for the page tests (the Train page warms a worker)."""
    monkeypatch.setenv("MNIST_LAB_RUNS", str(store.root))
    return store


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, mnist):
    """One real run (2 epochs on 3,000 images) shared by the tests that only read it."""
    from mnist_core.jobs.runner import execute_run

    store = RunStore(tmp_path_factory.mktemp("shared") / "runs")
    with store.create(SMALL, name="small", preset="post", trainer=Trainer.OWNER) as writer:
        execute_run(writer, mnist)
    return store.get(writer.id)


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server for the whole session (tests/support/pg_cluster.py). Without Debian's
    postgresql the tests that need it skip, except in CI (CI=true), where that is a failure."""
    from tests.support.pg_cluster import Cluster, find_bin

    bin_dir = find_bin()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's postgresql for the shared-study tests: apt-get install postgresql")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    cluster = Cluster(bin_dir).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(postgres, request) -> str:
    """The URL of a new, empty database on the session's PostgreSQL server."""
    name = "t_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40] + f"_{secrets.token_hex(3)}"
    return postgres.create_database(name)
