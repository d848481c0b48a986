"""The Runs page in a real browser, on a store with two finished runs and a damaged folder: the table, overlay,
one run's details and tabs, delete with confirmation."""

from mnist_core.store import RunStore
from tests.support.pages import completed_run
from tests.support.server import screenshot, wait_for_app

TALL = {"width": 1400, "height": 2400}


def click_row(page, row: int):
    """Click a row of the runs table: its checkbox sits in the row-marker column at the left (35-px rows)."""
    box = page.get_by_test_id("stDataFrame").first.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17 + row * 35)
    wait_for_app(page)


def test_inspect_compare_and_delete_runs(server, page):
    store = RunStore(server.runs_dir)
    first, second = completed_run(store, "seed-like", wrong=120), completed_run(store, "wide-like", wrong=80)
    damaged = server.runs_dir / "20990101-000000-broken-0000"
    damaged.mkdir()
    (damaged / "meta.json").write_text("{half a file")

    page.set_viewport_size(TALL)
    # The app's own page first: on a fresh server, a first visit straight to /runs makes Streamlit 1.67 run
    # pages/runs.py as an old-style page (no app.py, no navigation) for every session. Reported to the lead.
    page.goto(server.url)
    wait_for_app(page)
    page.goto(f"{server.url}/runs")
    wait_for_app(page)
    page.get_by_role("heading", name="wide-like · completed").wait_for()  # the newest run is picked first
    page.get_by_text("1 damaged run folder").wait_for()
    page.get_by_test_id("stMetric").filter(has_text="Test accuracy").get_by_text("99.20%").wait_for()
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 3")  # overlays, confusion
    assert not page.evaluate(
        "() => { const s = document.querySelector('[data-testid=stDataFrame] .dvn-scroller');"
        " return s.scrollWidth > s.clientWidth; }"
    ), "the runs table scrolls sideways: a column is off the page"
    screenshot(page, "runs-1-details")

    click_row(page, 2)  # seed-like (the damaged folder sorts first, then wide-like): both compared
    page.get_by_text("Details of").wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')].some(d => d.data && d.data.length === 4)"
    )
    screenshot(page, "runs-1b-compared")
    click_row(page, 2)  # and back to the newest alone
    page.get_by_text("Details of").wait_for(state="detached")

    page.get_by_role("tab", name="Misclassified").click()
    page.get_by_text("80 of 10,000 test digits misclassified").wait_for()
    screenshot(page, "runs-2-misclassified")

    page.get_by_role("tab", name="Manage").click()
    page.get_by_role("button", name="Delete run").click()
    page.get_by_text("for good?").wait_for()
    page.get_by_role("button", name="Yes, delete it").click()
    wait_for_app(page)
    page.get_by_role("heading", name="seed-like · completed").wait_for(timeout=30_000)
    page.get_by_text("for good?").wait_for(state="detached")  # the rerun has finished drawing the page
    wait_for_app(page)
    assert [run.id for run in store.runs()] == [first.id]
    assert not page.get_by_test_id("stException").count()
    screenshot(page, "runs-3-after-delete")
    assert second.id not in [p.name for p in server.runs_dir.iterdir()]
