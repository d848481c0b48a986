"""The Runs page: every run in a sortable table; several runs' curves overlaid; one run in detail (confusion
matrix, per-class metrics, the misclassified test digits, "predict test image N"); rename, delete, download.

Everything here reads the run store; only "predict" loads a model (and so TensorFlow), and only when asked.
"""

import streamlit as st

# First: the engine loads once, in one thread (pages/shared.py), before this page imports any part of it.
from pages.shared import KEEP, init_state, load_predictor, loading_keras, mnist, store, tr  # isort: skip
from mnist_core.data.mnist import DataError
from mnist_core.jobs.importing import import_upload
from mnist_core.networks.codegen import script_for
from mnist_core.networks.model_files import ModelFileError
from mnist_core.presentation import charts
from mnist_core.presentation.runs_page import distinct_names, metrics_zip, per_class_rows, state_name, table_rows
from mnist_core.presentation.text import format_duration, format_percent
from mnist_core.presentation.text import markdown_text as md
from mnist_core.store import ACTIVE_STATES, DAMAGED, Run, RunKind, RunStoreError
from pages.layers_ui import layer_view_ui
from pages.own_digits_ui import own_digits_ui, run_score_ui

GALLERY_SIZE = 40
MODEL_FILE_TYPES = ["keras", "h5", "hdf5"]


def import_ui(runs_store, expanded: bool) -> None:
    """A model trained elsewhere, uploaded, evaluated on the MNIST test set and kept as an imported run."""
    t = tr()
    done = st.session_state.pop("runs.imported", None)
    if done:
        name, file_name, accuracy = done
        st.success(
            t(
                "Imported {file} as **{name}**: {accuracy} on the MNIST test set.",
                file=md(file_name),
                name=md(name),
                accuracy=format_percent(accuracy),
            ),
            icon=":material/check_circle:",
        )
    with st.expander(
        t("Import a model file (.keras, or .h5 from Keras 2)"), expanded=expanded, icon=":material/upload:"
    ):
        st.caption(
            t(
                "A Keras model trained elsewhere, such as the post's (saved as .h5 by Keras 2): its input one 28x28 "
                "digit (with or without a channel axis, or 784 pixels), its output 10 classes. It is opened in "
                "Keras' safe mode (a Lambda layer is refused), evaluated on the MNIST test set and kept as an "
                "imported run, which the Draw page can draw with."
            )
        )
        fresh = st.session_state.setdefault("runs.import_count", 0)  # a new key after each import: empty controls
        upload = st.file_uploader(t("Model file"), type=MODEL_FILE_TYPES, key=f"runs.import_file.{fresh}")
        name_col, button_col = st.columns([3, 1], vertical_alignment="bottom")
        name = name_col.text_input(
            t("Name"),
            max_chars=80,
            placeholder=upload.name if upload else t("the file's name"),
            key=f"runs.import_name.{fresh}",
        )
        if not button_col.button(t("Import"), key="runs.import", disabled=upload is None, icon=":material/upload:"):
            return
        with st.spinner(t("Opening {file} and evaluating it on the 10,000 MNIST test digits...", file=md(upload.name))):
            try:
                with loading_keras():
                    run = import_upload(runs_store, upload.name, upload.getvalue(), name=name, data=mnist())
            except (ModelFileError, RunStoreError, DataError, OSError) as error:
                st.error(md(t.message(error)), icon=":material/error:")
                return
    st.session_state["runs.imported"] = (run.name, upload.name, run.results.test_accuracy)
    st.session_state["runs.import_count"] = fresh + 1
    st.session_state["runs.show"] = run.id  # the table and details below are drawn after this: show it
    st.rerun()


def imported_note(run) -> None:
    t = tr()
    if run.meta.kind == RunKind.IMPORTED:
        st.caption(
            t(
                "Imported from {file}: trained elsewhere, so there is no training history or settings; evaluated "
                "here on the MNIST test set like every run.",
                file=md(run.meta.source_file) if run.meta.source_file else t("a model file"),
            )
        )


