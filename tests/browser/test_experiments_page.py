"""The Experiments page in a real browser: queue a tiny grid (its time estimated beside Queue, the form folding
away once queued), watch the background worker fill the table; the form keeps its presets through a change of
kind; a study shared through PostgreSQL shows another machine's trials."""

import contextlib
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from mnist_core.store import RunStore
from mnist_core.study import Studies, grid_study
from tests.support.server import Server, screenshot, wait_for_app


@pytest.fixture(autouse=True)
def stop_studies_afterwards(server):
    """A failing test must not leave a study worker training in the background: stop every study it queued."""
    yield
    lab = Studies(RunStore(server.runs_dir))
    for name in lab.names():
        lab.request_stop(name)


def _widget(page, key: str):
    """A widget by its `key=`: Streamlit puts `st-key-<key>` on its container, other characters than letters,
    digits, _ and - written as -."""
    return page.locator(".st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", key))


def _open(page, server):
    """The Experiments page through the app. The root first: a fresh server asked for /experiments before app.py
    has ever run serves pages/experiments.py on its own, without app.py's navigation and layout."""
    page.goto(server.url)
    wait_for_app(page)
    page.goto(f"{server.url}/experiments")
    wait_for_app(page)
    page.get_by_role("link", name="Experiments").wait_for()


def _queue_grid(page, name: str, filters: str, epochs: int, all_images: bool = False):
    """Fill the New study form with a grid over filters, on 1,000 images (or all of them), and press Queue study."""
    page.get_by_text("A grid", exact=True).click()
    wait_for_app(page)
    for key, text in (("exp.grid.filters", filters), ("exp.epochs", str(epochs)), ("exp.name", name)):
        box = _widget(page, key).locator("input")
        expect(box).to_have_count(1)  # a rerun briefly shows the old element beside the new one
        box.fill(text)
        box.press("Enter")
        wait_for_app(page)
    slider = _widget(page, "exp.limit").get_by_role("slider")
    slider.focus()
    slider.press("End" if all_images else "Home")  # the last choice is all 60,000 images, the first 1,000
    wait_for_app(page)
    page.get_by_text(f"{len(filters.split(','))} trials, one at a time").wait_for()
    page.get_by_text("on this machine").wait_for()  # the study's estimated time, beside the Queue button
    screenshot(page, f"experiments-form-{name.replace(' ', '-')}")
    queue = _widget(page, "exp.queue").get_by_role("button")
    expect(queue).to_have_count(1)  # a rerun briefly shows the old button beside the new one
    queue.click()
    wait_for_app(page)


