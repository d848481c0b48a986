"""The Draw page's loop in a real browser: from mouse-up on the canvas to the answer painted.

    .venv/bin/python -m bench.bench_draw_loop                        # 20 drawings in one tab
    .venv/bin/python -m bench.bench_draw_loop --tabs 5               # 5 tabs drawing at once, 20 rounds
    .venv/bin/python -m bench.bench_draw_loop --baseline main        # the page at a git ref against this checkout,
                                                                     # drawing alternately on the two servers

Each server is started as scripts/start.sh starts it (tests/support/server.py's `Server`: the checkout's
`streamlit run app.py`, the project's .streamlit/config.toml, no flag but a free port) with an empty run store, so
the Draw page uses the bundled default model. Debian's chromium (headless) opens the Draw page and draws single-stroke
digits with the mouse on the real canvas; Clear between drawings, so each answer is new.

What is timed, in the page itself with performance.now(): from the `mouseup` that ends the stroke (a listener in
the capture phase, installed before the mouse goes up) to the first animation frame after the answer is in the
page: the digit (the metric) and its probabilities drawn (the page's ten bars; a Plotly SVG on older pages). The
layer view and the evidence may come later and are not waited for. The CPU model and the load average are printed
with every figure: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.drawn_digits import pixel_strokes
from tests.support.server import CHROMIUM, CHROMIUM_ARGS, ROOT, Server, wait_for_app

# Single-stroke digits (digit, style): one mouse-up, one answer.
DRAWINGS = [(3, 0), (0, 0), (7, 0), (2, 0), (6, 0), (1, 0), (5, 0), (8, 1), (9, 1), (2, 1)]
BOX = (92, 50, 100, 170)

# In every page before it loads: the time each message leaves for the server (the canvas' value is one).
SOCKET_SEND = """(() => {
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (...args) { window.__onSocketSend?.(); return send.apply(this, args); };
})()"""

# Installed before the mouse goes up: the time of the mouse-up, and of the first frame after the answer and its
# probabilities chart are in the page.
WATCH = """() => {
  const bench = (window.__drawLoop = {up: null, sent: null, seen: null, painted: null, digit: null});
  window.__onSocketSend = () => { if (bench.up !== null && bench.sent === null) bench.sent = performance.now(); };
  const answered = () => {
    const value = document.querySelector('[data-testid="stMetricValue"]');
    // the probabilities: ten HTML bars now, a Plotly chart on pages before them (a --baseline)
    const chart = document.querySelector('.mnist-lab-probabilities .bar, .js-plotly-plot .main-svg');
    return value && value.innerText.trim() && chart ? value.innerText.trim() : null;
  };
  window.addEventListener('mouseup', () => { bench.up = performance.now(); }, {capture: true, once: true});
  const observer = new MutationObserver(() => {
    if (bench.up === null || bench.seen !== null) return;
    const digit = answered();
    if (digit === null) return;
    bench.seen = performance.now();
    bench.digit = digit;
    observer.disconnect();
    requestAnimationFrame(() => { bench.painted = performance.now(); });
  });
  observer.observe(document.body, {childList: true, subtree: true, characterData: true, attributes: true});
}"""


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def checkout_of(ref: str) -> Path:
    """The app as it was at a git ref, in a temporary folder beside this checkout's .venv."""
    folder = Path(tempfile.mkdtemp(prefix="draw-loop-base-"))
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    (folder / ".venv").symlink_to((ROOT / ".venv").resolve())
    return folder


def open_draw_page(browser, server: Server):
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.add_init_script(SOCKET_SEND)
    page.goto(server.url)  # the app first: a first visit straight to /draw skips app.py's shell
    wait_for_app(page)
    page.goto(f"{server.url}/draw")
    wait_for_app(page)
    page.locator("canvas.upper-canvas").wait_for(timeout=60_000)
    page.get_by_text("Draw a digit on the black canvas").wait_for(timeout=60_000)
    return page


def stroke_down(page, digit: int, style: int) -> None:
    """Everything of a one-stroke digit but the mouse-up; the watcher installed."""
    canvas = page.locator("canvas.upper-canvas")
    canvas.scroll_into_view_if_needed()
    frame = canvas.bounding_box()
    scale = frame["width"] / 280
    page.mouse.move(frame["x"] + frame["width"] / 2, frame["y"] + frame["height"] / 2)
    time.sleep(0.4)  # the canvas' toolbar slides out of the way once the pointer is over the canvas
    (stroke,) = pixel_strokes(digit, style, BOX)
    points = [(frame["x"] + x * scale, frame["y"] + y * scale) for x, y in stroke]
    page.mouse.move(*points[0])
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*point, steps=2)
    page.evaluate(WATCH)