def code_ui(run, name: str) -> None:
    """The run's settings as a plain numpy + Keras script, to copy or download and train again anywhere."""
    t = tr()
    if run.config is None:
        st.info(t("This model was imported: it was trained elsewhere, so there are no settings to write as code."))
        return
    script = script_for(run.config, title=name, t=tr())
    st.caption(
        t(
            "A standalone script that trains this run's settings again: the same layers, optimizer, schedule and "
            "random seed."
        )
    )
    st.code(script, language="python")
    st.download_button(
        t("Download the script"),
        script,
        file_name=f"{run.id}.py",
        mime="text/x-python",
        key="runs.download_code",
        on_click="ignore",
        icon=":material/download:",
    )


def picked_runs(row_ids: list[str], runs: dict) -> list[str]:
    """The runs picked in the table, as run ids, from its selection and the ?run=<id> link.

    The table's selection holds row positions, which move when a run is added or deleted; so the pick is kept as
    run ids and the selection set again from them before the table is drawn. The default is the newest run."""
    state, shown_before = st.session_state.get("runs.table"), st.session_state.get("runs.table_ids")
    if state is not None and shown_before:  # the user's latest clicks, on the table as it was drawn then
        picked = [shown_before[i] for i in state["selection"]["rows"] if i < len(shown_before)]
    else:  # back from another page (the table's own state is gone) or the first visit
        picked = st.session_state.get("runs.picked", list(runs)[:1])
    wanted = st.query_params.get("run")  # the Train page links here with ?run=<id>
    if wanted in runs and st.session_state.get("runs.linked") != wanted:
        st.session_state["runs.linked"] = wanted
        picked = [wanted]
    if (imported := st.session_state.pop("runs.show", None)) in runs:  # a model just imported above
        picked = [imported]
    picked = [run_id for run_id in picked if run_id in row_ids]
    if st.session_state.pop("runs.reselect", False) and not picked:
        picked = list(runs)[:1]  # the one run shown was deleted: show the newest rather than nothing
    rows = [row_ids.index(run_id) for run_id in picked]
    if state is None or list(state["selection"]["rows"]) != rows:
        st.session_state["runs.table"] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    st.session_state["runs.table_ids"], st.session_state["runs.picked"] = row_ids, picked
    return picked


def inside_ui(run, shown, data) -> None:
    """One misclassified test digit through every layer of the run's model (loads the model: only when asked)."""
    t = tr()
    pick, ask = st.columns([3, 1], vertical_alignment="bottom")
    choice = pick.selectbox(
        t("Look inside the network for"),
        range(len(shown)),
        format_func=lambda i: t(
            "test image {index}: a {true} read as {predicted}",
            index=shown[i].index,
            true=shown[i].true,
            predicted=shown[i].predicted,
        ),
        key="runs.inside_pick",
    )
    if ask.button(t("Look inside"), key="runs.inside", icon=":material/layers:", width="stretch"):
        st.session_state["runs.inside_shown"] = (run.id, shown[choice].index)
    asked = st.session_state.get("runs.inside_shown")
    if asked and asked[0] == run.id:
        index = asked[1]
        st.caption(t("Test image {index}, labelled {digit}:", index=index, digit=int(data.y_test[index])))
        layer_view_ui(str(run.model_path), run.model_version, data.x_test[index] / 255.0, key="runs.layers")


init_state({"runs.confirm_delete": None, "runs.prediction": None})

t = tr()
st.title(t("Runs"))
runs_store = store()
entries = runs_store.entries()
summaries = [entry.summary() for entry in entries]
import_ui(runs_store, expanded=not summaries)
if not summaries:
    st.info(t("No runs yet: train one on the Train page, or import a model file above."), icon=":material/info:")
    st.page_link("pages/train.py", label=t("Train a run"), icon=":material/model_training:")
    if runs_store.own_digits.count():  # kept on the Draw page with the bundled model: it can be scored already
        st.subheader(t("Your digits"))
        own_digits_ui(runs_store)
    st.stop()

