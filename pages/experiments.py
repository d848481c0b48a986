"""The Experiments page: the post's hyperparameter study (or a grid, or a search) in one click, and one table.

A study never trains in this script: Queue creates it in the study database and starts a study worker process
(`python -m mnist_core study run`), which trains its trials one at a time through the same run store and the
same lock as the Train page's queue. A fragment reads the study every two seconds while it is active. With
$MNIST_LAB_STUDIES naming a shared database (PostgreSQL), the table shows every trial of the study, whichever
machine trained it; a trial trained here links to its run.
"""

from datetime import datetime

import streamlit as st

# First: the engine loads once, in one thread (pages/shared.py), before this page imports any part of it.
from pages.shared import init_state, store, tr  # isort: skip
from mnist_core.i18n import marked
from mnist_core.networks.presets import DEFAULT_PRESET, PRESETS, STUDY
from mnist_core.presentation import charts
from mnist_core.presentation.experiments_page import duration as duration_text
from mnist_core.presentation.experiments_page import (
    estimate_help,
    estimate_text,
    field_label,
    shortened_text,
    table_row,
)
from mnist_core.presentation.study_charts import accuracy_vs_parameters_figure, search_figures, val_loss_figure
from mnist_core.presentation.text import format_percent
from mnist_core.presentation.text import markdown_text as md
from mnist_core.presentation.train_page import ALL_TRAINING_IMAGES, live_progress
from mnist_core.store import RecordError, RunStoreError
from mnist_core.study import Studies, StudyError, default_storage, rows_csv, spec_from_form
from mnist_core.study.states import ACTIVE_STUDY_STATES, FINISHED_TRIAL_STATES, StudyState

KINDS = {"presets": marked("The post's study"), "grid": marked("A grid"), "search": marked("A search")}
# The settings the form offers to vary (labels: FIELD_LABELS), with an example of what to type (any config field
# works on the CLI).
GRID_FIELDS = {
    "filters": "16/36, 32/64",
    "epochs": "10, 20",
    "dropout": "0.25, 0.5",
    "dense_units": "64, 128",
    "batch_size": "128, 256",
    "learning_rate": "0.001, 0.003",
}
SEARCH_FIELDS = {
    "filters": "16/36, 32/64",
    "epochs": "5:20",
    "dropout": "0.1:0.5",
    "dense_units": "32:512:log",
    "batch_size": "64, 128, 256",
    "learning_rate": "1e-4:1e-2:log",
}
TRAIN_LIMITS = (1000, 2000, 5000, 10000, 30000, ALL_TRAINING_IMAGES)
POLL_SECONDS = 2.0
NOT_SHOWN = (
    "changed",
    "train_accuracy",
    "epochs_run",
    "run_id",
    "here",
    "note",
    "val_loss_per_epoch",
    "train_images",
    "shortened",
    "why",
    "requeued",
)  # in the CSV, the notes and the caption above the table
# Kept while their widgets are not drawn (Streamlit forgets a widget's value when it is not drawn in a run): the
# preset list and the grid's or search's fields survive a switch of the study kind and back.
KEPT = ("exp.presets", "exp.base", "exp.trials", "exp.grid.prune", "exp.search.prune") + tuple(
    f"exp.{kind}.{name}" for kind, fields in (("grid", GRID_FIELDS), ("search", SEARCH_FIELDS)) for name in fields
)
t = tr()


