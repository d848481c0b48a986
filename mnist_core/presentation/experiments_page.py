"""The Experiments page's pure logic: the form's field labels, a study's estimated time as a sentence, and a row of
the results table as the page shows it (accuracies and gaps written as every page writes them, empty cells for what
a trial has not got)."""

from __future__ import annotations

from collections.abc import Mapping

from mnist_core.i18n import Translator, marked, translator
from mnist_core.presentation.text import format_gap_points, format_percent
from mnist_core.study.estimate import Estimate

# The settings the form offers to vary, by config field, as a person names them (the field's name is the help).
FIELD_LABELS = {
    "filters": marked("Filters per conv block"),
    "epochs": marked("Epochs"),
    "dropout": marked("Dropout rate"),
    "dense_units": marked("Neurons in the hidden layer"),
    "batch_size": marked("Batch size"),
    "learning_rate": marked("Learning rate"),
}


def field_label(name: str, t: Translator | None = None) -> str:
    """A config field as the form and the table name it ("dense_units" -> "Neurons in the hidden layer"); a field
    without a label keeps its name."""
    t = t or translator()
    return t(FIELD_LABELS[name]) if name in FIELD_LABELS else name


def rough_duration(seconds: float, t: Translator | None = None) -> str:
    """A time ahead, as precise as an estimate deserves: "about 40 s", "about 35 min", "about 2 h 10 min"."""
    t = t or translator()
    if seconds < 90:
        return t("about {seconds} s", seconds=max(10, round(seconds / 10) * 10))
    minutes = seconds / 60
    if minutes < 90:
        step = 5 if minutes >= 20 else 1
        return t("about {minutes} min", minutes=max(step, round(minutes / step) * step))
    hours, minutes = divmod(round(minutes / 10) * 10, 60)
    if not minutes:
        return t("about {hours} h", hours=hours)
    return t("about {hours} h {minutes} min", hours=hours, minutes=minutes)


def duration(seconds: float | None, t: Translator | None = None) -> str:
    """A time taken: "45 s", "3 min 05 s", "1 h 02 min"."""
    t = t or translator()
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return t("{seconds} s", seconds=seconds)
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return t("{minutes} min {seconds:02d} s", minutes=minutes, seconds=seconds)
    hours, minutes = divmod(minutes, 60)
    return t("{hours} h {minutes:02d} min", hours=hours, minutes=minutes)


def estimate_text(found: Estimate, t: Translator | None = None) -> str:
    """The estimate beside the Queue button: "about 35 min on this machine"."""
    t = t or translator()
    return t("{time} on this machine", time=rough_duration(found.seconds, t))


def estimate_help(found: Estimate, t: Translator | None = None) -> str:
    """How the estimate was made, for its help."""
    t = t or translator()
    how = t(
        "Each trial's arithmetic (images seen times the network's multiply-adds per image, a training image "
        "counting three times: forward and backward) at the pace of the finished runs in this run store most like "
        "it (in model size and batch size), plus a few seconds per trial."
    )
    if found.from_reference:
        basis = t(
            "No finished run in this run store yet: the pace is the one measured on this project's 2-core "
            "development machine, so the time here may differ."
        )
    else:
        basis = t.ngettext("Based on {n} finished run here.", "Based on {n} finished runs here.", found.runs)
    return f"{how} {basis} " + t("A pruned trial ends sooner; other work on this machine slows every trial.")


def shortened_text(row: Mapping, t: Translator | None = None) -> str:
    """What a shortened trial trained on ("1 epoch, 1,000 images"); empty for a full one."""
    t = t or translator()
    if not row.get("shortened"):
        return ""
    parts = []
    if row.get("epochs"):
        parts.append(t.ngettext("{n} epoch", "{n} epochs", row["epochs"]))
    if row.get("train_images"):
        parts.append(t.ngettext("{n} image", "{n} images", row["train_images"]))
    return ", ".join(parts)


def table_row(row: Mapping, t: Translator | None = None) -> dict:
    """A results row as the page shows it: state and description in the reader's language, accuracies and gaps as
    text in the one format of every page, epochs as "run/planned", a link to the run when it was trained here, and
    an empty cell (not "None") for whatever a trial has not got, such as every figure of one never run."""
    t = t or translator()
    shown = dict(row)
    shown["state"] = t(row["state"])
    shown["changed"] = t(row["changed"]) if row.get("changed") else ""
    for key in ("test_accuracy", "post_accuracy", "val_accuracy"):
        if key in row:
            shown[key] = format_percent(row[key]) if row[key] is not None else ""
    gap = row.get("train_val_gap")
    shown["train_val_gap"] = format_gap_points(gap) if gap is not None else ""
    ran = row.get("epochs_run")
    shown["epochs"] = f"{ran if ran is not None else '-'}/{row['epochs'] or '-'}" if ran is not None else ""
    shown["parameters"] = t.number(row["parameters"]) if row.get("parameters") else ""
    shown["best_epoch"] = str(row["best_epoch"]) if row.get("best_epoch") is not None else ""
    shown["best_val_loss"] = f"{row['best_val_loss']:.4f}" if row.get("best_val_loss") is not None else ""
    shown["seconds"] = duration(row.get("seconds"), t)
    shown["host"] = row.get("host") or ""
    shown["shortened"] = shortened_text(row, t)
    shown["run"] = f"./runs?run={row['run_id']}" if row.get("here") else ""
    return {key: "" if value is None else value for key, value in shown.items()}
