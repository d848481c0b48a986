"""Browser tests: the real `streamlit run app.py` server, driven by Playwright in Debian's chromium.

Each test module gets its own server with an empty run store in a temporary folder. Tests save screenshots to
test-artifacts/screenshots/ for a person to look at. Without chromium the tests skip, except in CI (CI=true),
where a missing browser is a failure. The server and the browser's settings are in tests/support/server.py, which
the benchmarks share.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.server import CHROMIUM, CHROMIUM_ARGS, Server


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("server")
    server = Server(tmp / "runs", tmp / "streamlit.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's chromium for the browser tests: apt-get install chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()
