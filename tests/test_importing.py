"""Bring your own model: a model file trained elsewhere becomes an imported run, and a refused file changes nothing.

The post's model is real (tests/data/models/post-keras2.h5, saved by Keras 2 with the post's own code); the refused
models are tiny and made here. "Changes nothing" is checked byte for byte: every file under the run store's root,
hidden ones included, has the same bytes and modification time after a refused import, and no file appears, in the
store or in the temporary folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from mnist_core.inspection.predict import Predictor
from mnist_core.jobs.importing import import_model, import_upload
from mnist_core.networks.model_files import ModelFileError
from mnist_core.store import ACTIVE_STATES, Run, RunKind, RunState, RunStore, RunStoreError
from mnist_core.store.runs import RunWriter
from tests.support.commands import ROOT, cli, cli_env
from tests.support.pages import completed_run, figure, open_page, shown, texts

MODELS = ROOT / "tests" / "data" / "models"
POST_KERAS2 = MODELS / "post-keras2.h5"
RECORDED = json.loads((MODELS / "post-keras2.json").read_text())


def tiny_model(input_shape=(28, 28, 1), classes=10, extra=()):
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [keras.Input(input_shape), *extra, keras.layers.Flatten(), keras.layers.Dense(classes, activation="softmax")]
    )


def refused_files(folder: Path) -> dict[str, Path]:
    """One file of each kind the issue names: not a model, a model of another shape, one safe mode refuses, a .txt."""
    folder.mkdir(exist_ok=True)
    garbage = folder / "garbage.h5"
    garbage.write_bytes(np.random.default_rng(0).bytes(4096))
    cifar = folder / "cifar.keras"
    tiny_model(input_shape=(32, 32, 3)).save(cifar)
    lambda_layer = folder / "lambda.keras"
    tiny_model(extra=[keras.layers.Lambda(lambda x: x * 2)]).save(lambda_layer)
    notes = folder / "notes.txt"
    notes.write_text("a model? no: notes about one\n")
    return {"not a model": garbage, "another shape": cifar, "Lambda layer": lambda_layer, ".txt": notes}


EXPECTED = {
    "not a model": "is not a Keras model",
    "another shape": "32x32x3",
    "Lambda layer": "Lambda layer",
    ".txt": ".txt is not a model file name",
}


def snapshot(root: Path) -> dict[str, tuple]:
    """Every file and folder under the root, hidden ones included: its bytes' hash and modification time."""
    return {
        str(path.relative_to(root)): (
            hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder",
            path.stat().st_mtime_ns,
        )
        for path in sorted(root.rglob("*"))
    }


@pytest.fixture(scope="module")
def imported(tmp_path_factory, mnist) -> Run:
    """The post's Keras 2 model, imported once into a store shared by the tests that only read it."""
    store = RunStore(tmp_path_factory.mktemp("imported") / "runs")
    return import_model(store, POST_KERAS2, data=mnist)


# --- a model from the post's own code -----------------------------------------------------------------------------


def test_the_posts_keras2_model_becomes_an_imported_run_scoring_what_keras2_measured(imported):
    assert imported.meta.kind == RunKind.IMPORTED
    assert imported.meta.source_file == "post-keras2.h5"
    assert imported.name == "post-keras2.h5"  # the file's name, unless another is given
    assert imported.state == RunState.COMPLETED
    assert imported.config is None
    assert imported.history == ()
    results = imported.results
    assert results.test_accuracy == pytest.approx(RECORDED["test_accuracy"], abs=5e-5)  # 96.68%, as in Keras 2
    assert results.test_images == 10_000
    assert np.array(results.confusion_matrix).sum() == 10_000
    assert len(results.per_class) == 10
    assert len(results.misclassified) == round((1 - results.test_accuracy) * 10_000)
    assert results.parameters == 232_590
    summary = imported.summary()
    assert summary["kind"] == "imported"
    assert summary["source_file"] == "post-keras2.h5"
    assert summary["test_accuracy"] == results.test_accuracy


