"""The Draw page's logic: how its model picker names each model, and when to suggest a thinner pen or a larger
digit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from mnist_core.data.preprocess import THICK_STROKE
from mnist_core.i18n import Translator, translator
from mnist_core.presentation.text import format_percent

# Digits drawn with a loop or a bowl (0, 6, 8, 9; the top of a 4; the bowls of 2, 3 and 5), which a pen too thick
# for the digit's size fills in: a small 5 then reads as 8. A 1 or a 7 is strokes only.
LOOPED_DIGITS = frozenset({0, 2, 3, 4, 5, 6, 8, 9})


def thick_pen_tip(stroke: float, digit: int, sure: bool) -> bool:
    """Whether to suggest a larger digit or a thinner pen: the pen was thick for the digit's size (its strokes were
    thinned to MNIST's width, which cannot reopen a loop that filled in) and the digit can have a loop, as far as
    the network can tell: it reads a looped digit, or it is not sure what it reads."""
    return stroke > THICK_STROKE and (digit in LOOPED_DIGITS or not sure)


# --- the model picker -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelEntry:
    """What the picker needs of a run with a model: plain values, so the label is tested without a store."""

    run_id: str
    name: str
    created_at: str | None  # ISO, as the run store records it
    test_accuracy: float | None
    imported: bool = False


def when(created_at: str | None) -> str:
    """A run's creation time to the minute, as the Runs page's table shows it ("2026-12-07 01:21")."""
    return (created_at or "").replace("T", " ")[:16]


def model_labels(entries: Sequence[ModelEntry], t: Translator | None = None) -> dict[str, str]:
    """Run id -> how the Draw page lists it: its name, when it was trained (or imported) and its test accuracy
    ("fast · trained 2026-12-07 01:21 · 99.33% test accuracy"); the run's id too, only where two runs share a name."""
    t = t or translator()
    names = Counter(entry.name for entry in entries)
    labels = {}
    for entry in entries:
        accuracy = (
            t("{accuracy} test accuracy", accuracy=format_percent(entry.test_accuracy))
            if entry.test_accuracy is not None
            else t("not evaluated")
        )
        made = (
            t("imported {when}", when=when(entry.created_at))
            if entry.imported
            else t("trained {when}", when=when(entry.created_at))
        )
        label = f"{entry.name} · {made} · {accuracy}"
        labels[entry.run_id] = f"{label} · {entry.run_id}" if names[entry.name] > 1 else label
    return labels
