"""Sentences for a person, kept as an English message id and its arguments until the reader's language is known.

The engine does not know who reads its messages: the dashboard serves readers of several languages at once, and
the command line's `--json` stays English. So a message that reaches a person (a config field out of range, a
damaged run's reason) is a `Message`: `str()` gives the English sentence (logs, `--json`, tracebacks), and a page
renders it with its reader's translator (`Translator.message`). What a library underneath wrote (msgspec's, Keras'
own error text) goes in as an argument, verbatim, inside a sentence of ours.

Message ids are extracted by Babel (`Message` is one of its keywords, see pyproject.toml): write the id as a
literal, with `{name}` placeholders filled from the keyword arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class Translates(Protocol):
    def gettext(self, message: str, /) -> str: ...


class Message:
    """An English sentence with `{name}` placeholders (the gettext msgid) and the values to fill them with.

    An argument may itself be a Message (translated with the same translator); any other value is formatted as
    it is, so format specs in the id (`{value:g}`) apply to it.
    """

    __slots__ = ("args", "msgid")

    def __init__(self, msgid: str, /, **args):
        self.msgid = msgid
        self.args: Mapping[str, object] = args

    def render(self, translator: Translates | None = None) -> str:
        """The sentence in the translator's language (English without one)."""
        template = translator.gettext(self.msgid) if translator is not None else self.msgid
        if not self.args:
            return template
        values = {k: v.render(translator) if isinstance(v, Message) else v for k, v in self.args.items()}
        return template.format(**values)

    def __str__(self) -> str:
        return self.render()

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.args.items())
        return f"Message({self.msgid!r}{args})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Message) and (self.msgid, dict(self.args)) == (other.msgid, dict(other.args))

    def __hash__(self) -> int:
        return hash(self.msgid)


_VERBATIM = "{text}"  # not a literal in the call below, so Babel does not extract it as a message id


def as_message(text: str | Message) -> Message:
    """A Message as it is; a plain string (text not converted yet, or a library's) as a message of its own, which
    no catalog translates."""
    return text if isinstance(text, Message) else Message(_VERBATIM, text=text)


class TranslatableError(Exception):
    """An error whose explanation for a person is a Message: `str(error)` is the English sentence (the command
    line's `--json`, logs), `Translator.message(error)` the reader's; `.explanation.msgid` and `.explanation.args`
    are the id and its arguments."""

    def __init__(self, explanation: Message):
        super().__init__(str(explanation))
        self.explanation = explanation
