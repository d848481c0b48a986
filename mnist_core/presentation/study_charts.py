"""Plotly figures for a study: the trials' val_loss curves, test accuracy against model size, Optuna's views.

Pure functions of plain rows and records, no Streamlit (Optuna's own views come drawn from the adapter). Given a
translator `t`, titles, axes, legends and hover labels are in the reader's language; without one, in English.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from mnist_core.i18n import Translator, translator
from mnist_core.presentation.charts import RUN_COLOURS, base_layout, overlay_figure
from mnist_core.presentation.experiments_page import shortened_text
from mnist_core.study.states import TrialState

POST_COLOUR = "#9CA3AF"


def val_loss_figure(curves: Mapping[str, Sequence[Mapping]], t: Translator | None = None) -> go.Figure:
    """Every trial's val_loss per epoch on one chart (the post's lesson: watch the loss), one legend row each."""
    t = t or translator()
    fig = overlay_figure("loss", curves, training=False)
    fig.update_yaxes(title_text="val_loss")
    fig.update_xaxes(title_text=t("epoch"))
    # Below the chart: trial labels can be long (a search's settings) and would squeeze the plot beside it.
    fig.update_layout(
        title={"text": t("val_loss per epoch, one line per trial")},
        height=460,
        # In the plot's own coordinates: overlay_figure placed it by the container's, where -0.18 is off the figure.
        legend={"orientation": "h", "yref": "paper", "yanchor": "top", "y": -0.18, "xanchor": "left", "x": 0},
    )
    return fig


def accuracy_tick_format(low: float, high: float) -> str:
    """A percent tick format with as many decimals as the axis needs for no two ticks to read alike: Plotly puts
    about six ticks on the axis, and with one decimal an axis of 78.30% to 78.36% read "78.3%" three times."""
    step = (high - low) / 6
    decimals = 0 if step <= 0 else max(0, math.ceil(-math.log10(step * 100)))
    return f".{min(decimals, 4)}%"


def accuracy_vs_parameters_figure(rows: Sequence[Mapping], t: Translator | None = None) -> go.Figure:
    """Each completed trial's test accuracy against its parameter count (log axis); the post's figure beside it.

    Stopped, interrupted and pruned trials are left out: their accuracy is that of a model trained part way. Trials
    shortened by the study (fewer epochs or images than their preset) are hollow diamonds, named so in the legend,
    since the post's figures beside them are of full trainings.
    """
    t = t or translator()
    fig = go.Figure()
    done = [
        r
        for r in rows
        if r.get("state") == TrialState.COMPLETED and r.get("test_accuracy") is not None and r.get("parameters")
    ]
    post = [r for r in done if r.get("post_accuracy") is not None]
    # Log axis: its range is in powers of ten, padded so the outermost labels fit.
    sizes = [math.log10(r["parameters"]) for r in done]
    x_range = (min(sizes) - 0.25, max(sizes) + 0.25) if done else (0.0, 1.0)
    accuracies = [r["test_accuracy"] for r in done] + [r["post_accuracy"] for r in post]
    pad = max((max(accuracies) - min(accuracies)) * 0.15, 0.002) if done else 0  # one point alone: a narrow axis
    y_range = (min(accuracies) - pad, max(accuracies) + pad) if done else (0.0, 1.0)
    # Preset names are short enough to write beside the points; a grid's or search's settings go in the hover.
    labels = [html.escape(str(r.get("preset") or f"#{r['trial']}")) for r in done]
    positions = label_positions(
        sizes,
        [r["test_accuracy"] for r in done],
        labels,
        x_range,
        y_range,
        others=[(math.log10(r["parameters"]), r["post_accuracy"]) for r in post],
    )
    hover = t("trial {trial}: {change}", trial="%{customdata[0]}", change="%{customdata[1]}")
    hover += "<br>" + t("{count} parameters", count="%{x:,}") + "<br>" + t("test accuracy {value}", value="%{y:.2%}")
    for shortened in (False, True):
        chosen = [i for i, r in enumerate(done) if bool(r.get("shortened")) == shortened]
        if not chosen:
            continue
        name = t("this project")
        if shortened:
            name = t(
                "this project, shortened ({what})", what=shortened_text(next(r for r in done if r.get("shortened")), t)
            )
        fig.add_trace(
            go.Scatter(
                x=[done[i]["parameters"] for i in chosen],
                y=[done[i]["test_accuracy"] for i in chosen],
                mode="markers+text",
                text=[labels[i] for i in chosen],
                textposition=[positions[i] for i in chosen],
                name=name,
                marker={
                    "size": 11,
                    "color": "rgba(0,0,0,0)" if shortened else RUN_COLOURS[0],
                    "symbol": "diamond" if shortened else "circle",
                    "line": {"color": RUN_COLOURS[0], "width": 2},
                },
                customdata=[[done[i]["trial"], html.escape(t(done[i].get("changed") or ""))] for i in chosen],
                hovertemplate=hover + "<extra></extra>",
            )
        )
    if post:
        fig.add_trace(
            go.Scatter(
                x=[r["parameters"] for r in post],
                y=[r["post_accuracy"] for r in post],
                mode="markers",
                name=t("the post's figure (full training)"),
                marker={"size": 11, "color": "rgba(0,0,0,0)", "line": {"color": POST_COLOUR, "width": 2}},
                text=[html.escape(str(r.get("preset"))) for r in post],
                hovertemplate=t("{preset}: the post reported {value}", preset="%{text}", value="%{y:.2%}")
                + "<extra></extra>",
            )
        )
    fig.update_traces(cliponaxis=False)  # labels of the outermost points stay whole
    fig.update_layout(showlegend=True)  # also for one trace alone: it says whether the trials were shortened
    if done:
        fig.update_xaxes(range=list(x_range))
        fig.update_yaxes(range=list(y_range), tickformat=accuracy_tick_format(*y_range))
    else:
        # Plotly's default axes for an empty chart read as "-100% to 400%": say what is missing instead.
        fig.update_yaxes(range=[0, 1], tickformat=".0%")
        fig.update_xaxes(showticklabels=False)
        fig.add_annotation(text=t("No completed trial yet"), showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(title_text=t("parameters"), type="log")
    fig.update_yaxes(title_text=t("test accuracy"))
    base_layout(fig, t("Test accuracy against model size"), height=400, revision="study-params")
    # Below the chart: above it, the legend would sit on the title.
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0})
    return fig


def search_figures(figures: Mapping[str, go.Figure]) -> dict[str, go.Figure]:
    """Optuna's importance and parallel-coordinates views of a search (from `Studies.figures`), sized for the page."""
    for name, fig in figures.items():
        # Room for the bar values on the right and the axis names below.
        fig.update_layout(height=420, margin={"l": 10, "r": 40, "t": 40, "b": 50}, uirevision=f"study-{name}")
    return dict(figures)


