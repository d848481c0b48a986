"""What a study shows: where it stands, one row per trial attempt, the val_loss curves, and CSV (the terminal's table
is mnist_core.presentation.study_table).

Pure functions of the study's attempts (plain data from the adapter), its definition and this machine's run store,
so a study shared by several machines reads the same everywhere: figures, per-epoch val_loss (Optuna's intermediate
values) and host come from the study database; a trial trained into this run store is read from its run, live.
"""

from __future__ import annotations

import contextlib
import csv
import io

from mnist_core.i18n import marked
from mnist_core.networks.config import ConfigError
from mnist_core.networks.metrics import EpochMetrics
from mnist_core.networks.presets import get_preset
from mnist_core.store import RecordError, Run, RunStore, RunStoreError
from mnist_core.study.adapter import Attempt
from mnist_core.study.spec import StudySpec, describe_params
from mnist_core.study.states import StudyState, TrialState

# Optuna's words (as the adapter passes them on) -> ours.
STATES = {
    "waiting": TrialState.QUEUED,
    "running": TrialState.RUNNING,
    "complete": TrialState.COMPLETED,
    "pruned": TrialState.PRUNED,
    "fail": TrialState.FAILED,
}
RESULT_KEYS = (
    "parameters",
    "epochs_completed",
    "best_epoch",
    "train_accuracy",
    "val_accuracy",
    "train_val_gap",
    "test_accuracy",
    "test_loss",
    "train_seconds",
    "status",
)


# --- the attempts of each planned trial ---------------------------------------------------------------------------


def is_interrupted(attempt: Attempt) -> bool:
    """Ended before its last epoch for no fault of its own: stopped, or its worker died (Optuna failed it when its
    heartbeat went silent). A rerun may finish it; an error (`error`) would only repeat."""
    return attempt.state == "fail" and (bool(attempt.attrs.get("interrupted")) or not attempt.attrs.get("error"))


def state_of(attempt: Attempt) -> TrialState:
    return TrialState.INTERRUPTED if is_interrupted(attempt) else STATES[attempt.state]


def is_resolved(attempt: Attempt) -> bool:
    """Finished for good: completed, pruned, or failed for a reason a rerun would repeat."""
    return attempt.state in ("complete", "pruned") or (attempt.state == "fail" and not is_interrupted(attempt))


def by_slot(attempts: list[Attempt]) -> dict[int, list[Attempt]]:
    slots: dict[int, list[Attempt]] = {}
    for attempt in sorted(attempts, key=lambda a: (a.slot, a.number)):
        slots.setdefault(attempt.slot, []).append(attempt)
    return slots


def needing_resume(attempts: list[Attempt]) -> list[Attempt]:
    """The last attempt of each planned trial that was interrupted and is neither queued again nor running."""
    pending = []
    for tries in by_slot(attempts).values():
        if any(is_resolved(a) or a.state in ("waiting", "running") for a in tries):
            continue
        if is_interrupted(tries[-1]):
            pending.append(tries[-1])
    return pending


def progress(attempts: list[Attempt], spec: StudySpec, stop: bool, worker_here: bool) -> dict:
    """Where the study stands, in numbers and one word."""
    slots = by_slot(attempts)
    finished = sum(1 for tries in slots.values() if any(is_resolved(a) for a in tries))
    running = [a for a in attempts if a.state == "running"]
    queued = [a for a in attempts if a.state == "waiting"]
    pending = needing_resume(attempts)
    if finished >= spec.size:
        word = StudyState.FINISHED
    elif running:
        word = StudyState.STOPPING if stop else StudyState.RUNNING
    elif stop:
        word = StudyState.STOPPED
    elif worker_here:
        word = StudyState.WAITING  # for the store's training slot (the Train page's queue) or TensorFlow's start-up
    elif queued:
        word = StudyState.QUEUED  # waiting for a worker to start
    else:
        word = StudyState.INCOMPLETE  # interrupted trials wait for a resume
    current = None
    if running:
        latest = running[-1]  # the newest trial to start
        current = {"trial": latest.slot, "run_id": latest.attrs.get("run_id"), "host": latest.attrs.get("host")}
    return {
        "kind": spec.kind,
        "state": word,
        "planned": spec.size,
        "finished": finished,
        "running": len(running),
        "queued": len(queued),
        "interrupted": len(pending),
        "stop_requested": stop,
        "current": current,
        "hosts": sorted({a.attrs["host"] for a in attempts if a.attrs.get("host")}),
    }


# --- rows ---------------------------------------------------------------------------------------------------------


def shown_attempts(attempts: list[Attempt]) -> list[Attempt]:
    """Every attempt that started, and the queued ones of planned trials that have not started yet."""
    shown = []
    for tries in by_slot(attempts).values():
        started = [a for a in tries if a.state != "waiting"]
        shown += started or tries[:1]
    return shown


def local_run(attempt: Attempt, store: RunStore) -> Run | None:
    """The attempt's run if it was trained into this run store (run ids are unique across machines)."""
    run_id = attempt.attrs.get("run_id")
    if not run_id or attempt.state == "waiting":
        return None
    with contextlib.suppress(RunStoreError, RecordError, OSError):
        return store.get(run_id)
    return None


