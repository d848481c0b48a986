"""The processes the test suite starts, found by an environment marker, never by their name or command line.

The session puts `MNIST_LAB_TEST_SESSION=<id>` in its environment when it starts, and each test (and each browser
test server) puts `MNIST_LAB_TEST_OWNER=<id>` in the environment of everything it starts; every child inherits both,
detached workers (a session of their own) included. After a test, and after the session, a process still carrying
its marker outlived the one that started it: it is stopped by its pid and the test or the session fails, naming it.
Linux only (/proc/PID/environ); elsewhere no process is found.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

SESSION_ENV = "MNIST_LAB_TEST_SESSION"
OWNER_ENV = "MNIST_LAB_TEST_OWNER"


def new_marker() -> str:
    return uuid.uuid4().hex


def marked(name: str, value: str) -> list[int]:
    """The live processes (this one aside) whose environment holds `name=value`, as they were started."""
    entry = f"{name}={value}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        pid = int(environ.parent.name)
        if pid == os.getpid():
            continue
        try:
            if entry in environ.read_bytes().split(b"\0") and alive(pid):
                found.append(pid)
        except OSError:
            continue  # gone meanwhile, or another user's
    return sorted(found)


def with_descendants(pids: list[int]) -> list[int]:
    """The processes and all their descendants (a program may start children with an environment of its own, as
    chromium does for its renderers: the marker is not in theirs)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = set(), list(pids)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return sorted(found)


def alive(pid: int) -> bool:
    """Whether `pid` has not exited (a zombie, waiting for its parent to collect it, has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def command_line(pid: int) -> str:
    """What `pid` runs, for a person to read in a failure message."""
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    except OSError:
        return "(gone)"
    return " ".join(word.decode(errors="replace") for word in words)


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait up to `timeout` seconds for the processes to end; returns those still alive."""
    deadline = time.monotonic() + timeout
    while True:
        left = [pid for pid in pids if alive(pid)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.1)


def stop(pids: list[int], timeout: float = 10.0) -> None:
    """SIGTERM each process (a worker then stops cleanly), SIGKILL those still alive after `timeout` seconds."""
    for signum, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        for pid in pids:
            try:
                os.kill(pid, signum)
            except (ProcessLookupError, PermissionError):
                continue
        pids = wait_gone(pids, wait)
        if not pids:
            return


def survivors(name: str, value: str, grace: float) -> dict[int, str]:
    """Processes carrying `name=value` still alive after `grace` seconds (to let those stopping finish), each
    with its command line; then stopped by their pid."""
    left = wait_gone(marked(name, value), grace)
    found = {pid: command_line(pid) for pid in left}
    stop(left)
    return found


def describe(found: dict[int, str]) -> str:
    return "\n".join(f"  pid {pid}: {command}" for pid, command in found.items())