def columns() -> dict:
    """The results table's columns, in the reader's language. Narrow, so that the table fits the page (1,400 px
    wide with the sidebar) for a grid over two settings; every column, the descriptions and notes included, is in
    the CSV. Figures come as text in the one format of every page (empty where a trial has none)."""
    text = st.column_config.TextColumn
    return {
        "trial": st.column_config.NumberColumn(
            t("Trial"), width=45, help=t("Numbered from 1 in the order they were planned")
        ),
        "state": text(t("State"), width=80),
        "preset": text(t("Preset"), width=80),
        "test_accuracy": text(t("Test"), width=62, help=t("Test accuracy")),
        "post_accuracy": text(t("Post"), width=62, help=t("The test accuracy the post reported (a full training)")),
        "val_accuracy": text(t("Val"), width=62, help=t("Validation accuracy at the last epoch")),
        "train_val_gap": text(
            t("Gap"),
            width=78,
            help=t(
                "Training minus validation accuracy at the last epoch, in percentage points (pp): above zero and "
                "growing means overfitting"
            ),
        ),
        "best_epoch": text(t("Best"), width=45, help=t("The epoch with the lowest val_loss")),
        "epochs": text(t("Epochs"), width=70, help=t("Epochs run of those planned")),
        "parameters": text(t("Params"), width=75, help=t("The model's parameters")),
        "best_val_loss": text("val_loss", width=62, help=t("The lowest val_loss")),
        "seconds": text(t("Time"), width=70, help=t("Training time")),
        "host": text(t("Host"), width=80, help=t("The machine that trained it")),
        "run": st.column_config.LinkColumn(
            t("Run"), display_text=t("open"), width=45, help=t("Trained on this machine: open its run on the Runs page")
        ),
    }


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
    kind = st.radio(t("What to vary"), list(KINDS), format_func=lambda k: t(KINDS[k]), horizontal=True, key="exp.kind")
    values = {"kind": kind}
    if kind == "presets":
        values["presets"] = st.multiselect(
            t("Runs"),
            list(PRESETS),
            key="exp.presets",
            help=t("The post's seven runs; add this project's presets if you like."),
            placeholder=t("Choose presets"),
        )
        st.dataframe(
            [
                {
                    "run": n,
                    "change": t(PRESETS[n].description),
                    "post": format_percent(PRESETS[n].reported_accuracy) if PRESETS[n].reported_accuracy else "",
                }
                for n in values["presets"]
            ],
            hide_index=True,
            key="exp.presets_table",
            column_config={
                "run": st.column_config.TextColumn(t("Preset")),
                "change": st.column_config.TextColumn(t("What it changes")),
                "post": st.column_config.TextColumn(t("Post's test accuracy")),
            },
        )
    else:
        values["base"] = st.selectbox(
            t("Start from"), list(PRESETS), key="exp.base", help=t("Settings not varied keep this preset's values.")
        )
        examples = GRID_FIELDS if kind == "grid" else SEARCH_FIELDS
        if kind == "grid":
            hint = t("Type values for the settings to vary (values, separated by commas); leave the rest blank.")
        else:
            hint = t(
                "Type ranges for the settings to vary (LOW:HIGH, add :log; or choices a, b); leave the rest blank."
            )
        st.caption(hint)
        fields = st.columns(3)
        texts = {}
        for i, (name, example) in enumerate(examples.items()):
            texts[name] = fields[i % 3].text_input(
                field_label(name, t),
                key=f"exp.{kind}.{name}",
                placeholder=t("e.g. {example}", example=example),
                help=t("The config field `{field}`", field=name),
            )
        values[kind] = texts
        if kind == "search":
            values["n_trials"] = st.number_input(t("Trials"), 1, 500, key="exp.trials")
        values["prune"] = st.toggle(t("Prune hopeless trials (val_loss above the median)"), key=f"exp.{kind}.prune")
    left, right = st.columns(2)
    values["epochs"] = left.number_input(t("Epochs for every trial (0 = as defined)"), 0, 500, key="exp.epochs")
    values["train_limit"] = right.select_slider(
        t("Training images (small data for quick studies)"),
        TRAIN_LIMITS,
        key="exp.limit",
        format_func=lambda n: (
            t("all {count}", count=t.number(n)) if n == ALL_TRAINING_IMAGES else t("first {count}", count=t.number(n))
        ),
    )
    if values["train_limit"] == ALL_TRAINING_IMAGES:
        values["train_limit"] = None
    return values


