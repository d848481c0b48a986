"""The Runs page in AppTest: empty and damaged stores, the table, overlays, one run's details, predict, rename,
delete with confirmation and the downloads."""

import json
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.pages import APP, completed_run, figure, open_page, shown, texts


def test_an_empty_store_says_so_and_links_to_the_train_page(runs):
    at = open_page("pages/runs.py")
    assert "No runs yet: train one" in at.info[0].value
    assert "train" in at.get("page_link")[0].proto.page


def test_the_table_lists_every_run_and_damaged_ones_without_crashing(runs):
    completed_run(runs, "first")
    (runs.root / "20990101-000000-broken-0000").mkdir(parents=True)
    (runs.root / "20990101-000000-broken-0000" / "meta.json").write_text("{not json")
    half_written = completed_run(runs, "newest, with a damaged history")
    (runs.root / half_written.id / "history.json").write_text('[{"epoch": 1, "lo')
    at = open_page("pages/runs.py")
    table = at.dataframe[0].value
    assert sorted(table["status"]) == ["completed", "damaged", "damaged"]
    assert table.set_index("name").loc["first", "test_accuracy_percent"] == pytest.approx(99.7)
    assert any("2 damaged run folder" in e.label for e in at.expander)
    assert "first · completed" in texts(at.subheader)  # the newest readable run is shown
    at.button(key="runs.delete_damaged.20990101-000000-broken-0000").click().run()
    assert len(runs.entries()) == 2
    assert not at.exception


def test_one_run_shows_confusion_per_class_and_its_mistakes(runs):
    completed_run(runs, "seed", wrong=30)
    at = open_page("pages/runs.py")
    assert "seed · completed" in texts(at.subheader)
    assert next(m.value for m in at.metric if m.label == "Test accuracy") == "99.70%"
    confusion = figure(at, "runs.confusion")["data"][0]
    assert confusion["text"][0][1] > 0  # zeros mistaken for ones
    assert len(at.dataframe[1].value) == 10  # per-class metrics
    gallery = figure(at, "runs.misclassified")["layout"]["annotations"]
    assert len(gallery) == 30
    assert "->" in gallery[0]["text"]


def pick_rows(at, *rows: int):
    """What clicking rows of the runs table sends: the selection, as row positions of the table as drawn."""
    at.session_state["runs.table"] = {"selection": {"rows": list(rows), "columns": [], "cells": []}}
    return at.run()


def picked(at) -> list[int]:
    return list(at.session_state["runs.table"]["selection"]["rows"])


def test_rows_picked_in_the_table_are_overlaid_and_one_is_chosen_for_details(runs):
    a = completed_run(runs, "alpha")
    completed_run(runs, "beta", wrong=50)
    at = open_page("pages/runs.py")
    assert picked(at) == [0]  # the newest run, beta
    assert "beta · completed" in texts(at.subheader)
    pick_rows(at, 0, 1)
    names = [trace["name"] for trace in figure(at, "runs.overlay.accuracy")["data"]]
    assert len(names) == 4
    assert any("alpha" in n for n in names)
    assert any("beta" in n for n in names)
    at.selectbox(key="runs.detail").set_value(a.id).run()
    assert "alpha · completed" in texts(at.subheader)
    pick_rows(at)
    assert "Pick one run in the table" in at.info[0].value


def test_the_pick_stays_with_its_runs_when_a_new_run_moves_the_rows(runs):
    first = completed_run(runs, "first")
    completed_run(runs, "second")
    at = open_page("pages/runs.py")
    pick_rows(at, 1)  # first
    completed_run(runs, "third")  # trained meanwhile: it takes row 0, first moves to row 2
    at.run()
    assert picked(at) == [2]
    assert at.session_state["runs.picked"] == [first.id]
    assert "first · completed" in texts(at.subheader)


def test_the_train_pages_link_picks_its_run(runs):
    linked = completed_run(runs, "linked")
    completed_run(runs, "newer")
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["run"] = linked.id
    at.run()
    at.switch_page("pages/runs.py").run()
    assert "linked · completed" in texts(at.subheader)
    assert picked(at) == [1]
    pick_rows(at, 0)  # the user's next click wins over the link
    assert "newer · completed" in texts(at.subheader)


def test_runs_of_one_name_are_told_apart_where_they_are_listed(runs):
    for _ in range(3):
        completed_run(runs, "seed")
    at = open_page("pages/runs.py")
    pick_rows(at, 0, 1, 2)
    options = at.selectbox(key="runs.detail").options
    assert len(set(options)) == 3
    assert all(option.startswith("seed (") for option in options)
    legend = {trace["name"].split(" · ")[0] for trace in figure(at, "runs.overlay.loss")["data"]}
    assert legend == set(options)


