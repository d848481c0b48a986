"""The Experiments page: the seed's hyperparameter study (or a grid, or a search) in one click, and one table.

A study never trains in this script: Queue creates it in the Optuna storage and starts a study worker process
(`python -m mnist_core study run`), which trains its trials one at a time through the same run store and the
same lock as the Train page's queue. A fragment reads the study every two seconds while it is active.
"""

from datetime import datetime

import streamlit as st

from mnist_core import charts
from mnist_core.dashboard import ALL_TRAINING_IMAGES, format_duration, live_progress
from mnist_core.dashboard import markdown_text as md
from mnist_core.presets import PRESETS, STUDY
from mnist_core.store import RecordError, RunStoreError
from mnist_core.study import Studies, StudyError, rows_csv, spec_from_form
from mnist_core.study.charts import accuracy_vs_parameters_figure, search_figures, val_loss_figure
from pages.shared import init_state, store

KINDS = {"presets": "The seed's study", "grid": "A grid", "search": "A search"}
# The settings the form offers to vary, with an example of what to type (any config field works on the CLI).
GRID_FIELDS = {
    "filters": "16/36, 32/64, 64/128",
    "epochs": "10, 20",
    "dropout": "0.25, 0.5",
    "dense_units": "64, 128",
    "batch_size": "128, 256",
    "learning_rate": "0.001, 0.003",
}
SEARCH_FIELDS = {
    "filters": "16/36, 32/64, 64/128",
    "epochs": "5:20",
    "dropout": "0.1:0.5",
    "dense_units": "32:512:log",
    "batch_size": "64, 128, 256",
    "learning_rate": "1e-4:1e-2:log",
}
TRAIN_LIMITS = (1000, 2000, 5000, 10000, 30000, ALL_TRAINING_IMAGES)
POLL_SECONDS = 2.0
ACTIVE = ("queued", "running", "stopping", "waiting")
COLUMNS = {
    "trial": st.column_config.NumberColumn("Trial", width="small"),
    "state": "State",
    "changed": st.column_config.TextColumn("What changed", width="large"),
    "preset": "Preset",
    "parameters": st.column_config.NumberColumn("Parameters", format="localized"),
    "epochs": st.column_config.NumberColumn("Epochs planned"),
    "epochs_run": st.column_config.NumberColumn("Epochs run"),
    "best_epoch": st.column_config.NumberColumn("Best epoch", help="The epoch with the lowest val_loss"),
    "train_accuracy": st.column_config.NumberColumn("Train acc.", format="percent"),
    "val_accuracy": st.column_config.NumberColumn("Val acc.", format="percent"),
    "test_accuracy": st.column_config.NumberColumn("Test acc.", format="percent"),
    "post_accuracy": st.column_config.NumberColumn("Post's test acc.", format="percent"),
    "train_val_gap": st.column_config.NumberColumn(
        "Train − val", format="percent", help="Above zero and growing: overfitting"
    ),
    "best_val_loss": st.column_config.NumberColumn("Best val_loss", format="%.4f"),
    "seconds": st.column_config.NumberColumn("Seconds", format="%.0f"),
    "run_id": "Run",
    "note": "Note",
}

if st.session_state.pop("exp.fresh_name", False):
    st.session_state.pop("exp.name", None)  # the last name was taken by the study just queued
init_state(
    {
        "exp.kind": "presets",
        "exp.presets": list(STUDY),
        "exp.base": "seed",
        "exp.trials": 10,
        "exp.grid.prune": False,
        "exp.search.prune": True,
        "exp.epochs": 0,
        "exp.limit": ALL_TRAINING_IMAGES,
        "exp.name": f"study-{datetime.now():%m%d-%H%M%S}",
    }
)


def lab() -> Studies:
    return Studies(store())


