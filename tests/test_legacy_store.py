"""A run store written by MNIST Lab at commit 5d940cd still lists, opens, compares, evaluates and draws.

`tests/data/legacy-store-5d940cd/store/` was made once by that commit's command line (`make_store.py` beside it says
how and what each run is): a completed run of the `seed` preset, a stopped one (Ctrl-C), an interrupted one (kill -9,
its status.json still saying "running"), a damaged copy (results.json cut short), an imported model and a two-trial
grid study in `.studies.db`. Each test copies it (the fixture is never changed in place) and looks at it the way a
user does: the command line's output and what the pages show. The post's model was the preset `seed` then and is
`post` now: what recorded the old name reads, lists and compares under the new one.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from mnist_core.networks.presets import get_preset
from mnist_core.store import RunStore
from mnist_core.study import Studies
from tests.support.commands import cli
from tests.support.drawn_digits import Drawing, render
from tests.support.pages import figure, open_page, texts

FIXTURE = Path(__file__).resolve().parent / "data" / "legacy-store-5d940cd" / "store"

# The runs in the fixture (ids are folder names, fixed since it was made), with the figures 5d940cd recorded.
COMPLETED = "20261207-095425.001-legacy-completed-6e0d"
DAMAGED = "20261207-095425.001-legacy-completed-dead"
STOPPED = "20261207-095439.125-legacy-stopped-62c0"
IMPORTED = "20261207-095510.220-legacy-imported-8add"
TRIAL_1 = "20261207-095521.464-legacy-grid-1-filters-4-8-dense-units-16-2624"
TRIAL_2 = "20261207-095541.674-legacy-grid-2-filters-8-8-dense-units-16-07bf"
INTERRUPTED = "20261207-095553.268-legacy-interrupted-2728"
STATES = {
    COMPLETED: ("legacy-completed", "completed", 0.9395),
    STOPPED: ("legacy-stopped", "stopped", 0.94),
    IMPORTED: ("legacy-imported", "completed", 0.8965),
    TRIAL_1: ("legacy-grid #1 filters 4/8, dense_units 16, batch_size 32, learning_rate 0.003", "completed", 0.9395),
    TRIAL_2: ("legacy-grid #2 filters 8/8, dense_units 16, batch_size 32, learning_rate 0.003", "completed", 0.9433),
    INTERRUPTED: ("legacy-interrupted", "interrupted", None),
}


@pytest.fixture
def legacy(store, monkeypatch) -> Path:
    """A copy of the fixture store, made the run store of the pages (and of nothing else); conftest's `store`, so
    a worker a page starts for it is stopped when the test ends."""
    runs = store.root
    shutil.copytree(FIXTURE, runs)
    monkeypatch.setenv("MNIST_LAB_RUNS", str(runs))
    monkeypatch.delenv("MNIST_LAB_STUDIES", raising=False)
    return runs


def cli_json(*args):
    return json.loads(cli(*args, "--json").stdout)


def test_the_fixture_is_whole_and_small():
    files = [p for p in FIXTURE.rglob("*") if p.is_file()]
    assert {p.parent.name for p in files if p.name == "meta.json"} == {*STATES, DAMAGED}
    assert (FIXTURE / ".studies.db").is_file()
    assert sum(p.stat().st_size for p in files) < 2_000_000


def test_runs_lists_every_run_with_its_state_and_the_damaged_one_with_its_reason(legacy):
    rows = {row["run_id"]: row for row in cli_json("runs", "--runs-dir", str(legacy))}
    assert set(rows) == {*STATES, DAMAGED}
    for run_id, (name, state, accuracy) in STATES.items():
        assert (rows[run_id]["name"], rows[run_id]["status"]) == (name, state), run_id
        assert rows[run_id]["test_accuracy"] == pytest.approx(accuracy), run_id
    completed = rows[COMPLETED]
    assert completed["preset"] == "post", "recorded as seed, the post's model's name before it was post"
    assert {rows[t]["preset"] for t in (STOPPED, INTERRUPTED, TRIAL_1, TRIAL_2)} == {"post"}
    assert completed["kind"] == "trained"
    assert (completed["epochs_completed"], completed["epochs"], completed["parameters"]) == (1, 1, 6794)
    assert rows[STOPPED]["epochs_completed"] >= 1
    assert rows[STOPPED]["epochs"] == 50
    assert rows[IMPORTED]["kind"] == "imported"
    assert rows[IMPORTED]["parameters"] == 7850
    assert rows[INTERRUPTED]["error"] == "its training process ended before it finished"
    assert rows[INTERRUPTED]["epochs_completed"] == 1
    assert {rows[t]["study"] for t in (TRIAL_1, TRIAL_2)} == {"legacy-grid"}
    assert rows[DAMAGED]["status"] == "damaged"
    assert rows[DAMAGED]["error"].startswith("results.json: not valid JSON")

    table = cli("runs", "--runs-dir", str(legacy)).stdout  # the same, as a person reads it
    assert "legacy-completed" in table
    assert "0.9395" in table
    assert "results.json: not valid JSON" in table


def test_evaluate_predict_and_code_work_on_the_old_runs(legacy):
    out = cli_json("evaluate", "legacy-completed", "--runs-dir", str(legacy))
    assert out["run_id"] == COMPLETED
    assert out["test_accuracy"] == pytest.approx(0.9395)
    assert len(out["confusion_matrix"]) == 10
    assert sum(map(sum, out["confusion_matrix"])) == 10_000
    assert cli_json("evaluate", "legacy-imported", "--runs-dir", str(legacy))["test_accuracy"] == pytest.approx(0.8965)
    damaged = cli("evaluate", DAMAGED, "--runs-dir", str(legacy), check=False)
    assert damaged.returncode == 2
    assert "damaged" in damaged.stderr
    assert "results.json" in damaged.stderr

    seven = Path(__file__).resolve().parent / "data" / "images" / "seven-cmyk.jpg"
    for run in ("legacy-completed", "legacy-imported"):
        [predicted] = cli_json("predict", "--run", run, str(seven), "--runs-dir", str(legacy))
        assert predicted["digit"] == 7, run  # what each model answered at 5d940cd: its weights read back

    script = cli("code", "legacy-completed", "--runs-dir", str(legacy)).stdout  # the run's old config.json, read
    assert "legacy-completed" in script
    assert "Conv2D(4" in script.replace(" ", "")


def test_the_old_preset_name_still_trains_and_lists_beside_the_old_runs_as_post(legacy):
    """`train --preset seed`, as 5d940cd's README said: the run records `post`, the name the preset has now, and the
    command says so in one line; an old run renamed is written back under the new name."""
    trained = cli("train", "--preset", "seed", "--epochs", "1", "--limit", "600", "--runs-dir", str(legacy))
    assert "preset seed is now called post; the old name keeps working" in trained.stderr
    rows = {row["run_id"]: row for row in cli_json("runs", "--runs-dir", str(legacy))}
    [new] = set(rows) - {*STATES, DAMAGED}
    assert (rows[new]["name"], rows[new]["preset"], rows[new]["status"]) == ("post", "post", "completed")
    assert rows[new]["preset"] == rows[COMPLETED]["preset"], "the old run and the new compare as one preset"
    assert json.loads((legacy / new / "meta.json").read_text())["preset"] == "post"

    cli("rename", "legacy-completed", "the first one", "--runs-dir", str(legacy))
    assert json.loads((legacy / COMPLETED / "meta.json").read_text())["preset"] == "post"

    quiet = cli("train", "--preset", "seed", "--epochs", "1", "--limit", "600", "--json", "--runs-dir", str(legacy))
    assert "now called" not in quiet.stderr, "--json output stays machine-readable"
    assert json.loads(quiet.stdout)["name"] == "post"


def pick_rows(at, run_ids: list[str]):
    """Click these runs' rows in the runs table (its selection holds row positions, as drawn)."""
    shown = list(at.dataframe[0].value["run_id"])
    rows = [shown.index(run_id) for run_id in run_ids]
    at.session_state["runs.table"] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    return at.run()


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_the_runs_page_lists_them_opens_one_and_compares_two(legacy):
    at = open_page("pages/runs.py")
    table = at.dataframe[0].value.set_index("run_id")
    for run_id, (name, state, accuracy) in STATES.items():
        assert (table.loc[run_id, "name"], table.loc[run_id, "status"]) == (name, state), run_id
        if accuracy is not None:
            assert table.loc[run_id, "test_accuracy_percent"] == pytest.approx(accuracy * 100), run_id
    assert table.loc[COMPLETED, "preset"] == "post"
    assert table.loc[DAMAGED, "status"] == "damaged"
    assert table.loc[DAMAGED, "problem"].startswith("results.json")
    assert any("1 damaged run folder" in e.label for e in at.expander)
    assert any(DAMAGED in text and "results.json" in text for text in texts(at.markdown))

    pick_rows(at, [COMPLETED])  # one run's details
    assert not at.exception, [e.message for e in at.exception]
    assert "legacy-completed · completed" in texts(at.subheader)
    assert metric(at, "Test accuracy") == "93.95%"
    assert metric(at, "Parameters") == "6,794"
    confusion = figure(at, "runs.confusion")["data"][0]
    assert sum(int(count) for row in confusion["text"] for count in row) == 10_000, "the MNIST test set, counted"

    pick_rows(at, [COMPLETED, STOPPED, IMPORTED])  # compared: curves of the two trained, the imported named
    assert not at.exception, [e.message for e in at.exception]
    traces = [trace["name"] for trace in figure(at, "runs.overlay.accuracy")["data"]]
    assert any("legacy-completed" in t for t in traces)
    assert any("legacy-stopped" in t for t in traces)
    assert any("legacy-imported" in c and "imported" in c for c in texts(at.caption))
    at.selectbox(key="runs.detail").set_value(STOPPED).run()
    assert "legacy-stopped · stopped" in texts(at.subheader)
    assert metric(at, "Test accuracy") == "94.00%"
    at.selectbox(key="runs.detail").set_value(IMPORTED).run()
    assert "legacy-imported · completed" in texts(at.subheader)
    assert metric(at, "Test accuracy") == "89.65%"

    pick_rows(at, [INTERRUPTED])
    assert not at.exception, [e.message for e in at.exception]
    assert "legacy-interrupted · interrupted" in texts(at.subheader)
    assert metric(at, "Test accuracy") == "-"
    assert any("ended before it finished" in c for c in texts(at.caption))


