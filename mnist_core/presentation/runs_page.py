"""The Runs page's logic: one table row per run, names that tell same-named runs apart, per-class rows, and the
metrics a user downloads as CSV files in a zip."""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence

from mnist_core.i18n import Translator, translator
from mnist_core.networks.metrics import EpochMetrics
from mnist_core.presentation.text import percent
from mnist_core.store.records import DAMAGED, Results, RunState

# --- the runs table -----------------------------------------------------------------------------------------
PROBLEM_STATES = (RunState.FAILED, RunState.INTERRUPTED)  # runs whose recorded error the table shows


def state_name(state: str | None, t: Translator | None = None) -> str:
    """A run's state as a reader calls it ("completed", "已完成"); "damaged" for a run whose files fail their check."""
    t = t or translator()
    names = {
        RunState.QUEUED: t.pgettext("run state", "queued"),
        RunState.RUNNING: t.pgettext("run state", "running"),
        RunState.COMPLETED: t.pgettext("run state", "completed"),
        RunState.STOPPED: t.pgettext("run state", "stopped"),
        RunState.FAILED: t.pgettext("run state", "failed"),
        RunState.INTERRUPTED: t.pgettext("run state", "interrupted"),
        DAMAGED: t.pgettext("run state", "damaged"),
    }
    return names.get(state, state or "")


def table_rows(summaries: Sequence[Mapping], t: Translator | None = None) -> list[dict]:
    """One row per run for the Runs page's table. Numbers stay numbers so the table sorts them as numbers:
    accuracies in percent (99.21), the train - val gap in percentage points, epochs as counts (those run, and
    those planned in their own column). Missing values are None, shown blank. `status` is the state in the
    reader's words, `state` the state itself."""
    t = t or translator()
    rows = []
    for s in summaries:
        damaged = s.get("status") == DAMAGED
        imported = s.get("kind") == "imported"  # a model file trained elsewhere: no preset, no epochs known
        rows.append(
            {
                "name": s.get("name") or s.get("run_id"),
                "preset": s.get("preset")
                or (
                    None
                    if damaged
                    else t.pgettext("preset", "imported")
                    if imported
                    else t.pgettext("preset", "custom")
                ),
                "status": state_name(s.get("status"), t),
                "state": s.get("status"),
                "parameters": s.get("parameters"),
                "epochs_run": None if damaged or imported else s.get("epochs_completed"),
                "epochs_planned": None if imported else s.get("epochs"),
                "best_val_accuracy_percent": percent(s.get("best_val_accuracy")),
                "test_accuracy_percent": percent(s.get("test_accuracy")),
                "train_val_gap_points": percent(s.get("train_val_gap")),
                "duration": s.get("train_seconds"),
                "created": (s.get("created_at") or "").replace("T", " ")[:16] or None,
                "run_id": s.get("run_id"),
                "problem": s.get("error")
                if damaged or s.get("status") in (RunState.FAILED, RunState.INTERRUPTED)
                else None,
            }
        )
    return rows


def distinct_names(summaries: Sequence[Mapping]) -> dict[str, str]:
    """Run id -> the name to list it by: its own name, followed by the time it was created when another run listed
    has the same name ("post (14:02:31)"), and by its id's last characters if even that is shared."""
    counts = Counter(s.get("name") for s in summaries)
    names = {}
    for s in summaries:
        name = s.get("name") or s["run_id"]
        if counts[s.get("name")] > 1:
            name += f" ({(s.get('created_at') or '')[11:19] or s['run_id']})"
        names[s["run_id"]] = name
    again = Counter(names.values())
    return {run_id: f"{name} {run_id[-4:]}" if again[name] > 1 else name for run_id, name in names.items()}


def per_class_rows(results: Results) -> list[dict]:
    """The per-class metrics table: precision, recall and F1 in percent (one format for all: 99.70, not 99.7)."""
    return [
        {
            "digit": row.digit,
            "test_images": row.support,
            "precision_percent": percent(row.precision),
            "recall_percent": percent(row.recall),
            "f1_percent": percent(row.f1),
        }
        for row in results.per_class
    ]


# --- downloads ----------------------------------------------------------------------------------------------
HISTORY_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds")
TEST_COLUMNS = ("test_accuracy", "test_loss", "test_images", "parameters", "best_epoch")
PER_CLASS_COLUMNS = ("digit", "precision", "recall", "f1", "support")


def metrics_zip(history: Sequence[EpochMetrics], results: Results | None = None) -> bytes:
    """A run's metrics as a zip of CSV files, one table each, so each opens as it is in a spreadsheet or pandas:
    epochs.csv (per-epoch metrics), and for an evaluated run test.csv (one row) and per_class.csv (ten rows)."""
    tables = {"epochs.csv": _csv(HISTORY_COLUMNS, history)}
    if results is not None:
        tables["test.csv"] = _csv(TEST_COLUMNS, [results])
        tables["per_class.csv"] = _csv(PER_CLASS_COLUMNS, results.per_class)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in tables.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _csv(columns: Sequence[str], records: Sequence) -> str:
    """One CSV table: a header, then a row per record (a missing value is an empty cell)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow(["" if getattr(record, c) is None else getattr(record, c) for c in columns])
    return out.getvalue()
