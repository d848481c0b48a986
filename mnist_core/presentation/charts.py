"""Plotly figures for the dashboard: pure functions that take plain data (run records, lists, dicts, numpy arrays)
and return a `go.Figure`. No Streamlit here, so each chart is tested on its own and drawn by whichever page needs it.
A chart given a translator `t` (mnist_core.i18n) writes its titles, axes, legends and hover labels in the reader's
language; without one, in English.

    curve_figure        the post's two charts: loss / val_loss or accuracy / val_accuracy per epoch, plus the
                        within-epoch points of a run in progress (so the first epoch is not a blank chart)
    overlay_figure      the same metric for several runs on one chart
    confusion_figure    the confusion matrix as a heatmap (rows true digit, columns predicted)
    class_counts_figure per-class counts of the train and test sets as grouped bars
    digit_grid_figure   a grid of 28x28 digits with a caption above each (the post's `label=N` grid)
    pixel_figure        one digit up close, with each pixel's value written in its cell
    probabilities_figure the network's probability for each digit, the answer highlighted
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from mnist_core.data.mnist import NUM_CLASSES
from mnist_core.i18n import Translator, marked, translator
from mnist_core.networks.metrics import EpochMetrics, ProgressPoint

TRAIN_COLOUR = "#4F46E5"  # the theme's primary colour
OTHER_DIGITS_COLOUR = "#C7D2FE"  # a light shade of it
VAL_COLOUR = "#F97316"
# Colours for overlaid runs: one per run, train dashed and validation solid in the same colour.
RUN_COLOURS = ("#4F46E5", "#F97316", "#059669", "#DC2626", "#7C3AED", "#0891B2", "#CA8A04", "#DB2777", "#4B5563")
METRIC_TITLES = {"loss": marked("Loss"), "accuracy": marked("Accuracy")}
# The post plotted digits with matplotlib's "binary" colormap: ink dark on white.
INK = [[0.0, "#FFFFFF"], [1.0, "#000000"]]
# Space in pixels above each digit of a grid, for its caption.
CAPTION_ROWS = 9
GAP = 3
# Characters of a run's name in a legend: two legends side by side on the Runs page, each half a page wide.
LEGEND_NAME = 36


def base_layout(fig: go.Figure, title: str, height: int, revision: str | None = None) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        # Plotly keeps a user's zoom and hidden traces across redraws with the same uirevision, and autoranges the
        # axes nobody zoomed. (Streamlit 1.67 builds a changed figure as a new element, so there a zoom lasts until
        # the data change: the axes always follow a live run.)
        uirevision=revision or title,
    )
    return fig


def _epoch_axis(fig: go.Figure, epochs: int, t: Translator | None = None) -> None:
    # Whole epochs as ticks while they fit; Plotly's own ticks (1.2, 1.4, ...) read as if epochs were fractional.
    t = t or translator()
    fig.update_xaxes(title_text=t("epoch"), rangemode="tozero")
    if 0 < epochs <= 25:
        fig.update_xaxes(tick0=0, dtick=1)


def curve_figure(
    metric: str,
    history: Sequence[EpochMetrics],
    points: Sequence[ProgressPoint] = (),
    epochs: int | None = None,
    height: int = 320,
    t: Translator | None = None,
):
    """`metric` ("loss" or "accuracy") per epoch for training and validation, as the post plotted them.

    `history` holds a run's per-epoch metrics; `points` its within-epoch points (x = fractional epochs).
    Epoch n ends at x = n, so both lie on one axis.
    `epochs`, when known, fixes the x axis so a live chart does not rescale with every point.
    The metric's own names (loss, val_loss, ...) stay as Keras writes them in every language; titles, axes and the
    within-epoch line's name follow `t`.
    """
    if metric not in METRIC_TITLES:
        raise ValueError(f"metric must be one of {', '.join(METRIC_TITLES)} (got {metric!r})")
    t = t or translator()
    fig = go.Figure()
    live = [p for p in points if getattr(p, metric) is not None]
    if live:
        fig.add_trace(
            go.Scatter(
                x=[p.progress for p in live],
                y=[getattr(p, metric) for p in live],
                name=t("{metric} (within epoch)", metric=metric),
                mode="lines" if len(live) > 1 else "markers",  # the first batch alone: a line of one point is invisible
                line={"color": TRAIN_COLOUR, "width": 1},
                marker={"color": TRAIN_COLOUR, "size": 6},
                opacity=0.45,
            )
        )
    for key, colour in ((metric, TRAIN_COLOUR), (f"val_{metric}", VAL_COLOUR)):
        rows = [h for h in history if getattr(h, key) is not None]
        if rows:
            fig.add_trace(
                go.Scatter(
                    x=[h.epoch for h in rows],
                    y=[getattr(h, key) for h in rows],
                    name=key,
                    mode="lines+markers",
                    line={"color": colour, "width": 2},
                )
            )
    _epoch_axis(fig, epochs or len(history), t)
    if epochs:
        fig.update_xaxes(range=[0, max(epochs, 1) * 1.02])
    fig.update_yaxes(title_text=metric)
    # The y axis always fits the data: a first epoch's loss falls from 2.3 to 0.3 and its accuracy climbs from 10% to
    # 90%. A loss axis starts at zero, where every loss heads; accuracy never goes past 100%.
    if metric == "accuracy":
        fig.update_yaxes(tickformat=".1%", autorange=True, autorangeoptions={"minallowed": 0, "maxallowed": 1})
    else:
        fig.update_yaxes(autorange=True, rangemode="tozero")
    fig.update_layout(showlegend=True)  # also for the lone within-epoch line of a first epoch
    if not fig.data:  # before the first batch: a plain empty chart, not Plotly's default -1..4
        fig.update_yaxes(autorange=False, range=[0, 1] if metric == "accuracy" else [0, 2.5])
    return base_layout(fig, t(METRIC_TITLES[metric]), height=height, revision=f"curve-{metric}")


def overlay_figure(
    metric: str, runs: Mapping[str, Sequence[EpochMetrics]], training: bool = True, t: Translator | None = None
) -> go.Figure:
    """One metric for several runs ({run name: history}): validation solid, training dotted (the legend says so),
    one colour per run.
    Without `training`, only the validation curves, each named by its run alone."""
    if metric not in METRIC_TITLES:
        raise ValueError(f"metric must be one of {', '.join(METRIC_TITLES)} (got {metric!r})")
    t = t or translator()
    curves = {f"val_{metric}": t.pgettext("curve", "validation"), metric: t.pgettext("curve", "training")}
    fig = go.Figure()
    for i, (name, history) in enumerate(runs.items()):
        colour = RUN_COLOURS[i % len(RUN_COLOURS)]
        # Plotly draws a subset of HTML in legends: a run's name is shown as the text it is.
        label = html.escape(_legend_name(name))
        series = ((f"val_{metric}", "solid"), (metric, "dot")) if training else ((f"val_{metric}", "solid"),)
        for key, dash in series:
            rows = [h for h in history if getattr(h, key) is not None]
            if rows:
                fig.add_trace(
                    go.Scatter(
                        x=[h.epoch for h in rows],
                        y=[getattr(h, key) for h in rows],
                        name=f"{label} · {curves[key]}" if training else label,
                        legendgroup=name,
                        mode="lines+markers",
                        marker={"size": 5},
                        line={"color": colour, "dash": dash, "width": 2},
                    )
                )
    _epoch_axis(fig, max((len(h) for h in runs.values()), default=0), t)
    fig.update_yaxes(title_text=metric_name(metric, t))
    if metric == "accuracy":
        fig.update_yaxes(tickformat=".1%")
    # A short title: Plotly's toolbar floats over the chart's top right corner while the pointer is on it, and
    # covered the end of a long one in a half-page column. The legend says which line is which.
    fig = base_layout(fig, t("Loss") if metric == "loss" else t("Accuracy"), height=360 + 22 * len(runs))
    # Below the chart, one row per run: on top it would cover the title. Placed from the figure's own bottom edge
    # ("container"), the legend takes room of its own under the axis title instead of overlapping it.
    fig.update_layout(
        legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0, "xanchor": "left", "x": 0}
    )
    return fig


def metric_name(metric: str, t: Translator | None = None) -> str:
    """ "loss" or "accuracy" as an axis calls it, in the reader's language."""
    t = t or translator()
    return {"loss": t.pgettext("metric", "loss"), "accuracy": t.pgettext("metric", "accuracy")}.get(metric, metric)


