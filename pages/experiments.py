"""The Experiments page: the seed's hyperparameter study (or a grid, or a search) in one click, and one table.

A study never trains in this script: Queue creates it in the study database and starts a study worker process
(`python -m mnist_core study run`), which trains its trials one at a time through the same run store and the
same lock as the Train page's queue. A fragment reads the study every two seconds while it is active. With
$MNIST_LAB_STUDIES naming a shared database (PostgreSQL), the table shows every trial of the study, whichever
machine trained it; a trial trained here links to its run.
"""

from datetime import datetime

import streamlit as st

from mnist_core.networks.presets import DEFAULT_PRESET, PRESETS, STUDY
from mnist_core.presentation import charts
from mnist_core.presentation.study_charts import accuracy_vs_parameters_figure, search_figures, val_loss_figure
from mnist_core.presentation.text import format_duration
from mnist_core.presentation.text import markdown_text as md
from mnist_core.presentation.train_page import ALL_TRAINING_IMAGES, live_progress
from mnist_core.store import RecordError, RunStoreError
from mnist_core.study import Studies, StudyError, default_storage, rows_csv, spec_from_form
from mnist_core.study.states import ACTIVE_STUDY_STATES, FINISHED_TRIAL_STATES, StudyState
from pages.shared import init_state, store

KINDS = {"presets": "The seed's study", "grid": "A grid", "search": "A search"}
# The settings the form offers to vary, with an example of what to type (any config field works on the CLI).
GRID_FIELDS = {
    "filters": "e.g. 16/36, 32/64",
    "epochs": "e.g. 10, 20",
    "dropout": "e.g. 0.25, 0.5",
    "dense_units": "e.g. 64, 128",
    "batch_size": "e.g. 128, 256",
    "learning_rate": "e.g. 0.001, 0.003",
}
SEARCH_FIELDS = {
    "filters": "e.g. 16/36, 32/64",
    "epochs": "e.g. 5:20",
    "dropout": "e.g. 0.1:0.5",
    "dense_units": "e.g. 32:512:log",
    "batch_size": "e.g. 64, 128, 256",
    "learning_rate": "e.g. 1e-4:1e-2:log",
}
TRAIN_LIMITS = (1000, 2000, 5000, 10000, 30000, ALL_TRAINING_IMAGES)
POLL_SECONDS = 2.0
# Narrow columns, so that the table fits the page (1,400 px wide with the sidebar) for a grid over two settings; every
# column, the descriptions and notes included, is in the CSV.
COLUMNS = {
    "trial": st.column_config.NumberColumn("Trial", width=45, help="Numbered from 1 in the order they were planned"),
    "state": st.column_config.TextColumn("State", width=80),
    "preset": st.column_config.TextColumn("Preset", width=80),
    "test_accuracy": st.column_config.NumberColumn("Test", format="percent", width=62, help="Test accuracy"),
    "post_accuracy": st.column_config.NumberColumn("Post", format="percent", width=62, help="The post's test accuracy"),
    "val_accuracy": st.column_config.NumberColumn("Val", format="percent", width=62, help="Validation accuracy"),
    "train_val_gap": st.column_config.NumberColumn(
        "Gap", format="percent", width=62, help="Train minus val accuracy: above zero and growing means overfitting"
    ),
    "best_epoch": st.column_config.NumberColumn("Best", width=45, help="The epoch with the lowest val_loss"),
    "epochs": st.column_config.TextColumn("Epochs", width=55, help="Run of planned"),
    "parameters": st.column_config.NumberColumn("Params", format="localized", width=75),
    "best_val_loss": st.column_config.NumberColumn("val_loss", format="%.4f", width=62, help="The lowest val_loss"),
    "seconds": st.column_config.NumberColumn("Time", format="%.0f s", width=50, help="Training time"),
    "host": st.column_config.TextColumn("Host", width=80, help="The machine that trained it"),
    "run": st.column_config.LinkColumn(
        "Run", display_text="open", width=45, help="Trained on this machine: open its run on the Runs page"
    ),
}
NOT_SHOWN = (
    "changed",
    "train_accuracy",
    "epochs_run",
    "run_id",
    "here",
    "note",
    "val_loss_per_epoch",
)  # in the CSV and the notes
# Kept while their widgets are not drawn (Streamlit forgets a widget's value when it is not drawn in a run): the
# preset list and the grid's or search's fields survive a switch of the study kind and back.
KEPT = ("exp.presets", "exp.base", "exp.trials", "exp.grid.prune", "exp.search.prune") + tuple(
    f"exp.{kind}.{name}" for kind, fields in (("grid", GRID_FIELDS), ("search", SEARCH_FIELDS)) for name in fields
)

if st.session_state.pop("exp.fresh_name", False):
    st.session_state.pop("exp.name", None)  # the last name was taken by the study just queued
