"""Benchmarks of the dashboard: first paint against an empty Streamlit app, and training launched from the
dashboard against the same training from the command line.

    .venv/bin/python -m bench.bench_dashboard             # all of them (about 5 minutes on 2 cores)
    .venv/bin/python -m bench.bench_dashboard paint       # first paint only
    .venv/bin/python -m bench.bench_dashboard train       # dashboard vs command-line training only
    .venv/bin/python -m bench.bench_dashboard slider      # Train page: slider move to repaint
    .venv/bin/python -m bench.bench_dashboard idle        # server CPU with the Data page open and nothing to do
    .venv/bin/python -m bench.bench_dashboard start       # Train page: Start click to the first live point painted

Every server is started the way scripts/start.sh starts it: the checkout's `streamlit run app.py` with the
project's .streamlit/config.toml and no other flags but a free port (tests/browser/conftest.py's Server).

First paint: the time from starting `streamlit run` to the first page's title painted in headless Chromium, for an
empty app (one `st.title`) and for MNIST Lab, started alternately so both see the same machine. Also reported:
the time until MNIST Lab's first page has drawn all its charts, and whether the server had loaded TensorFlow by then.

Training: the same config trained by `python -m mnist_core train` and by the dashboard's path
(`jobs.launch.submit`, what the Train page's Start calls, so the background worker trains it) while a browser shows
the Train page polling the run every second. Compared on model.fit time (train_seconds) of runs made alternately.

Start: seconds from a click on Start training to the first point of the new run's live loss curve painted in the
browser, with a warm worker (the Train page starts one when it opens; it keeps TensorFlow and MNIST loaded) against
a cold one (MNIST_LAB_WORKER_IDLE=0: every Start waits for a new worker process to import TensorFlow, as before the
worker stayed), alternately, on two servers started the same way.

Prints a markdown table for docs/benchmarks.md and writes bench/results/dashboard.json.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mnist_core.jobs.launch import submit, worker_alive
from mnist_core.networks.config import RunConfig
from mnist_core.store import RunStore
from tests.support import process_guard
from tests.support.server import CHROMIUM, CHROMIUM_ARGS, Server, process_cpu_seconds

ROOT = Path(__file__).resolve().parents[1]

EMPTY_APP = 'import streamlit as st\n\nst.title("Empty")\n'
PAINT_REPEATS = 3
# The post's model on all 48,000 training images: long enough that a second of start-up noise does not count.
TRAIN_CONFIG = RunConfig(epochs=3)
TRAIN_REPEATS = 4
IDLE_SECONDS = 20
FINISHED = ("completed", "stopped", "failed", "interrupted")


def tensorflow_loaded(pid: int) -> bool:
    """Whether a process has TensorFlow's shared library mapped (i.e. has imported it)."""
    try:
        return "libtensorflow" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def first_paint(browser, app_dir: Path, app: str, heading: str, charts: int = 0) -> dict:
    """Seconds from `streamlit run` to `heading` painted (and to `charts` Plotly charts drawn, if asked)."""
    tmp = Path(tempfile.mkdtemp(prefix="paint-"))
    started = time.perf_counter()
    server = Server(tmp / "runs", tmp / "streamlit.log", app_dir=app_dir, app=app)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server.url, timeout=60_000)
        page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
        painted = time.perf_counter() - started
        result = {"painted_s": painted, "tensorflow_loaded_at_paint": tensorflow_loaded(server.process.pid)}
        if charts:
            page.wait_for_function(
                f"() => document.querySelectorAll('.js-plotly-plot').length >= {charts}", timeout=60_000
            )
            result["charts_drawn_s"] = time.perf_counter() - started
            result["tensorflow_loaded_after_page"] = tensorflow_loaded(server.process.pid)
        page.close()
        return result
    finally:
        server.stop()


