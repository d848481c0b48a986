"""Text and numbers as people read them: user text made safe for Streamlit's markdown, durations, and one way to
write an accuracy and a gap on every page and in the terminal:

    format_accuracy(0.99214)   -> "99.21%"     (a fraction as a percentage, ACCURACY_DIGITS decimals)
    format_gap(-0.19642)       -> "-19.64 pp"  (a difference of accuracies in percentage points, signed)
    ACCURACY_COLUMN_FORMAT, GAP_COLUMN_FORMAT: the same, for a Streamlit NumberColumn over `percent()` values

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


ACCURACY_DIGITS = 2  # 99.21%: the post's own precision ("准确率为99.21%")
GAP_DIGITS = 2
ACCURACY_COLUMN_FORMAT = f"%.{ACCURACY_DIGITS}f%%"  # for NumberColumn(format=...) over percent(fraction)
GAP_COLUMN_FORMAT = f"%+.{GAP_DIGITS}f pp"


def format_accuracy(fraction: float | None, missing: str = "") -> str:
    """An accuracy (a fraction, 0.99214) as people read it: "99.21%"; `missing` for None."""
    return missing if fraction is None else f"{100 * fraction:.{ACCURACY_DIGITS}f}%"


def format_gap(fraction: float | None, missing: str = "") -> str:
    """A difference of two accuracies (train minus val, as a fraction: -0.19642) in percentage points, signed:
    "-19.64 pp"; `missing` for None. Not "-26%": a relative change would read as a different number."""
    return missing if fraction is None else f"{100 * fraction:+.{GAP_DIGITS}f} pp"
