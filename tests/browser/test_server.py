"""The server as users get it: `streamlit run app.py` with the project's config (see conftest.Server).

Many tabs opened at once on a freshly started server must all run without an error (no half-imported modules,
no page script run outside app.py's navigation), and an idle server must leave the CPU alone.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.server import ROOT, Server, process_cpu_seconds, screenshot, wait_for_app

COLD_STARTS = 5
# Every page, the slow ones (Draw loads TensorFlow and the bundled model; Train builds a Keras model) twice.
TABS = [("", "Data"), ("train", "Train"), ("runs", "Runs"), ("draw", "Draw"), ("experiments", "Experiments")]
TABS += [("draw", "Draw"), ("train", "Train"), ("", "Data")]
NAV_LABELS = ["Data", "Train", "Runs", "Draw", "Experiments"]
IDLE_SECONDS = 20
IDLE_CPU_PER_SECOND = 0.05


def wait_until_settled(page, title: str) -> None:
    """Wait for the page's title (or an error box), then for its script run to end."""
    page.get_by_role("heading", name=title).or_(page.get_by_test_id("stException")).first.wait_for(timeout=120_000)
    wait_for_app(page)
    page.wait_for_timeout(500)  # a rerun asked for at the very end shows its "Running" only a moment later
    wait_for_app(page)


def test_many_tabs_opened_at_once_on_fresh_servers_all_run_without_errors(browser, tmp_path):
    problems = []
    for start in range(COLD_STARTS):
        server = Server(tmp_path / f"runs-{start}", tmp_path / f"streamlit-{start}.log")
        contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in TABS]
        try:
            pages = [context.new_page() for context in contexts]
            for page, (path, _) in zip(pages, TABS, strict=True):
                page.set_default_timeout(120_000)
                # Returns once the server answers: the tabs load and open their sessions together.
                page.goto(f"{server.url}/{path}", wait_until="commit")
            for index, (page, (path, title)) in enumerate(zip(pages, TABS, strict=True)):
                wait_until_settled(page, title)
                errors = page.get_by_test_id("stException").all_inner_texts()
                nav = page.locator("[data-testid='stSidebarNav'] a").all_inner_texts()
                labels = [text.strip().splitlines()[-1] for text in nav]  # after the icon
                if errors or labels != NAV_LABELS:
                    screenshot(page, f"cold-start-{start}-tab-{index}-{path or 'data'}")
                    problems.append(f"start {start}, /{path}: errors {errors}, navigation {labels}")
            if start == 0:
                screenshot(pages[3], "cold-start-draw")
        finally:
            for context in contexts:
                context.close()
            server.stop()
        if "Traceback" in server.log():
            problems.append(f"start {start}: the server log has a traceback:\n{server.log()[-3000:]}")
    assert not problems, "\n".join(problems)


@pytest.fixture(params=["checkout", "real-venv-copy"])
def checkout(request, tmp_path) -> Path:
    """The checkout as scripts/start.sh runs it, with its .venv inside. Where that .venv is a symlink to one
    elsewhere (a worktree sharing a venv), the file watcher would not follow it and the test would prove
    little, so also a copy of the checkout whose .venv is a real folder tree (hard links: fast, no space)."""
    venv = ROOT / ".venv"
    if request.param == "checkout":
        return ROOT
    if not venv.is_symlink():
        pytest.skip("the checkout's own .venv is a real folder: the checkout case covers it")
    copy = tmp_path / "checkout"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".git", "runs", "test-artifacts", "bench"))
    linked = subprocess.run(["cp", "-al", str(venv.resolve()), str(copy / ".venv")], capture_output=True, text=True)
    if linked.returncode:
        pytest.skip(f"cannot hard-link the venv into {tmp_path}: {linked.stderr.strip()}")
    program = copy / ".venv" / "bin" / "streamlit"
    lines = program.read_text().splitlines(keepends=True)
    program.unlink()  # a file of its own, not the hard link: its first line names the copy's python
    program.write_text(f"#!{copy / '.venv' / 'bin' / 'python'}\n" + "".join(lines[1:]))
    program.chmod(0o755)
    return copy


def test_an_idle_server_with_a_tab_open_uses_almost_no_cpu(browser, checkout, tmp_path):
    server = Server(tmp_path / "runs", tmp_path / "streamlit.log", app_dir=checkout)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(server.url)
        wait_until_settled(page, "Data")
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 4", timeout=60_000)
        time.sleep(2)
        started, cpu = time.monotonic(), process_cpu_seconds(server.process.pid)
        time.sleep(IDLE_SECONDS)
        rate = (process_cpu_seconds(server.process.pid) - cpu) / (time.monotonic() - started)
        assert not page.get_by_test_id("stException").count()
    finally:
        context.close()
        server.stop()
    log_kb = server.log_path.stat().st_size / 1024
    assert rate < IDLE_CPU_PER_SECOND, f"idle server used {rate:.3f} CPU-s/s; its log: {log_kb:.0f} KB"
