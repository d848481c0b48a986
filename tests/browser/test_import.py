"""Bring your own model in a real browser: the seed post's Keras 2 .h5 uploaded on the Runs page, compared there with
a trained run, then picked on the Draw page and drawn with."""

from pathlib import Path

from mnist_core.store import RunStore
from tests.browser.test_draw_page import draw, shown_answer
from tests.support.drawn_digits import DIGITS
from tests.support.pages import completed_run
from tests.support.server import screenshot, wait_for_app

POST_KERAS2 = Path(__file__).resolve().parents[1] / "data" / "models" / "post-keras2.h5"


def test_import_the_posts_model_then_draw_with_it(server, page):
    store = RunStore(server.runs_dir)
    completed_run(store, "trained here", wrong=80)

    page.set_viewport_size({"width": 1400, "height": 2200})
    page.goto(server.url)
    wait_for_app(page)
    page.goto(f"{server.url}/runs")
    wait_for_app(page)
    page.get_by_text("Import a model file").click()
    # The model's uploader (the page has another, in the Your digits tab, for a zip of labelled pictures).
    model_file = page.get_by_test_id("stFileUploader").filter(has=page.get_by_text("Model file", exact=True))
    model_file.locator("input[type=file]").set_input_files(str(POST_KERAS2))
    page.get_by_text("post-keras2.h5").first.wait_for()
    wait_for_app(page)
    page.get_by_label("Name").first.fill("the post's model")
    page.get_by_label("Name").first.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Import").click()
    page.get_by_text("Imported post-keras2.h5 as").wait_for(timeout=60_000)
    page.get_by_role("heading", name="the post's model · completed").wait_for()
    page.get_by_text("imported: no training history").wait_for()
    wait_for_app(page)
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 1")  # the confusion matrix
    assert not page.get_by_test_id("stException").count()
    [run] = [run for run in store.runs() if run.meta.kind == "imported"]
    assert run.results.test_accuracy == 0.9668
    screenshot(page, "import-1-runs")

    page.set_viewport_size({"width": 1400, "height": 2000})
    page.goto(f"{server.url}/draw")
    wait_for_app(page)
    page.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name="the post's model · imported ").click()  # its name, when, accuracy
    wait_for_app(page)
    page.locator("canvas.upper-canvas").wait_for()
    page.get_by_text("Draw a digit on the black canvas").wait_for()
    draw(page, 3, 0, (92, 50, 100, 170))
    assert shown_answer(page, len(DIGITS[3][0])) == "3"
    assert not page.get_by_test_id("stException").count()
    screenshot(page, "import-2-draw")
