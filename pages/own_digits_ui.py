"""Your own digits on the Runs page: how the picked run's model (or every model) reads the drawings kept with
"Wrong? It is a ..." on the Draw page, and the set itself: export, import, remove. Not a page (app.py does not list
it); the set and the scoring are mnist_core's (store.own_digits, inspection.own_digits).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

from mnist_core.inspection.explain import png_data_url
from mnist_core.inspection.own_digits import OwnDigitsScore, score_model
from mnist_core.inspection.predict import bundled_model
from mnist_core.presentation.text import format_gap_points, format_percent
from mnist_core.presentation.text import markdown_text as md
from mnist_core.store import FINISHED_WITH_MODEL, Run, RunStore
from mnist_core.store.own_digits import DamagedDigit, OwnDigits, OwnDigitsError
from pages.shared import load_predictor, tr

GALLERY_LIMIT = 200  # the newest kept digits shown to pick from; the export holds them all
THUMBNAIL = 56


@st.cache_data(show_spinner=False, max_entries=32)
def _score(root: str, model_path: str, model_version: int | None, set_version: tuple) -> OwnDigitsScore:
    """One model on the set as it stands (`set_version` changes when a digit is kept or removed)."""
    return score_model(load_predictor(model_path, model_version), RunStore(root).own_digits)


def score(runs_store: RunStore, model_path, model_version: int | None) -> OwnDigitsScore:
    own = runs_store.own_digits
    return _score(str(runs_store.root), str(model_path), model_version, own.version())


def thumbnail(own: OwnDigits, digit_id: str) -> str | None:
    try:
        picture = Image.fromarray(own.picture(digit_id))
    except (OSError, ValueError):  # damaged or removed since it was listed
        return None
    picture.thumbnail((THUMBNAIL, THUMBNAIL), Image.Resampling.LANCZOS)
    return png_data_url(np.asarray(picture))


def run_score_ui(runs_store: RunStore, run: Run) -> None:
    """The picked run's model on the reader's own digits: accuracy beside its MNIST test accuracy, per digit, and
    each mistake with its picture."""
    t = tr()
    own = runs_store.own_digits
    if not own.count():
        st.info(
            t(
                "Your own set is empty. On the **Draw** page, pick the right digit under **Wrong? It is a ...** (or "
                "**Right: keep it**) to keep a drawing with its label; or import a zip of labelled pictures below. "
                "Every model can then be scored on your hand here."
            ),
            icon=":material/bookmark:",
        )
    elif not run.has_model:
        st.info(t("This run has no model to score."))
    else:
        with st.spinner(t("Scoring the model on your digits...")):
            result = score(runs_store, run.model_path, run.model_version)
        show_score(own, result, run.results.test_accuracy if run.results else None)
    st.divider()
    own_digits_ui(runs_store)


def own_digits_ui(runs_store: RunStore) -> None:
    """Every model on the reader's digits (on a click), and the set itself."""
    compare_ui(runs_store)
    manage_ui(runs_store.own_digits)


def show_score(own: OwnDigits, result: OwnDigitsScore, test_accuracy: float | None) -> None:
    t = tr()
    left, middle, right = st.columns(3)
    left.metric(
        t("On your digits"),
        format_percent(result.accuracy),
        None
        if test_accuracy is None or result.accuracy is None
        else format_gap_points(result.accuracy - test_accuracy),
        help=t("Against the run's accuracy on MNIST's test set: your hand is not MNIST's writers'"),
    )
    middle.metric(t("Read right"), t("{right} of {n}", right=result.right, n=result.count))
    right.metric(t("MNIST test accuracy"), format_percent(test_accuracy))
    if result.unreadable:
        st.caption(
            t.ngettext(
                "{n} file of the set could not be read and is left out (listed below).",
                "{n} files of the set could not be read and are left out (listed below).",
                result.unreadable,
            )
        )
    per_label = result.per_label()
    st.dataframe(
        pd.DataFrame(
            [
                {"digit": d, "kept": kept, "right": right, "accuracy": right / kept}
                for d, (right, kept) in per_label.items()
            ]
        ),
        hide_index=True,
        key="runs.own.per_digit",
        column_config={
            "digit": st.column_config.NumberColumn(t("Digit"), format="%d"),
            "kept": st.column_config.NumberColumn(t("Kept")),
            "right": st.column_config.NumberColumn(t("Read right")),
            "accuracy": st.column_config.ProgressColumn(t("Accuracy"), min_value=0, max_value=1, format="percent"),
        },
    )
    mistakes = result.mistakes
    if mistakes:
        st.caption(
            t.ngettext(
                "Its {n} mistake on your digits, most confident first:",
                "Its {n} mistakes on your digits, most confident first:",
                len(mistakes),
            )
        )
        columns = st.columns(8)
        for i, answer in enumerate(mistakes[:32]):
            url = thumbnail(own, answer.digit.id)
            with columns[i % 8]:
                if url:
                    st.image(url, width=THUMBNAIL)
                st.caption(
                    t(
                        "a {label}, read as {predicted} ({confidence})",
                        label=answer.digit.label,
                        predicted=answer.predicted,
                        confidence=t.percent(answer.confidence, 0),
                    )
                )