def test_the_imported_run_model_gives_keras2s_answers_through_the_predictor(imported, mnist):
    assert imported.has_model
    predictor = Predictor.from_path(imported.model_path)  # how the Draw page and `predict` open it
    answers = predictor.probabilities(mnist.x_test[:500] / 255.0).argmax(axis=1)
    keras2_answers = np.array([int(digit) for digit in RECORDED["test_predictions"][:500]])
    assert np.mean(answers == keras2_answers) >= 0.998


def test_a_name_can_be_given_and_an_adapted_model_is_kept_adapted(store, mnist, tmp_path):
    flat = tmp_path / "flat-logits.keras"
    keras.utils.set_random_seed(0)
    keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)]).save(flat)  # 784 in, logits out
    run = import_model(store, flat, name="  my MLP  ", data=mnist)
    assert run.name == "my MLP"
    assert run.meta.source_file == "flat-logits.keras"
    model = Predictor.from_path(run.model_path).model
    assert model.input_shape == (None, 28, 28, 1)
    probabilities = model.predict_on_batch(mnist.x_test[:4, ..., np.newaxis] / 255.0)
    assert np.allclose(np.asarray(probabilities).sum(axis=1), 1, atol=1e-5)


# --- files that are refused change nothing --------------------------------------------------------------------


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> dict[str, Path]:
    return refused_files(tmp_path_factory.mktemp("refused"))


@pytest.mark.parametrize("kind", EXPECTED)
def test_a_refused_file_is_one_line_and_changes_nothing(imported, bad_files, mnist, kind):
    root = imported.model_path.parents[1]
    before = snapshot(root)
    with pytest.raises(ModelFileError, match=EXPECTED[kind]) as caught:
        import_model(RunStore(root), bad_files[kind], data=mnist)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(f"{bad_files[kind]}: ")
    assert snapshot(root) == before


def test_a_model_whose_answers_are_not_numbers_is_refused(imported, mnist, tmp_path):
    broken = tiny_model()
    broken.set_weights([np.full_like(w, np.nan) for w in broken.get_weights()])
    broken.save(tmp_path / "nan.keras")
    root = imported.model_path.parents[1]
    before = snapshot(root)
    with pytest.raises(ModelFileError, match="not finite") as caught:
        import_model(RunStore(root), tmp_path / "nan.keras", data=mnist)
    assert str(caught.value).startswith(f"{tmp_path / 'nan.keras'}: ")
    assert snapshot(root) == before


def test_a_bad_name_is_refused_before_the_file_is_opened(store, mnist):
    with pytest.raises(RunStoreError, match="at most 80"):
        import_model(store, POST_KERAS2, name="x" * 81, data=mnist)
    assert not store.root.exists()


def test_an_error_while_writing_the_run_leaves_no_run(store, mnist, monkeypatch):
    def disk_full(self, model):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(RunWriter, "save_model", disk_full)
    with pytest.raises(OSError, match="No space"):
        import_model(store, POST_KERAS2, data=mnist)
    assert store.entries() == []
    assert [path.name for path in store.root.iterdir()] == []


def test_an_upload_is_named_as_uploaded_and_its_temporary_copy_removed(store, mnist, tmp_path, monkeypatch):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temporary))
    with pytest.raises(ModelFileError) as caught:
        import_upload(store, "garbage.h5", b"\x00not a model" * 100, data=mnist)
    assert str(caught.value).startswith("garbage.h5: is not a Keras model")
    assert list(temporary.iterdir()) == []
    run = import_upload(store, "post-keras2.h5", POST_KERAS2.read_bytes(), name="", data=mnist)
    assert (run.name, run.meta.source_file) == ("post-keras2.h5", "post-keras2.h5")
    assert list(temporary.iterdir()) == []


# --- the command line -------------------------------------------------------------------------------------------