# --- all runs: the table is also where runs are picked ------------------------------------------------------
rows = table_rows(summaries, t)
row_ids = [row["run_id"] for row in rows]
# A run with a record that fails its check is listed as damaged and left out of everything below the table.
runs = {entry.id: entry for entry in entries if isinstance(entry, Run)}
why_damaged = {entry.id: t.message(entry.why) for entry in entries if not isinstance(entry, Run)}
for row in rows:
    row["problem"] = why_damaged.get(row["run_id"], row["problem"])  # in the reader's language
names = distinct_names(summaries)  # "fast (14:02:31)" when several runs are called "fast"
picked = picked_runs(row_ids, runs)
st.caption(t("Click rows to pick runs: one for its details, several to compare their curves."))
st.dataframe(
    rows,
    key="runs.table",
    on_select="rerun",
    selection_mode="multi-row",
    hide_index=True,
    placeholder="",  # what a run lacks (no validation split, no problem) is blank, not "None"
    column_order=[
        "name",
        "preset",
        "status",
        "problem",  # beside the status it explains, and in sight on a narrow window: the table scrolls sideways
        "parameters",
        "epochs_run",
        "epochs_planned",
        "best_val_accuracy_percent",
        "test_accuracy_percent",
        "train_val_gap_points",
        "duration",
        "created",
    ],
    # Every column on the page: short headers, each with help (hover the header) and the legend below the table; a
    # long name (a study's trial runs) cut short rather than pushing the last columns off the edge; hovering a cell
    # shows it whole.
    column_config={
        "name": st.column_config.TextColumn(t("Name"), width=130),
        "preset": st.column_config.TextColumn(
            t("Preset"),
            help=t(
                "The preset the run's settings came from: custom when they were changed, imported for a model "
                "trained elsewhere"
            ),
        ),
        "status": st.column_config.TextColumn(
            t("Status"), help=t("Where the run stands; damaged: its folder cannot be read, only deleted")
        ),
        "parameters": st.column_config.NumberColumn(
            t("Parameters"), format="localized", help=t("The number of weights the model learns")
        ),
        "epochs_run": st.column_config.NumberColumn(
            t("Epochs"), format="%d", help=t("Epochs run: passes over the training images")
        ),
        "epochs_planned": st.column_config.NumberColumn(
            t("Planned"), format="%d", help=t("Epochs planned: fewer are run when the run is stopped or stops early")
        ),
        "best_val_accuracy_percent": st.column_config.NumberColumn(
            t("Best val"),
            format="%.2f%%",
            help=t("The best validation accuracy of any epoch. Blank without a validation split."),
        ),
        "test_accuracy_percent": st.column_config.NumberColumn(
            t("Test"), format="%.2f%%", help=t("Accuracy on the 10,000 MNIST test digits, never seen in training")
        ),
        "train_val_gap_points": st.column_config.NumberColumn(
            t("Gap"),
            format="%+.2f pp",
            help=t(
                "Last epoch's training minus validation accuracy, in percentage points: a large gap means "
                "overfitting. Blank without a validation split."
            ),
        ),
        "duration": st.column_config.NumberColumn(t("Time"), format="%.0f s", help=t("Training time")),
        "created": st.column_config.TextColumn(t("Created"), help=t("When the run was created")),
        # Cut short too: a damaged run's reason is also in full below the table, a failed run's in its details.
        "problem": st.column_config.TextColumn(
            t("Problem"),
            width="small",
            help=t("Why a run failed, was interrupted, or cannot be read; blank when all is well"),
        ),
    },
)
st.caption(
    t(
        "**Epochs** run of **Planned** · **Best val**: the best validation accuracy of any epoch · **Test**: "
        "accuracy on the 10,000 test digits · **Gap**: training minus validation accuracy in the last epoch, in "
        "percentage points (pp); a large gap means overfitting · **Problem**: why a run failed, was interrupted "
        "or cannot be read."
    )
)
damaged = [r for r in rows if r["state"] == DAMAGED]
if damaged:
    with st.expander(
        t.ngettext(
            "{n} damaged run folder: it cannot be read, only deleted",
            "{n} damaged run folders: they cannot be read, only deleted",
            len(damaged),
        )
    ):
        for row in damaged:
            left, right = st.columns([4, 1])
            left.markdown(f"{md(row['run_id'])}: {md(row['problem'])}")
            if right.button(t("Delete"), key=f"runs.delete_damaged.{row['run_id']}"):
                try:
                    runs_store.delete(row["run_id"])
                except (RunStoreError, OSError) as error:
                    st.error(md(t.message(error)))
                else:
                    st.rerun()