def definition_ui() -> dict:
    """Draw the study form; return its values for `spec_from_form`."""
    kind = st.radio("What to vary", list(KINDS), format_func=KINDS.get, horizontal=True, key="exp.kind")
    values = {"kind": kind}
    if kind == "presets":
        values["presets"] = st.multiselect(
            "Runs",
            list(PRESETS),
            key="exp.presets",
            help="The seed post's seven runs; add this project's presets if you like.",
        )
        st.dataframe(
            [
                {"run": n, "change": PRESETS[n].description, "post": PRESETS[n].reported_accuracy}
                for n in values["presets"]
            ],
            hide_index=True,
            key="exp.presets_table",
            column_config={"post": st.column_config.NumberColumn("Post's test acc.", format="percent")},
        )
    else:
        values["base"] = st.selectbox(
            "Start from", list(PRESETS), key="exp.base", help="Settings not varied keep this preset's values."
        )
        examples = GRID_FIELDS if kind == "grid" else SEARCH_FIELDS
        hint = "values, separated by commas" if kind == "grid" else "LOW:HIGH (add :log), or choices a, b"
        st.caption(f"Fill the settings to vary ({hint}); leave the rest blank.")
        columns = st.columns(3)
        texts = {}
        for i, (name, example) in enumerate(examples.items()):
            texts[name] = columns[i % 3].text_input(name, key=f"exp.{kind}.{name}", placeholder=example)
        values[kind] = texts
        if kind == "search":
            values["n_trials"] = st.number_input("Trials", 1, 500, key="exp.trials")
        values["prune"] = st.toggle("Prune hopeless trials (val_loss above the median)", key=f"exp.{kind}.prune")
    left, right = st.columns(2)
    values["epochs"] = left.number_input("Epochs for every trial (0 = as defined)", 0, 500, key="exp.epochs")
    values["train_limit"] = right.select_slider(
        "Training images (small data for quick studies)",
        TRAIN_LIMITS,
        key="exp.limit",
        format_func=lambda n: f"all {n:,}" if n == ALL_TRAINING_IMAGES else f"first {n:,}",
    )
    if values["train_limit"] == ALL_TRAINING_IMAGES:
        values["train_limit"] = None
    return values


def queue_ui() -> None:
    values = definition_ui()
    name = st.text_input("Study name", key="exp.name", max_chars=60)
    try:
        spec = spec_from_form(**values)
    except StudyError as error:
        st.error(md(error), icon=":material/error:")
        spec = None
    else:
        st.caption(f"{spec.size} trial(s), one at a time on this server.")
    if st.button("Queue study", type="primary", key="exp.queue", disabled=spec is None, icon=":material/play_arrow:"):
        try:
            lab().create(name, spec)
        except StudyError as error:
            st.error(md(error), icon=":material/error:")
            return
        lab().launch_worker(name)
        st.session_state["exp.show"] = name  # the study picker shows it after the rerun
        st.session_state["exp.fresh_name"] = True
        st.rerun()


def pick_study() -> str | None:
    studies = lab()
    names = studies.names()
    if not names:
        return None
    if st.session_state.get("exp.show") in names:
        st.session_state["exp.study"] = st.session_state.pop("exp.show")
    if st.session_state.get("exp.study") not in names:
        st.session_state["exp.study"] = max(names, key=lambda n: studies.progress(n)["created_at"] or "")
    return st.selectbox("Study", names, key="exp.study")


def status_ui(name: str, progress: dict) -> None:
    word = progress["state"]
    st.progress(
        progress["finished"] / max(progress["planned"], 1),
        text=f"{word}: {progress['finished']} of {progress['planned']} trials finished",
    )
    if word == "queued" and not progress["worker_alive"]:
        st.caption("Waiting for its worker to start (Queue starts one; `python -m mnist_core study run` starts more).")
    if word == "waiting":
        st.caption("Waiting for the server's one training slot (a run from the Train page) or for TensorFlow to load.")
    if progress["interrupted"]:
        st.caption(f"{progress['interrupted']} trial(s) interrupted: Resume trains them again.")
    if word in ("queued", "running", "waiting") and st.button("Stop study", key="exp.stop", icon=":material/stop:"):
        lab().request_stop(name)
        st.toast("Stopping after the current batch: finished trials are kept.")
    if word in ("stopped", "incomplete") and st.button("Resume", key="exp.resume", icon=":material/play_arrow:"):
        lab().prepare_resume(name)
        lab().launch_worker(name)
        st.rerun()