def compare_ui(runs_store: RunStore) -> None:
    """Every model with a file on the reader's own digits, beside its MNIST test accuracy: on a click, as each model
    is loaded in turn."""
    t = tr()
    own = runs_store.own_digits
    if not own.count():
        return
    if not st.toggle(
        t("Score every model on your digits"),
        key="runs.own.compare",
        help=t("Loads each finished run's model in turn (and the bundled one): a few seconds each"),
    ):
        return
    models = []
    bundled = bundled_model()
    if bundled:
        models.append((t("Bundled default model"), bundled, 0, None))
    for run in runs_store.runs():
        if run.state in FINISHED_WITH_MODEL and run.has_model:
            models.append(
                (run.name, run.model_path, run.model_version, run.results.test_accuracy if run.results else None)
            )
    rows = []
    progress = st.progress(0.0)
    for i, (name, path, version, test_accuracy) in enumerate(models):
        try:
            result = score(runs_store, path, version)
        except (OSError, ValueError) as error:  # removed meanwhile, or not loadable: say so in its row
            rows.append({"model": name, "own": None, "right": t.message(error), "test": test_accuracy})
        else:
            rows.append(
                {
                    "model": name,
                    "own": result.accuracy,
                    "right": t("{right} of {n}", right=result.right, n=result.count),
                    "test": test_accuracy,
                }
            )
        progress.progress((i + 1) / len(models))
    progress.empty()
    rows.sort(key=lambda row: -1 if row["own"] is None else -row["own"])
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        key="runs.own.comparison",
        placeholder="-",
        column_config={
            "model": st.column_config.TextColumn(t("Model"), width="large"),
            "own": st.column_config.NumberColumn(t("On your digits"), format="percent"),
            "right": st.column_config.TextColumn(t("Read right")),
            "test": st.column_config.NumberColumn(t("MNIST test accuracy"), format="percent"),
        },
    )


def manage_ui(own: OwnDigits) -> None:
    """The set itself: its digits with their labels, export as PNG + CSV, import such a zip, remove digits."""
    t = tr()
    entries = own.entries()
    with st.expander(t.ngettext("Your set: {n} digit", "Your set: {n} digits", len(entries))):
        left, right = st.columns(2)
        left.download_button(
            t("Export (PNG + CSV, zip)"),
            own.export_zip,
            file_name="my-digits.zip",
            mime="application/zip",
            key="runs.own.export",
            on_click="ignore",
            disabled=not entries,
            icon=":material/download:",
            help=t("digits/*.png, one per digit, and labels.csv: file, label, saved_at, predicted, model, source"),
        )
        upload = right.file_uploader(
            t("Import a zip of labelled pictures"),
            type=["zip"],
            key="runs.own.import",
            help=t("labels.csv with the columns file and label, beside the pictures it names (as Export writes it)"),
        )
        if upload is not None and right.button(t("Import"), key="runs.own.import_go", icon=":material/upload:"):
            try:
                report = own.import_zip(upload.getvalue())
            except OwnDigitsError as error:
                right.error(md(t.message(error)), icon=":material/error:")
            else:
                right.success(
                    t(
                        "Imported {added}; {already} already in your set.",
                        added=report.added,
                        already=report.already_there,
                    )
                )
                for problem in report.problems[:20]:
                    right.warning(md(t.message(problem)))
                entries = own.entries()
        if not entries:
            return
        shown = entries[:GALLERY_LIMIT]
        rows = [
            {
                "id": entry.id,
                "picture": thumbnail(own, entry.id) if not isinstance(entry, DamagedDigit) else None,
                "label": None if isinstance(entry, DamagedDigit) else entry.label,
                "saved": "" if isinstance(entry, DamagedDigit) else entry.record.saved_at.replace("T", " ")[:16],
                "note": t.message(entry.why) if isinstance(entry, DamagedDigit) else (entry.record.model or ""),
            }
            for entry in shown
        ]
        if len(entries) > len(shown):
            st.caption(t("The newest {shown} of {n}; the export holds them all.", shown=len(shown), n=len(entries)))
        table = st.dataframe(
            pd.DataFrame(rows),
            hide_index=True,
            # A new key after each removal: a selection kept by row position would pick other digits.
            key=f"runs.own.table.{st.session_state.get('runs.own.removals', 0)}",
            on_select="rerun",
            selection_mode="multi-row",
            row_height=THUMBNAIL + 4,
            placeholder="-",
            column_order=["picture", "label", "saved", "note"],
            column_config={
                "picture": st.column_config.ImageColumn(t("Picture"), width="small"),
                "label": st.column_config.NumberColumn(t("Label"), format="%d"),
                "saved": st.column_config.TextColumn(t("Kept on")),
                "note": st.column_config.TextColumn(t("Model that read it, or why it is damaged"), width="large"),
            },
        )
        picked = [rows[i]["id"] for i in table.selection.rows if i < len(rows)]
        if st.button(
            t.ngettext("Remove {n} picked digit", "Remove {n} picked digits", len(picked))
            if picked
            else t("Remove the picked digits"),
            key="runs.own.remove",
            disabled=not picked,
            icon=":material/delete:",
            help=t("Pick rows in the table first (a mislabelled drawing, a damaged file)"),
        ):
            own.remove(picked)
            st.session_state["runs.own.removals"] = st.session_state.get("runs.own.removals", 0) + 1
            st.rerun()
