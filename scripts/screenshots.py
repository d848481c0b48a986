"""Screenshots of the dashboard's pages, taken from the real app in Debian's chromium.

    .venv/bin/python -m scripts.screenshots [--out DIR] [--size 1400x900] [--pages data,train,...] [--lang en]
    MNIST_LAB_RUNS=/tmp/shotstore .venv/bin/python -m scripts.screenshots --pages runs --palette

Starts the server exactly as scripts/start.sh does (this checkout's `.venv/bin/streamlit run app.py`, the project's
.streamlit/config.toml, no flag but a free `--server.port`; the run store is the dashboard's: $MNIST_LAB_RUNS, else
./runs), opens each page in Debian's chromium with Playwright, waits until the page has finished rendering, and
saves two PNGs per page: PAGE-viewport.png (what a window of --size shows) and PAGE-full.png (the whole page: the
app scrolls inside its own container, so the window is made as tall as the page). Then it stops the server, and
whatever the server started (the background worker the Train page starts), by pid: the server is the browser
tests' (tests/support/server.py).

Nothing is clicked: the pages show the run store as it is. For a picture with runs in it, train a couple first,
e.g. `nice -n 10 .venv/bin/python -m mnist_core train --preset fast --limit 3000 --runs-dir /tmp/shotstore`.
Needs Debian's chromium (`apt-get install chromium`; `bash scripts/setup.sh --test` installs it) and the `playwright`
package of requirements-test.txt; never `playwright install`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tests.support.server import CHROMIUM, CHROMIUM_ARGS, ROOT, Server, wait_for_app

# page name -> (URL path, the page's title)
PAGES = {
    "data": ("", "Data"),
    "train": ("train", "Train"),
    "runs": ("runs", "Runs"),
    "draw": ("draw", "Draw"),
    "experiments": ("experiments", "Experiments"),
}
MAX_FULL_HEIGHT = 12_000  # pixels: a runaway page is cut there rather than making a huge PNG
SETTLE_TIMEOUT_MS = 120_000


def runs_dir() -> Path:
    """The store the server will use: the dashboard's rule ($MNIST_LAB_RUNS, else ./runs from the checkout)."""
    return (ROOT / (os.environ.get("MNIST_LAB_RUNS") or "runs")).resolve()


def settle(page, title: str, language: str = "en") -> None:
    """Wait for the page's title (or an error box), for its script run to end, for every chart, image and
    skeleton to be drawn, then once more for a rerun asked for at the very end. The title and the words waited
    for are looked up in the page's language."""
    from mnist_core.i18n import language_of, translator

    t = translator(language_of(language))
    page.get_by_role("heading", name=t(title)).or_(page.get_by_test_id("stException")).first.wait_for(
        timeout=SETTLE_TIMEOUT_MS
    )
    for _ in range(2):
        wait_for_app(page)
        page.wait_for_function(
            """() => !document.querySelector('[data-testid="stSkeleton"]')
                && [...document.querySelectorAll('.js-plotly-plot')].every(p => p.querySelector('.main-svg'))
                && [...document.querySelectorAll('img')].every(i => i.complete)""",
            timeout=SETTLE_TIMEOUT_MS,
        )
        page.wait_for_timeout(800)  # a rerun asked for at the very end shows "Running" only a moment later
    if title == "Train":  # the model summary needs Keras, which the page loads after its title
        page.get_by_test_id("stMetric").filter(has_text=t("Parameters")).first.wait_for(timeout=SETTLE_TIMEOUT_MS)
        wait_for_app(page)
    page.wait_for_timeout(500)  # charts' transitions


def content_height(page) -> int:
    """The page's whole height: the app scrolls inside its main container, not the document."""
    return page.evaluate(
        """() => Math.max(document.documentElement.scrollHeight,
            ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"],'
                + ' section.main')].map(e => e.scrollHeight))"""
    )


def save_png(page, path: Path, palette: bool) -> None:
    """A screenshot, re-encoded by Pillow: optimised, and with `palette` reduced to 256 colours (small enough to
    keep in the repository; the dashboard's flat colours survive it)."""
    from PIL import Image

    page.screenshot(path=str(path))
    with Image.open(path) as image:
        image.load()
    if palette:
        image = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    image.save(path, optimize=True)


def shoot(page, base: str, name: str, size: tuple[int, int], out: Path, palette: bool, query: str) -> list[Path]:
    path, title = PAGES[name]
    page.set_viewport_size({"width": size[0], "height": size[1]})
    # The app's root first: on a fresh server a first visit straight to /PAGE runs that page's file without
    # app.py's navigation and layout (the browser tests do the same).
    page.goto(base + "/" + query)
    wait_for_app(page)
    page.goto(f"{base}/{path}{query}")
    language = query.partition("lang=")[2]
    settle(page, title, language)
    saved = [out / f"{name}-viewport.png"]
    save_png(page, saved[0], palette)

    height = min(max(content_height(page), size[1]), MAX_FULL_HEIGHT)
    page.set_viewport_size({"width": size[0], "height": height})
    wait_for_app(page)
    page.wait_for_timeout(1000)  # charts redraw at the new size
    settle(page, title, language)
    height = min(max(content_height(page), size[1]), MAX_FULL_HEIGHT)
    page.set_viewport_size({"width": size[0], "height": height})
    page.wait_for_timeout(500)
    saved.append(out / f"{name}-full.png")
    save_png(page, saved[1], palette)
    if page.get_by_test_id("stException").count():
        print(f"{name}: the page shows an exception; see the screenshot", file=sys.stderr)
    return saved


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "test-artifacts" / "screenshots", help="folder for PNGs")
    parser.add_argument("--size", default="1400x900", help="the window, WIDTHxHEIGHT (default 1400x900)")
    parser.add_argument("--pages", default=",".join(PAGES), help=f"comma-separated, of {', '.join(PAGES)}")
    parser.add_argument(
        "--lang", default="en", help="the browser's language (Accept-Language), also passed as ?lang= (default en)"
    )
    parser.add_argument("--palette", action="store_true", help="256-colour PNGs, for images kept in the repository")
    args = parser.parse_args(argv)
    try:
        width, height = (int(part) for part in args.size.lower().split("x"))
    except ValueError:
        parser.error(f"--size: WIDTHxHEIGHT, e.g. 1400x900 (got {args.size!r})")
    args.size = (width, height)
    args.pages = [name.strip() for name in args.pages.split(",") if name.strip()]
    unknown = [name for name in args.pages if name not in PAGES]
    if unknown:
        parser.error(f"--pages: unknown {', '.join(unknown)}; choose from {', '.join(PAGES)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium (bash scripts/setup.sh --test does)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    # A worker already serving the store (a dashboard of the user's) is left alone; what this server starts
    # carries its marker and is stopped with it, by pid.
    server = Server(runs_dir(), args.out / "streamlit.log", stop_store_worker=False)
    saved: list[Path] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(locale=args.lang)
                page = context.new_page()
                page.set_default_timeout(60_000)
                query = f"?lang={args.lang}"
                for name in args.pages:
                    saved += shoot(page, server.url, name, args.size, args.out, args.palette, query)
                context.close()
            finally:
                browser.close()
    finally:
        server.stop()
    for path in saved:
        print(f"{path}  {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
