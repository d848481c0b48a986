"""The Experiments page in AppTest: the post's study is one click away with its time on this machine beside the
Queue button, the form keeps what was chosen, names its fields as people do and explains bad definitions (guidance
before anything is typed; in Chinese on a Chinese page), identical trials are merged and said so, a tiny grid queued
from the page (its worker run here, in-process) folds the form away and fills the table, the runs and the charts
(its shortened trials marked), a stopped study's unrun trials read "not run" with empty cells, and a study shared
through PostgreSQL shows the trials another machine trained."""

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from mnist_core import study as study_module
from mnist_core.store import RunStore
from mnist_core.study import Studies
from tests.support.pages import APP, figure, open_page, texts


@pytest.fixture
def runs(runs, monkeypatch):
    """conftest's `runs`; the page starts a worker process, these tests run the worker themselves, in this process."""
    monkeypatch.setattr(study_module.Studies, "launch_worker", lambda self, name: True)
    return runs


def results_table(at):
    """The results table (AppTest does not expose a dataframe's key: it is the one with a trial column)."""
    return next(df.value for df in at.dataframe if "trial" in df.value.columns)


def captions(at) -> list[str]:
    """The captions as read: markdown escapes and bold marks taken out."""
    return [c.replace("**", "") for c in texts(at.caption)]


def test_the_posts_study_is_ready_to_queue_with_its_time_on_this_machine(runs):
    at = open_page("pages/experiments.py")
    assert "No studies yet" in at.info[0].value
    assert at.radio(key="exp.kind").value == "presets"
    assert at.multiselect(key="exp.presets").value == [
        "post",
        "post-10",
        "wide",
        "wider",
        "widest",
        "three-conv",
        "one-conv",
    ]
    assert list(at.dataframe[0].value["post"])[0] == "99.21%"
    assert not at.button(key="exp.queue").disabled
    # No run in the store yet: the reference pace, which puts the post's study at the 35 minutes.
    assert any("7 trials, one at a time · about 35 min on this machine" in c for c in captions(at)), captions(at)
    estimate = next(c for c in at.caption if "on this machine" in c.value)
    assert "No finished run in this run store yet" in estimate.help


def test_the_estimate_follows_the_runs_already_trained_here_and_the_overrides(runs, mnist):
    """A finished run of the post's model gives this machine's pace: the study's time is at that pace."""
    from mnist_core.jobs.runner import execute_run
    from mnist_core.networks.config import RunConfig

    with runs.create(RunConfig(epochs=1, train_limit=1000), name="pace", preset="post") as writer:
        execute_run(writer, data=mnist)
    at = open_page("pages/experiments.py")
    at.number_input(key="exp.epochs").set_value(1).run()
    at.select_slider(key="exp.limit").set_value(1000).run()
    estimate = next(c for c in at.caption if "on this machine" in c.value)
    assert "Based on 1 finished run here." in estimate.help
    assert "6 trials" in estimate.value, "post-10 is merged into post under a 1-epoch override"
    assert re.search(r"about \d+ (s|min) on this machine", estimate.value), estimate.value


def test_trials_made_identical_by_the_overrides_are_named_and_trained_once(runs):
    at = open_page("pages/experiments.py")
    assert not at.warning
    at.number_input(key="exp.epochs").set_value(1).run()
    assert [w.value for w in at.warning] == [
        "post-10 would train exactly as post with these settings: it is trained once, as post."
    ]
    assert any(c.startswith("6 trials") for c in captions(at))


@pytest.mark.parametrize(
    ("kind", "field", "text", "message"),
    [
        ("grid", "dropout", "0.2, 1.5", "grid.dropout: must be between 0 and 0.9"),
        ("search", "epochs", "1:100000", "search.epochs: value must be between 1 and 500"),
        ("search", "dropout", "0.5:0.1", "low (0.5) must be below high (0.1)"),
    ],
)
def test_a_bad_definition_is_explained_and_cannot_be_queued(runs, kind, field, text, message):
    at = open_page("pages/experiments.py")
    at.radio(key="exp.kind").set_value(kind).run()
    at.text_input(key=f"exp.{kind}.{field}").input(text).run()
    assert any(message in e for e in texts(at.error)), texts(at.error)
    assert at.button(key="exp.queue").disabled