def _legend_name(name: str, length: int = LEGEND_NAME) -> str:
    """A long run name for a legend: its start and its end, which tells runs of one name apart ("(14:02:31)")."""
    if len(name) <= length:
        return name
    tail = length // 3
    return f"{name[: length - tail - 1]}…{name[-tail:]}"


def confusion_figure(matrix, t: Translator | None = None) -> go.Figure:
    """Rows: true digit, columns: predicted digit; each cell holds its count. The colour scale is the square root
    of the count, so the few mistakes stay visible next to the thousand-strong diagonal."""
    counts = np.asarray(matrix, dtype=np.int64)
    if counts.shape != (NUM_CLASSES, NUM_CLASSES):
        raise ValueError(f"a confusion matrix is {NUM_CLASSES}x{NUM_CLASSES} (got {counts.shape})")
    t = t or translator()
    digits = [str(d) for d in range(NUM_CLASSES)]
    fig = go.Figure(
        go.Heatmap(
            z=np.sqrt(counts),
            x=digits,
            y=digits,
            text=counts.tolist(),
            texttemplate="%{text}",
            customdata=counts.tolist(),
            # TRANSLATORS: Plotly fills in %{y}, %{x} and %{customdata}: keep them as they are.
            hovertemplate=t("true %{y}, predicted %{x}: %{customdata}") + "<extra></extra>",
            colorscale="Blues",
            showscale=False,
        )
    )
    # Square cells by shrinking the plot area to the matrix ("domain"), not by widening the axes' ranges: the digit
    # labels and titles stay next to the matrix instead of at the far edges of a wide chart.
    fig.update_xaxes(title_text=t("predicted digit"), side="top", type="category", showgrid=False, constrain="domain")
    fig.update_yaxes(
        title_text=t("true digit"),
        autorange="reversed",
        type="category",
        scaleanchor="x",
        constrain="domain",
        showgrid=False,
    )
    return base_layout(fig, t("Confusion matrix (test set)"), height=460)


