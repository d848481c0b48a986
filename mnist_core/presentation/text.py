"""Text and numbers as people read them: user text made safe for Streamlit's markdown, durations, percentages."""

from __future__ import annotations

import re

from mnist_core.i18n import marked

# --- user text in markdown -----------------------------------------------------------------------------------
# Every ASCII punctuation character, which CommonMark lets a backslash make literal: no image, link, emphasis, code,
# HTML, LaTeX, colour directive or emoji shortcode can form from what a user typed.
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# What escaping cannot stop, because Streamlit finds it in the text after escapes are read: bare URLs and e-mail
# addresses turned into links, ":streamlit:" into a logo. An invisible word joiner breaks each pattern without
# changing what the reader sees. (Streamlit also draws " -> " as an arrow: typography, left as it is.)
_AFTER_ESCAPES = re.compile(r"(?<=:)(?=//|streamlit:)|(?<=@)|(?<=www)(?=\.)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def markdown_text(text: object) -> str:
    """User text (a run or study name, a file name, an error about either) for a Streamlit markdown string: shown
    exactly as typed, never as formatting, and never fetching anything."""
    text = " ".join(str(text).splitlines())
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", _AFTER_ESCAPES.sub(WORD_JOINER, text))


# --- numbers as people read them ----------------------------------------------------------------------------
def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def percent(fraction: float | None) -> float | None:
    return None if fraction is None else 100.0 * fraction


# --- words for a person ---------------------------------------------------------------------------------------
# A run's state as a reader reads it (translated where it is shown): the records keep the English words.
RUN_STATES = {
    "queued": marked("queued"),
    "running": marked("running"),
    "completed": marked("completed"),
    "stopped": marked("stopped"),
    "failed": marked("failed"),
    "interrupted": marked("interrupted"),
    "damaged": marked("damaged"),
}
