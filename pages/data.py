"""The Data page: what the post printed and plotted about MNIST, made visible and browsable.

Source, shapes and per-class counts; a grid of digits with their labels; one digit up close with each step of
the post's preprocessing (pixels 0-255, divided by 255, the one-hot label). Never imports TensorFlow.
"""

import numpy as np
import streamlit as st

# First: the engine loads once, in one thread (pages/shared.py), before this page imports any part of it.
from pages.shared import KEEP, init_state, mnist, tr  # isort: skip
from mnist_core.presentation import charts
from mnist_core.presentation.data_page import one_hot

GRID_SIZES = (10, 20, 50, 100, 200)

init_state({"data.subset": "train", "data.label": "all", "data.start": 0, "data.count": 20, "data.position": 0})


@st.cache_data(show_spinner=False)
def matching_indices(subset: str, label: str) -> np.ndarray:
    """Indices of the chosen set's images with the chosen label (all of them for "all")."""
    labels = mnist().split(subset)[1]
    return np.arange(len(labels)) if label == "all" else np.flatnonzero(labels == int(label))


t = tr()
st.title(t("Data"))
data = mnist()
summary = data.summary()

# --- what the post printed -----------------------------------------------------------------------------------
st.caption(t("Source: {source}", source=summary["source"]))
cols = st.columns(4)
cols[0].metric(t("Training images"), t.number(len(data.x_train)))
cols[1].metric(t("Test images"), t.number(len(data.x_test)))
cols[2].metric(t("Image shape"), "28 x 28")
cols[3].metric(t("Pixel values"), "0-255 (uint8)")
st.plotly_chart(
    charts.class_counts_figure(
        {"train": summary["train"]["class_counts"], "test": summary["test"]["class_counts"]}, t=t
    ),
    key="data.counts",
)

# --- a grid of digits -------------------------------------------------------------------------------------------
st.subheader(t("Digits"))
left, middle, right, far = st.columns([1, 1, 1, 1])
subset = left.segmented_control(
    t("Set"),
    ["train", "test"],
    format_func=lambda name: charts.subset_name(name, t),
    key="data.subset",
    persist_state=KEEP,
    required=True,
)
label = middle.selectbox(
    t("Label"),
    ["all", *map(str, range(10))],
    format_func=lambda value: t("all") if value == "all" else value,
    key="data.label",
    persist_state=KEEP,
)
indices = matching_indices(subset, label)
count = far.select_slider(t("How many"), GRID_SIZES, key="data.count", persist_state=KEEP)
if st.session_state["data.start"] > len(indices) - 1:
    st.session_state["data.start"] = 0
start = right.number_input(
    t("Start at (of {count})", count=t.number(len(indices))),
    min_value=0,
    max_value=len(indices) - 1,
    step=count,
    key="data.start",
    persist_state=KEEP,
)
shown = indices[start : start + count]
images, labels = data.split(subset)
set_name = charts.subset_name(subset, t)  # "train" as the reader calls it
# The post's grid titles each digit `label=N`; filtered to one label, the grid titles them by index instead. The
# caption says which.
captions = [t("label={digit}", digit=labels[i]) if label == "all" else f"#{i}" for i in shown]
st.plotly_chart(charts.digit_grid_figure(images[shown], captions, columns=10, t=t), key="data.grid")
first = ", ".join(f"#{i}" for i in shown[:3]) + (" ..." if len(shown) > 3 else "")
if label == "all":
    grid_caption = t.ngettext(
        "{subset} image {first} ({n} shown, titled with its label, as the post's `label=N` grid).",
        "{subset} images {first} ({n} shown, each titled with its label, as the post's `label=N` grid).",
        len(shown),
        subset=set_name,
        first=first,
    )
else:
    grid_caption = t.ngettext(
        "{subset} image {first} ({n} shown, labelled {digit}, titled with its index in the set).",
        "{subset} images {first} ({n} shown, all labelled {digit}, each titled with its index in the set).",
        len(shown),
        subset=set_name,
        first=first,
        digit=label,
    )
st.caption(grid_caption)

# --- one digit up close -------------------------------------------------------------------------------------
st.subheader(t("One digit up close"))
# The slider counts positions in the grid: when the grid changes (another count, start, label or set), put it where
# the digit it showed is now, or at the first digit if that one has left the grid. (A new maximum also makes it a
# new slider, which would start again at 0.)
grid = (subset, label, int(start), count)
if st.session_state.get("data.grid") != grid:
    st.session_state["data.grid"] = grid
    was = st.session_state.get("data.index")
    st.session_state["data.position"] = int(np.flatnonzero(shown == was)[0]) if was in shown else 0
position = st.slider(
    t("Digit of the grid above"),
    0,
    max(len(shown) - 1, 1),
    key="data.position",
    persist_state=KEEP,
    disabled=len(shown) < 2,
)
index = int(shown[min(position, len(shown) - 1)])
st.session_state["data.index"] = index
image, digit = images[index], int(labels[index])
st.markdown(t("**{subset} image #{index}**, label **{digit}**", subset=set_name, index=index, digit=digit))
pixels, normalised = st.columns(2)
pixels.plotly_chart(charts.pixel_figure(image, t("1. The pixels: 28 x 28 values, 0-255"), t=t), key="data.pixels")
normalised.plotly_chart(
    charts.pixel_figure(image.astype(np.float32) / 255.0, t("2. Divided by 255: values 0-1"), decimals=1, t=t),
    key="data.normalised",
)
st.markdown(t("**3. The input and the target the network is given**"))
shape_note = t("shape (1, 28, 28, 1), max {value:.1f}", value=image.max() / 255)
one_hot_note = t("one-hot: 1 at position {digit}", digit=digit)
st.code(
    f"x = image.reshape(1, 28, 28, 1).astype('float32') / 255   # {shape_note}\n"
    f"y = to_categorical({digit}, 10)                             # {one_hot_note}",
    language="python",
)
st.table({t("digit {digit}", digit=d): [int(v)] for d, v in enumerate(one_hot(digit))})