def test_the_table_sorts_numbers_as_numbers_and_leaves_missing_values_blank(runs):
    completed_run(runs, "done")
    at = open_page("pages/runs.py")
    table = at.dataframe[0]
    assert table.proto.placeholder == ""
    assert str(table.value["epochs_run"].dtype).lower().startswith("int")
    assert table.value["epochs_planned"].tolist() == [3]
    assert table.value["problem"].isna().all()
    formats = {name: config.get("type_config", {}).get("format") for name, config in columns(table).items()}
    assert formats["test_accuracy_percent"] == formats["best_val_accuracy_percent"] == "%.2f%%"
    per_class = columns(at.dataframe[1])
    assert {per_class[k]["type_config"]["format"] for k in ("precision_percent", "recall_percent", "f1_percent")} == {
        "%.2f%%"
    }


def columns(table) -> dict:
    return json.loads(table.proto.columns)


def test_a_long_name_does_not_push_the_last_columns_off_the_page(runs):
    completed_run(runs, "grid #12 filters=32/64, dropout=0.3, batch_size=128, learning_rate=0.001")
    at = open_page("pages/runs.py")
    assert columns(at.dataframe[0])["name"]["width"] == 130


def test_rename_and_delete_after_confirmation(runs):
    run = completed_run(runs, "old name")
    at = open_page("pages/runs.py")
    at.text_input(key=f"runs.new_name.{run.id}").input("new name").run()
    at.button(key="runs.rename").click().run()
    assert runs.get(run.id).name == "new name"
    at.button(key="runs.delete").click().run()
    assert runs.runs()
    assert "for good" in at.warning[0].value
    at.button(key="runs.delete_no").click().run()
    assert runs.runs()
    at.button(key="runs.delete").click().run()
    at.button(key="runs.delete_yes").click().run()
    assert runs.runs() == []
    assert "No runs yet" in at.info[0].value


def test_downloads_offer_the_model_and_the_metrics_as_csv_files(runs):
    completed_run(runs, "csv")
    at = open_page("pages/runs.py")
    labels = {b.proto.label: b for b in at.get("download_button")}
    assert labels["Download model (.keras)"].proto.disabled  # this fixture run has no model file
    metrics = labels["Download metrics (CSV files, zip)"]
    assert not metrics.proto.disabled
    assert metrics.proto.url.endswith(".zip")  # one CSV file per table in a zip (test_dashboard reads them)


def test_predict_test_image_n_with_the_runs_model(runs, trained_run, mnist):
    import keras

    shutil.copytree(trained_run.model_path.parent, runs.root / trained_run.id)
    model = keras.saving.load_model(trained_run.model_path)  # the model's own answer, without the page's code
    probabilities = model.predict(mnist.x_test[:1, ..., None].astype("float32") / 255.0, verbose=0)
    answers = [int(p.argmax()) for p in probabilities]
    at = open_page("pages/runs.py")
    at.number_input(key="runs.predict_index").set_value(0)
    at.button[[b.label for b in at.button].index("Predict")].click().run(timeout=90)
    assert not at.exception
    assert next(m.value for m in at.metric if m.label == "True") == "7"  # the first test digit
    predicted = next(m for m in at.metric if m.label == "Predicted")
    assert predicted.value == str(answers[0])
    assert predicted.proto.delta == f"{probabilities[0].max():.1%} confident"
    assert [m.value for m in (*at.success, *at.error)] == ["Right." if answers[0] == 7 else "Wrong."]
    picture = figure(at, "runs.predict_image")
    assert "text" not in picture["data"][0]  # no unreadable pixel values in the narrow column
    assert picture["layout"]["yaxis"]["range"] == [27.5, -0.5]  # the image, not -7 to 35


def test_a_misclassified_test_digit_opens_inside_the_network_layer_by_layer(runs, trained_run, mnist):
    shutil.copytree(trained_run.model_path.parent, runs.root / trained_run.id)
    at = open_page("pages/runs.py")
    assert not [e for e in at.expander if e.label.startswith("1. ")]  # no model loaded before it is asked for
    wrong = trained_run.results.misclassified[1]
    options = at.selectbox(key="runs.inside_pick").options
    at.selectbox(key="runs.inside_pick").set_value(1)
    at.button(key="runs.inside").click().run(timeout=90)
    assert not at.exception
    assert options[1] == f"test image {wrong.index}: a {wrong.true} read as {wrong.predicted}"
    assert "Inside the network, layer by layer" in [h.value for h in at.subheader]
    assert any(c.value == f"Test image {wrong.index}, labelled {int(mnist.y_test[wrong.index])}:" for c in at.caption)
    labels = [shown(e.label) for e in at.expander if e.label[0].isdigit()]
    assert labels[0] == "0. input · Input · 28x28x1"
    assert labels[-1].startswith(f"{len(labels) - 1}. digit · Dense · 10")