def test_a_tiny_grid_queued_from_the_page_fills_the_table(server, page):
    _open(page, server)
    page.get_by_text("No studies yet").wait_for()
    _widget(page, "exp.queue").get_by_role("button").wait_for()
    page.locator("[data-testid='stDataFrame']").first.wait_for()
    wait_for_app(page)
    screenshot(page, "experiments-empty")

    _queue_grid(page, "browser grid", "8/16, 16/36", epochs=1)
    expect(page.get_by_text("What to vary")).not_to_be_visible()  # the form folds away: the progress is in view
    # The worker process loads TensorFlow and trains two one-epoch trials on 1,000 images.
    page.get_by_text("finished: 2 of 2 trials finished").wait_for(timeout=240_000)
    page.get_by_role("button", name="Stop study").wait_for(state="detached")
    wait_for_app(page)
    page.get_by_text("Download CSV").wait_for()
    assert not page.locator("[data-testid='stException']").count()
    with page.expect_download() as download:
        page.get_by_text("Download CSV").click()
    lines = Path(download.value.path()).read_text().strip().splitlines()
    assert lines[0].startswith("trial,state,changed,filters,parameters")
    assert sorted(line.split(",")[3] for line in lines[1:]) == ["16/36", "8/16"]
    assert all(",completed," in line for line in lines[1:])
    assert page.locator("[data-testid='stPlotlyChart']").count() >= 2
    screenshot(page, "experiments-grid-finished")
    runs = [p for p in server.runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(runs) == 2, "each trial is a run in the store"


def test_stop_ends_a_running_study_and_resume_is_offered(server, page):
    _open(page, server)
    expander = page.get_by_test_id("stExpander")
    expander.get_by_text("New study").wait_for()
    if not page.get_by_text("What to vary").is_visible():
        expander.get_by_text("New study").click()  # folded away once a study exists
    # All images: a quiet machine trains 200 epochs of 1,000 images in seconds, before the test presses Stop.
    _queue_grid(page, "long grid", "8/16, 16/36", epochs=200, all_images=True)
    page.get_by_text("Trial 1:").wait_for(timeout=120_000)  # the current trial's live curves
    page.get_by_text("epoch 2").first.wait_for(timeout=120_000)
    screenshot(page, "experiments-running")
    # The panel redraws every two seconds: click the current button, not the copy a redraw is replacing. A click
    # that lands as a redraw swaps the button can be lost, so click again (Stop is idempotent) until it takes.
    live = page.locator("[data-testid='stElementContainer'][data-stale='false']")
    stopped = page.get_by_text("stopped: 0 of 2 trials finished")
    deadline = time.monotonic() + 120
    while not stopped.is_visible():
        assert time.monotonic() < deadline, "the study did not stop within two minutes of pressing Stop"
        button = live.get_by_role("button", name="Stop study")
        if button.count():
            # Replaced by a redraw while clicking: the loop clicks the new one.
            with contextlib.suppress(PlaywrightError):
                button.first.click(timeout=5_000)
        page.wait_for_timeout(3_000)
    page.get_by_role("button", name="Resume").wait_for()
    page.get_by_text("1 trial interrupted: Resume trains it again.").wait_for()
    screenshot(page, "experiments-stopped")


def test_switching_the_kind_and_back_keeps_the_seven_presets_and_an_empty_grid_is_not_an_error(server, page):
    _open(page, server)
    expander = page.get_by_test_id("stExpander")
    if not page.get_by_text("What to vary").is_visible():
        expander.get_by_text("New study").click()
    page.get_by_text("A grid", exact=True).click()
    wait_for_app(page)
    page.get_by_text("Type the values of at least one setting").wait_for()
    assert not page.locator("[data-testid='stAlertContentError']").count(), "guidance, not an error"
    box = _widget(page, "exp.grid.filters").locator("input")
    assert box.get_attribute("placeholder").startswith("e.g. ")
    screenshot(page, "experiments-empty-grid")
    page.get_by_text("A search", exact=True).click()
    wait_for_app(page)
    page.get_by_text("The post's study", exact=True).click()
    wait_for_app(page)
    page.get_by_text("7 trials, one at a time").wait_for()
    assert not page.get_by_text("choose at least one preset").count()
    expect(_widget(page, "exp.queue").get_by_role("button")).to_be_enabled()
    screenshot(page, "experiments-presets-kept")


@pytest.fixture
def shared_server(tmp_path, pg_url):
    server = Server(tmp_path / "runs", tmp_path / "streamlit.log", env={"MNIST_LAB_STUDIES": pg_url})
    server.pg_url = pg_url
    yield server
    server.stop()


def test_a_shared_study_shows_the_trials_another_machine_trained(shared_server, page, mnist, tmp_path, monkeypatch):
    here, elsewhere = RunStore(shared_server.runs_dir), RunStore(tmp_path / "other-machine")
    spec = grid_study({"filters": [[8, 16], [16, 36]], "dropout": [0.1, 0.2, 0.3]}, epochs=1, train_limit=1000)
    Studies(elsewhere, shared_server.pg_url).create("shared grid", spec)
    monkeypatch.setenv("MNIST_LAB_HOST", "lab-pc-2")
    assert Studies(elsewhere, shared_server.pg_url).run_worker("shared grid", data=mnist, max_trials=4) == 4
    monkeypatch.setenv("MNIST_LAB_HOST", "lab-pc-1")
    assert Studies(here, shared_server.pg_url).run_worker("shared grid", data=mnist) == 2

    _open(page, shared_server)
    page.get_by_text("finished: 6 of 6 trials finished").wait_for(timeout=60_000)
    page.get_by_text("Download CSV").wait_for()
    wait_for_app(page)
    page.get_by_text("on lab-pc-1, lab-pc-2").wait_for()
    assert not page.locator("[data-testid='stException']").count()
    screenshot(page, "experiments-shared-study")