def bench_paint(browser) -> dict:
    empty_dir = Path(tempfile.mkdtemp(prefix="empty-app-"))
    (empty_dir / "app.py").write_text(EMPTY_APP)
    shutil.copytree(ROOT / ".streamlit", empty_dir / ".streamlit")  # the same server settings as MNIST Lab
    rows = {"empty": [], "mnist_lab": []}
    for _ in range(PAINT_REPEATS):
        rows["empty"].append(first_paint(browser, empty_dir, "app.py", "Empty"))
        rows["mnist_lab"].append(first_paint(browser, ROOT, "app.py", "Data", charts=4))
    empty = statistics.median(r["painted_s"] for r in rows["empty"])
    lab = statistics.median(r["painted_s"] for r in rows["mnist_lab"])
    return {
        "repeats": rows,
        "empty_painted_median_s": round(empty, 2),
        "mnist_lab_painted_median_s": round(lab, 2),
        "difference_s": round(lab - empty, 2),
        "mnist_lab_charts_drawn_median_s": round(statistics.median(r["charts_drawn_s"] for r in rows["mnist_lab"]), 2),
        "tensorflow_loaded_at_paint": any(r["tensorflow_loaded_at_paint"] for r in rows["mnist_lab"]),
    }


def cli_train(runs_dir: Path) -> float:
    config = TRAIN_CONFIG
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mnist_core",
            "train",
            "--preset",
            "post",
            "--epochs",
            str(config.epochs),
            "--runs-dir",
            str(runs_dir),
            "--name",
            "cli",
            "--json",
        ],
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        check=True,
        capture_output=True,
    )
    run = max(RunStore(runs_dir).runs(), key=lambda r: r.status.finished_at or "")
    return run.status.train_seconds


BROWSER_MARKER = process_guard.new_marker()  # in the environment of the chromium this script starts


def browser_cpu_seconds() -> float:
    """CPU seconds used so far by every process of the chromium this script started (the browser renders the live
    charts on this machine): the one with the marker in its environment, and its descendants (renderers)."""
    total = 0.0
    for pid in process_guard.with_descendants(process_guard.marked(process_guard.OWNER_ENV, BROWSER_MARKER)):
        with contextlib.suppress(OSError):  # a renderer that ended meanwhile
            total += process_cpu_seconds(pid)
    return total


def dashboard_train(server: Server, page, cpu: dict | None = None) -> float:
    """Train through the dashboard's path; with a `page`, the Train page shows it live the whole time."""
    store = RunStore(server.runs_dir)
    if page is not None:
        page.goto(server.url)  # the app's default page first (see tests/browser/test_train_page.py)
        page.get_by_role("heading", name="Data").wait_for(timeout=60_000)
        page.goto(f"{server.url}/train")  # the Train page polls the run store every second while it trains
        page.get_by_role("heading", name="Train").wait_for(timeout=60_000)
    server_cpu, browser_cpu = process_cpu_seconds(server.process.pid), browser_cpu_seconds()
    run_id = submit(store, TRAIN_CONFIG, name="dashboard", preset="post")
    if page is not None:
        page.get_by_test_id("stProgress").wait_for(timeout=120_000)  # the page shows it live
    while (run := store.get(run_id)).state not in FINISHED:
        time.sleep(0.5)
    assert run.state == "completed", run.status
    if cpu is not None:
        cpu["server"].append(process_cpu_seconds(server.process.pid) - server_cpu)
        cpu["browser"].append(browser_cpu_seconds() - browser_cpu)
    return run.status.train_seconds


def bench_train(browser) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench-train-"))
    server = Server(tmp / "runs", tmp / "streamlit.log")
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        cli, dashboard, unwatched = [], [], []
        cpu = {"server": [], "browser": []}
        for _ in range(TRAIN_REPEATS):
            cli.append(cli_train(tmp / "cli-runs"))
            dashboard.append(dashboard_train(server, page, cpu))
            page.goto("about:blank")  # Start pressed, then the tab closed: nothing polls the run
            unwatched.append(dashboard_train(server, None))
        page.close()
    finally:
        server.stop()
    cli_s = statistics.median(cli)
    return {
        "config": TRAIN_CONFIG.to_dict(),
        "cli_train_seconds": cli,
        "dashboard_train_seconds": dashboard,
        "unwatched_train_seconds": unwatched,
        "dashboard_vs_cli": round(statistics.median(dashboard) / cli_s, 3),
        "unwatched_vs_cli": round(statistics.median(unwatched) / cli_s, 3),
        "server_cpu_while_watched_s": round(statistics.median(cpu["server"]), 2),
        "browser_cpu_while_watched_s": round(statistics.median(cpu["browser"]), 2),
    }