def answer_time(page) -> tuple[float, float, str]:
    """Seconds from mouse-up to the answer painted, seconds from the canvas' value sent to it painted, the digit."""
    page.wait_for_function("() => window.__drawLoop.painted !== null", timeout=60_000)
    bench = page.evaluate("() => window.__drawLoop")
    return (bench["painted"] - bench["up"]) / 1000, (bench["painted"] - bench["sent"]) / 1000, bench["digit"]


def clear(page) -> None:
    """The canvas' own toolbar clears it (its bin); an older page had a Clear button of its own."""
    if page.get_by_role("button", name="Clear", exact=True).count():
        page.get_by_role("button", name="Clear", exact=True).click()
    else:
        page.locator("canvas.upper-canvas").hover()
        page.get_by_role("button", name="Reset canvas & history").click()
    page.get_by_text("Draw a digit on the black canvas").wait_for(timeout=60_000)
    wait_for_app(page)
    deadline = time.monotonic() + 10
    while page.locator("canvas.upper-canvas").count() != 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # the new canvas settles; the server finishes what the Clear started


def summary(times: list[float]) -> dict:
    ordered = sorted(times)
    return {
        "n": len(times),
        "median_s": round(statistics.median(times), 3),
        "p95_s": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 3),
        "max_s": round(max(times), 3),
        "seconds": [round(t, 3) for t in times],
    }


def run(browser, servers: dict[str, Server], rounds: int, tabs: int) -> dict:
    pages = {name: [open_draw_page(browser, server) for _ in range(tabs)] for name, server in servers.items()}
    for tab_pages in pages.values():  # a first drawing each: warm caches (model, explainer, layer view)
        for page in tab_pages:
            stroke_down(page, 3, 0)
            page.mouse.up()
            answer_time(page)
            clear(page)
    times: dict[str, list[float]] = {name: [] for name in servers}
    after_send: dict[str, list[float]] = {name: [] for name in servers}
    right: dict[str, int] = dict.fromkeys(servers, 0)
    loads = []
    for i in range(rounds):
        digit, style = DRAWINGS[i % len(DRAWINGS)]
        for name, tab_pages in pages.items():  # alternately: every server sees the same machine
            for page in tab_pages:
                stroke_down(page, digit, style)
            for page in tab_pages:  # the tabs lift their pens together
                page.mouse.up()
            for page in tab_pages:
                seconds, from_send, shown = answer_time(page)
                times[name].append(seconds)
                after_send[name].append(from_send)
                right[name] += shown == str(digit)
            loads.append(os.getloadavg()[0])
            time.sleep(1.0)  # the layer view and the evidence finish painting: not timed, but not in the next one
            for page in tab_pages:
                clear(page)
    for tab_pages in pages.values():
        for page in tab_pages:
            page.context.close()
    return {
        name: summary(values)
        | {"read_right": f"{right[name]}/{len(values)}", "tabs": tabs, "from_value_sent": summary(after_send[name])}
        for name, values in times.items()
    } | {"load_average_min_max": [round(min(loads), 1), round(max(loads), 1)]}


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="drawings per tab (default 20)")
    parser.add_argument("--tabs", type=int, default=1, help="Draw tabs lifting their pens at once (default 1)")
    parser.add_argument("--baseline", metavar="REF", help="also measure the app at this git ref, alternately")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="draw-loop-"))
    apps = {"this checkout": ROOT}
    if args.baseline:
        apps = {args.baseline: checkout_of(args.baseline), **apps}
    servers = {}
    try:
        for i, (name, app_dir) in enumerate(apps.items()):
            servers[name] = Server(tmp / f"runs-{i}", tmp / f"streamlit-{i}.log", app_dir=app_dir)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            load_before = os.getloadavg()
            results = run(browser, servers, args.rounds, args.tabs)
            browser.close()
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        for app_dir in apps.values():
            if app_dir != ROOT:
                shutil.rmtree(app_dir, ignore_errors=True)
    results["cpu"] = f"{cpu_model()} ({os.cpu_count()} CPUs)"
    results["load_average_before"] = [round(x, 1) for x in load_before]
    results["load_average_after"] = [round(x, 1) for x in os.getloadavg()]
    print(
        f"CPU: {results['cpu']}; load average before {results['load_average_before']}, "
        f"after {results['load_average_after']}, during {results['load_average_min_max']}"
    )
    for name in apps:
        r = results[name]
        print(
            f"{name}: {r['tabs']} tab(s), {r['n']} answers, mouse-up to answer painted: median {r['median_s']:.3f} s, "
            f"p95 {r['p95_s']:.3f} s, max {r['max_s']:.3f} s; read right {r['read_right']}"
        )
        sent = r["from_value_sent"]
        print(
            f"{name}: of which from the canvas' value sent to the server to the answer painted: "
            f"median {sent['median_s']:.3f} s, p95 {sent['p95_s']:.3f} s"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