# Where a label may sit around its point, in the order tried, and which way each moves its box.
_PLACES = {
    "top center": (0.0, 1.0),
    "bottom center": (0.0, -1.0),
    "middle right": (1.0, 0.0),
    "middle left": (-1.0, 0.0),
    "top right": (1.0, 1.0),
    "bottom left": (-1.0, -1.0),
    "top left": (-1.0, 1.0),
    "bottom right": (1.0, -1.0),
}
# The plot area of the chart on the page, roughly (measured in chromium at 1,400 px: 400 x 250 px),
# a label's size per character and height, and a marker's half width: all in pixels.
PLOT_PX = (400.0, 250.0)
CHAR_PX, LABEL_PX, MARKER_PX = 7.0, 16.0, 7.0


def label_positions(
    xs: Sequence[float],
    ys: Sequence[float],
    labels: Sequence[str],
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    others: Sequence[tuple[float, float]] = (),
) -> list[str]:
    """A text position per point so that labels overlap neither each other nor any marker: points of one model size
    (post and post-10, the same network) or close together (one-conv and wide) get their labels on different sides.

    `xs` are in axis units (log10 of the size on a log axis), `others` are markers without labels (the post's).
    """

    def pixels(x: float, y: float) -> tuple[float, float]:
        return (
            (x - x_range[0]) / ((x_range[1] - x_range[0]) or 1) * PLOT_PX[0],
            (y - y_range[0]) / ((y_range[1] - y_range[0]) or 1) * PLOT_PX[1],
        )

    points = [pixels(x, y) for x, y in zip(xs, ys, strict=True)]
    boxes = [_box(px, py, 2 * MARKER_PX, 2 * MARKER_PX) for px, py in [*points, *(pixels(*o) for o in others)]]
    chosen = []
    for (px, py), label in zip(points, labels, strict=True):
        width = len(label) * CHAR_PX
        scored = []
        for order, (place, (dx, dy)) in enumerate(_PLACES.items()):
            box = _box(px + dx * (width / 2 + MARKER_PX), py + dy * (LABEL_PX / 2 + MARKER_PX), width, LABEL_PX)
            scored.append((sum(_overlap(box, other) for other in boxes), order, place, box))
        _, _, place, box = min(scored)
        chosen.append(place)
        boxes.append(box)
    return chosen


def _box(cx: float, cy: float, width: float, height: float) -> tuple[float, float, float, float]:
    return (cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return width * height if width > 0 and height > 0 else 0.0
