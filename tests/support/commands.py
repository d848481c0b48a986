"""Running the command line as a user does, and waiting for what it does: helpers the tests and benchmarks share."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from mnist_core.networks.config import RunConfig

ROOT = Path(__file__).resolve().parents[2]
# A run that trains in a few seconds: 2 epochs on 3,000 images.
SMALL = RunConfig(epochs=2, train_limit=3000, batch_size=128)


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
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **extra}


def wait_until(predicate, timeout: float, what: str) -> None:
    """Poll `predicate` every 0.2 s until it is true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


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
