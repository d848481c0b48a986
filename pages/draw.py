"""The Draw page: draw a digit or upload pictures of digits, get the network's answer, and see what it looked at.

Every picture goes through mnist_core's MNIST-style preprocessing (crop to the ink, scale into 20x20, centre by mass);
this page only reads widgets, calls mnist_core and draws the results.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st
from streamlit_drawable_canvas import st_canvas

# First: the engine loads once, in one thread (pages/shared.py), before this page imports any part of it.
from pages.shared import load_predictor, store, tr  # isort: skip
from mnist_core.data.preprocess import ACCEPTED_FORMATS, MAX_FILE_BYTES
from mnist_core.inspection.explain import Explainer, enlarge, mosaic, normalise_maps, outline, overlay, png_data_url
from mnist_core.inspection.predict import CONFIDENT, bundled_model
from mnist_core.presentation.draw_page import ModelEntry, model_labels, thick_pen_tip
from mnist_core.presentation.probability_bars import probability_bars_html
from mnist_core.presentation.text import markdown_text as md
from mnist_core.store import FINISHED_WITH_MODEL, RunKind
from mnist_core.store.own_digits import OwnDigitsError
from pages.answers_first import after_other_answers, answering
from pages.canvas_pen_up import send_strokes_on_pen_up
from pages.layers_ui import layer_view_ui

CANVAS_SIZE = 280
CANVAS_KEY = "draw_canvas"
UPLOAD_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp"]


@st.cache_resource(show_spinner=False, max_entries=4)
def explainer(model_path: str, version: int | None) -> Explainer:
    return Explainer(load_predictor(model_path, version).model)


def model_choices() -> dict[str, tuple[str, Path, int | None]]:
    """Key -> (label, model file, its version): the bundled default first, then every finished run with a model,
    newest first, each by its name, when it was trained and its test accuracy."""
    t = tr()
    choices = {}
    bundled = bundled_model()
    if bundled:
        choices["bundled"] = (t("Bundled default model"), bundled, 0)  # package data: never rewritten
    # Damaged runs are not in runs(): the Runs page lists them, with the reason.
    runs = [run for run in store().runs() if run.state in FINISHED_WITH_MODEL and run.has_model]
    labels = model_labels(
        [
            ModelEntry(
                run.id,
                run.name,
                run.meta.created_at,
                run.results.test_accuracy if run.results else None,
                imported=run.meta.kind == RunKind.IMPORTED,  # a model file someone brought
            )
            for run in runs
        ],
        t,
    )
    for run in runs:
        choices[run.id] = (labels[run.id], run.model_path, run.model_version)
    return choices


def model_picker_ui() -> tuple[str, Path, int | None]:
    t = tr()
    choices = model_choices()
    if not choices:
        st.info(
            t(
                "No model to draw with yet. Train one on the **Train** page (the `fast` preset takes a couple of "
                "minutes), or from a terminal: `python -m mnist_core train --preset fast`. Finished runs appear here."
            )
        )
        st.stop()
    key = st.selectbox(
        t("Model"),
        list(choices),
        format_func=lambda k: choices[k][0],
        key="draw_model",
        help=t("The bundled default, or any finished run (trained here or imported on the Runs page)"),
    )
    return choices[key]


def canvas_ui():
    """The canvas with its pen control; returns its result (`image_data` is None before a stroke).

    Undo, redo and clearing are the canvas' own toolbar, which floats above its top-right corner while the pointer
    is over it: streamlit-drawable-canvas 0.13 has no parameter to hide it (only `disabled`, which also stops
    drawing), so a Clear button of the page's own would only repeat its bin."""
    t = tr()
    st.space("small")  # room for the canvas' own toolbar (undo, redo, clear), which floats above it
    canvas = st.container()  # shown above the pen control, drawn after it: the canvas needs the pen width
    width = st.slider(t("Pen width"), 6, 40, 18, key="draw_pen")
    with canvas:
        result = st_canvas(
            stroke_width=width,
            stroke_color="#FFFFFF",
            background_color="#000000",
            height=CANVAS_SIZE,
            width=CANVAS_SIZE,
            drawing_mode="freedraw",
            return_image_data=True,
            key=CANVAS_KEY,
        )
        send_strokes_on_pen_up(key="draw_canvas_pen_up")  # the canvas alone would wait 200 ms after the pen lifts
        st.caption(
            t(
                ":material/undo: Undo, redo and :material/delete: clear: the buttons above the canvas' right corner "
                "while the pointer is over it."
            )
        )
    return result


