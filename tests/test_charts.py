"""The Plotly figure builders: each takes plain data and returns a figure with the traces a page expects."""

import numpy as np
import plotly.graph_objects as go
import pytest

from mnist_core.networks.metrics import EpochMetrics, ProgressPoint
from mnist_core.presentation import charts

HISTORY = [
    EpochMetrics(epoch=1, loss=0.9, accuracy=0.7, val_loss=0.5, val_accuracy=0.85),
    EpochMetrics(epoch=2, loss=0.4, accuracy=0.88, val_loss=0.3, val_accuracy=0.91),
]
POINTS = [
    ProgressPoint(epoch=1, batch=4, steps=8, progress=0.5, loss=1.5, accuracy=0.5),
    ProgressPoint(epoch=2, batch=4, steps=8, progress=1.5, loss=0.5),
]


def names(fig):
    return [trace.name for trace in fig.data]


def test_curve_shows_train_and_validation_per_epoch_as_the_seed_did():
    fig = charts.curve_figure("loss", HISTORY)
    assert names(fig) == ["loss", "val_loss"]
    assert list(fig.data[1].y) == [0.5, 0.3]
    assert list(fig.data[1].x) == [1, 2]


def test_curve_of_a_first_epoch_in_progress_is_not_blank():
    fig = charts.curve_figure("accuracy", [], POINTS[:1], epochs=3)
    assert names(fig) == ["accuracy (within epoch)"]
    assert list(fig.data[0].x) == [0.5]
    assert fig.layout.xaxis.range == (0, 3 * 1.02)  # fixed axis: a live chart does not rescale with every point


def test_curve_skips_points_without_the_metric_and_keeps_the_view_across_redraws():
    fig = charts.curve_figure("accuracy", HISTORY, POINTS)
    assert list(fig.data[0].y) == [0.5]
    assert fig.layout.uirevision == charts.curve_figure("accuracy", [], []).layout.uirevision


def test_live_curves_autorange_with_the_data_and_the_first_batch_is_a_visible_point():
    first = charts.curve_figure("loss", [], POINTS[:1], epochs=3)
    assert first.data[0].mode == "markers"  # a one-point line draws nothing: a legend and no line
    assert first.layout.yaxis.autorange is True
    assert first.layout.yaxis.range is None  # nothing pins the axis to the first points
    assert first.layout.yaxis.rangemode == "tozero"
    assert charts.curve_figure("loss", [], POINTS, epochs=3).data[0].mode == "lines"
    accuracy = charts.curve_figure("accuracy", HISTORY, POINTS, epochs=3).layout.yaxis
    assert accuracy.autorange is True
    assert (accuracy.autorangeoptions.minallowed, accuracy.autorangeoptions.maxallowed) == (0, 1)


def test_a_curve_before_the_first_batch_has_a_plain_fixed_axis():
    empty = charts.curve_figure("loss", [], [], epochs=3)
    assert not empty.data
    assert (empty.layout.yaxis.autorange, tuple(empty.layout.yaxis.range)) == (False, (0, 2.5))


def test_curve_refuses_an_unknown_metric():
    with pytest.raises(ValueError, match="metric"):
        charts.curve_figure("precision", HISTORY)


def test_overlay_draws_validation_and_training_of_each_run_in_one_colour():
    fig = charts.overlay_figure("accuracy", {"seed": HISTORY, "wide": HISTORY[:1]})
    assert names(fig) == ["seed · validation", "seed · training", "wide · validation", "wide · training"]
    assert fig.data[0].line.color == fig.data[1].line.color != fig.data[2].line.color
    assert fig.data[0].line.dash == "solid"
    assert fig.data[1].line.dash == "dot"


def test_overlay_legends_show_user_text_as_text_and_keep_long_names_apart():
    fig = charts.overlay_figure(
        "loss",
        {
            "<b>bold</b> & co": HISTORY,
            "grid #12 filters=32/64, dropout=0.3, batch_size=128 (14:02:31)": HISTORY,
            "grid #12 filters=32/64, dropout=0.3, batch_size=128 (14:05:07)": HISTORY,
        },
    )
    assert names(fig)[0] == "&lt;b&gt;bold&lt;/b&gt; &amp; co · validation"
    legends = {name.split(" · ")[0] for name in names(fig)}
    assert len(legends) == 3
    assert all(len(legend) <= charts.LEGEND_NAME for legend in legends if "grid" in legend)
    assert fig.layout.legend.yref == "container"  # below the axis title, not over it


def test_overlay_of_runs_without_history_is_an_empty_chart():
    assert names(charts.overlay_figure("loss", {"queued": []})) == []


def test_confusion_heatmap_writes_counts_and_puts_true_digits_on_rows():
    matrix = np.diag(np.arange(10) + 90)
    matrix[3, 5] = 7
    fig = charts.confusion_figure(matrix.tolist())
    heatmap = fig.data[0]
    assert isinstance(heatmap, go.Heatmap)
    assert heatmap.text[3][5] == 7
    assert heatmap.customdata[9][9] == 99
    assert fig.layout.yaxis.autorange == "reversed"
    # square cells by shrinking the plot area, so the digit labels stay next to the matrix
    assert (fig.layout.xaxis.constrain, fig.layout.yaxis.constrain, fig.layout.yaxis.scaleanchor) == (
        "domain",
        "domain",
        "x",
    )


def test_confusion_heatmap_refuses_a_wrong_shape():
    with pytest.raises(ValueError, match="10x10"):
        charts.confusion_figure([[1, 2], [3, 4]])


