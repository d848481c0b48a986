"""The Data page in a real browser: counts, the digit grid and its filter, one digit up close."""

from tests.browser.conftest import screenshot, wait_for_app

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