def answer_ui(prediction, drawing_png: bytes) -> None:
    t = tr()
    if prediction.sure:
        st.metric(t("The network reads"), prediction.digit, border=True)
        st.caption(t("Confidence {confidence}", confidence=t.percent(prediction.confidence, 1)))
    else:
        st.metric(t("The network's best guess"), prediction.digit, border=True)
        st.warning(
            t(
                "Not sure: only {confidence} for {digit} (below {threshold}). Try drawing the digit larger, clearer "
                "or with a different pen width.",
                confidence=t.percent(prediction.confidence, 0),
                digit=prediction.digit,
                threshold=t.percent(CONFIDENT, 0),
            ),
            icon=":material/help:",
        )
    st.html(probability_bars_html(prediction.probabilities, prediction.digit, t=t))  # lighter than a Plotly chart
    st.download_button(
        t("Save the drawing (PNG)"),
        drawing_png,
        file_name=t("drawing-{digit}.png", digit=prediction.digit),
        mime="image/png",
        key="draw_save",
        on_click="ignore",
        icon=":material/download:",
        help=t("The canvas exactly as the network's preprocessing received it; upload it later, or keep it as a test"),
    )


def _keep(picture: np.ndarray, label_key: str | None, predicted: int, model_label: str) -> None:
    """The pills' or the button's callback: keep the drawing as it was answered, with the label the reader gave."""
    t = tr()
    label = predicted if label_key is None else st.session_state.get(label_key)
    if label_key is not None:
        st.session_state[label_key] = None  # the pills are a one-click action, not a setting
    if label is None:
        return
    try:
        digit, new = store().own_digits.keep(picture, int(label), predicted=predicted, model=model_label)
    except (OwnDigitsError, OSError) as error:
        st.session_state["draw_kept"] = ("error", t("Not kept: {reason}", reason=md(t.message(error))))
        return
    count = store().own_digits.count()
    st.session_state["draw_kept"] = (
        "kept" if new else "again",
        (
            t.ngettext(
                "Kept as a {digit}. Your set holds {n} digit: score any model on it on the Runs page.",
                "Kept as a {digit}. Your set holds {n} digits: score any model on it on the Runs page.",
                count,
                digit=digit.label,
            )
            if new
            else t("This drawing is already in your set as a {digit}.", digit=digit.label)
        ),
    )


def keep_ui(picture: np.ndarray, prediction, model_label: str) -> None:
    """ "Wrong? It is a ...": keep the drawing with its right label in the reader's own set (or keep a right one)."""
    t = tr()
    st.pills(
        t("Wrong? It is a ..."),
        [d for d in range(10) if d != prediction.digit],
        key="draw_correct",
        on_change=_keep,
        args=(picture, "draw_correct", prediction.digit, model_label),
        help=t(
            "Pick the right digit: the drawing is kept with it in your own set, beside the run store, on which the "
            "Runs page scores any model. Export it there as PNG + CSV."
        ),
    )
    st.button(
        t("Right: keep it as a {digit}", digit=prediction.digit),
        key="draw_keep_right",
        on_click=_keep,
        args=(picture, None, prediction.digit, model_label),
        icon=":material/bookmark_add:",
        help=t("Right answers belong in your set too: a set of mistakes alone would score every model too low"),
    )
    kept = st.session_state.pop("draw_kept", None)
    if kept:
        kind, text = kept
        if kind == "error":
            st.error(text, icon=":material/error:")
        else:
            st.success(text, icon=":material/bookmark_added:" if kind == "kept" else ":material/bookmark:")


def evidence_ui(picture: np.ndarray, strokes: int, prepared, prediction, explain: Explainer) -> None:
    t = tr()
    st.subheader(t("What the network sees"))
    drawn, received, looked = st.columns(3)
    drawn.image(
        outline(picture, prepared.box),
        caption=t.ngettext(
            "As drawn: {n} stroke (the box is the ink that was kept)",
            "As drawn: {n} strokes (the box is the ink that was kept)",
            strokes,
        ),
        width=280,
    )
    received.image(enlarge(prepared.image), caption=t("The 28x28 input it receives"), width=280)
    heat = explain.occlusion(prepared.image, prediction.digit)
    looked.image(
        overlay(prepared.image, heat),
        caption=t(
            "Where hiding a patch lowers the answer {digit} most (bright = mattered most)", digit=prediction.digit
        ),
        width=280,
    )
    if explain.has_conv:
        maps = normalise_maps(explain.feature_maps(prepared.image))
        st.image(
            mosaic(maps, columns=16 if len(maps) > 16 else 8),
            caption=t.ngettext(
                "First convolution layer: what its {n} filter responds to in this input",
                "First convolution layer: what each of its {n} filters responds to in this input",
                len(maps),
            ),
        )
    else:
        st.caption(t("This model has no convolution layer, so there are no feature maps of a first layer to show."))