def bench_slider(browser) -> dict:
    """Seconds from a slider move on the Train page (a key press on the Dense units slider, to a config whose
    model summary is new) to the new parameter count painted in the browser: what the user waits for."""
    tmp = Path(tempfile.mkdtemp(prefix="slider-"))
    server = Server(tmp / "runs", tmp / "streamlit.log")
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.goto(server.url)  # the app's default page first (see tests/browser/test_train_page.py)
        page.get_by_role("heading", name="Data").wait_for(timeout=60_000)
        page.goto(f"{server.url}/train")
        metric = page.get_by_test_id("stMetric").filter(has_text="Parameters")
        metric.wait_for(timeout=60_000)  # Keras loaded, the post's model's summary drawn
        thumb = page.get_by_test_id("stSlider").filter(has_text="Dense units").get_by_role("slider")
        idle_from, idle_cpu = time.perf_counter(), process_cpu_seconds(server.process.pid)
        time.sleep(5)  # nothing happens but the live view's once-a-second poll
        poll_cpu_rate = (process_cpu_seconds(server.process.pid) - idle_cpu) / (time.perf_counter() - idle_from)
        times, cpu_before, moves_from = [], process_cpu_seconds(server.process.pid), time.perf_counter()
        for key in ("ArrowRight", "ArrowRight", "ArrowRight", "Home", "ArrowRight", "ArrowRight", "End"):
            before = metric.inner_text()
            started = time.perf_counter()
            thumb.press(key)
            page.wait_for_function("([el, old]) => el.innerText !== old", arg=[metric.element_handle(), before])
            times.append(time.perf_counter() - started)
        # CPU the server spent per move: what a move costs whatever else the machine is busy with.
        polls = poll_cpu_rate * (time.perf_counter() - moves_from)
        cpu_per_move = (process_cpu_seconds(server.process.pid) - cpu_before - polls) / len(times)
        page.close()
    finally:
        server.stop()
    return {
        "seconds": [round(t, 3) for t in times],
        "median_s": round(statistics.median(times), 3),
        "max_s": round(max(times), 3),
        "server_cpu_per_move_s": round(cpu_per_move, 3),
        "server_cpu_per_second_idle_s": round(poll_cpu_rate, 3),
        "load_average": os.getloadavg()[0],
    }


def bench_idle(browser) -> dict:
    """Server CPU seconds per second while one tab shows the Data page and nobody touches it."""
    tmp = Path(tempfile.mkdtemp(prefix="idle-"))
    server = Server(tmp / "runs", tmp / "streamlit.log")
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server.url)
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 4", timeout=60_000)
        time.sleep(2)
        started, cpu = time.perf_counter(), process_cpu_seconds(server.process.pid)
        time.sleep(IDLE_SECONDS)
        rate = (process_cpu_seconds(server.process.pid) - cpu) / (time.perf_counter() - started)
        page.close()
    finally:
        server.stop()
    return {
        "seconds": IDLE_SECONDS,
        "server_cpu_per_second_s": round(rate, 4),
        "log_bytes": server.log_path.stat().st_size,
        "load_average": os.getloadavg()[0],
    }


START_REPEATS = 5
# JavaScript: the live loss chart's traces (the page's first chart), to tell the new run's chart from the last one's.
LOSS_CHART = """() => {
    const chart = document.querySelector(".js-plotly-plot");
    return JSON.stringify(chart && chart.data ? chart.data.map(trace => [trace.name, trace.x]) : null);
}"""
# True once the heading names the new run and the loss chart, changed since the click, has a point: the chart of the
# last run may still be on screen for a moment under the new heading.
FIRST_POINT_PAINTED = """([name, before]) => {
    const heading = [...document.querySelectorAll("h3")].some(h => h.textContent.startsWith(name + " · "));
    const chart = document.querySelector(".js-plotly-plot");
    if (!heading || !chart || !chart.data) return false;
    const now = JSON.stringify(chart.data.map(trace => [trace.name, trace.x]));
    return now !== before && chart.data.some(trace => trace.x && trace.x.length > 0);
}"""