selected = [run_id for run_id in picked if run_id in runs]
if not selected:
    if picked:
        st.info(t("A damaged run has no details to show: it can only be deleted, above."))
    else:
        st.info(t("Pick one run in the table for its details, or several to compare their curves."))
    st.stop()

histories = {names[r]: runs[r].history for r in selected if runs[r].meta.kind != RunKind.IMPORTED}
if histories:
    loss, accuracy = st.columns(2)
    loss.plotly_chart(charts.overlay_figure("loss", histories, t=t), key="runs.overlay.loss")
    accuracy.plotly_chart(charts.overlay_figure("accuracy", histories, t=t), key="runs.overlay.accuracy")
no_curves = [md(names[r]) for r in selected if runs[r].meta.kind == RunKind.IMPORTED]
if no_curves:
    st.caption(t("{runs}: imported: no training history, so no curves.", runs=", ".join(no_curves)))

# --- one run in detail ----------------------------------------------------------------------------------------
run_id = (
    selected[0]
    if len(selected) == 1
    else st.selectbox(t("Details of"), selected, key="runs.detail", persist_state=KEEP, format_func=names.get)
)
run = runs[run_id]
summary = run.summary()
results = run.results
st.subheader(f"{md(summary['name'])} · {state_name(summary['status'], t)}")
cols = st.columns(5)
cols[0].metric(t("Test accuracy"), format_percent(summary["test_accuracy"]))
cols[1].metric(t("Test loss"), "-" if summary["test_loss"] is None else f"{summary['test_loss']:.4f}")
cols[2].metric(t("Parameters"), "-" if summary["parameters"] is None else t.number(summary["parameters"]))
cols[3].metric(t("Best epoch (val_loss)"), summary["best_epoch"] or "-")
cols[4].metric(t("Training time"), format_duration(summary["train_seconds"]))
if summary.get("error"):
    st.caption(t("Note: {problem}", problem=md(summary["error"])))
imported_note(run)

tabs = st.tabs(
    [
        t("Confusion matrix"),
        t("Per-class metrics"),
        t("Misclassified"),
        t("Predict"),
        t("Your digits"),
        t("Manage"),
        t("Code"),
    ]
)
if results is None:
    for tab in tabs[:4]:
        tab.info(t("No test results: the run has not finished (or failed before its evaluation)."))
    if summary["status"] in ACTIVE_STATES:
        tabs[0].page_link(
            "pages/train.py", label=t("Watch it live on the Train page"), icon=":material/model_training:"
        )
