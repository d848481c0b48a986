from tests.support.server import screenshot, wait_for_app


def test_every_page_opens(server, page):
    for path, title in [
        ("", "Data"),
        ("train", "Train"),
        ("runs", "Runs"),
        ("draw", "Draw"),
        ("experiments", "Experiments"),
    ]:
        page.goto(f"{server.url}/{path}")
        wait_for_app(page)
        page.get_by_role("heading", name=title).first.wait_for()
        assert not page.locator("[data-testid='stException']").count(), f"{title} page raised"
        screenshot(page, f"smoke-{title.lower()}")