def set_slider(page, label: str, steps: int) -> None:
    thumb = page.get_by_test_id("stSlider").filter(has_text=label).get_by_role("slider")
    thumb.focus()
    thumb.press("Home")
    for _ in range(steps):
        thumb.press("ArrowRight")


def open_train_page_for_quick_runs(server: Server, page) -> None:
    """The Train page, set to train 1 epoch (a run of a few seconds)."""
    page.goto(server.url)  # the app's default page first (see tests/browser/test_train_page.py)
    page.get_by_role("heading", name="Data").wait_for(timeout=60_000)
    page.goto(f"{server.url}/train")
    page.get_by_test_id("stMetric").filter(has_text="Parameters").wait_for(timeout=120_000)
    set_slider(page, "Epochs", 0)
    page.wait_for_timeout(1000)


def click_start(server: Server, page, name: str, images_step: int) -> float:
    """Seconds from the click on Start to the new run's first live point painted; waits for the run to end.
    `images_step` 0 or 1 (1,000 or 2,000 images), alternately: the same settings with the same random seed would draw
    the very same chart as the last run, and the new one could not be told from it."""
    set_slider(page, "Training images", images_step)
    page.wait_for_timeout(1000)
    page.get_by_role("textbox", name="Run name").fill(name)
    page.get_by_role("textbox", name="Run name").press("Enter")
    button = page.get_by_role("button", name="Start training")
    button.wait_for(timeout=120_000)
    page.wait_for_timeout(500)
    before = page.evaluate(LOSS_CHART)
    started = time.perf_counter()
    button.click()
    page.wait_for_function(FIRST_POINT_PAINTED, arg=[name, before], timeout=120_000, polling="raf")
    seconds = time.perf_counter() - started
    store = RunStore(server.runs_dir)
    deadline = time.monotonic() + 180
    while not any(run.name == name and run.state in FINISHED for run in store.runs()):
        assert time.monotonic() < deadline, f"{name} did not finish"
        time.sleep(0.3)
    return seconds


def bench_start(browser) -> dict:
    servers, pages = {}, {}
    try:
        for kind, idle in (("cold", "0"), ("warm", None)):
            tmp = Path(tempfile.mkdtemp(prefix=f"start-{kind}-"))
            previous = os.environ.pop("MNIST_LAB_WORKER_IDLE", None)
            if idle is not None:
                os.environ["MNIST_LAB_WORKER_IDLE"] = idle  # the server hands it to the workers it starts
            try:
                servers[kind] = Server(tmp / "runs", tmp / "streamlit.log")
            finally:
                os.environ.pop("MNIST_LAB_WORKER_IDLE", None)
                if previous is not None:
                    os.environ["MNIST_LAB_WORKER_IDLE"] = previous
            pages[kind] = browser.new_page(viewport={"width": 1400, "height": 2200})
            open_train_page_for_quick_runs(servers[kind], pages[kind])
        time.sleep(15)  # the warm worker has imported TensorFlow; the cold one has come and gone
        times = {"cold": [], "warm": []}
        for i in range(START_REPEATS):
            for kind in ("cold", "warm") if i % 2 == 0 else ("warm", "cold"):
                if kind == "cold":
                    while worker_alive(RunStore(servers[kind].runs_dir)):
                        time.sleep(0.2)  # no worker left from the last run: this Start starts one
                seconds = click_start(servers[kind], pages[kind], f"{kind}-{i}", images_step=i % 2)
                times[kind].append(round(seconds, 3))
    finally:
        for server in servers.values():
            server.stop()
    return {
        "cold_s": times["cold"],
        "warm_s": times["warm"],
        "cold_median_s": statistics.median(times["cold"]),
        "warm_median_s": statistics.median(times["warm"]),
        "load_average": os.getloadavg()[0],
    }


