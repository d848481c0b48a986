"""pages/answers_first.py: a tab explaining its answer waits while other tabs are still answering, never for long."""

from __future__ import annotations

import threading
import time

from pages.answers_first import after_other_answers, answering, answers_in_progress


def test_an_explanation_waits_until_the_other_tabs_have_answered():
    answered = threading.Event()
    release = threading.Event()

    def other_tab():
        with answering():
            answered.set()
            release.wait(5)

    tab = threading.Thread(target=other_tab)
    tab.start()
    answered.wait(5)
    assert answers_in_progress() == 1
    started = time.monotonic()
    threading.Timer(0.2, release.set).start()
    after_other_answers(timeout=5)
    waited = time.monotonic() - started
    tab.join(5)
    assert 0.15 <= waited < 2  # until the other tab's answer was done, not the whole timeout
    assert answers_in_progress() == 0


def test_a_stuck_answer_holds_an_explanation_up_for_the_timeout_at_most():
    release = threading.Event()
    held = threading.Event()

    def stuck_tab():
        with answering():
            held.set()
            release.wait(5)

    tab = threading.Thread(target=stuck_tab)
    tab.start()
    held.wait(5)
    started = time.monotonic()
    after_other_answers(timeout=0.2)
    assert time.monotonic() - started < 1
    release.set()
    tab.join(5)


def test_an_answer_that_fails_still_counts_itself_out():
    try:
        with answering():
            raise RuntimeError("a rerun interrupts the script")
    except RuntimeError:
        pass
    assert answers_in_progress() == 0
    started = time.monotonic()
    after_other_answers(timeout=5)
    assert time.monotonic() - started < 0.1
