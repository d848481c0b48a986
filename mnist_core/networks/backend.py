"""Keep TensorFlow's start-up chatter (CUDA not found, oneDNN notices) off the user's terminal.

Every process that imports Keras does it through here: the command line and the background workers, and the
dashboard's server (pages/shared.py, `loading_keras`). Measured with TensorFlow 2.21 on a machine without a GPU,
`python -c "import keras"` then a first prediction prints:

- while TensorFlow's libraries load, before its logging has read any setting (so `TF_CPP_MIN_LOG_LEVEL` cannot stop
  them), once per library that carries its own copy of absl, twice in all: "WARNING: All log messages before
  absl::InitializeLog() is called are written to STDERR", "I... port.cc:153] oneDNN custom operations are on..."
  and "I... cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.";
- later, stopped by `TF_CPP_MIN_LOG_LEVEL` (1 and up for the first, 3 for the second, an error-level line):
  "I... cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available CPU instructions..." and, on
  the first use of a device, "E... cuda_platform.cc:52] failed call to cuInit: ... UNKNOWN ERROR (303)".

So `TF_CPP_MIN_LOG_LEVEL` defaults to 3 here, and the import runs with file descriptor 2 pointed at a temporary file;
afterwards what was written there goes back to the terminal, less TensorFlow's log lines below that level (the same
rule TensorFlow applies to its later lines). A line another thread wrote meanwhile is shown late (the import takes
2-5 s), never lost; if the import fails, everything is shown. Nothing else changes: `TF_ENABLE_ONEDNN_OPTS` (which
changes the numerics) keeps TensorFlow's default, and a GPU, where there is one, is used. `TF_CPP_MIN_LOG_LEVEL=0`
shows it all, as it comes.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading

LOG_LEVEL_ENV = "TF_CPP_MIN_LOG_LEVEL"
os.environ.setdefault(LOG_LEVEL_ENV, "3")

# absl's prefix ("I0000 00:00:1796639204.515811   23404 port.cc:153] "), and the one TensorFlow used before 2.20
# ("2025-09-17 14:44:05.157831: I external/.../cudart_stub.cc:32] "): the severity letter is the group.
_LOG_LINE = re.compile(
    rb"^(?:([IWEF])\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] |\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: ([IWEF]) \S+:\d+\] )"
)
_ABSL_BANNER = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
_SEVERITY = {b"I": 0, b"W": 1, b"E": 2, b"F": 3}

_redirecting = threading.Lock()  # file descriptor 2 is the process's: one redirection at a time


def min_log_level() -> int:
    """The lowest severity TensorFlow prints: 0 info, 1 warnings, 2 errors, 3 fatal only (its own reading)."""
    try:
        return int(os.environ.get(LOG_LEVEL_ENV, "0"))
    except ValueError:
        return 0


def start_up_noise(line: bytes, level: int | None = None) -> bool:
    """Whether a line of TensorFlow's start-up output is one `TF_CPP_MIN_LOG_LEVEL` (`level`) is meant to hide."""
    level = min_log_level() if level is None else level
    if line.rstrip(b"\r\n") == _ABSL_BANNER:
        return level > 0
    match = _LOG_LINE.match(line)
    return bool(match) and _SEVERITY[match.group(1) or match.group(2)] < level


@contextlib.contextmanager
def tensorflow_logs():
    """Run the block (which imports TensorFlow) with its start-up log lines hidden; anything else written to the
    terminal meanwhile, by this thread or another, is shown once it ends."""
    if "tensorflow" in sys.modules or min_log_level() == 0:
        yield
        return
    with _redirecting:
        if "tensorflow" in sys.modules:  # another thread imported it while this one waited
            yield
            return
        sys.stderr.flush()
        saved = os.dup(2)
        failed = False
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            except BaseException:
                failed = True
                raise
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                sink.seek(0)
                kept = [line for line in sink.read().splitlines(keepends=True) if failed or not start_up_noise(line)]
                _write_all(2, b"".join(kept))


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


def import_keras():
    """Import Keras (which starts TensorFlow) with the chatter hidden, and return it.

    Import it this way before work that may fail with a user's error, so that the error is not followed by the
    replayed start-up log.
    """
    with tensorflow_logs():
        import keras
    return keras
