"""Names people give (a run's, a study's): trimmed of outer spaces, not empty, not too long, one printable line.
One check, so that every name is held to the same rules and explained in the same words."""

from __future__ import annotations

from mnist_core.i18n import Message


def name_problem(name: str | None, max_length: int) -> tuple[str, Message | None]:
    """The name as it will be kept (trimmed), and what is wrong with it (None if nothing is)."""
    name = (name or "").strip()
    if not name:
        return name, Message("cannot be empty")
    if len(name) > max_length:
        return name, Message("has at most {limit} characters (got {length})", limit=max_length, length=len(name))
    if any(not ch.isprintable() for ch in name):
        return name, Message("cannot hold control characters such as new lines")
    return name, None