def main(sections: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    results = {"machine": f"{platform.node()}, {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}"}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            env={**os.environ, process_guard.OWNER_ENV: BROWSER_MARKER},
        )
        if "paint" in sections:
            results["paint"] = bench_paint(browser)
        if "train" in sections:
            results["train"] = bench_train(browser)
        if "slider" in sections:
            results["slider"] = bench_slider(browser)
        if "idle" in sections:
            results["idle"] = bench_idle(browser)
        if "start" in sections:
            results["start"] = bench_start(browser)
        browser.close()

    out = ROOT / "bench" / "results" / "dashboard.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"| measure | value |\n| --- | --- |\n| machine | {results['machine']} |")
    if paint := results.get("paint"):
        print(
            f"| empty Streamlit app, start to painted title (median of {PAINT_REPEATS}) | "
            f"{paint['empty_painted_median_s']:.2f} s |"
        )
        print(
            f"| MNIST Lab, start to painted Data page title | {paint['mnist_lab_painted_median_s']:.2f} s "
            f"(+{paint['difference_s']:.2f} s) |"
        )
        print(f"| MNIST Lab, start to all Data page charts drawn | {paint['mnist_lab_charts_drawn_median_s']:.2f} s |")
        print(f"| TensorFlow loaded by the server at first paint | {paint['tensorflow_loaded_at_paint']} |")
    if train := results.get("train"):
        cli = ", ".join(f"{s:.1f}" for s in train["cli_train_seconds"])
        dash = ", ".join(f"{s:.1f}" for s in train["dashboard_train_seconds"])
        print(f"| the post's model, {TRAIN_CONFIG.epochs} epochs on 48,000 images: command line | {cli} s |")
        print(f"| same, started from the dashboard with the Train page open | {dash} s |")
        unwatched = ", ".join(f"{s:.1f}" for s in train["unwatched_train_seconds"])
        print(f"| dashboard / command line (medians) | {train['dashboard_vs_cli']:.3f} |")
        print(
            f"| (CPU used meanwhile by the Streamlit server / by chromium drawing the live charts) | "
            f"{train['server_cpu_while_watched_s']:.1f} s / {train['browser_cpu_while_watched_s']:.1f} s |"
        )
        print(f"| same, started from the dashboard with no page open | {unwatched} s |")
        print(f"| dashboard with no page open / command line (medians) | {train['unwatched_vs_cli']:.3f} |")
    if slider := results.get("slider"):
        print(
            f"| Train page: slider move to new parameter count painted (median, max of 7; load average "
            f"{slider['load_average']:.1f}) | {slider['median_s']:.2f} s, {slider['max_s']:.2f} s |"
        )
        print(
            f"| Train page: server CPU per slider move (polling subtracted) | {slider['server_cpu_per_move_s']:.3f} s |"
        )
        print(
            f"| Train page: server CPU per second while idle (the live view's poll) | "
            f"{slider['server_cpu_per_second_idle_s']:.3f} s |"
        )
    if idle := results.get("idle"):
        print(
            f"| Data page open, nothing happening: server CPU per second ({idle['seconds']} s; load average "
            f"{idle['load_average']:.1f}) | {idle['server_cpu_per_second_s']:.3f} s |"
        )
    if start := results.get("start"):
        print(
            f"| Train page: Start click to the first live point painted, warm worker (median of {START_REPEATS}; "
            f"load average {start['load_average']:.1f}) | {start['warm_median_s']:.2f} s "
            f"({', '.join(f'{t:.2f}' for t in start['warm_s'])}) |"
        )
        print(
            f"| the same with a cold worker (a new process imports TensorFlow for every Start) | "
            f"{start['cold_median_s']:.2f} s ({', '.join(f'{t:.2f}' for t in start['cold_s'])}) |"
        )
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["paint", "idle", "slider", "start", "train"])