init_state(
    {
        "exp.kind": "presets",
        "exp.presets": list(STUDY),
        "exp.base": DEFAULT_PRESET,
        "exp.trials": 10,
        "exp.grid.prune": False,
        "exp.search.prune": True,
        "exp.epochs": 0,
        "exp.limit": ALL_TRAINING_IMAGES,
        "exp.name": f"study-{datetime.now():%m%d-%H%M%S}",
    }
)
for key in KEPT:
    if key in st.session_state:
        st.session_state[key] = st.session_state[key]


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
        st.caption(f"Type values for the settings to vary ({hint}); leave the rest blank.")
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
    kind = values["kind"]
    spec = None
    if kind != "presets" and not any(text.strip() for text in values[kind].values()):
        # Nothing typed yet: say what to do, not what is wrong.
        st.info("Type the values of at least one setting above to see how many trials it makes.")
    else:
        try:
            spec = spec_from_form(**values)
        except StudyError as error:
            st.error(md(error), icon=":material/error:")
        else:
            st.caption(f"{spec.size} trial(s), one at a time on this machine (workers elsewhere may share it).")
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
    if word == StudyState.QUEUED and not progress["worker_alive"]:
        st.caption("Waiting for a worker: start one here, or `python -m mnist_core study run` on any machine.")
    if word == StudyState.WAITING:
        st.caption("Waiting for this machine's one training slot (a run from the Train page) or for TensorFlow.")
    if progress["interrupted"]:
        st.caption(f"{progress['interrupted']} trial(s) interrupted: Resume trains them again.")
    if word in (StudyState.QUEUED, StudyState.RUNNING, StudyState.WAITING) and st.button(
        "Stop study", key="exp.stop", icon=":material/stop:"
    ):
        lab().request_stop(name)
        st.toast("Stopping after the current batch: finished trials are kept.")
    if word in (StudyState.STOPPED, StudyState.INCOMPLETE) and st.button(
        "Resume", key="exp.resume", icon=":material/play_arrow:"
    ):
        lab().prepare_resume(name)
        lab().launch_worker(name)
        st.rerun()
    # Queued with no worker here (a worker was killed; or the study was created on the command line), or running on
    # other machines: this machine may take trials too.
    join = "Start a worker here" if word == StudyState.QUEUED else "Train here too"
    joinable = word in (StudyState.QUEUED, StudyState.RUNNING) and not progress["worker_alive"]
    if joinable and st.button(join, key="exp.join", icon=":material/play_arrow:"):
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
        # Trained on another machine: its run is there; the table follows its val_loss per epoch.
        st.caption(f"Trial {current['trial']} is training on {md(current.get('host') or 'another machine')}.")
        return
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
    varied = [key for key in rows[0] if key not in COLUMNS and key not in NOT_SHOWN]
    order = ["trial", "state", "preset", *varied, *list(COLUMNS)[3:]]
    if len({row["host"] for row in rows if row["host"]}) < 2 and lab().url == default_storage(store()):
        order.remove("host")  # one machine: its name in every row says nothing
    st.dataframe(
        [table_row(row) for row in rows],
        hide_index=True,
        key="exp.table",
        column_config={**COLUMNS, **{key: st.column_config.Column(key, width=70) for key in varied}},
        column_order=[key for key in dict.fromkeys(order) if key in rows[0] or key == "run"],
        width="stretch",
    )
    for row in rows:
        if row["note"]:
            st.caption(
                f"Trial {row['trial']} ({row['state']}{' on ' + md(row['host']) if row['host'] else ''}): "
                f"{md(row['note'])}"
            )
    finished = [r for r in rows if r["state"] in FINISHED_TRIAL_STATES]
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
        hosts = progress.get("hosts") or []
        where = f" on {md(', '.join(hosts))}" if len(hosts) > 1 else ""
        st.caption(
            f"{len(finished)} trial(s) trained in {format_duration(seconds)}{where}. Every trial is also a run on "
            "the Runs page of the machine that trained it."
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


def table_row(row: dict) -> dict:
    """A row as the page shows it: epochs as "run/planned", and a link to the run when it was trained here."""
    shown = dict(row)
    shown["epochs"] = f"{row['epochs_run'] if row['epochs_run'] is not None else '-'}/{row['epochs'] or '-'}"
    shown["run"] = f"./runs?run={row['run_id']}" if row["here"] else None
    return shown


def study_panel(name: str, polling: bool) -> None:
    progress = lab().progress(name)
    status_ui(name, progress)
    current_trial_ui(progress)
    results_ui(name, progress)
    if polling and progress["state"] not in ACTIVE_STUDY_STATES:
        st.rerun()  # the study ended: redraw the page once, without the polling


st.title("Experiments")
st.caption(
    "Repeat the seed's hyperparameter study, or build your own grid or search. Trials train one at a time "
    "in the background; each becomes a run. Choose by val_loss, as the post learned to: watch the loss."
)
if lab().url != default_storage(store()):
    st.caption(f"Studies in {md(lab().shown_url)}, shared with the workers of every machine that uses it.")
current = pick_study()
with st.expander("New study", expanded=current is None, icon=":material/science:"):
    queue_ui()
if current is None:
    st.info("No studies yet. Open **New study**, keep the seed's seven runs and press **Queue study**.")
else:
    active = lab().progress(current)["state"] in ACTIVE_STUDY_STATES
    st.fragment(study_panel, run_every=POLL_SECONDS if active else None)(current, polling=active)