def current_trial_ui(progress: dict) -> None:
    current = progress.get("current")
    if not current or not current.get("run_id"):
        return
    runs = store()
    try:
        run = runs.get(current["run_id"])
        live = runs.progress(run.id)
    except (RunStoreError, RecordError):
        return  # a trial trained on another machine has no run here (or its run is damaged: the Runs page says)
    st.markdown(f"**Trial {current['trial']}: {md(run.name)}**")
    if live.points:
        st.caption(live_progress(live, run.history, run.config.epochs).label)
    loss, accuracy = st.columns(2)
    epochs = run.config.epochs
    loss.plotly_chart(charts.curve_figure("loss", run.history, live.points, epochs), key="exp.live.loss")
    accuracy.plotly_chart(charts.curve_figure("accuracy", run.history, live.points, epochs), key="exp.live.accuracy")


def results_ui(name: str, progress: dict) -> None:
    studies = lab()
    rows = studies.rows(name)
    if not rows:
        st.info("No trial has started yet.")
        return
    # The numbers to compare first (the table is wider than the page); the long description last.
    varied = [key for key in rows[0] if key not in COLUMNS]
    order = [
        "trial",
        "state",
        "preset",
        *varied,
        "test_accuracy",
        "post_accuracy",
        "train_accuracy",
        "val_accuracy",
        "train_val_gap",
        "best_epoch",
        "epochs_run",
        "epochs",
        "parameters",
        "best_val_loss",
        "seconds",
        "changed",
        "note",
        "run_id",
    ]
    st.dataframe(
        rows,
        hide_index=True,
        key="exp.table",
        column_config=COLUMNS,
        column_order=[key for key in order if key in rows[0]],
    )
    finished = [r for r in rows if r["state"] in ("completed", "pruned")]
    st.download_button(
        "Download CSV",
        rows_csv(rows),
        file_name=f"{name}.csv",
        mime="text/csv",
        key="exp.csv",
        icon=":material/download:",
    )
    if finished:
        seconds = sum(r["seconds"] or 0 for r in finished)
        st.caption(
            f"{len(finished)} trial(s) trained in {format_duration(seconds)}. Every trial is also a run on the "
            "Runs page."
        )
    left, right = st.columns(2)
    left.plotly_chart(val_loss_figure(studies.curves(name)), key="exp.chart.loss")
    right.plotly_chart(accuracy_vs_parameters_figure(rows), key="exp.chart.params")
    if progress["kind"] == "search":
        figures = search_figures(studies.figures(name))
        if not figures:
            st.caption("Importance and parallel coordinates appear once two trials have completed.")
        left, right = st.columns(2)
        if "importance" in figures:
            left.plotly_chart(figures["importance"], key="exp.chart.importance")
        if "parallel" in figures:
            right.plotly_chart(figures["parallel"], key="exp.chart.parallel")


def study_panel(name: str, polling: bool) -> None:
    progress = lab().progress(name)
    status_ui(name, progress)
    current_trial_ui(progress)
    results_ui(name, progress)
    if polling and progress["state"] not in ACTIVE:
        st.rerun()  # the study ended: redraw the page once, without the polling


st.title("Experiments")
st.caption(
    "Repeat the seed's hyperparameter study, or build your own grid or search. Trials train one at a time "
    "in the background; each becomes a run. Choose by val_loss, as the post learned to: watch the loss."
)
current = pick_study()
with st.expander("New study", expanded=current is None, icon=":material/science:"):
    queue_ui()
if current is None:
    st.info("No studies yet. Open **New study**, keep the seed's seven runs and press **Queue study**.")
else:
    active = lab().progress(current)["state"] in ACTIVE
    st.fragment(study_panel, run_every=POLL_SECONDS if active else None)(current, polling=active)