def class_counts_figure(counts: Mapping[str, Mapping[str, int]], t: Translator | None = None) -> go.Figure:
    """Grouped bars of images per digit, one group per set: {"train": {"0": 5923, ...}, "test": {...}}."""
    t = t or translator()
    fig = go.Figure()
    for i, (subset, per_class) in enumerate(counts.items()):
        digits = sorted(per_class, key=int)
        fig.add_trace(
            go.Bar(
                x=digits,
                y=[per_class[d] for d in digits],
                name=subset_name(subset, t),
                marker_color=RUN_COLOURS[i % len(RUN_COLOURS)],
                text=[per_class[d] for d in digits],
                textposition="outside",
            )
        )
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text=t("digit"), type="category")
    fig.update_yaxes(title_text=t("images"))
    return base_layout(fig, t("Images per digit"), height=340)


def subset_name(subset: str, t: Translator | None = None) -> str:
    """ "train" or "test" as a reader calls that set of images."""
    t = t or translator()
    return {"train": t.pgettext("subset", "train"), "test": t.pgettext("subset", "test")}.get(subset, subset)


def tile(images: np.ndarray, columns: int) -> np.ndarray:
    """Lay (N, 28, 28) images out in rows of `columns`, with a caption band above each row and a gap between
    digits; empty cells are NaN (drawn transparent)."""
    images = np.asarray(images)
    count, height, width = images.shape
    rows = max(1, -(-count // columns))
    cell_h, cell_w = CAPTION_ROWS + height + GAP, width + GAP
    mosaic = np.full((rows * cell_h, columns * cell_w - GAP), np.nan, dtype=np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        top, left = r * cell_h + CAPTION_ROWS, c * cell_w
        mosaic[top : top + height, left : left + width] = image
    return mosaic


def digit_grid_figure(
    images: np.ndarray, captions: Sequence[str], columns: int = 10, t: Translator | None = None
) -> go.Figure:
    """Digits (N, 28, 28), uint8 or floats, in a grid with a caption above each; one heatmap, so a 100-digit grid
    draws as fast as one digit."""
    t = t or translator()
    images = np.asarray(images)
    if len(images) != len(captions):
        raise ValueError(f"{len(images)} images but {len(captions)} captions")
    fig = go.Figure()
    if len(images) == 0:
        fig.add_annotation(text=t("No digits to show"), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        return base_layout(fig, "", height=120)
    columns = max(1, min(columns, len(images)))
    height, width = images.shape[1:]
    fig.add_trace(
        go.Heatmap(
            z=tile(images, columns),
            colorscale=INK,
            zmin=0,
            zmax=255 if images.dtype == np.uint8 else 1,
            showscale=False,
            hoverinfo="skip",
        )
    )
    for i, caption in enumerate(captions):
        r, c = divmod(i, columns)
        fig.add_annotation(
            x=c * (width + GAP) + width / 2 - 0.5,
            y=r * (CAPTION_ROWS + height + GAP) + CAPTION_ROWS / 2,
            text=caption,
            showarrow=False,
            font={"size": 11},
        )
    rows = -(-len(images) // columns)
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    pixel = 2.6 if columns > 5 else 4.0  # screen pixels per image pixel: 10 columns fit a wide page
    grid_height = int(rows * (CAPTION_ROWS + height + GAP) * pixel) + 20
    fig = base_layout(fig, "", height=grid_height)
    fig.update_layout(margin={"l": 0, "r": 0, "t": 10, "b": 0}, plot_bgcolor="rgba(0,0,0,0)")
    return fig


def pixel_figure(
    image: np.ndarray,
    title: str,
    decimals: int = 0,
    values: bool = True,
    height: int = 520,
    t: Translator | None = None,
) -> go.Figure:
    """One 28x28 digit large, in square cells with rows and columns numbered; with `values`, each inked cell is
    labelled with its value (0-255, or 0-1 with `decimals`): leave them out where the chart is too small to read."""
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"expected one 2-D image (got shape {image.shape})")
    t = t or translator()
    zmax = 255 if image.dtype == np.uint8 or image.max(initial=0) > 1 else 1
    pixels = np.asarray(image, dtype=np.float64)
    rows, columns = pixels.shape
    # Only inked pixels are labelled: 784 zeros would bury the digit in text.
    text = [[f"{v:.{decimals}f}" if v > 0 else "" for v in row] for row in pixels] if values else None
    fig = go.Figure(
        go.Heatmap(
            z=pixels,
            text=text,
            texttemplate="%{text}" if values else None,
            textfont={"size": 7},
            colorscale=INK,
            zmin=0,
            zmax=zmax,
            showscale=False,
            # TRANSLATORS: Plotly fills in %{y}, %{x} and %{z}: keep them as they are.
            hovertemplate=t("row %{y}, column %{x}: %{z}") + "<extra></extra>",
        )
    )
    # Exactly the image on both axes, cells square: the plot area shrinks to fit ("domain") rather than an axis
    # stretching past the image (a y axis from -7 to 35 in a narrow column).
    frame = {"showline": True, "mirror": True, "linecolor": "#D1D5DB"}  # the 28x28 field's edge, white on white
    fig.update_xaxes(
        title_text=t("column"),
        range=[-0.5, columns - 0.5],
        constrain="domain",
        showgrid=False,
        dtick=7,
        zeroline=False,
        **frame,
    )
    fig.update_yaxes(
        title_text=t("row"),
        range=[rows - 0.5, -0.5],  # row 0 at the top, as an image is stored
        scaleanchor="x",
        constrain="domain",
        showgrid=False,
        dtick=7,
        zeroline=False,
        **frame,
    )
    return base_layout(fig, title, height=height)


def probabilities_figure(probabilities: Sequence[float], answer: int, t: Translator | None = None) -> go.Figure:
    """A bar per digit, its height the network's probability for it; the answer's bar in the primary colour."""
    if len(probabilities) != NUM_CLASSES:
        raise ValueError(f"expected {NUM_CLASSES} probabilities (got {len(probabilities)})")
    t = t or translator()
    fig = go.Figure(
        go.Bar(
            x=[str(d) for d in range(NUM_CLASSES)],
            y=list(probabilities),
            marker_color=[TRAIN_COLOUR if d == answer else OTHER_DIGITS_COLOUR for d in range(NUM_CLASSES)],
            # TRANSLATORS: Plotly fills in %{x} and %{y:.1%}: keep them as they are.
            hovertemplate=t("digit %{x}: %{y:.1%}") + "<extra></extra>",
        )
    )
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    fig.update_xaxes(type="category", title=None)
    fig = base_layout(fig, t("Probability of each digit"), height=260)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fig