def queue_ui() -> None:
    values = definition_ui()
    name = st.text_input(t("Study name"), key="exp.name", max_chars=60)
    kind = values["kind"]
    spec = None
    # Guidance, errors and merged trials in one container: the Queue row stays in the same place on the page
    # whatever is said above it (a moved button briefly shows twice while the page redraws).
    notes = st.container(key="exp.notes")
    if kind != "presets" and not any(text.strip() for text in values[kind].values()):
        # Nothing typed yet: say what to do, not what is wrong.
        notes.info(t("Type the values of at least one setting above to see how many trials it makes."))
    else:
        try:
            spec = spec_from_form(**values)
        except StudyError as error:
            notes.error(md(t.message(error)), icon=":material/error:")
    if spec is not None:
        for first, others in spec.identical_trials():
            notes.warning(
                t(
                    "{others} would train exactly as {first} with these settings: it is trained once, as {first}.",
                    others=", ".join(others),
                    first=first,
                ),
                icon=":material/merge:",
            )
        spec = spec.merged()
    button, cost = st.container(key="exp.queue_row").columns([1, 3], vertical_alignment="center")
    queued = button.button(
        t("Queue study"), type="primary", key="exp.queue", disabled=spec is None, icon=":material/play_arrow:"
    )
    if spec is not None:
        found = lab().estimate(spec)
        trials = t.ngettext("{n} trial, one at a time", "{n} trials, one at a time", spec.size)
        cost.caption(f"{trials} · **{estimate_text(found, t)}**", help=estimate_help(found, t))
    if queued and spec is not None:
        try:
            lab().create(name, spec)
        except StudyError as error:
            st.error(md(t.message(error)), icon=":material/error:")
            return
        lab().launch_worker(name)
        st.session_state["exp.show"] = name  # the study picker shows it after the rerun
        st.session_state["exp.fresh_name"] = True
        st.session_state["exp.queued"] = st.session_state.get("exp.queued", 0) + 1  # folds the form: see below
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
    return st.selectbox(t("Study"), names, key="exp.study")


def status_ui(name: str, progress: dict) -> None:
    word = progress["state"]
    st.progress(
        progress["finished"] / max(progress["planned"], 1),
        text=t(
            "{state}: {finished} of {planned} trials finished",
            state=t(word),
            finished=progress["finished"],
            planned=progress["planned"],
        ),
    )
    if word == StudyState.QUEUED and not progress["worker_alive"]:
        st.caption(t("Waiting for a worker: start one here, or `python -m mnist_core study run` on any machine."))
    if word == StudyState.WAITING:
        st.caption(t("Waiting for this machine's one training slot (a run from the Train page) or for TensorFlow."))
    if progress["interrupted"]:
        st.caption(
            t.ngettext(
                "{n} trial interrupted: Resume trains it again.",
                "{n} trials interrupted: Resume trains them again.",
                progress["interrupted"],
            )
        )
    if word in (StudyState.QUEUED, StudyState.RUNNING, StudyState.WAITING) and st.button(
        t("Stop study"), key="exp.stop", icon=":material/stop:"
    ):
        lab().request_stop(name)
        st.toast(t("Stopping after the current batch: finished trials are kept."))
    if word in (StudyState.STOPPED, StudyState.INCOMPLETE) and st.button(
        t("Resume"), key="exp.resume", icon=":material/play_arrow:"
    ):
        lab().prepare_resume(name)
        lab().launch_worker(name)
        st.rerun()
    # Queued with no worker here (a worker was killed; or the study was created on the command line), or running on
    # other machines: this machine may take trials too.
    join = t("Start a worker here") if word == StudyState.QUEUED else t("Train here too")
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
        host = md(current.get("host")) if current.get("host") else t("another machine")
        st.caption(t("Trial {trial} is training on {host}.", trial=current["trial"], host=host))
        return
    st.markdown("**" + t("Trial {trial}: {name}", trial=current["trial"], name=md(run.name)) + "**")
    if live.points:
        st.caption(live_progress(live, run.history, run.config.epochs).label(t))
    loss, accuracy = st.columns(2)
    epochs = run.config.epochs
    for column, metric in ((loss, "loss"), (accuracy, "accuracy")):
        figure = charts.curve_figure(metric, run.history, live.points, epochs, t=t)
        column.plotly_chart(figure, key=f"exp.live.{metric}")


