"""Keep TensorFlow's start-up chatter (CUDA not found, oneDNN notices) off the user's terminal.

TensorFlow's C++ logging writes to file descriptor 2 before any Python setting can stop it, so the import is run
with that descriptor pointed at a temporary file, which is replayed only if the import fails.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def tensorflow_logs():
    if "tensorflow" in sys.modules:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def import_keras():
    """Import Keras (which starts TensorFlow) with the chatter hidden, and return it.

    Import it this way before work that may fail with a user's error, so that the error is not followed by the
    replayed start-up log.
    """
    with tensorflow_logs():
        import keras
    return keras