def test_cli_import_then_runs_evaluate_and_predict_use_the_imported_run(tmp_path, mnist):
    runs = str(tmp_path / "runs")
    out = cli("import", str(POST_KERAS2), "--name", "the post", "--runs-dir", runs).stdout
    assert out.startswith(f"imported {POST_KERAS2} as run ")
    assert "(the post): test accuracy 0.9668" in out
    assert len(out.strip().splitlines()) == 1

    listed = json.loads(cli("runs", "--runs-dir", runs, "--json").stdout)
    assert [(row["name"], row["kind"], row["source_file"]) for row in listed] == [
        ("the post", "imported", "post-keras2.h5")
    ]
    run_id = listed[0]["run_id"]

    evaluated = json.loads(cli("evaluate", run_id, "--runs-dir", runs, "--json").stdout)
    assert evaluated["test_accuracy"] == pytest.approx(RECORDED["test_accuracy"], abs=5e-5)
    assert np.array(evaluated["confusion_matrix"]).sum() == 10_000

    image = tmp_path / "seven.png"
    Image.fromarray(mnist.x_test[0]).resize((112, 112)).save(image)  # the first test digit, a 7
    assert cli("predict", "--run", run_id, str(image), "--runs-dir", runs).stdout.startswith(f"{image}: 7 (")


@pytest.mark.parametrize("kind", EXPECTED)
def test_cli_a_refused_file_prints_one_line_exits_non_zero_and_changes_nothing(imported, bad_files, tmp_path, kind):
    root = imported.model_path.parents[1]
    before = snapshot(root)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    result = cli(
        "import", str(bad_files[kind]), "--runs-dir", str(root), env=cli_env(TMPDIR=str(temporary)), check=False
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"error: {bad_files[kind]}: ")
    assert EXPECTED[kind] in result.stderr
    assert snapshot(root) == before
    assert list(temporary.iterdir()) == []


