"""Plotly figures for a study: the trials' val_loss curves, test accuracy against model size, Optuna's views.

Pure functions of plain rows and records, no Streamlit (Optuna's own views come drawn from the adapter).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from mnist_core.charts import RUN_COLOURS, _base_layout, overlay_figure

POST_COLOUR = "#9CA3AF"


def val_loss_figure(curves: Mapping[str, Sequence[Mapping]]) -> go.Figure:
    """Every trial's val_loss per epoch on one chart (the post's lesson: watch the loss), one legend row each."""
    fig = overlay_figure("loss", curves)
    fig.data = [trace for trace in fig.data if trace.name.endswith("· val_loss")]
    for trace in fig.data:
        trace.name = trace.name.removesuffix(" · val_loss")
    fig.update_yaxes(title_text="val_loss")
    # Below the chart: trial labels can be long (a search's settings) and would squeeze the plot beside it.
    fig.update_layout(
        title={"text": "val_loss per epoch, one line per trial"},
        height=460,
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "xanchor": "left", "x": 0},
    )
    return fig


def accuracy_vs_parameters_figure(rows: Sequence[Mapping]) -> go.Figure:
    """Each completed trial's test accuracy against its parameter count (log axis); the post's figure beside it.

    Stopped, interrupted and pruned trials are left out: their accuracy is that of a model trained part way.
    """
    fig = go.Figure()
    done = [
        r for r in rows if r.get("state") == "completed" and r.get("test_accuracy") is not None and r.get("parameters")
    ]
    # Preset names are short enough to write beside the points; a grid's or search's settings go in the hover.
    labels = [r.get("preset") or f"#{r['trial']}" for r in done]
    fig.add_trace(
        go.Scatter(
            x=[r["parameters"] for r in done],
            y=[r["test_accuracy"] for r in done],
            mode="markers+text",
            text=labels,
            textposition="top center",
            name="this project",
            marker={"size": 11, "color": RUN_COLOURS[0]},
            customdata=[[r["trial"], r.get("changed") or ""] for r in done],
            hovertemplate="trial %{customdata[0]}: %{customdata[1]}<br>%{x:,} parameters<br>"
            "test accuracy %{y:.2%}<extra></extra>",
        )
    )
    post = [r for r in done if r.get("post_accuracy") is not None]
    if post:
        fig.add_trace(
            go.Scatter(
                x=[r["parameters"] for r in post],
                y=[r["post_accuracy"] for r in post],
                mode="markers",
                name="the post's figure",
                marker={"size": 11, "color": "rgba(0,0,0,0)", "line": {"color": POST_COLOUR, "width": 2}},
                text=[r.get("preset") for r in post],
                hovertemplate="%{text}: the post reported %{y:.2%}<extra></extra>",
            )
        )
    fig.update_traces(cliponaxis=False)  # labels of the outermost points stay whole
    sizes = [r["parameters"] for r in done]
    if sizes:
        # Log axis: its range is in powers of ten. Pad it so the outermost labels fit.
        fig.update_xaxes(range=[math.log10(min(sizes)) - 0.25, math.log10(max(sizes)) + 0.25])
        accuracies = [r["test_accuracy"] for r in done] + [r["post_accuracy"] for r in post]
        pad = max((max(accuracies) - min(accuracies)) * 0.15, 0.002)  # one point alone gets a narrow axis too
        fig.update_yaxes(range=[min(accuracies) - pad, max(accuracies) + pad])
    else:
        # Plotly's default axes for an empty chart read as "-100% to 400%": say what is missing instead.
        fig.update_yaxes(range=[0, 1])
        fig.update_xaxes(showticklabels=False)
        fig.add_annotation(text="No completed trial yet", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(title_text="parameters", type="log")
    fig.update_yaxes(title_text="test accuracy", tickformat=".1%")
    _base_layout(fig, "Test accuracy against model size", height=400, revision="study-params")
    # Below the chart: above it, the legend would sit on the title.
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0})
    return fig


def search_figures(figures: Mapping[str, go.Figure]) -> dict[str, go.Figure]:
    """Optuna's importance and parallel-coordinates views of a search (from `Studies.figures`), sized for the page."""
    for name, fig in figures.items():
        # Room for the bar values on the right and the axis names below.
        fig.update_layout(height=420, margin={"l": 10, "r": 40, "t": 40, "b": 50}, uirevision=f"study-{name}")
    return dict(figures)
