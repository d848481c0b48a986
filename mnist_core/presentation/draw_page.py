"""The Draw page's logic: when to suggest a thinner pen or a larger digit."""

from __future__ import annotations

from mnist_core.data.preprocess import THICK_STROKE

# Digits drawn with a loop or a bowl (0, 6, 8, 9; the top of a 4; the bowls of 2, 3 and 5), which a pen too thick
# for the digit's size fills in: a small 5 then reads as 8. A 1 or a 7 is strokes only.
LOOPED_DIGITS = frozenset({0, 2, 3, 4, 5, 6, 8, 9})


def thick_pen_tip(stroke: float, digit: int, sure: bool) -> bool:
    """Whether to suggest a larger digit or a thinner pen: the pen was thick for the digit's size (its strokes were
    thinned to MNIST's width, which cannot reopen a loop that filled in) and the digit can have a loop, as far as
    the network can tell: it reads a looped digit, or it is not sure what it reads."""
    return stroke > THICK_STROKE and (digit in LOOPED_DIGITS or not sure)