def test_every_column_that_is_not_self_evident_explains_itself_and_the_table_has_a_legend(runs):
    completed_run(runs, "done")
    at = open_page("pages/runs.py")
    config = columns(at.dataframe[0])
    explained = {
        "preset",
        "status",
        "parameters",
        "epochs_run",
        "epochs_planned",
        "best_val_accuracy_percent",
        "test_accuracy_percent",
        "train_val_gap_points",
        "duration",
        "created",
        "problem",
    }
    assert all(config[name].get("help") for name in explained), {n: config[n].get("help") for n in explained}
    assert "percentage points" in config["train_val_gap_points"]["help"]
    legend = next(c.value for c in at.caption if "**Gap**" in c.value)
    for header in ("Planned", "Best val", "Gap", "Problem"):
        assert f"**{header}**" in legend


def test_the_runs_page_reads_in_chinese(runs):
    completed_run(runs, "done")
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["lang"] = "zh"
    at.run()
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    assert at.title[0].value == "运行记录"
    assert "done · 已完成" in texts(at.subheader)
    assert at.dataframe[0].value["status"].tolist() == ["已完成"]
    config = columns(at.dataframe[0])
    assert config["train_val_gap_points"]["label"] == "差距"
    assert next(m.value for m in at.metric if m.label == "测试准确率") == "99.70%"
    loss = figure(at, "runs.overlay.loss")
    assert loss["layout"]["title"]["text"] == "损失"
    assert loss["layout"]["xaxis"]["title"]["text"] == "迭代次数"
    assert {trace["name"].split(" · ")[1] for trace in loss["data"]} == {"验证集", "训练集"}
    confusion = figure(at, "runs.confusion")
    assert confusion["layout"]["title"]["text"] == "混淆矩阵（测试集）"
    assert confusion["data"][0]["hovertemplate"].startswith("真实 %{y}，预测 %{x}")


def test_your_digits_tab_scores_the_runs_model_on_the_readers_own_set_and_manages_it(runs, trained_run, mnist):
    import keras
    import numpy as np

    shutil.copytree(trained_run.model_path.parent, runs.root / trained_run.id)
    at = open_page("pages/runs.py")
    assert any("Your own set is empty" in i.value for i in at.info)  # says how to fill it

    own = runs.own_digits
    for i in range(12):
        own.keep(np.kron(mnist.x_test[i], np.ones((10, 10), np.uint8)), int(mnist.y_test[i]))
    wrong_label = (int(mnist.y_test[12]) + 3) % 10  # a digit kept with a label its picture does not show
    own.keep(np.kron(mnist.x_test[12], np.ones((10, 10), np.uint8)), wrong_label)
    (own.folder / "junk.png").write_bytes(b"not a png")
    at.run(timeout=90)
    assert not at.exception
    # The page's figure against the model's own answers on the same 28x28 inputs (the Draw page's preprocessing).
    from mnist_core.inspection.own_digits import prepared_inputs

    digits, images, unreadable = prepared_inputs(own)
    answers = keras.saving.load_model(trained_run.model_path).predict(images, verbose=0).argmax(axis=1)
    right = sum(int(a) == d.label for a, d in zip(answers, digits, strict=True))
    assert (len(digits), unreadable) == (13, 1)
    assert next(m.value for m in at.metric if m.label == "Read right") == f"{right} of 13"
    assert next(m.value for m in at.metric if m.label == "On your digits") == f"{right / 13:.2%}"
    assert any("1 file of the set could not be read" in c.value for c in at.caption)
    assert any(f"a {wrong_label}, read as" in c.value for c in at.caption)  # the mislabelled one is a mistake

    at.toggle(key="runs.own.compare").set_value(True).run(timeout=120)
    frames = [d.value for d in at.dataframe]
    comparison = next(f for f in frames if "own" in f.columns and "model" in f.columns)
    assert trained_run.name in set(comparison["model"])
    table = next(d.value for d in at.dataframe if "saved" in d.value.columns)
    assert len(table) == 14
    assert "junk" in set(table["id"])
    junk_row = list(table["id"]).index("junk")
    assert "not a readable PNG" in table["note"][junk_row]
    at.session_state["runs.own.table.0"] = {"selection": {"rows": [junk_row], "columns": [], "cells": []}}
    at.run(timeout=90)
    at.button(key="runs.own.remove").click().run(timeout=90)
    assert not at.exception
    assert own.count() == 13
    assert "junk" not in own.ids()
    # The selection does not stay on the row position, where it would now pick another digit.
    assert at.button(key="runs.own.remove").disabled