def results_ui(name: str, progress: dict) -> None:
    studies = lab()
    rows = studies.rows(name)
    if not rows:
        st.info(t("No trial has started yet."))
        return
    shown_columns = columns()
    varied = [key for key in rows[0] if key not in shown_columns and key not in NOT_SHOWN]
    order = ["trial", "state", "preset", *varied, *list(shown_columns)[3:]]
    if len({row["host"] for row in rows if row["host"]}) < 2 and lab().url == default_storage(store()):
        order.remove("host")  # one machine: its name in every row says nothing
    shortened = [row for row in rows if row.get("shortened")]
    if shortened:
        st.caption(
            t(
                "Shortened: trial(s) {trials} trained on {what}, fewer epochs or images than their preset: their "
                "figures are not comparable with a full training's, such as the post's.",
                trials=", ".join(str(row["trial"]) for row in shortened),
                what=shortened_text(shortened[0], t),
            ),
        )
    st.dataframe(
        [table_row(row, t) for row in rows],
        hide_index=True,
        key="exp.table",
        column_config={
            **shown_columns,
            **{key: st.column_config.TextColumn(field_label(key, t), width=120, help=key) for key in varied},
        },
        column_order=[key for key in dict.fromkeys(order) if key in rows[0] or key == "run"],
        width="stretch",
    )
    for row in rows:
        if row["note"]:
            where = t(" on {host}", host=md(row["host"])) if row["host"] else ""
            st.caption(
                t(
                    "Trial {trial} ({state}{where}): {note}",
                    trial=row["trial"],
                    state=t(row["state"]),
                    where=where,
                    note=md(t(row["why"]) + (t("; queued again") if row["requeued"] else ""))
                    if row["why"]
                    else md(row["note"]),
                )
            )
    finished = [r for r in rows if r["state"] in FINISHED_TRIAL_STATES]
    st.download_button(
        t("Download CSV"),
        rows_csv(rows),
        file_name=f"{name}.csv",
        mime="text/csv",
        key="exp.csv",
        icon=":material/download:",
    )
    if finished:
        seconds = sum(r["seconds"] or 0 for r in finished)
        hosts = progress.get("hosts") or []
        where = t(" on {hosts}", hosts=md(", ".join(hosts))) if len(hosts) > 1 else ""
        trained = t.ngettext("{n} trial trained", "{n} trials trained", len(finished))
        st.caption(
            t(
                "{trained} in {time}{where}. Every trial is also a run on the Runs page of the machine that "
                "trained it.",
                trained=trained,
                time=duration_text(seconds, t),
                where=where,
            )
        )
    left, right = st.columns(2)
    left.plotly_chart(val_loss_figure(studies.curves(name), t=t), key="exp.chart.loss")
    right.plotly_chart(accuracy_vs_parameters_figure(rows, t=t), key="exp.chart.params")
    if progress["kind"] == "search":
        figures = search_figures(studies.figures(name))
        if not figures:
            st.caption(t("Importance and parallel coordinates appear once two trials have completed."))
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
    if polling and progress["state"] not in ACTIVE_STUDY_STATES:
        st.rerun()  # the study ended: redraw the page once, without the polling


st.title(t("Experiments"))
st.caption(
    t(
        "Repeat the post's hyperparameter study, or build your own grid or search. Trials train one at a time in the "
        "background; each becomes a run. Choose by val_loss, as the post learned to: watch the loss."
    )
)
if lab().url != default_storage(store()):
    st.caption(t("Studies in {url}, shared with the workers of every machine that uses it.", url=md(lab().shown_url)))
current = pick_study()
# A new element after each queued study (its key counts them), drawn folded: the study's progress comes into view.
with st.expander(
    t("New study"),
    expanded=current is None,
    key=f"exp.form.{st.session_state.get('exp.queued', 0)}",
    icon=":material/science:",
):
    queue_ui()
if current is None:
    st.info(t("No studies yet. Open **New study**, keep the post's seven runs and press **Queue study**."))
else:
    active = lab().progress(current)["state"] in ACTIVE_STUDY_STATES
    st.fragment(study_panel, run_every=POLL_SECONDS if active else None)(current, polling=active)
