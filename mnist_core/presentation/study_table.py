"""A study's results as a plain-text table for the terminal (`python -m mnist_core study show NAME`), in the command
line's language, with accuracies and gaps written as every page writes them (presentation.text)."""

from __future__ import annotations

import unicodedata

from mnist_core.i18n import Translator, process_translator
from mnist_core.presentation.text import format_gap_points, format_percent


def format_table(rows: list[dict], t: Translator | None = None) -> str:
    """A plain-text table for the terminal, in the translator's language (the process's: the command line's), with
    the accuracies and gaps written as every page writes them (presentation.text)."""
    t = t or process_translator()
    if not rows:
        return t("no trials yet")
    has_post = any("post_accuracy" in row for row in rows)
    columns = [
        (t("trial"), 5, ">"),
        (t("state"), 11, "<"),
        (t("changed"), 40, "<"),
        (t("params"), 9, ">"),
        (t("epochs"), 6, ">"),
        (t("best"), 4, ">"),
        (t("train"), 7, ">"),
        (t("val"), 7, ">"),
        (t("test"), 7, ">"),
        *([(t("post"), 7, ">")] if has_post else []),
        (t("gap"), 9, ">"),
        ("val_loss", 8, ">"),
        (t("time"), 7, ">"),
        (t("host"), 0, "<"),
    ]
    lines = [_line([name for name, _, _ in columns], columns)]
    for row in rows:
        epochs = f"{row['epochs_run'] if row['epochs_run'] is not None else '-'}/{row['epochs'] or '-'}"
        cells = [
            str(row["trial"]),
            t(row["state"]),
            _clip(t(row["changed"]) if row["changed"] else "", 40),
            _fmt(row["parameters"], ",d"),
            epochs,
            _fmt(row["best_epoch"], "d"),
            format_percent(row["train_accuracy"]),
            format_percent(row["val_accuracy"]),
            format_percent(row["test_accuracy"]),
            *([format_percent(row.get("post_accuracy"))] if has_post else []),
            format_gap_points(row["train_val_gap"]),
            _fmt(row["best_val_loss"], ".4f"),
            _fmt(row["seconds"], ".0f") + ("s" if row["seconds"] is not None else ""),
            row["host"] or "-",
        ]
        lines.append(_line(cells, columns))
    if any(row.get("shortened") for row in rows) and has_post:
        lines.append(
            t("Shortened trials (fewer epochs or images than their preset) are not comparable with the post's figures.")
        )
    return "\n".join(lines)


def _width(text: str) -> int:
    """Columns a terminal gives the text: two for a wide (Chinese) character."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _clip(text: str, width: int) -> str:
    while _width(text) > width:
        text = text[:-1]
    return text


def _line(cells: list[str], columns: list[tuple[str, int, str]]) -> str:
    parts = []
    for cell, (_, width, align) in zip(cells, columns, strict=True):
        pad = " " * max(width - _width(cell), 0)
        parts.append(pad + cell if align == ">" else cell + pad)
    return " ".join(parts).rstrip()


def _fmt(value, spec: str) -> str:
    if value is None:
        return "-"
    try:
        return format(value, spec)
    except (TypeError, ValueError):
        return str(value)
