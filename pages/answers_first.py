"""Answers before evidence, across every reader of this server. Not a page (app.py does not list it).

One server on two cores runs every tab's script in a thread of one process. When several readers lift their pens at
once, each Draw page answers (the digit and its probabilities: about 30 ms of work) and then explains its answer (the
occlusion map, the feature maps, the layer view: several times that). Without an order, a tab's answer waits behind
other tabs' explanations. A tab about to explain first waits, briefly, until no tab is still answering.
"""

from __future__ import annotations

import contextlib
import threading

WAIT_AT_MOST = 0.5  # seconds an explanation waits for other tabs' answers: a stuck answer never blocks it for long

_changed = threading.Condition()
_answering = 0


@contextlib.contextmanager
def answering():
    """Hold while computing and drawing an answer."""
    global _answering
    with _changed:
        _answering += 1
    try:
        yield
    finally:
        with _changed:
            _answering -= 1
            _changed.notify_all()


def after_other_answers(timeout: float = WAIT_AT_MOST) -> None:
    """Wait until no tab is answering (at most `timeout` seconds), then go on: call before explaining."""
    with _changed:
        _changed.wait_for(lambda: _answering == 0, timeout=timeout)


def answers_in_progress() -> int:
    with _changed:
        return _answering
