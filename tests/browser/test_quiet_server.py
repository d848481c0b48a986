"""A quiet terminal: the dashboard's server, started as scripts/start.sh starts it in a terminal where nothing sets
TF_CPP_MIN_LOG_LEVEL, prints none of TensorFlow's start-up lines while its pages load Keras (the Train page's model
summary, the Draw page's model), and neither does the background worker that trains the Train page's runs.

Each test has a fresh server, so the page it opens first is the one that imports TensorFlow in the server.
"""

from __future__ import annotations

import pytest

from mnist_core.store import RunState, RunStore
from tests.browser.test_draw_page import open_draw_page
from tests.browser.test_train_page import open_train_page, run_status, start
from tests.support.commands import wait_until
from tests.support.server import Server, screenshot, wait_for_app
from tests.test_quiet_terminal import NOISE


@pytest.fixture
def user_terminal(monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)  # the tests' conftest sets it; a user's shell does not


def noise_in(text: str) -> list[str]:
    return [line for line in text.splitlines() if NOISE.search(line)]


def test_the_draw_page_then_a_training_leave_the_servers_and_the_workers_output_quiet(user_terminal, tmp_path, page):
    server = Server(tmp_path / "runs", tmp_path / "streamlit.log")
    try:
        open_draw_page(page, server)  # the server's first TensorFlow import: the Draw page loads its model
        open_train_page(server, page)
        start(page, "quiet", images_step=0, epochs=1)  # 1,000 images, 1 epoch: the background worker trains it
        wait_until(lambda: run_status(server, "quiet") == RunState.COMPLETED, 180, "the run to complete")
        page.get_by_text("quiet · completed").wait_for(timeout=30_000)
        screenshot(page, "quiet-train-finished")
        worker_log = RunStore(server.runs_dir).layout.worker_log.read_text()
    finally:
        server.stop()
    assert "quiet" in RunStore(server.runs_dir).runs()[0].name
    assert not noise_in(server.log()), server.log()
    assert not noise_in(worker_log), worker_log


def test_the_train_page_first_leaves_the_servers_output_quiet(user_terminal, tmp_path, page):
    server = Server(tmp_path / "runs", tmp_path / "streamlit.log")
    try:
        open_train_page(server, page)  # the server's first TensorFlow import: the model summary
        page.goto(f"{server.url}/draw")
        wait_for_app(page)
        page.locator("canvas.upper-canvas").wait_for()
        screenshot(page, "quiet-draw-after-train")
    finally:
        server.stop()
    assert not noise_in(server.log()), server.log()
