"""A quiet terminal: the command line prints none of TensorFlow's start-up lines on a machine without a GPU, and a
training that fails still says so, with its run's id.

Each command runs as a user runs it, in a terminal where nothing sets TF_CPP_MIN_LOG_LEVEL (the other tests set it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from mnist_core.networks.backend import start_up_noise
from mnist_core.store import RunState, RunStore
from tests.support.commands import ROOT, cli, cli_env

# What TensorFlow 2.21 prints on a machine without a GPU, measured: see mnist_core/networks/backend.py.
NOISE = re.compile(
    r"cuInit|cuda|oneDNN|CPU instructions|absl::InitializeLog|^[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ ", re.IGNORECASE | re.M
)
IMAGE = ROOT / "tests" / "data" / "images" / "seven-cmyk.jpg"


def user_env() -> dict:
    return {name: value for name, value in cli_env().items() if name != "TF_CPP_MIN_LOG_LEVEL"}


def assert_quiet(result) -> None:
    noise = [line for line in (result.stderr + result.stdout).splitlines() if NOISE.search(line)]
    assert not noise, noise


def test_train_predict_and_evaluate_print_none_of_tensorflows_start_up_lines(tmp_path):
    runs = str(tmp_path / "runs")
    trained = cli("train", "--preset", "fast", "--epochs", "1", "--limit", "600", "--runs-dir", runs, env=user_env())
    assert_quiet(trained)
    assert "epoch 1/1" in trained.stderr  # the progress is still there
    (run,) = RunStore(runs).runs()
    assert_quiet(cli("predict", "--run", run.id, str(IMAGE), "--runs-dir", runs, env=user_env()))
    assert_quiet(cli("evaluate", run.id, "--runs-dir", runs, env=user_env()))


@pytest.mark.skipif(not shutil.which("prlimit"), reason="needs util-linux' prlimit")
def test_a_failing_training_still_shows_its_error_with_the_run_id(tmp_path):
    # The model file cannot be written (a file size limit, as on a full disk): the run trains, then fails to save.
    runs = tmp_path / "runs"
    args = ("train", "--preset", "fast", "--epochs", "1", "--limit", "600", "--runs-dir", str(runs))
    result = cli(*args, env=user_env(), check=False, prefix=("prlimit", f"--fsize={256 * 1024}"))
    assert result.returncode == 1
    (run,) = RunStore(runs).runs()
    assert run.status.state == RunState.FAILED
    assert "File too large" in run.status.error
    assert f"run {run.id} failed: OSError: [Errno 27] File too large" in result.stderr
    assert_quiet(result)


# Another thread of the process (a dashboard page, Streamlit itself) writes while Keras is imported.
ANOTHER_THREAD = """
import sys, threading, time
from mnist_core.networks.backend import import_keras
def write():
    time.sleep(0.5)
    print("ERROR from another thread while Keras loads", file=sys.stderr, flush=True)
threading.Thread(target=write).start()
start = time.monotonic()
import_keras()
print(f"import took {time.monotonic() - start:.1f} s", file=sys.stderr)
"""


def test_what_another_thread_writes_during_the_import_is_shown_not_swallowed():
    result = subprocess.run(
        [sys.executable, "-c", ANOTHER_THREAD], cwd=ROOT, env=user_env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "ERROR from another thread while Keras loads"  # once the import ends, before what follows
    assert lines[1].startswith("import took")
    assert_quiet(result)


def test_tensorflows_own_log_lines_are_told_from_anything_else():
    banner = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    info = b"I0000 00:00:1796639204.516129   23404 cudart_stub.cc:31] Could not find cuda drivers on your machine.\n"
    error = b"E0000 00:00:1796639233.951694   24496 cuda_platform.cc:52] failed call to cuInit: INTERNAL\n"
    older = b"2025-09-17 14:44:05.157831: E external/local_xla/xla/stream_executor/cuda/cuda_fft.cc:467] Unable\n"
    fatal = b"F0000 00:00:1796639233.951694   24496 cuda_platform.cc:52] Check failed\n"
    for line in (banner, info, error, older):
        assert start_up_noise(line, level=3)
        assert not start_up_noise(line, level=0)  # TF_CPP_MIN_LOG_LEVEL=0: everything shows
    assert start_up_noise(info, level=1)
    assert not start_up_noise(error, level=2)
    for line in (fatal, b"Traceback (most recent call last):\n", b"streamlit: 2026-12-07 ERROR something\n"):
        assert not start_up_noise(line, level=3)
