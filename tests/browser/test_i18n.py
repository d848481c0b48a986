"""English and 简体中文 in a real browser: ?lang=zh, a Chinese browser, the sidebar switch, the navigation, and two
readers of different languages on one server at the same time."""

from tests.support.server import SCREENSHOTS, screenshot, wait_for_app

SIZE = {"width": 1400, "height": 900}


def open_data_page(browser, url: str, locale: str = "en-US"):
    context = browser.new_context(viewport=SIZE, locale=locale)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    wait_for_app(page)
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 4")
    return context, page


def title(page) -> str:
    return page.locator("h1").first.inner_text()


def test_the_data_page_in_chinese_by_the_url(server, browser):
    context, page = open_data_page(browser, f"{server.url}/?lang=zh")
    try:
        assert title(page) == "数据"
        page.get_by_text("训练图像").first.wait_for()
        nav = page.get_by_test_id("stSidebarNav").inner_text()
        assert all(word in nav for word in ("数据", "训练", "运行记录", "手写", "实验")), nav
        assert not page.get_by_test_id("stException").count()
        page.screenshot(path=str(SCREENSHOTS / "i18n-data-zh-first-screen.png"))  # what a reader sees at 1400x900
        page.set_viewport_size({"width": 1400, "height": 2600})  # the app scrolls inside itself: all of it at once
        wait_for_app(page)
        screenshot(page, "i18n-data-zh")
    finally:
        context.close()


def test_a_traditional_chinese_browser_reads_chinese_without_asking(server, browser):
    context, page = open_data_page(browser, server.url, locale="zh-TW")
    try:
        assert title(page) == "数据"
        assert "lang=" not in page.url  # nothing chosen: the browser's language, not a link's
    finally:
        context.close()


def test_two_readers_on_one_server_each_read_their_own_language(server, browser):
    english_context, english = open_data_page(browser, server.url)
    chinese_context, chinese = open_data_page(browser, server.url)
    try:
        chinese.get_by_test_id("stSidebar").get_by_text("中文", exact=True).click()
        chinese.wait_for_url("**lang=zh**")
        wait_for_app(chinese)
        chinese.get_by_role("heading", name="数据").wait_for()
        english.reload()  # the English reader's next run, after the Chinese reader switched
        wait_for_app(english)
        english.get_by_role("heading", name="Data").wait_for()
        assert title(english) == "Data"
        assert title(chinese) == "数据"
        screenshot(chinese, "i18n-two-readers-zh")
        screenshot(english, "i18n-two-readers-en")
    finally:
        english_context.close()
        chinese_context.close()


def test_the_language_follows_the_reader_through_the_navigation_and_a_reload(server, browser):
    context, page = open_data_page(browser, f"{server.url}/?lang=zh")
    try:
        page.get_by_test_id("stSidebarNav").get_by_text("运行记录").click()
        page.wait_for_url("**/runs**")
        wait_for_app(page)
        page.wait_for_url("**lang=zh**")  # put back in the URL after the navigation dropped it
        assert page.get_by_test_id("stSidebarNav").get_by_text("数据").count()
        page.reload()
        wait_for_app(page)
        assert "运行记录" in page.get_by_test_id("stSidebarNav").inner_text()
        assert not page.get_by_test_id("stException").count()
    finally:
        context.close()


def test_every_page_renders_in_chinese_with_no_exception_and_its_chinese_title(server, browser):
    """Each page of the navigation, opened in Chinese as a link would open it: its title in Chinese, no error box."""
    pages = {"": "数据", "train": "训练", "runs": "运行记录", "draw": "手写", "experiments": "实验"}
    context = browser.new_context(viewport=SIZE, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{server.url}/?lang=zh")  # the app's root first, as a reader arrives
        wait_for_app(page)
        for path, heading in pages.items():
            page.goto(f"{server.url}/{path}?lang=zh")
            wait_for_app(page)
            page.get_by_role("heading", name=heading, exact=True).first.wait_for()
            wait_for_app(page)
            assert not page.get_by_test_id("stException").count(), path
            screenshot(page, f"i18n-{path or 'data'}-zh-all")
    finally:
        context.close()
