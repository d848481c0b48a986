"""Screenshots of the dashboard's pages, taken from the real app in Debian's chromium.

    .venv/bin/python scripts/screenshots.py [--out DIR] [--size 1400x900] [--pages data,train,...] [--lang en]
    MNIST_LAB_RUNS=/tmp/shotstore .venv/bin/python scripts/screenshots.py --pages runs --palette

Starts the server exactly as scripts/start.sh does (this checkout's `.venv/bin/streamlit run app.py`, the project's
.streamlit/config.toml, no flag but a free `--server.port`; the run store is the dashboard's: $MNIST_LAB_RUNS, else
./runs), opens each page in Debian's chromium with Playwright, waits until the page has finished rendering, and
saves two PNGs per page: PAGE-viewport.png (what a window of --size shows) and PAGE-full.png (the whole page: the
app scrolls inside its own container, so the window is made as tall as the page). Then it stops the server, and the
background worker the Train page started for the store if this script's server started it, by pid.

Nothing is clicked: the pages show the run store as it is. For a picture with runs in it, train a couple first,
e.g. `nice -n 10 .venv/bin/python -m mnist_core train --preset fast --limit 3000 --runs-dir /tmp/shotstore`.
Needs Debian's chromium (`apt-get install chromium`; `bash scripts/setup.sh --test` installs it) and the `playwright`
package of requirements-test.txt; never `playwright install`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def runs_dir() -> Path:
    """The store the server will use: the dashboard's rule ($MNIST_LAB_RUNS, else ./runs from the checkout)."""
    return (ROOT / (os.environ.get("MNIST_LAB_RUNS") or "runs")).resolve()


def worker_pids(store: Path) -> set[int]:
    """Pids of `python -m mnist_core worker --runs-dir STORE` processes (the dashboard starts them so)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "mnist_core" in args and "worker" in args and "--runs-dir" in args:
            given = args[args.index("--runs-dir") + 1] if args.index("--runs-dir") + 1 < len(args) else ""
            if given and Path(given).resolve() == store:
                pids.add(int(entry.name))
    return pids


def stop_pid(pid: int, grace: float = 10.0) -> None:
    """SIGTERM, a grace period, then SIGKILL: one process, by its pid."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or _zombie(pid):
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


class Server:
    """`streamlit run app.py` as scripts/start.sh starts it, on a free port; its output goes to `log_path`."""

    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        program = ROOT / ".venv" / "bin" / "streamlit"
        if not program.exists():
            sys.exit(f"{program} is missing: run `bash scripts/setup.sh` first")
        command = [str(program), "run", "app.py", "--server.port", str(self.port)]
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_healthy()

    def _wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        sys.exit(f"streamlit did not start; see {self.log_path}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def wait_for_app(page) -> None:
    """Wait until Streamlit has finished running the script (no 'Running...' indicator)."""
    page.wait_for_selector("[data-testid='stApp']")
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=SETTLE_TIMEOUT_MS,
    )


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
    store = runs_dir()
    workers_before = worker_pids(store)
    server = Server(args.out / "streamlit.log")
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
        for pid in worker_pids(store) - workers_before:  # the worker the Train page started for this server
            stop_pid(pid)
    for path in saved:
        print(f"{path}  {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