def uploads_ui(predictor, model_path: Path, model_version: int | None) -> None:
    t = tr()
    st.subheader(t("Upload pictures of digits"))
    files = st.file_uploader(
        t(
            "One digit per picture: {formats}; dark ink on paper or light on dark; up to {size} MB each",
            formats=", ".join(ACCEPTED_FORMATS),
            size=MAX_FILE_BYTES // 2**20,
        ),
        type=UPLOAD_TYPES,
        accept_multiple_files=True,
        key="draw_uploads",
        max_upload_size=MAX_FILE_BYTES // 2**20,
    )
    if not files:
        return
    answers = predictor.classify_pictures((upload.name, upload.getvalue()) for upload in files)
    rows = [
        {
            "file": answer.name,
            "input": png_data_url(enlarge(answer.prepared.image, 2)) if answer.prepared else None,
            "answer": answer.prediction.digit if answer.prediction else None,
            "confidence": answer.prediction.confidence if answer.prediction else None,
            "note": t.message(answer.problem) if answer.problem else ("" if answer.prediction.sure else t("not sure")),
        }
        for answer in answers
    ]
    problems = [answer.explanation for answer in answers if answer.problem]
    answered = sum(row["answer"] is not None for row in rows)
    st.caption(
        t.ngettext(
            "{answered} of {n} picture answered.", "{answered} of {n} pictures answered.", len(rows), answered=answered
        )
    )
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        key="draw_upload_results",
        row_height=60,
        placeholder="-",
        column_config={
            "file": st.column_config.TextColumn(t("File")),
            "input": st.column_config.ImageColumn(t("28x28 input"), width="small"),
            "answer": st.column_config.NumberColumn(t("Answer"), format="%d"),
            "confidence": st.column_config.ProgressColumn(t("Confidence"), min_value=0, max_value=1, format="percent"),
            "note": st.column_config.TextColumn(t("Note"), width="large"),
        },
    )
    for problem in problems:
        st.error(md(t.message(problem)), icon=":material/error:")
    readable = [answer for answer in answers if answer.prediction]
    if readable:
        picked = st.selectbox(
            t("Look inside the network for"),
            range(len(readable)),
            format_func=lambda i: readable[i].name,
            key="draw_upload_inspect",
            help=t("Every layer of the model for this picture, from its 28x28 input to the probabilities"),
        )
        layer_view_ui(str(model_path), model_version, readable[picked].prepared.image, key="draw_upload_layers")


@st.fragment
def drawing_ui(model_path: str, model_version: int | None, model_label: str) -> None:
    """The canvas, its answer, the evidence and the layer view: a fragment, so a stroke (or the pen, or Clear) reruns
    this alone, not the model picker and the uploads above and below it."""
    predictor = load_predictor(model_path, model_version)  # cached: loaded (and checked) by the page's run
    with answering():  # every tab's answer before any tab's explanation (pages/answers_first.py)
        left, right = st.columns([1, 1], gap="large")
        with left:
            canvas = canvas_ui()
        picture = canvas.image_data
        prediction, prepared = predictor.predict_picture(picture) if picture is not None else (None, None)
        with right:
            if prediction is None:
                st.info(
                    t("Draw a digit on the black canvas. The answer appears as soon as you lift the pen."),
                    icon=":material/draw:",
                )
            else:
                answer_ui(prediction, canvas.image_bytes)
                keep_ui(picture, prediction, model_label)
                if thick_pen_tip(prepared.stroke, prediction.digit, prediction.sure):
                    st.caption(
                        t(
                            ":material/lightbulb: The pen is thick for a digit this small. The strokes were thinned to "
                            "MNIST's width, but loops that filled in stay closed: draw the digit larger, or lower the "
                            "pen width."
                        )
                    )
    if prediction is not None:
        after_other_answers()
        strokes = len((canvas.json_data or {}).get("objects", []))
        evidence_ui(picture, strokes, prepared, prediction, explainer(model_path, model_version))
        # Below the answer and its evidence, so those paint first; a fragment, so picking a map reruns the view alone.
        layer_view_ui(model_path, model_version, prepared.image, key="draw_layers")


t = tr()
st.title(t("Draw"))
st.caption(
    t(
        "Draw one digit, any size, anywhere on the canvas. Like MNIST, the picture is cropped to the ink, scaled "
        "into a 20x20 box and centred by its centre of mass before the network reads it."
    )
)
model_label, model_path, model_version = model_picker_ui()
try:
    predictor = load_predictor(model_path, model_version)
except (OSError, ValueError) as error:  # deleted meanwhile, or not a Keras model file (a ModelFileError)
    st.error(t("This model could not be loaded: {reason}", reason=md(t.message(error))), icon=":material/error:")
    st.stop()

drawing_ui(str(model_path), model_version, model_label)

st.divider()
uploads_ui(predictor, model_path, model_version)
