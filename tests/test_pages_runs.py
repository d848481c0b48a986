"""The Runs page in AppTest: empty and damaged stores, the table, overlays, one run's details, predict, rename,
delete with confirmation and the downloads."""

import shutil

import pytest

from mnist_core.store import RunStore
from tests.pages_support import completed_run, figure, open_page, texts


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS", str(tmp_path / "runs"))
    return RunStore(tmp_path / "runs")


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
    assert table.set_index("name").loc["first", "test_accuracy"] == pytest.approx(0.997)
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


def test_several_runs_are_overlaid_and_one_is_picked_for_details(runs):
    a, b = completed_run(runs, "alpha"), completed_run(runs, "beta", wrong=50)
    at = open_page("pages/runs.py")
    at.multiselect(key="runs.selected").set_value([a.id, b.id]).run()
    names = [trace["name"] for trace in figure(at, "runs.overlay.accuracy")["data"]]
    assert len(names) == 4
    assert any("alpha" in n for n in names)
    assert any("beta" in n for n in names)
    at.selectbox(key="runs.detail").set_value(b.id).run()
    assert "beta · completed" in texts(at.subheader)


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


def test_downloads_offer_the_model_and_a_metrics_csv(runs):
    completed_run(runs, "csv")
    at = open_page("pages/runs.py")
    labels = {b.proto.label: b for b in at.get("download_button")}
    assert labels["Download model (.keras)"].proto.disabled  # this fixture run has no model file
    assert not labels["Download metrics (CSV)"].proto.disabled


def test_predict_test_image_n_with_the_runs_model(runs, trained_run):
    shutil.copytree(trained_run.model_path.parent, runs.root / trained_run.id)
    at = open_page("pages/runs.py")
    at.number_input(key="runs.predict_index").set_value(0)
    at.button[[b.label for b in at.button].index("Predict")].click().run(timeout=90)
    assert not at.exception
    assert next(m.value for m in at.metric if m.label == "True") == "7"  # the first test digit
    assert next(m.value for m in at.metric if m.label == "Predicted") in [str(d) for d in range(10)]
