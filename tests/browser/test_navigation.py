from tests.support.server import screenshot, wait_for_app

NAV_LABELS = ["Data", "Train", "Runs", "Draw", "Experiments"]


def test_a_page_url_asked_first_of_a_fresh_server_gets_the_app_navigation(server, page):
    # This module's server is new: /train is the first request it ever gets.
    page.goto(f"{server.url}/train")
    wait_for_app(page)
    page.get_by_role("heading", name="Train").first.wait_for()
    nav = page.locator("[data-testid='stSidebarNav']")
    nav.wait_for()
    page.get_by_role("button", name="Start training").wait_for()
    labels = [text.strip().splitlines()[-1] for text in nav.locator("a").all_inner_texts()]  # after the icon
    screenshot(page, "navigation-first-request-train")
    assert labels == NAV_LABELS, labels