@pytest.mark.parametrize("kind", ["grid", "search"])
def test_an_empty_grid_or_search_gets_guidance_not_an_error_and_examples_read_as_examples(runs, kind):
    at = open_page("pages/experiments.py")
    at.radio(key="exp.kind").set_value(kind).run()
    assert not at.error, texts(at.error)
    assert any("Type the values of at least one setting" in i for i in texts(at.info))
    assert at.button(key="exp.queue").disabled
    assert at.text_input(key=f"exp.{kind}.filters").placeholder.startswith("e.g. ")
    assert at.text_input(key=f"exp.{kind}.dense_units").label == "Neurons in the hidden layer", "named, not keyed"
    assert at.text_input(key=f"exp.{kind}.learning_rate").label == "Learning rate"


def test_switching_the_kind_of_study_and_back_keeps_the_presets_and_the_typed_values(runs):
    at = open_page("pages/experiments.py")
    at.text_input(key="exp.name").input("kept").run()
    at.radio(key="exp.kind").set_value("grid").run()
    at.text_input(key="exp.grid.dropout").input("0.1, 0.2").run()
    at.radio(key="exp.kind").set_value("search").run()
    at.radio(key="exp.kind").set_value("presets").run()
    assert len(at.multiselect(key="exp.presets").value) == 7
    assert len(at.dataframe[0].value) == 7
    assert not at.error, texts(at.error)
    assert not at.button(key="exp.queue").disabled
    at.radio(key="exp.kind").set_value("grid").run()
    assert at.text_input(key="exp.grid.dropout").value == "0.1, 0.2"
    assert any(c.startswith("2 trials") for c in captions(at))


def chinese_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["lang"] = "zh"
    at.run()
    at.switch_page("pages/experiments.py")
    return at.run()


def test_the_page_reads_in_chinese_with_the_engines_messages_translated(runs):
    at = chinese_page()
    assert at.title[0].value == "实验"
    assert any("7 个试验" in c and "本机约 35 分钟" in c for c in captions(at)), captions(at)
    assert list(at.dataframe[0].value["change"])[0] == "原文的模型：卷积核个数 16 / 36，迭代 20 次，批量 256"
    at.radio(key="exp.kind").set_value("grid").run()
    assert at.text_input(key="exp.grid.dense_units").label == "隐藏层神经元"
    at.text_input(key="exp.grid.dropout").input("0.2, 0.2").run()
    assert texts(at.error) == ["grid.dropout：同一个值列出了两次"]


def test_a_tiny_grid_queued_from_the_page_fills_the_table_and_the_runs(runs, mnist):
    at = open_page("pages/experiments.py")
    at.radio(key="exp.kind").set_value("grid").run()
    at.text_input(key="exp.grid.filters").input("8/16, 16/36").run()
    at.number_input(key="exp.epochs").set_value(1).run()
    at.select_slider(key="exp.limit").set_value(1000).run()
    at.text_input(key="exp.name").input("page grid").run()
    assert any(c.startswith("2 trials") for c in captions(at))
    at.button(key="exp.queue").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="exp.study").value == "page grid"
    assert at.session_state["exp.queued"] == 1, "the form is drawn anew, folded, so the study's progress is in view"
    queued = results_table(at)
    assert list(queued["state"]) == ["queued", "queued"], "every planned trial is listed from the start"
    assert list(queued["filters"]) == ["8/16", "16/36"]

    assert Studies(runs).run_worker("page grid", data=mnist) == 2
    at.run()
    table = results_table(at)
    assert list(table["trial"]) == [1, 2], "numbered from 1, in the order they were typed and trained"
    assert list(table["filters"]) == ["8/16", "16/36"]
    assert list(table["state"]) == ["completed", "completed"]
    assert all(re.fullmatch(r"\d{1,3}\.\d\d%", cell) for cell in [*table["test_accuracy"], *table["val_accuracy"]])
    assert all(re.fullmatch(r"[+-]\d+\.\d\d pp", cell) for cell in table["train_val_gap"]), "one way to write a gap"
    assert list(table["epochs"]) == ["1/1", "1/1"]
    assert any("Shortened: trial(s) 1, 2 trained on 1 epoch, 1,000 images" in c for c in captions(at)), (
        "marked beside the table"
    )
    assert set(table["run_id"]) == {r.id for r in runs.runs()}, "each trial is a run on the Runs page"
    assert list(table["run"]) == [f"./runs?run={run_id}" for run_id in table["run_id"]], "linked to its run"
    assert "finished: 2 of 2" in at.get("progress")[0].proto.text
    assert at.get("download_button"), "the table exports as CSV"
    loss = figure(at, "exp.chart.loss")
    assert [t["name"] for t in loss["data"]] == ["#1 filters 8/16", "#2 filters 16/36"]
    params = figure(at, "exp.chart.params")
    assert sorted(params["data"][0]["x"]) == sorted(int(p.replace(",", "")) for p in table["parameters"])
    assert params["data"][0]["name"] == "this project, shortened (1 epoch, 1,000 images)"
    assert not at.get("button") or all(b.key != "exp.stop" for b in at.button)


