"""The Train page in a real browser against `streamlit run app.py`: train a small run and watch it live, then
reload during a training, see the progress come back, stop it and see it kept as stopped."""

import json
import re
import time

from playwright.sync_api import expect

from mnist_core.store import RunStore
from tests.support.server import screenshot, wait_for_app

# The page scrolls inside the app: a tall window shows all of it.
TALL = {"width": 1400, "height": 2200}
# A batch done: the progress bar shows a training that has really begun.
TRAINING = re.compile(r"batch [1-9]")


def open_train_page(server, page):
    page.set_viewport_size(TALL)
    # The app's own page first: on a fresh server, a first visit straight to /train makes Streamlit 1.67 run
    # pages/train.py as an old-style page (no app.py, no navigation) for every session. Reported to the lead.
    page.goto(server.url)
    wait_for_app(page)
    page.goto(f"{server.url}/train")
    wait_for_app(page)
    page.get_by_test_id("stMetric").filter(has_text="Parameters").wait_for(timeout=60_000)  # Keras has loaded


def set_slider(page, label: str, steps_from_start: int):
    thumb = page.get_by_test_id("stSlider").filter(has_text=label).get_by_role("slider")
    thumb.focus()
    thumb.press("Home")
    for _ in range(steps_from_start):
        thumb.press("ArrowRight")
    wait_for_app(page)


def start(page, name: str, images_step: int, epochs: int):
    set_slider(page, "Training images", images_step)  # 1,000 / 2,000 / 5,000 / 10,000 / 30,000 / all
    set_slider(page, "Epochs", epochs - 1)
    page.get_by_role("textbox", name="Run name").fill(name)
    page.get_by_role("textbox", name="Run name").press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Start training").click()


def progress_text(page) -> str:
    return " ".join(page.get_by_test_id("stProgress").all_inner_texts())  # no waiting: it goes when the run ends


def live_points(page) -> int:
    """How many points the live loss chart holds, read from Plotly's own data in the page."""
    return page.evaluate(
        "() => { const d = document.querySelector('.js-plotly-plot'); "
        "return d && d.data ? d.data.reduce((n, t) => n + (t.x ? t.x.length : 0), 0) : 0; }"
    )


def curves_in_view(page) -> bool:
    """Whether every point of every live curve lies within its chart's y axis (none fell out of view)."""
    return page.evaluate(
        "() => [...document.querySelectorAll('.js-plotly-plot')].every(d => !d._fullLayout || d.data.every(t => {"
        " const [a, b] = d._fullLayout.yaxis.range, lo = Math.min(a, b), hi = Math.max(a, b);"
        " return Array.from(t.y || []).every(y => y >= lo && y <= hi); }))"
    )


def table_scrolls(page, index: int = 0) -> bool:
    """Whether a st.dataframe scrolls inside itself, across or down (its rows or columns do not all fit)."""
    return page.evaluate(
        f"() => {{ const s = document.querySelectorAll('[data-testid=stDataFrame] .dvn-scroller')[{index}];"
        " return s.scrollWidth > s.clientWidth || s.scrollHeight > s.clientHeight; }"
    )


def choose_preset(page, name: str):
    page.get_by_test_id("stSelectbox").filter(has_text="Preset").click()
    page.get_by_role("option", name=name, exact=True).click()
    wait_for_app(page)


def test_the_layer_table_shows_every_layer_in_full_and_the_run_name_follows_the_preset(server, page):
    open_train_page(server, page)
    choose_preset(page, "best")  # 28 layers, BatchNormalization among them
    page.get_by_test_id("stMetric").filter(has_text="585,514").wait_for()
    assert not table_scrolls(page)
    screenshot(page, "train-0-layer-table")
    choose_preset(page, "fast")
    # The name field lives in the live view, which reads the settings at its next once-a-second redraw.
    page.wait_for_function("() => document.querySelector('input[aria-label=\"Run name\"]').placeholder === 'fast'")


def test_moving_a_control_back_to_the_presets_value_then_another_keeps_the_page_whole(server, page):
    """The browser sends the preset box's value back as the text it showed. When that text was "post (changed)" and
    the controls had come back to post's own, the next control moved raised KeyError: 'post (changed)'. Also after
    an invalid setting (weight averaging longer than the run), which used to drop the mark the same way."""
    open_train_page(server, page)
    set_slider(page, "Epochs", 4)  # 5 epochs: changed from post's 20
    page.get_by_text("Changed from post").wait_for()
    set_slider(page, "Epochs", 19)  # post's 20 again
    page.get_by_text("The post's model: filters 16 / 36").wait_for()
    set_slider(page, "Dropout", 0)
    page.get_by_text("Changed from post: Dropout 0.25 → 0").wait_for()
    page.goto(f"{server.url}/train?ema_momentum=0.999")  # valid for post's 20 epochs...
    wait_for_app(page)
    set_slider(page, "Epochs", 0)  # ...not for 1 (188 steps): said in red, Start greyed
    page.get_by_text("averages about the last 1,000 steps, but this run takes only 188").wait_for()
    expect(page.get_by_role("button", name="Start training")).to_be_disabled()  # the live view redraws each second
    set_slider(page, "Batch size", 0)
    set_slider(page, "Epochs", 19)
    page.get_by_text("Changed from post: Batch size 256 → 32, Weight averaging (EMA momentum) 0 → 0.999").wait_for()
    expect(page.get_by_role("button", name="Start training")).to_be_enabled()
    assert page.get_by_test_id("stException").count() == 0
    screenshot(page, "train-2-controls-moved-back-and-forth")


