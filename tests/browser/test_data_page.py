"""The Data page in a real browser: counts, the digit grid and its filter, one digit up close."""

from tests.support.server import screenshot, wait_for_app

TALL = {"width": 1400, "height": 2600}


def grid_captions(page) -> list[str]:
    """The captions of the digit grid (the second Plotly chart), read from Plotly's layout in the page."""
    return page.evaluate(
        "() => { const d = document.querySelectorAll('.js-plotly-plot')[1]; "
        "return d && d.layout ? (d.layout.annotations || []).map(a => a.text) : []; }"
    )


def test_browse_digits_filter_by_label_and_look_at_one_up_close(server, page):
    page.set_viewport_size(TALL)
    page.goto(server.url)
    wait_for_app(page)
    page.get_by_text("60,000").first.wait_for()
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 4")
    assert grid_captions(page)[:3] == ["label=5", "label=0", "label=4"]
    screenshot(page, "data-1-page")

    up_close = page.get_by_test_id("stSlider").filter(has_text="Digit of the grid above").get_by_role("slider")
    up_close.focus()
    for _ in range(5):
        up_close.press("ArrowRight")
    wait_for_app(page)
    page.get_by_text("train image #5").wait_for()
    how_many = page.get_by_test_id("stSlider").filter(has_text="How many").get_by_role("slider")
    how_many.focus()
    how_many.press("ArrowRight")  # 20 -> 50 digits: #5 is still in the grid, so it stays up close
    wait_for_app(page)
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot')[1].layout.annotations.length === 50")
    page.get_by_text("train image #5").wait_for()
    screenshot(page, "data-1b-fifty")

    page.get_by_test_id("stSelectbox").filter(has_text="Label").click()
    page.get_by_role("option", name="7", exact=True).click()
    wait_for_app(page)
    page.wait_for_function(
        "() => { const d = document.querySelectorAll('.js-plotly-plot')[1];"
        " return d && d.layout && d.layout.annotations && d.layout.annotations[0].text.startsWith('#'); }"
    )
    page.get_by_text("label **7**").or_(page.get_by_text("label 7")).first.wait_for()
    assert not page.get_by_test_id("stException").count()
    screenshot(page, "data-2-sevens")