def test_a_search_shows_importance_and_parallel_coordinates(runs, mnist):
    lab = Studies(runs)
    spec = study_module.search_study({"dropout": {"low": 0.1, "high": 0.5}}, 2, prune=False, epochs=1, train_limit=1000)
    lab.create("search", spec)
    assert lab.run_worker("search", data=mnist) == 2
    at = open_page("pages/experiments.py")
    assert at.selectbox(key="exp.study").value == "search"
    assert "dropout" in json.dumps(figure(at, "exp.chart.parallel")), "one axis per searched setting"
    assert figure(at, "exp.chart.importance")["data"][0]["type"] == "bar"


def test_a_shared_study_shows_every_trial_with_its_host_and_links_only_those_trained_here(
    runs, mnist, pg_url, tmp_path, monkeypatch
):
    """Two machines (two run stores, two host names) share a study on a PostgreSQL server: the page of the first
    shows both trials, the other machine's from the database alone (figures, val_loss per epoch, host)."""
    spec = study_module.grid_study({"dropout": [0.1, 0.2]}, epochs=2, train_limit=1000)
    elsewhere = RunStore(tmp_path / "other-machine")
    Studies(elsewhere, pg_url).create("shared", spec)
    monkeypatch.setenv("MNIST_LAB_HOST", "far-away")
    assert Studies(elsewhere, pg_url).run_worker("shared", data=mnist, max_trials=1) == 1
    monkeypatch.setenv("MNIST_LAB_HOST", "this-one")
    assert Studies(runs, pg_url).run_worker("shared", data=mnist) == 1

    monkeypatch.setenv("MNIST_LAB_STUDIES", pg_url)
    at = open_page("pages/experiments.py")
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="exp.study").value == "shared"
    table = results_table(at)
    assert list(table["trial"]) == [1, 2]
    assert list(table["host"]) == ["far-away", "this-one"]
    assert list(table["state"]) == ["completed", "completed"]
    assert all(cell.endswith("%") for cell in table["test_accuracy"]), (
        "the other machine's figures come from the database"
    )
    assert list(table["epochs"]) == ["2/2", "2/2"]
    assert table["run"][0] == "", "no link to a run that lives on another machine"
    assert table["run"][1] == f"./runs?run={runs.runs()[0].id}"
    curves = {t["name"]: t for t in figure(at, "exp.chart.loss")["data"]}
    assert list(curves) == ["#1 dropout 0.1", "#2 dropout 0.2"]
    assert len(curves["#1 dropout 0.1"]["y"]) == 2, "its val_loss per epoch, as it reported it to Optuna"
    assert any("on far-away, this-one" in c for c in texts(at.caption))


def test_a_study_queued_without_a_worker_here_offers_to_start_one(runs, monkeypatch):
    """Created on the command line, or its worker was killed (Optuna queued its trial again): start one here."""
    Studies(runs).create("waiting", study_module.grid_study({"dropout": [0.1, 0.2]}, epochs=1, train_limit=1000))
    started = []
    monkeypatch.setattr(study_module.Studies, "launch_worker", lambda self, name: started.append(name) or True)
    at = open_page("pages/experiments.py")
    assert "queued: 0 of 2" in at.get("progress")[0].proto.text
    at.button(key="exp.join").click().run()
    assert started == ["waiting"]


def test_a_stopped_study_reads_not_run_with_empty_cells_for_trials_it_never_started(runs, mnist):
    lab = Studies(runs)
    lab.create("cut short", study_module.grid_study({"dropout": [0.1, 0.2, 0.3]}, epochs=1, train_limit=1000))
    assert lab.run_worker("cut short", data=mnist, max_trials=1) == 1
    lab.request_stop("cut short")
    at = open_page("pages/experiments.py")
    assert "stopped: 1 of 3" in at.get("progress")[0].proto.text
    table = results_table(at)
    assert list(table["state"]) == ["completed", "not run", "not run"]
    unrun = table.iloc[1]
    for column in ("test_accuracy", "val_accuracy", "train_val_gap", "epochs", "parameters", "seconds"):
        assert unrun[column] == "", f"{column}: {unrun[column]!r}"
    assert at.button(key="exp.resume")