else:
    tabs[0].plotly_chart(charts.confusion_figure(results.confusion_matrix, t=t), key="runs.confusion")
    tabs[1].dataframe(
        per_class_rows(results),
        hide_index=True,
        key="runs.per_class",
        height="content",
        column_config={
            "digit": t("Digit"),
            "test_images": t("Test images"),
            "precision_percent": st.column_config.NumberColumn(
                t("Precision"), format="%.2f%%", help=t("Of the test digits read as this digit, the share that are it")
            ),
            "recall_percent": st.column_config.NumberColumn(
                t("Recall"), format="%.2f%%", help=t("Of the test digits that are this digit, the share read as it")
            ),
            "f1_percent": st.column_config.NumberColumn(
                t("F1"), format="%.2f%%", help=t("The harmonic mean of precision and recall")
            ),
        },
    )
    data = mnist()
    with tabs[2]:
        wrong = results.misclassified
        st.caption(
            t(
                "{wrong} of {total} test digits misclassified; the {shown} most confident mistakes: true -> "
                "predicted (confidence).",
                wrong=t.number(len(wrong)),
                total=t.number(results.test_images),
                shown=min(GALLERY_SIZE, len(wrong)),
            )
        )
        shown = wrong[:GALLERY_SIZE]
        st.plotly_chart(
            charts.digit_grid_figure(
                data.x_test[[w.index for w in shown]],
                [f"{w.true}->{w.predicted} {w.confidence:.0%}" for w in shown],
                columns=10,
                t=t,
            ),
            key="runs.misclassified",
        )
        if shown and run.has_model:
            inside_ui(run, shown, data)
    with tabs[3]:
        with st.form("runs.predict_form", border=False):
            index = st.number_input(t("Test image"), 0, 9999, key="runs.predict_index", persist_state=KEEP)
            asked = st.form_submit_button(t("Predict"), disabled=not run.has_model)
        if asked:
            prediction = load_predictor(run.model_path, run.model_version).predict_image01(data.x_test[index] / 255.0)
            st.session_state["runs.prediction"] = (run_id, int(index), prediction.digit, prediction.confidence)
        answer = st.session_state["runs.prediction"]
        if answer and answer[0] == run_id:
            _, index, digit, confidence = answer
            true = int(data.y_test[index])
            left, right = st.columns([1, 2])
            # Too narrow for each pixel's value to be read: the picture alone.
            picture = charts.pixel_figure(
                data.x_test[index], t("Test image {index}", index=index), values=False, height=340, t=t
            )
            left.plotly_chart(picture, key="runs.predict_image")
            right.metric(
                t("Predicted"),
                digit,
                t("{confidence} confident", confidence=t.percent(confidence, 1)),
                delta_color="off",
            )
            right.metric(t("True"), true)
            (right.success if digit == true else right.error)(t("Right.") if digit == true else t("Wrong."))

with tabs[4]:
    run_score_ui(runs_store, run)

with tabs[5]:
    name_col, button_col = st.columns([3, 1], vertical_alignment="bottom")
    new_name = name_col.text_input(t("Name"), value=summary["name"], max_chars=80, key=f"runs.new_name.{run_id}")
    if button_col.button(t("Rename"), key="runs.rename", disabled=new_name == summary["name"]):
        try:
            runs_store.rename(run_id, new_name)
            st.rerun()
        except RunStoreError as error:
            st.error(md(t.message(error)))
    left, right, far = st.columns(3)
    left.download_button(
        t("Download model (.keras)"),
        lambda: runs_store.model_bytes(run_id),
        file_name=f"{run_id}.keras",
        mime="application/octet-stream",
        key="runs.download_model",
        disabled=not run.has_model,
        on_click="ignore",
        icon=":material/download:",
    )
    right.download_button(
        t("Download metrics (CSV files, zip)"),
        metrics_zip(run.history, results),
        file_name=t("{run_id}-metrics.zip", run_id=run_id),
        mime="application/zip",
        help=t("epochs.csv: loss and accuracy per epoch; test.csv and per_class.csv: the test set's metrics"),
        key="runs.download_metrics",
        on_click="ignore",
        icon=":material/download:",
    )
    if summary["status"] in ACTIVE_STATES:
        far.caption(t("Stop the run on the Train page before deleting it."))
    elif st.session_state["runs.confirm_delete"] != run_id:
        if far.button(t("Delete run"), key="runs.delete", icon=":material/delete:"):
            st.session_state["runs.confirm_delete"] = run_id
            st.rerun()
    else:
        st.warning(t("Delete **{name}** and its model for good?", name=md(summary["name"])))
        yes, no = st.columns(2)
        if yes.button(t("Yes, delete it"), type="primary", key="runs.delete_yes"):
            try:
                runs_store.delete(run_id)
            except (RunStoreError, OSError) as error:
                st.error(md(t.message(error)))
                st.stop()
            st.session_state["runs.confirm_delete"] = None
            st.session_state["runs.reselect"] = len(selected) == 1  # show the newest run rather than nothing
            st.rerun()
        if no.button(t("Cancel"), key="runs.delete_no"):
            st.session_state["runs.confirm_delete"] = None
            st.rerun()

with tabs[6]:
    code_ui(run, summary["name"])