def fake_drawing(at, image: Image.Image) -> None:
    """What the canvas component sends when a stroke ends (see test_draw_page.py): its objects and the PNG."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    at.session_state["draw_canvas"] = {"drawing": {"raw": {"objects": [{"type": "path"}]}, "data": url}}
    at.run()


def model_labels(at, run_ids) -> dict[str, str]:
    """Run id -> how the Draw page's model picker lists it (runs it does not offer left out)."""
    label = at.selectbox(key="draw_model").format_func
    labels = {}
    for run_id in run_ids:
        with contextlib.suppress(KeyError):
            labels[run_id] = label(run_id)
    return labels


def test_the_draw_page_draws_with_the_old_trained_and_imported_models(legacy):
    at = open_page("pages/draw.py", timeout=90)
    options = at.selectbox(key="draw_model").options
    labels = model_labels(at, STATES)
    offered = {run_id for run_id in STATES if labels.get(run_id) in options}
    assert offered == {COMPLETED, STOPPED, IMPORTED, TRIAL_1, TRIAL_2}, "finished runs with a model, no others"
    assert re.fullmatch(r"legacy-completed · trained 2026-12-07 09:54 · 93\.95% test accuracy", labels[COMPLETED])
    assert re.fullmatch(r"legacy-imported · imported 2026-12-07 09:55 · 89\.65% test accuracy", labels[IMPORTED])
    for run_id in (COMPLETED, IMPORTED):
        at.selectbox(key="draw_model").set_value(run_id).run(timeout=90)
        fake_drawing(at, render(Drawing(3, 0, "centred", "thick", "canvas"), seed=7))
        assert not at.exception, (run_id, [e.message for e in at.exception])
        assert not at.error, (run_id, texts(at.error))
        assert at.metric[0].value in [str(d) for d in range(10)], run_id
        probabilities = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["y"]
        assert sum(map(float, probabilities)) == pytest.approx(1.0, abs=1e-3), run_id
        assert "What the network sees" in [h.value for h in at.subheader]


