"""Shared fixtures: genuine MNIST (from the offline package, via the cache) and a small trained run.

Tests use real data and real Keras training on small subsets; nothing here is mocked.
"""

from __future__ import annotations

import functools
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mnist_core.data.mnist import load_mnist
from mnist_core.networks.config import RunConfig
from mnist_core.store import RunStore, Trainer

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]

SMALL = RunConfig(epochs=2, train_limit=3000, batch_size=128)


@pytest.fixture(scope="session")
def mnist():
    return load_mnist()


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "runs")


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, mnist):
    """One real run (2 epochs on 3,000 images) shared by the tests that only read it."""
    from mnist_core.jobs.runner import execute_run

    store = RunStore(tmp_path_factory.mktemp("shared") / "runs")
    with store.create(SMALL, name="small", preset="post", trainer=Trainer.OWNER) as writer:
        execute_run(writer, mnist)
    return store.get(writer.id)


def cli(*args, check: bool = True, env: dict | None = None, prefix=(), timeout: float = 300):
    """`python -m mnist_core ARGS` as a user runs it (`prefix`: a command to run it under); with `check`, it must
    succeed. Returns the CompletedProcess, output as text."""
    result = subprocess.run(
        [*prefix, sys.executable, "-m", "mnist_core", *args],
        cwd=ROOT,
        env=env or cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def cli_env(**extra) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", **extra}
    return env


def wait_until(predicate, timeout: float, what: str) -> None:
    """Poll `predicate` every 0.2 s until it is true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server for the whole session (tests/pg_cluster.py). Without Debian's postgresql the
    tests that need it skip, except in CI (CI=true), where that is a failure."""
    from pg_cluster import Cluster, find_bin

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


def as_machine(host: str, command: list[str]) -> tuple[list[str], dict]:
    """A command that runs as if on another machine called `host`: in a UTS namespace of its own with that host
    name where we may make one (root), else told its name by $MNIST_LAB_HOST."""
    if _can_unshare_uts():
        return ["unshare", "--uts", "sh", "-c", f'hostname {host} && exec "$0" "$@"', *command], cli_env()
    return command, cli_env(MNIST_LAB_HOST=host)


@functools.cache
def _can_unshare_uts() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "--uts", "hostname", "probe"], capture_output=True, timeout=30, check=False)
    return probe.returncode == 0