def result_of(run: Run) -> dict:
    summary = run.summary()
    return {key: summary.get(key) for key in RESULT_KEYS}


def rows(attempts: list[Attempt], spec: StudySpec, store: RunStore, stopped: bool = False) -> list[dict]:
    """The results table: one row per attempt shown, by trial number. In a `stopped` study, a trial that never
    started reads "not run" (a resume queues it again)."""
    requeued = {a.slot for a in attempts if a.state == "waiting"}
    return [_row(a, spec, store, a.slot in requeued, stopped) for a in shown_attempts(attempts)]


def _row(attempt: Attempt, spec: StudySpec, store: RunStore, requeued: bool, stopped: bool = False) -> dict:
    params = attempt.params
    result = dict(attempt.attrs.get("result") or {})
    run = local_run(attempt, store)
    if run is not None and (attempt.state == "running" or not result):
        with contextlib.suppress(OSError, ValueError, ConfigError):
            result = result_of(run)
    config = None
    with contextlib.suppress(ConfigError, KeyError, TypeError):
        config = spec.config_for(params) if params else None
    state = state_of(attempt)
    if stopped and state == TrialState.QUEUED:
        state = TrialState.NOT_RUN
    row = {"trial": attempt.slot, "state": state, "changed": spec.describe(params) if params else ""}
    if spec.kind == "presets":
        row["preset"] = spec.preset_for(params) if params.get("preset") else None
    else:
        row.update(params)
    epochs_run = result.get("epochs_completed")
    if epochs_run is None and attempt.intermediate:
        epochs_run = len(attempt.intermediate)
    val_losses = [value for _, value in sorted(attempt.intermediate.items())]
    best = min(val_losses) if val_losses else None
    row.update(
        {
            "parameters": result.get("parameters"),
            "epochs": config.epochs if config else None,
            "epochs_run": epochs_run,
            "best_epoch": result.get("best_epoch"),
            "train_accuracy": result.get("train_accuracy"),
            "val_accuracy": result.get("val_accuracy"),
            "test_accuracy": result.get("test_accuracy"),
            "train_val_gap": result.get("train_val_gap"),
            "best_val_loss": attempt.value if attempt.value is not None else best,
            "val_loss_per_epoch": val_losses,  # as the trial reported it to Optuna, wherever it ran
            "seconds": result.get("train_seconds"),
            "host": attempt.attrs.get("host") if attempt.state != "waiting" else None,
            "run_id": attempt.attrs.get("run_id") if attempt.state != "waiting" else None,
            "here": run is not None,
            "note": _note(attempt, requeued),
            "why": interruption(attempt) if attempt.state == "fail" and is_interrupted(attempt) else "",
            "requeued": requeued,
            # Fewer epochs or images than its preset (a quick study): not comparable with the post's figures.
            "train_images": config.train_limit if config else None,
            "shortened": bool(params) and config is not None and spec.is_shortened(params),
        }
    )
    if spec.kind == "presets":
        row["post_accuracy"] = get_preset(params["preset"]).reported_accuracy if params.get("preset") else None
    return row


def _note(attempt: Attempt, requeued: bool) -> str:
    if attempt.state != "fail":
        return ""
    if not is_interrupted(attempt):
        return attempt.attrs.get("error") or ""
    return interruption(attempt) + ("; queued again" if requeued else "")


def interruption(attempt: Attempt) -> str:
    """Why an interrupted attempt ended, in English (marked for translation: a page shows t(why))."""
    return attempt.attrs.get("interrupted") or marked(
        "its worker stopped answering (no heartbeat): it died or lost the database"
    )


def curves(attempts: list[Attempt], spec: StudySpec, store: RunStore) -> dict[str, list[EpochMetrics]]:
    """{trial label: per-epoch history} for the overlay chart: the run's history when it is here, else the
    val_loss per epoch the trial reported to Optuna."""
    result = {}
    for attempt in shown_attempts(attempts):
        if attempt.state == "waiting":
            continue
        params = attempt.params
        preset = spec.preset_for(params) if spec.kind == "presets" and params.get("preset") else None
        label = f"#{attempt.slot} " + (preset or describe_params(params))
        if label in result:
            label += f" (attempt {attempt.number + 1})"
        run = local_run(attempt, store)
        history = list(run.history) if run is not None else []
        if not history:
            history = [EpochMetrics(epoch=e, val_loss=v) for e, v in sorted(attempt.intermediate.items())]
        if history:
            result[label] = history
    return result


# --- for people and scripts ---------------------------------------------------------------------------------------


def rows_csv(rows: list[dict]) -> str:
    """The results table as CSV (every column any row has, in first-seen order)."""
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:  # a list (val_loss per epoch) as its numbers, separated by spaces
        writer.writerow(
            {k: " ".join(f"{v:.4f}" for v in value) if isinstance(value, list) else value for k, value in row.items()}
        )
    return buffer.getvalue()