def test_the_study_is_shown_with_its_trials_by_study_show_and_the_experiments_page(legacy):
    shown = cli_json("study", "show", "--runs-dir", str(legacy))
    assert [(s["study"], s["kind"], s["finished"], s["planned"]) for s in shown] == [("legacy-grid", "grid", 2, 2)]
    study = cli_json("study", "show", "legacy-grid", "--runs-dir", str(legacy))
    assert study["hosts"] == ["legacy-host"]
    trials = study["trials"]
    assert [t["trial"] for t in trials] == [1, 2]
    assert [t["state"] for t in trials] == ["completed", "completed"]
    assert [t["run_id"] for t in trials] == [TRIAL_1, TRIAL_2]
    assert [t["test_accuracy"] for t in trials] == pytest.approx([0.9395, 0.9433])
    _, spec = Studies(RunStore(legacy)).open("legacy-grid")
    assert spec.base == "post", "a grid recorded from `seed` starts from `post`"
    assert spec.config_for({"filters": "4/8"}) == get_preset("post").config.replace(
        filters=(4, 8), epochs=1, train_limit=20000
    )
    text = cli("study", "show", "legacy-grid", "--runs-dir", str(legacy)).stdout
    assert "2/2 trials finished" in text
    assert "93.95%" in text
    assert "94.33%" in text

    at = open_page("pages/experiments.py")
    assert at.selectbox(key="exp.study").value == "legacy-grid"
    table = next(df.value for df in at.dataframe if "trial" in df.value.columns)
    assert list(table["trial"]) == [1, 2]
    assert list(table["state"]) == ["completed", "completed"]
    assert list(table["filters"]) == ["4/8", "8/8"]
    assert list(table["test_accuracy"]) == ["93.95%", "94.33%"]  # as the page writes accuracies
    assert list(table["host"]) == ["legacy-host", "legacy-host"]
    assert list(table["run"]) == [f"./runs?run={TRIAL_1}", f"./runs?run={TRIAL_2}"], "linked to their runs here"
    assert "finished: 2 of 2" in at.get("progress")[0].proto.text
    curves = [t["name"] for t in figure(at, "exp.chart.loss")["data"]]
    assert [c.split(",")[0] for c in curves] == ["#1 filters 4/8", "#2 filters 8/8"]


def test_the_fixture_is_left_as_it_was():
    """The tests above wrote only to their copies (a sweep there would turn the kept 'running' into 'interrupted')."""
    status = json.loads((FIXTURE / INTERRUPTED / "status.json").read_text())
    assert status["state"] == "running"