def run_status(server, name: str) -> str:
    """Read through the store, as the pages do: a run the worker is still creating (a `.new-` folder with its meta
    written but not its status) is not listed yet, where reading its files here raised FileNotFoundError."""
    for run in RunStore(server.runs_dir).runs():
        if run.name == name:
            return run.state
    return "missing"


def test_train_a_small_run_and_watch_it_live_then_find_it_on_the_runs_page(server, page):
    open_train_page(server, page)
    screenshot(page, "train-1-controls")
    # 30,000 images x 4 epochs: several seconds of training even on a quiet machine, so the live view is seen moving.
    start(page, "browser-live", images_step=4, epochs=4)

    page.get_by_test_id("stProgress").wait_for(timeout=60_000)
    seen, counts, in_view = set(), [], []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not page.get_by_test_id("stMetric").filter(has_text="Test accuracy").count():
        if text := progress_text(page):
            seen.add(text)
            counts.append(live_points(page))
            in_view.append(curves_in_view(page))
        time.sleep(0.3)
    assert len(seen) >= 2, f"the progress bar did not move: {seen}"
    assert max(counts) > min(counts), "the live curves did not grow"
    assert all(in_view), "a live curve left its chart: the y axis did not follow the data"
    page.get_by_text("browser-live · completed").wait_for()
    time.sleep(2)  # let the fragment run that drew "completed" finish and clear what it no longer draws
    screenshot(page, "train-2-finished")

    page.get_by_role("link", name="Inspect it on the Runs page").click()
    wait_for_app(page)
    page.get_by_role("heading", name="browser-live · completed").wait_for()
    assert not page.get_by_test_id("stException").count()
    screenshot(page, "train-3-on-runs-page")


def test_reload_during_training_shows_the_progress_again_and_stop_keeps_the_run(server, page):
    open_train_page(server, page)
    start(page, "browser-stop", images_step=5, epochs=20)  # all images, 20 epochs: minutes, even on a quiet machine
    page.get_by_test_id("stProgress").filter(has_text=TRAINING).wait_for(timeout=90_000)
    before = progress_text(page)

    page.reload()
    wait_for_app(page)
    page.get_by_text("browser-stop · running").wait_for(timeout=60_000)
    page.get_by_test_id("stProgress").filter(has_text=TRAINING).wait_for()
    page.wait_for_function(
        "() => document.querySelector('.js-plotly-plot') && document.querySelector('.js-plotly-plot').data.length > 0"
    )  # the curves are back too
    screenshot(page, "train-4-after-reload")
    assert progress_text(page), f"no progress after the reload (before it: {before!r})"

    clicked = time.monotonic()
    page.get_by_role("button", name="Stop", exact=True).click()
    while run_status(server, "browser-stop") == "running" and time.monotonic() - clicked < 60:
        time.sleep(0.2)
    stopped_after = time.monotonic() - clicked
    assert run_status(server, "browser-stop") == "stopped"
    page.get_by_text("browser-stop · stopped").wait_for(timeout=30_000)
    time.sleep(2)
    screenshot(page, "train-5-stopped")
    print(f"stop to status 'stopped' (evaluation and save included): {stopped_after:.1f} s")
    assert stopped_after < 20


LAPTOP = {"width": 1400, "height": 900}


def scroll_to_top(page):
    """Back to the top of the page, as a newcomer finds it (typing into a field scrolls it into view)."""
    page.evaluate("() => document.querySelectorAll('*').forEach(e => { if (e.scrollTop) e.scrollTop = 0; })")


def in_view(page, locator, share: float = 1.0, timeout: float = 10) -> bool:
    """Whether the element's box (its top `share` of it) lies within the window without scrolling (the app
    scrolls inside itself). The live view redraws every second: asked again until `timeout`."""
    size, deadline = page.viewport_size, time.monotonic() + timeout
    while True:
        box = locator.bounding_box()
        inside = box and box["y"] >= 0 and box["y"] + box["height"] * share <= size["height"]
        if inside and box["x"] >= 0 and box["x"] + box["width"] <= size["width"]:
            return True
        if time.monotonic() > deadline:
            print("out of view:", box)
            return False
        time.sleep(0.2)


def test_on_a_laptop_window_start_and_the_live_curves_are_in_view_without_scrolling(server, page):
    open_train_page(server, page)
    page.set_viewport_size(LAPTOP)
    wait_for_app(page)
    start_button = page.get_by_role("button", name="Start training")
    assert in_view(page, start_button)
    screenshot(page, "train-6-laptop-before-start")
    start(page, "browser-laptop", images_step=2, epochs=3)  # 5,000 images: a few seconds of live view
    curves = page.locator(".js-plotly-plot")
    page.get_by_test_id("stProgress").filter(has_text=TRAINING).wait_for(timeout=90_000)
    page.mouse.move(0, 0)  # no tooltip over the live view
    scroll_to_top(page)
    assert in_view(page, curves.nth(0))
    assert in_view(page, curves.nth(1), share=0.5)  # the second chart's title and the top of its curves at least
    screenshot(page, "train-7-laptop-after-start")
    [config] = [json.loads((path / "config.json").read_text()) for path in server.runs_dir.glob("*-browser-laptop-*")]
    assert (config["train_limit"], config["epochs"]) == (5000, 3)  # the settings shown, not those of a move before
    page.get_by_text("browser-laptop · completed").wait_for(timeout=90_000)