def test_an_import_killed_at_random_instants_leaves_no_active_run_and_no_temporary_file(tmp_path):
    """kill -9 anywhere in an import's life: before its run exists nothing is left; after, the run reads
    interrupted (its lock died with the process), and `RunStore.sweep` (which the worker runs) removes the model file
    a killed save left half-written in the run's folder. Keras' own save makes an empty scratch folder in the system
    temporary directory and removes it when done: a kill in the middle leaves that folder, empty, and no file."""
    root = tmp_path / "runs"
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    for attempt in range(4):
        seen = set(os.listdir(root)) if root.exists() else set()
        process = subprocess.Popen(
            [sys.executable, "-m", "mnist_core", "import", str(POST_KERAS2), "--runs-dir", str(root)],
            cwd=ROOT,
            env=cli_env(TMPDIR=str(temporary)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if attempt % 2:  # while the run is being written: the moment its folder (or staging folder) appears
            while process.poll() is None and not (root.exists() and set(os.listdir(root)) - seen):
                time.sleep(0.002)
            time.sleep(rng.uniform(0, 0.05))
        else:  # anywhere: starting TensorFlow, opening the file, evaluating, writing
            time.sleep(rng.uniform(0.5, 3.5))
        process.kill()
        process.wait()

    store = RunStore(root)
    entries = store.entries()
    states = [entry.state for entry in entries]
    assert all(isinstance(entry, Run) for entry in entries), (seed, entries)
    assert not set(states) & set(ACTIVE_STATES), (seed, states)
    for run in store.runs():
        if run.state == RunState.COMPLETED:
            assert run.has_model
            assert run.results is not None
    store.sweep()
    leftovers = [p.name for p in root.iterdir() if p.name.startswith(".")] if root.exists() else []
    assert leftovers == [], (seed, leftovers)
    for run in store.runs():
        assert store.layout.temporary_files(store.layout.run_dir(run.id)) == [], seed
    assert [path for path in temporary.rglob("*") if not path.is_dir()] == [], seed


# --- the dashboard ------------------------------------------------------------------------------------------------


def test_the_runs_page_imports_an_uploaded_file_and_shows_it(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS", str(tmp_path / "runs"))
    at = open_page("pages/runs.py")
    assert any("Import a model file" in e.label for e in at.expander)
    assert "or import a model file" in at.info[0].value  # an empty store points at the import
    at.file_uploader(key="runs.import_file.0").set_value(("notes.h5", b"just some notes\n" * 10, "text/plain")).run()
    at.button(key="runs.import").click().run(timeout=120)
    assert not at.exception
    assert len(at.error) == 1
    assert "notes.h5: is not a Keras model" in shown(at.error[0].value)
    assert not (tmp_path / "runs").exists()

    at.file_uploader(key="runs.import_file.0").set_value(
        ("post-keras2.h5", POST_KERAS2.read_bytes(), "application/x-hdf5")
    ).run()
    at.text_input(key="runs.import_name.0").input("the post's model")
    at.button(key="runs.import").click().run(timeout=120)
    assert not at.exception, [e.message for e in at.exception]
    assert "Imported post-keras2.h5 as the post's model: 96.68%" in shown(at.success[0].value).replace("*", "")
    row = at.dataframe[0].value.iloc[0]
    assert (row["name"], row["preset"], row["status"]) == ("the post's model", "imported", "completed")
    assert row["test_accuracy_percent"] == pytest.approx(96.68)
    assert "the post's model · completed" in texts(at.subheader)
    assert any("imported: no training history" in text for text in texts(at.caption))
    assert any("Imported from post-keras2.h5" in text for text in texts(at.caption))
    assert not [c for c in at.get("plotly_chart") if "overlay" in c.proto.id]
    assert [c for c in at.get("plotly_chart") if c.proto.id.endswith("-runs.confusion")]
    assert any("was imported" in info.value for info in at.info)  # the Code tab
    assert at.file_uploader(key="runs.import_file.1").value is None  # a fresh uploader for the next file


def test_the_draw_page_offers_the_imported_model_and_reads_a_drawing_with_it(imported, monkeypatch):
    from tests.support.drawn_digits import Drawing, render
    from tests.test_draw_page import draw_page, fake_drawing, image_captions

    at = draw_page(imported.model_path.parents[1], monkeypatch)
    picker = at.selectbox(key="draw_model")
    label = picker.format_func(imported.id)
    assert label in picker.options
    assert label.startswith("post-keras2.h5 · imported ")
    assert label.endswith(" · 96.68% test accuracy")
    picker.select(imported.id).run()
    fake_drawing(at, render(Drawing(3, 0, "centred", "thick", "canvas"), seed=7))
    assert at.metric[0].value == "3"
    evidence = image_captions(at)[:4]  # then the layer view's pictures
    assert evidence[0].startswith("As drawn")
    assert evidence[1] == "The 28x28 input it receives"
    assert evidence[3].startswith("First convolution layer")


def test_the_runs_page_compares_an_imported_run_with_trained_ones(imported, tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS", str(tmp_path / "runs"))
    store = RunStore(tmp_path / "runs")
    trained = completed_run(store, "trained here")
    shutil.copytree(imported.model_path.parent, store.root / imported.id)
    at = open_page("pages/runs.py")
    rows = list(at.session_state["runs.table_ids"])
    picked = [rows.index(trained.id), rows.index(imported.id)]  # rows clicked in the runs table
    at.session_state["runs.table"] = {"selection": {"rows": picked, "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    traces = [trace["name"] for trace in figure(at, "runs.overlay.accuracy")["data"]]
    assert traces
    assert all("trained here" in name for name in traces)  # the imported run has no curves to draw
    assert any("post-keras2.h5: imported: no training history" in text for text in texts(at.caption))
    at.selectbox(key="runs.detail").set_value(imported.id).run()
    assert "post-keras2.h5 · completed" in texts(at.subheader)
    assert len(at.dataframe[1].value) == 10  # per-class metrics
