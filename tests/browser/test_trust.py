"""Trust, in a real browser: a hostile run name is shown as the text it is and fetches nothing, and a worker killed
mid-training leaves its run interrupted while the queue behind it goes on, without a reload."""

import os
import signal
import time

from mnist_core.jobs.launch import submit, worker_alive
from mnist_core.store import RunStore
from tests.support.commands import SMALL
from tests.support.pages import completed_run
from tests.support.server import screenshot, wait_for_app

TALL = {"width": 1400, "height": 2200}
# A page that rendered this as markdown would ask 127.0.0.1:9 for an image (and show a broken picture, not the name).
HOSTILE = "![t](http://127.0.0.1:9/x.png) **bold** <b>x</b> $x$"


def wait_for_text(page, selector: str, text: str, timeout: float = 60_000) -> None:
    """Wait until an element shows exactly `text` to a reader (the invisible word joiners that keep a URL from
    becoming a link aside)."""
    page.wait_for_function(
        """([selector, text]) => [...document.querySelectorAll(selector)]
            .some(e => e.textContent.replaceAll("\u2060", "").trim() === text)""",
        arg=[selector, text],
        timeout=timeout,
    )


def open_page(server, page, path: str):
    page.set_viewport_size(TALL)
    page.goto(server.url)  # the app first: a fresh server asked for /path first runs the page without app.py
    wait_for_app(page)
    page.goto(f"{server.url}/{path}")
    wait_for_app(page)


def test_a_hostile_run_name_is_text_on_every_page_and_fetches_nothing(server, page):
    store = RunStore(server.runs_dir)
    completed_run(store, HOSTILE)
    fetched = []
    page.on("request", lambda request: fetched.append(request.url) if ":9/" in request.url else None)

    open_page(server, page, "runs")
    wait_for_text(page, "h3", f"{HOSTILE} · completed")
    page.get_by_role("tab", name="Manage").click()
    page.get_by_role("button", name="Delete run").click()
    wait_for_text(page, "[data-testid='stAlertContentWarning'] p", f"Delete {HOSTILE} and its model for good?")
    screenshot(page, "trust-1-hostile-name-runs")
    page.get_by_role("button", name="Cancel").click()
    wait_for_app(page)

    open_page(server, page, "train")
    wait_for_text(page, "strong", f"{HOSTILE} · completed")  # the live view names the last run in bold
    screenshot(page, "trust-2-hostile-name-train")
    open_page(server, page, "draw")
    page.get_by_text("Model").first.wait_for()
    assert not page.locator("img[src*='127.0.0.1:9']").count()
    assert not page.locator("strong", has_text="bold").count(), "no markdown emphasis from a run name"
    assert fetched == [], fetched
    assert not page.get_by_test_id("stException").count()


def test_a_killed_workers_queue_goes_on_without_a_reload(server, page):
    store = RunStore(server.runs_dir)
    open_page(server, page, "train")
    # The page warms a worker when it opens; queue two runs for it, the first long enough to be killed mid-way.
    doomed = submit(store, SMALL.replace(epochs=100, train_limit=20000, batch_size=64), name="doomed")
    behind = submit(store, SMALL.replace(epochs=1, train_limit=1000), name="behind it")
    deadline = time.monotonic() + 120
    while not store.progress(doomed).points:
        assert time.monotonic() < deadline, "the first run did not start"
        time.sleep(0.2)
    os.kill(store.get(doomed).status.pid, signal.SIGKILL)
    while worker_alive(store):
        time.sleep(0.1)
    # No reload: the page's once-a-second refresh sees the dead worker and starts another for the queued run.
    page.locator("strong", has_text="behind it · completed").wait_for(timeout=180_000)
    assert store.get(doomed).state == "interrupted"
    assert store.get(behind).state == "completed"
    screenshot(page, "trust-3-queue-after-a-killed-worker")
    assert not page.get_by_test_id("stException").count()
