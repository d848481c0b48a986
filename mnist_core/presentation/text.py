"""Text and numbers as people read them: user text made safe for Streamlit's markdown, durations, and one way to
write an accuracy and a gap on every page and in the terminal:

    format_percent(0.99214)      -> "99.21%"     (an accuracy: a fraction as a percentage, PERCENT_DECIMALS decimals)
    format_gap_points(-0.19642)  -> "-19.64 pp"  (a difference of accuracies in percentage points, signed)

"pp" (percentage points) reads the same in every language; pages explain it in their help.
"""

from __future__ import annotations

import re

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


# One way to write an accuracy and a gap, with one number of decimals, on every page and in the command line.
PERCENT_DECIMALS = 2


def format_percent(fraction: float | None) -> str:
    """An accuracy as people read it: a percentage with two decimals (0.99214 -> "99.21%"); "-" when missing."""
    return "-" if fraction is None else f"{100.0 * fraction:.{PERCENT_DECIMALS}f}%"


def format_gap_points(fraction: float | None) -> str:
    """A difference of two accuracies (train minus validation) in percentage points, signed, two decimals
    (-0.0031 -> "-0.31 pp"); "-" when missing."""
    return "-" if fraction is None else f"{100.0 * fraction:+.{PERCENT_DECIMALS}f} pp"
