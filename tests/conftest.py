"""Shared fixtures: genuine MNIST (from the offline package, via the cache) and a small trained run.

Tests use real data and real Keras training on small subsets; nothing here is mocked.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mnist_core.config import RunConfig
from mnist_core.data import load_mnist
from mnist_core.store import OWNER, RunStore

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
    from mnist_core.store.runner import execute_run

    store = RunStore(tmp_path_factory.mktemp("shared") / "runs")
    with store.create(SMALL, name="small", preset="seed", trainer=OWNER) as writer:
        execute_run(writer, mnist)
    return store.get(writer.id)


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
