"""File locks (flock) that say who is alive: a process holds the lock while it works, and the kernel drops it the
instant the process dies, however it dies (kill -9 included). Unlike a pid in a file, a lock cannot be mistaken for
an unrelated process that reused the pid after a reboot.

A holder may also write its process id into the lock file (`Lock.record_pid`) so that someone can ask it to stop;
`holder_pid` trusts that id only while the lock is held by a process that has the file open, so a stale id left by
a dead holder, possibly reused by an unrelated process since, is never taken for the holder's.

Holders take an exclusive lock; anyone may ask whether it is held, with a shared probe that never blocks the holder
for longer than the probe and never writes to the store (a read-only store can still be listed).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path


class Lock:
    """An exclusive flock on `path`, held until `release()` or the end of the process."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def acquire(self, blocking: bool = False) -> bool:
        """Take the lock; without `blocking`, return False at once if someone else holds it."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def record_pid(self) -> None:
        """Write this process's id into the held lock's file (truncated first), for `holder_pid` to read."""
        if self._fd is None:
            raise RuntimeError(f"{self.path}: record_pid needs the lock held")
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> Lock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def is_held(path: Path) -> bool:
    """Whether some process holds an exclusive lock on `path` (a missing file is a lock nobody holds)."""
    return _probe(path, fcntl.LOCK_SH)


def holder_pid(path: Path) -> int | None:
    """The id of the process that holds the lock on `path`, as it recorded it (`Lock.record_pid`); None when
    nobody holds the lock, or when the recorded id is not the holder's (left by a dead holder, or a new holder
    has not written its own yet): on Linux the process must have the lock file open."""
    try:
        with open(path, "rb") as file:
            text = file.read(32)
    except FileNotFoundError:
        return None
    try:
        pid = int(text.strip() or b"0")
    except ValueError:
        return None
    if pid <= 0 or not is_held(path):
        return None
    return pid if _has_open(pid, path) else None


def _has_open(pid: int, path: Path) -> bool:
    """Whether process `pid` has the file at `path` open (Linux /proc; elsewhere, and for another user's process,
    whose descriptors we may not read, the lock being held is all we can know)."""
    fds = Path(f"/proc/{pid}/fd")
    try:
        target = os.stat(path)
        entries = list(fds.iterdir())
    except FileNotFoundError:
        return not Path("/proc/self/fd").is_dir()  # no such process, or no /proc at all
    except PermissionError:
        return True
    except OSError:
        return False
    for entry in entries:
        try:
            found = os.stat(entry)
        except OSError:
            continue  # closed meanwhile
        if (found.st_dev, found.st_ino) == (target.st_dev, target.st_ino):
            return True
    return False


def _probe(path: Path, mode: int) -> bool:
    """Whether taking a `mode` lock on `path` would have to wait; the probe itself is dropped at once."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@contextlib.contextmanager
def waiting_for(lock: Lock, give_up: Callable[[], bool], poll_seconds: float = 0.2) -> Iterator[bool]:
    """Hold `lock` for the block, waiting for it; yields False (not held) if `give_up()` turns true first."""
    while not lock.acquire():
        if give_up():
            yield False
            return
        time.sleep(poll_seconds)
    try:
        yield True
    finally:
        lock.release()


@contextlib.contextmanager
def shared(path: Path) -> Iterator[None]:
    """Hold a shared lock on `path` for the block: several processes at once (the workers of one study)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def has_holders(path: Path) -> bool:
    """Whether any process holds a lock of either kind on `path` (probed with an exclusive lock, so two such
    probes at the same instant may each see the other: use it only where a rare false "alive" is harmless)."""
    return _probe(path, fcntl.LOCK_EX)
