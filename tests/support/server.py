"""The real Streamlit server, started as scripts/start.sh starts it, and Debian's chromium to drive it: what the
browser tests and the benchmarks share."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from mnist_core.jobs.launch import stop_worker
from mnist_core.store import RunStore
from tests.support import process_guard

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def streamlit_program(app_dir: Path = ROOT) -> Path:
    """The .venv/bin/streamlit that scripts/start.sh runs (the app's, else this checkout's); else this Python's."""
    for venv in (app_dir / ".venv", ROOT / ".venv"):
        if (venv / "bin" / "streamlit").exists():
            return venv / "bin" / "streamlit"
    return Path(sys.executable).parent / "streamlit"


class Server:
    """`streamlit run app.py` started the way scripts/start.sh starts it: the same program, from the app's folder,
    with the project's .streamlit/config.toml and no flags but a free port; the run store comes from $MNIST_LAB_RUNS.
    Everything it starts (the store's worker, study workers) carries its own marker, so `stop` can end it all.
    """

    def __init__(
        self,
        runs_dir: Path,
        log_path: Path,
        app_dir: Path = ROOT,
        app: str = "app.py",
        env: dict | None = None,
        stop_store_worker: bool = True,
    ):
        self.runs_dir = runs_dir
        self.log_path = log_path
        self.stop_store_worker = stop_store_worker
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.marker = process_guard.new_marker()
        env = {
            **os.environ,
            "MNIST_LAB_RUNS": str(runs_dir),
            process_guard.OWNER_ENV: self.marker,
            **(env or {}),  # e.g. $MNIST_LAB_STUDIES
        }
        command = [str(streamlit_program(app_dir)), "run", app, "--server.port", str(self.port)]
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=app_dir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_healthy()

    def _wait_healthy(self, timeout: float = 60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"streamlit did not start; see {self.log_path}:\n{self.log()[-2000:]}")

    def log(self) -> str:
        """What the server has written to its terminal so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self):
        """Stop the server, then the background worker of its run store by the pid in the worker's lock (the Train
        page starts one, which stays warm for minutes, and a test may leave a training running), and anything
        else the server started (a study worker) by its pid."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.stop_store_worker:
            stop_worker(RunStore(self.runs_dir), timeout=30)
        process_guard.stop(process_guard.marked(process_guard.OWNER_ENV, self.marker))


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc), its waiting time excluded."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_for_app(page):
    """Wait until Streamlit has finished running the script (no 'running' indicator)."""
    page.wait_for_selector("[data-testid='stApp']")
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=60_000,
    )
