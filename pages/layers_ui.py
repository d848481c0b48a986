"""Inside the network, layer by layer: the view the Draw page shows for a drawing or an upload, and the Runs page
for a misclassified test digit. Not a page (app.py does not list it); it draws what mnist_core.inspection.layers
computes.

The view is a fragment: picking a map to look at closer reruns the view alone, not the page's prediction.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from mnist_core.presentation import charts
from mnist_core.presentation import layer_pictures as pictures
from mnist_core.presentation.text import markdown_text as md
from pages.shared import load_predictor, loading_keras, tr

if (
    TYPE_CHECKING
):  # mnist_core.inspection.layers imports Keras: the Runs page imports this module before any model loads
    from mnist_core.inspection.layers import LayerInspector, LayerStep

NOT_PICKED = "-"


@st.cache_resource(show_spinner=False, max_entries=4)
def _inspector(model_path: str, version: int | None) -> LayerInspector:
    """One inspector per model file version (a run's `model_version`): its every-layer model is built once."""
    from mnist_core.inspection.layers import LayerInspector

    return LayerInspector(load_predictor(model_path, version).model)


def inspector(model_path: str | Path, version: int | None) -> LayerInspector:
    with loading_keras():  # building it traces a Keras function: not while another page first imports TensorFlow
        return _inspector(str(model_path), version)


def step_label(step: LayerStep) -> str:
    """A layer's line: its position, name (as the model's author typed it), Keras type and output shape."""
    return f"{step.index}. {step.name} · {step.type} · {step.shape_text}"


@st.fragment
def layer_view_ui(model_path: str, version: int | None, image01: np.ndarray, key: str) -> None:
    """Every layer of the model for this 28x28 image, in order; the first open, the others folded."""
    from mnist_core.inspection.layers import FEATURE_MAPS, INPUT, PROBABILITIES, UNSUPPORTED, VECTOR

    t = tr()
    try:
        view = inspector(model_path, version).inspect(image01)
    except (OSError, ValueError) as error:  # the model file went away meanwhile
        st.error(t("The layers could not be shown: {reason}", reason=md(t.message(error))), icon=":material/error:")
        return
    st.subheader(t("Inside the network, layer by layer"))
    st.caption(
        t(
            "All {steps} steps from the 28x28 input to the ten probabilities ({maps} feature maps), in the order "
            "the network computes them. In each layer's pictures black is 0, brighter is stronger, warm colours are "
            "positive and blue ones negative, on one colour scale per layer. Open a layer to see it; pick one of "
            "its maps to see the kernel that made it.",
            steps=t.number(len(view.steps)),
            maps=t.number(view.map_count),
        )
    )
    for step in view.steps:
        with st.expander(md(step_label(step)), expanded=step.index == 0):  # names as typed, never markdown
            st.caption(md(t.message(step.note)) if step.note else step.type)
            if step.kind in (INPUT, FEATURE_MAPS):
                maps_ui(view, step, inspector(model_path, version), key)
            elif step.kind == VECTOR:
                st.image(
                    pictures.png(pictures.vector_sheet(step.activations, step.value_range)),
                    caption=t(
                        "{count} values, left to right and top to bottom; {scale}",
                        count=t.number(len(step.activations)),
                        scale=pictures.scale_text(step.value_range, t),
                    ),
                )
            elif step.kind == PROBABILITIES:
                st.plotly_chart(
                    charts.probabilities_figure(step.activations.tolist(), view.digit, t=t),
                    key=f"{key}.probabilities",
                    config={"displayModeBar": False},
                )
            elif step.kind == UNSUPPORTED:
                st.caption(t("Output shape {shape}: not drawn.", shape=step.shape_text))


def maps_ui(view, step: LayerStep, layers: LayerInspector, key: str) -> None:
    from mnist_core.inspection.layers import INPUT

    t = tr()
    scale = pictures.scale_text(step.value_range, t)  # not inside ngettext(): Babel takes a `t` there for a call of t
    st.image(
        pictures.png(pictures.maps_sheet(step.activations, step.value_range)),
        caption=t.ngettext(
            "{n} map of {shape}; {scale}",
            "{n} maps of {shape}; {scale}",
            step.channels,
            shape=step.shape_text,
            scale=scale,
        ),
    )
    if step.kind == INPUT:
        return
    picked = st.selectbox(
        t("Look closer at map"),
        [NOT_PICKED, *range(step.channels)],
        key=f"{key}.pick.{step.index}",
        width=220,
        help=t("Shows the map large, beside the convolution kernel that made it"),
    )
    if picked != NOT_PICKED:
        kernel_ui(layers.kernel_for(view, step.index, int(picked)), view)


def kernel_ui(kernel, view) -> None:
    t = tr()
    step = view.steps[kernel.step]
    big, detail = st.columns([1, 2], gap="medium")
    big.image(
        pictures.png(pictures.enlarged(kernel.feature_map, step.value_range)),
        caption=t("Map {channel} of {layer}", channel=kernel.channel, layer=step.name),
    )
    with detail:
        st.caption(md(t.message(kernel.note)))
        if not kernel.slices:
            return
        scale = (0.0, max(float(np.abs(s.weights).max()) for s in kernel.slices))
        fed_by = view.steps[kernel.conv_step].fed_by
        source = view.steps[fed_by] if fed_by is not None else None
        if kernel.bias is not None:
            st.caption(
                t(
                    "Bias {bias}. Kernel colours: blue negative, warm positive, up to {top}.",
                    bias=f"{kernel.bias:+.3f}",
                    top=f"{scale[1]:.3g}",
                )
            )
        columns = st.columns(len(kernel.top))
        for column, piece in zip(columns, kernel.top, strict=True):
            if piece.input_map is not None:
                column.image(
                    pictures.png(pictures.enlarged(piece.input_map, source.value_range, 112)),
                    caption=t("input map {channel}", channel=piece.input_channel),
                )
            column.image(
                pictures.png(pictures.enlarged(piece.weights, (-scale[1], scale[1]), 112)),
                caption=t("its weights, L1 {weight}", weight=f"{piece.weight:.3g}"),
            )
        if kernel.rest:
            with st.expander(
                t.ngettext(
                    "The other input map and its kernel slice",
                    "The other {n} input maps and their kernel slices",
                    len(kernel.rest),
                )
            ):
                # One above the other at their own size: side by side, the browser shrank them past legibility.
                labels = [str(piece.input_channel) for piece in kernel.rest]
                if all(piece.input_map is not None for piece in kernel.rest):
                    maps = np.stack([piece.input_map for piece in kernel.rest])
                    st.image(
                        pictures.png(pictures.maps_sheet(maps, source.value_range, columns=8, labels=labels)),
                        caption=t("input maps, heaviest slice first"),
                    )
                slices = np.stack([piece.weights for piece in kernel.rest])
                st.image(
                    pictures.png(pictures.maps_sheet(slices, (-scale[1], scale[1]), columns=8, labels=labels)),
                    caption=t("their kernel slices, in the same order"),
                )
