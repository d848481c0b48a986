"""The command line's tables, drawn by Rich: the runs of a store, a run's evaluation. Column widths follow the
content; at a terminal they fit its width, in a pipe or a log they are laid out wide and never cut a run's id.
Headers speak the command line's language; `--json` bypasses these tables altogether.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

from rich import box
from rich.console import Console
from rich.table import Table

from mnist_core.i18n import process_translator
from mnist_core.store.records import DAMAGED, Results, RunState

# Where output is not a terminal (a pipe, a file, a test), lay tables out this wide rather than Rich's 80 columns.
PIPE_WIDTH = 200
PROBLEM_STATES = (DAMAGED, RunState.FAILED, RunState.INTERRUPTED)


def _table(*headers: tuple[str, str]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for header, justify in headers:
        table.add_column(header, justify=justify, no_wrap=True)
    return table


def runs_table(rows: Sequence[Mapping]) -> Table:
    """One row per run (the store's summaries): id, name, status, epochs run / planned, test accuracy; a failed,
    interrupted or damaged run's reason on the line below it."""
    t = process_translator()
    table = _table(
        (t("run id"), "left"),
        (t("name"), "left"),
        (t("status"), "left"),
        (t("epochs"), "right"),
        (t("test acc"), "right"),
    )
    for row in rows:
        accuracy = f"{row['test_accuracy']:.4f}" if row.get("test_accuracy") is not None else "-"
        epochs = f"{row['epochs_completed']}/{row['epochs']}" if row.get("epochs") is not None else "-"
        table.add_row(row["run_id"], row["name"], row["status"], epochs, accuracy)
        if row["status"] in PROBLEM_STATES and row.get("error"):
            table.add_row("", f"({row['error']})", "", "", "", style="dim")
    return table


def confusion_table(results: Results) -> Table:
    """Rows: the true digit; columns: the digit predicted."""
    t = process_translator()
    table = _table(
        (t("true \\ predicted"), "right"), *((str(d), "right") for d in range(len(results.confusion_matrix)))
    )
    for digit, row in enumerate(results.confusion_matrix):
        table.add_row(str(digit), *(str(n) for n in row))
    return table


def per_class_table(results: Results) -> Table:
    t = process_translator()
    table = _table((t("digit"), "right"), (t("precision"), "right"), (t("recall"), "right"), ("F1", "right"))
    for row in results.per_class:
        table.add_row(str(row.digit), f"{row.precision:.4f}", f"{row.recall:.4f}", f"{row.f1:.4f}")
    return table


def print_table(table: Table, stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    width = None if stream.isatty() else PIPE_WIDTH
    Console(file=stream, width=width, highlight=False, soft_wrap=False).print(table)
