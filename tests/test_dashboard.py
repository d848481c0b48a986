"""The dashboard's logic without Streamlit: runs table rows, live progress and ETA, controls to config, CSV."""

import csv
import io

import numpy as np
import pytest

from mnist_core import dashboard
from mnist_core.config import ConfigError, RunConfig
from mnist_core.presets import PRESETS
from mnist_core.store.records import ClassMetrics, EpochMetrics, Progress, ProgressPoint, Results


def test_durations_read_like_people_say_them():
    assert [dashboard.format_duration(s) for s in (None, 4.4, 75, 3725)] == ["-", "4 s", "1 min 15 s", "1 h 02 min"]


def test_one_hot_is_numpy_and_marks_the_label():
    assert dashboard.one_hot(5).tolist() == [0, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    assert dashboard.one_hot(np.uint8(0)).dtype == np.float32


def test_table_rows_keep_numbers_sortable_and_show_unfinished_epochs():
    summary = {
        "run_id": "r1",
        "name": "seed",
        "preset": "seed",
        "status": "stopped",
        "parameters": 232590,
        "epochs": 20,
        "epochs_completed": 3,
        "best_val_accuracy": 0.98,
        "test_accuracy": 0.979,
        "train_val_gap": -0.01,
        "train_seconds": 50.5,
        "created_at": "2026-11-28T05:00:00+00:00",
    }
    row = dashboard.table_rows([summary])[0]
    assert row["epochs"] == "3/20"
    assert row["test_accuracy"] == 0.979
    assert row["duration"] == 50.5
    assert row["created"] == "2026-11-28 05:00"
    assert row["problem"] is None


def test_table_rows_list_a_damaged_run_with_its_problem():
    row = dashboard.table_rows([{"run_id": "bad", "name": "bad", "status": "damaged", "error": "missing meta.json"}])[0]
    assert row["status"] == "damaged"
    assert row["problem"] == "missing meta.json"
    assert row["epochs"] is None


def test_table_rows_show_an_imported_model_as_imported_without_epochs():
    summary = {"run_id": "i", "name": "post", "kind": "imported", "preset": None, "status": "completed"}
    row = dashboard.table_rows([{**summary, "epochs": None, "epochs_completed": 0, "test_accuracy": 0.9668}])[0]
    assert row["preset"] == "imported"
    assert row["epochs"] is None
    assert row["test_accuracy"] == 0.9668


def test_progress_in_the_first_epoch_extrapolates_the_eta():
    point = ProgressPoint(epoch=1, batch=5, steps=10, progress=0.5, elapsed=2.0)
    progress = Progress(epochs=4, steps=10, points=(point,), updated_at=100.0)
    live = dashboard.live_progress(progress, [], 4, now=101.0)
    assert live.fraction == pytest.approx(0.125)
    assert live.elapsed == pytest.approx(3.0)
    assert live.eta == pytest.approx(3.0 * 7)
    assert live.label == "Epoch 1/4, batch 5/10"


def test_progress_after_whole_epochs_uses_their_mean_time():
    history = [EpochMetrics(epoch=1, seconds=10.0), EpochMetrics(epoch=2, seconds=12.0)]
    point = ProgressPoint(epoch=3, batch=5, steps=10, progress=2.5, elapsed=25.0)
    progress = Progress(epochs=4, steps=10, points=(point,), updated_at=50.0)
    live = dashboard.live_progress(progress, history, 4, now=50.0)
    assert live.epoch == 3
    assert live.fraction == pytest.approx(2.5 / 4)
    assert live.eta == pytest.approx(1.5 * 11.0)


def test_progress_between_epochs_and_before_the_first_point():
    history = [EpochMetrics(epoch=1, seconds=10.0)]
    point = ProgressPoint(epoch=1, batch=9, steps=10, progress=0.9, elapsed=9)
    live = dashboard.live_progress(Progress(epochs=2, steps=10, points=(point,)), history, 2, now=0)
    assert (live.epoch, live.batch, live.fraction, live.eta) == (1, 10, 0.5, 10.0)
    empty = dashboard.live_progress(Progress(), [], 5)
    assert (empty.fraction, empty.elapsed, empty.eta, empty.epochs) == (0.0, None, None, 5)


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_round_trips_through_the_controls(name):
    config = PRESETS[name].config
    assert dashboard.config_from_controls(dashboard.controls_from_config(config)) == config
    assert dashboard.matching_preset(config, PRESETS) == name


def test_controls_add_blocks_small_data_and_early_stopping():
    values = {
        **dashboard.controls_from_config(RunConfig()),
        "blocks": 3,
        "train_limit": 2000,
        "early_stopping": True,
        "patience": 2,
    }
    config = dashboard.config_from_controls(values)
    assert config.filters == (16, 36, 72)
    assert config.train_limit == 2000
    assert config.early_stopping_patience == 2
    assert dashboard.matching_preset(config, PRESETS) is None
    assert dashboard.config_from_controls({**values, "train_limit": 60000}).train_limit is None


def test_an_invalid_combination_names_the_control_to_fix():
    values = {**dashboard.controls_from_config(RunConfig()), "early_stopping": True, "validation_split": 0.0}
    config, error = dashboard.check_controls(values)
    assert config is None
    assert isinstance(error, ConfigError)
    assert error.field == "validation_split"


def test_metrics_csv_holds_epochs_then_test_and_per_class_metrics():
    history = [EpochMetrics(epoch=1, loss=0.5, accuracy=0.9, val_loss=None, seconds=3.0)]
    results = Results(
        test_accuracy=0.97,
        test_loss=0.1,
        test_images=2,
        confusion_matrix=[[0] * 10] * 10,
        per_class=(ClassMetrics(digit=0, precision=1.0, recall=0.5, f1=0.67, support=2),),
        parameters=10,
        best_epoch=1,
    )
    rows = list(csv.reader(io.StringIO(dashboard.metrics_csv(history, results))))
    assert rows[0] == list(dashboard.HISTORY_COLUMNS)
    assert rows[1] == ["1", "0.5", "0.9", "", "", "", "3.0"]
    assert rows[4] == ["0.97", "0.1", "10", "1"]
    assert rows[7] == ["0", "1.0", "0.5", "0.67", "2"]
    assert len(list(csv.reader(io.StringIO(dashboard.metrics_csv([]))))) == 1