def test_class_counts_are_grouped_bars_per_set():
    fig = charts.class_counts_figure({"train": {"1": 20, "0": 10}, "test": {"0": 1, "1": 2}})
    assert names(fig) == ["train", "test"]
    assert list(fig.data[0].x) == ["0", "1"]
    assert list(fig.data[0].y) == [10, 20]
    assert fig.layout.barmode == "group"


def test_tile_lays_out_digits_with_a_caption_band_and_blank_cells():
    images = np.stack([np.full((28, 28), v, np.uint8) for v in (1, 2, 3)])
    mosaic = charts.tile(images, columns=2)
    cell_h = charts.CAPTION_ROWS + 28 + charts.GAP
    assert mosaic.shape == (2 * cell_h, 2 * 28 + charts.GAP)
    assert mosaic[charts.CAPTION_ROWS, 0] == 1
    assert mosaic[charts.CAPTION_ROWS, 28 + charts.GAP] == 2
    assert mosaic[cell_h + charts.CAPTION_ROWS, 0] == 3
    assert np.isnan(mosaic[cell_h + charts.CAPTION_ROWS, 28 + charts.GAP])  # no fourth digit
    assert np.isnan(mosaic[0, 0])  # caption band


def test_digit_grid_is_one_heatmap_with_one_caption_per_digit():
    images = np.zeros((12, 28, 28), np.uint8)
    fig = charts.digit_grid_figure(images, [f"label={i % 10}" for i in range(12)], columns=10)
    assert len(fig.data) == 1
    assert fig.data[0].zmax == 255
    assert [a.text for a in fig.layout.annotations][:2] == ["label=0", "label=1"]


def test_digit_grid_without_digits_says_so_and_mismatched_captions_are_refused():
    assert "No digits" in charts.digit_grid_figure(np.zeros((0, 28, 28)), []).layout.annotations[0].text
    with pytest.raises(ValueError, match="captions"):
        charts.digit_grid_figure(np.zeros((2, 28, 28)), ["one"])


def test_pixel_figure_labels_only_inked_pixels_with_their_values():
    image = np.zeros((28, 28), np.uint8)
    image[10, 12] = 255
    fig = charts.pixel_figure(image, "pixels")
    assert fig.data[0].text[10][12] == "255"
    assert fig.data[0].text[0][0] == ""
    normalised = charts.pixel_figure(image / 255.0, "normalised", decimals=2)
    assert normalised.data[0].text[10][12] == "1.00"
    assert normalised.data[0].zmax == 1


def test_pixel_figure_is_the_image_in_square_cells_with_titled_axes_and_values_only_when_asked():
    fig = charts.pixel_figure(np.zeros((28, 28), np.uint8), "small", values=False, height=300)
    assert fig.data[0].text is None
    assert (fig.layout.xaxis.title.text, fig.layout.yaxis.title.text) == ("column", "row")
    assert tuple(fig.layout.xaxis.range) == (-0.5, 27.5)
    assert tuple(fig.layout.yaxis.range) == (27.5, -0.5)  # row 0 on top, nothing beyond the image
    assert (fig.layout.xaxis.constrain, fig.layout.yaxis.constrain, fig.layout.yaxis.scaleanchor) == (
        "domain",
        "domain",
        "x",
    )
    assert fig.layout.height == 300


def test_probabilities_are_a_bar_per_digit_with_the_answer_highlighted():
    probabilities = [0.01] * 10
    probabilities[3] = 0.91
    fig = charts.probabilities_figure(probabilities, 3)
    bars = fig.data[0]
    assert list(bars.x) == [str(d) for d in range(10)]
    assert list(bars.y) == probabilities
    assert bars.marker.color[3] == charts.TRAIN_COLOUR
    assert set(bars.marker.color[:3] + bars.marker.color[4:]) == {charts.OTHER_DIGITS_COLOUR}
    assert tuple(fig.layout.yaxis.range) == (0, 1)
    with pytest.raises(ValueError, match="10 probabilities"):
        charts.probabilities_figure([0.5, 0.5], 0)


def test_accuracy_vs_parameters_without_completed_trials_says_so_instead_of_odd_axes():
    from mnist_core.presentation.study_charts import accuracy_vs_parameters_figure

    figure = accuracy_vs_parameters_figure(
        [{"trial": 0, "state": "interrupted", "test_accuracy": 0.8, "parameters": 1000}]
    )
    assert tuple(figure.layout.yaxis.range) == (0, 1)
    assert [a.text for a in figure.layout.annotations] == ["No completed trial yet"]


def test_labels_of_points_at_one_size_or_close_together_go_on_different_sides():
    """A quick study trains post and post-10 for as many epochs: one network, one point. one-conv and wide lie close."""
    from mnist_core.presentation.study_charts import accuracy_vs_parameters_figure

    runs = [
        ("post", 232_590, 0.9556, 0.9921),
        ("post-10", 232_590, 0.9556, 0.9911),
        ("wide", 422_154, 0.962, 0.9916),
        ("one-conv", 409_000, 0.958, 0.986),
        ("widest", 3_000_000, 0.96, 0.9932),
    ]
    rows = [
        {
            "trial": i + 1,
            "state": "completed",
            "preset": name,
            "parameters": size,
            "test_accuracy": acc,
            "post_accuracy": post,
        }
        for i, (name, size, acc, post) in enumerate(runs)
    ]
    fig = accuracy_vs_parameters_figure(rows)
    place = dict(zip(fig.data[0].text, fig.data[0].textposition, strict=True))
    assert place["post"] != place["post-10"]
    assert place["wide"] != place["one-conv"]


def test_run_names_in_a_legend_are_text_not_html():
    fig = charts.overlay_figure("loss", {"<b>x</b> & y": HISTORY})
    assert fig.data[0].name == "&lt;b&gt;x&lt;/b&gt; &amp; y · validation"
