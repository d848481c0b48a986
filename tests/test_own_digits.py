"""The user's own digits ("Wrong? It is a ..."): kept, listed, scored, exported and imported; damaged files listed with
the reason and left out; hostile names and files refused; a process killed while keeping leaves the set whole."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from mnist_core.inspection.own_digits import score_model, score_probabilities
from mnist_core.inspection.predict import BUNDLED_MODEL, Predictor
from mnist_core.store import RunStore
from mnist_core.store.own_digits import (
    CSV_NAME,
    RECORD_KEY,
    DamagedDigit,
    OwnDigit,
    OwnDigitsError,
)
from tests.support.commands import ROOT, cli


def canvas_of(image28: np.ndarray, scale: int = 10) -> np.ndarray:
    """A 28x28 uint8 digit drawn large, as RGBA white on black like the Draw page's canvas sends."""
    grey = np.kron(image28, np.ones((scale, scale), np.uint8))
    return np.dstack([grey, grey, grey, np.full_like(grey, 255)])


@pytest.fixture
def own(tmp_path):
    return RunStore(tmp_path / "runs").own_digits


def test_a_kept_drawing_is_listed_with_its_label_and_what_the_model_said(own, mnist):
    digit, new = own.keep(canvas_of(mnist.x_test[0]), 7, predicted=1, model="fast · trained today")
    assert new
    [entry] = own.entries()
    assert isinstance(entry, OwnDigit)
    assert entry.id == digit.id
    assert (entry.label, entry.record.predicted, entry.record.model) == (7, 1, "fast · trained today")
    picture = own.picture(entry.id)
    assert picture.dtype == np.uint8
    assert picture.shape == (280, 280)
    assert picture.max() == 255
    assert picture[0, 0] == 0


def test_the_same_drawing_with_the_same_label_is_kept_once_and_with_another_label_twice(own, mnist):
    picture = canvas_of(mnist.x_test[1])
    first, new = own.keep(picture, 2)
    again, new_again = own.keep(picture, 2)
    assert new
    assert not new_again
    assert first.id == again.id
    other, new_other = own.keep(picture, 3)
    assert new_other
    assert other.id != first.id
    assert own.count() == 2


def test_newest_first_and_a_photo_of_paper_is_kept_as_its_ink(own, mnist):
    own.keep(canvas_of(mnist.x_test[0]), 7, saved_at="2026-01-01T00:00:00+00:00")
    paper = Image.fromarray(255 - np.kron(mnist.x_test[2], np.ones((30, 30), np.uint8))).convert("RGB")
    buffer = io.BytesIO()
    paper.save(buffer, format="JPEG")
    kept, _ = own.keep(buffer.getvalue(), 1, saved_at="2026-02-01T00:00:00+00:00")
    assert [e.id for e in own.entries()][0] == kept.id
    picture = own.picture(kept.id)
    assert max(picture.shape) <= 560  # an 840 px photo is scaled down
    assert picture[0, 0] < 30
    assert picture.max() > 200


@pytest.mark.parametrize("label", [-1, 10, "seven", None, 3.5])
def test_a_label_that_is_not_a_digit_is_refused_with_what_to_give(own, mnist, label):
    with pytest.raises(OwnDigitsError, match="is not a digit 0 to 9"):
        own.keep(canvas_of(mnist.x_test[0]), label)
    assert own.count() == 0


def _png(pixels, text: str | None) -> bytes:
    info = PngImagePlugin.PngInfo()
    if text is not None:
        info.add_text(RECORD_KEY, text)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


DAMAGE = {
    "garbage": (b"\x00not a png at all", "not a readable PNG"),
    "empty": (b"", "not a readable PNG"),
    "plain-png": (_png(np.zeros((28, 28), np.uint8), None), "its label is missing"),
    "bad-json": (_png(np.zeros((28, 28), np.uint8), "{label: 7"), "not valid JSON"),
    "wrong-label": (_png(np.zeros((28, 28), np.uint8), json.dumps({"label": 12, "saved_at": "x"})), "label"),
    "wrong-type": (_png(np.zeros((28, 28), np.uint8), json.dumps({"label": "7", "saved_at": 3})), "label"),
}


@pytest.mark.parametrize("name", list(DAMAGE))
def test_a_damaged_file_is_listed_with_the_reason_left_out_of_scores_and_removable(own, mnist, name):
    own.keep(canvas_of(mnist.x_test[0]), 7)
    data, reason = DAMAGE[name]
    own.folder.mkdir(parents=True, exist_ok=True)
    (own.folder / f"{name}.png").write_bytes(data)
    entries = own.entries()
    damaged = [e for e in entries if isinstance(e, DamagedDigit)]
    assert [d.id for d in damaged] == [name]
    assert reason in damaged[0].reason
    assert [d.label for d in own.digits()] == [7]
    assert "digits/" in zipfile.ZipFile(io.BytesIO(own.export_zip())).namelist()[0]  # the export skips it
    assert own.remove([name]) == 1
    assert own.count() == 1


def test_a_truncated_kept_png_is_damaged_not_an_exception(own, mnist):
    digit, _ = own.keep(canvas_of(mnist.x_test[0]), 7)
    path = own.folder / f"{digit.id}.png"
    path.write_bytes(path.read_bytes()[:60])
    [entry] = own.entries()
    assert isinstance(entry, DamagedDigit)


@pytest.mark.parametrize("hostile", ["../../etc/passwd", "..", "a/b", "", ".hidden", "x" * 65, "ü"])
def test_hostile_ids_are_refused(own, hostile):
    with pytest.raises(OwnDigitsError, match="is not the id of a kept digit"):
        own.remove([hostile])
    with pytest.raises(OwnDigitsError):
        own.picture(hostile)


def test_export_then_import_keeps_every_digit_and_label(own, tmp_path, mnist):
    for i in range(6):
        own.keep(canvas_of(mnist.x_test[i]), int(mnist.y_test[i]), predicted=(int(mnist.y_test[i]) + 1) % 10)
    data = own.export_zip()
    archive = zipfile.ZipFile(io.BytesIO(data))
    rows = list(csv.DictReader(io.StringIO(archive.read(CSV_NAME).decode())))
    assert len(rows) == 6
    assert all(archive.read(row["file"])[:8] == b"\x89PNG\r\n\x1a\n" for row in rows)
    other = RunStore(tmp_path / "elsewhere").own_digits
    report = other.import_zip(data)
    assert (report.added, report.already_there, report.problems) == (6, 0, ())
    assert sorted((d.label, d.record.predicted) for d in other.digits()) == sorted(
        (d.label, d.record.predicted) for d in own.digits()
    )
    for digit in other.digits():
        assert np.array_equal(other.picture(digit.id), own.picture(digit.id))
    assert other.import_zip(data).already_there == 6


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_an_import_keeps_the_good_rows_and_names_each_bad_one(own, mnist, tmp_path):
    photo = io.BytesIO()
    Image.fromarray(255 - np.kron(mnist.x_test[0], np.ones((8, 8), np.uint8))).save(photo, format="PNG")
    table = "file,label\nseven.png,7\nmissing.png,3\nseven.png,eleven\nnotes.png,2\n../../../outside.png,4\n"
    report = own.import_zip(
        _zip(
            {
                "labels.csv": table.encode(),
                "seven.png": photo.getvalue(),
                "notes.png": b"hello",
                "../../../outside.png": photo.getvalue(),
            }
        )
    )
    assert report.added == 2  # seven.png as a 7, and the hostile name's picture as a 4 (kept under its own id)
    problems = [str(p) for p in report.problems]
    assert any("line 3" in p and "no picture called missing.png" in p for p in problems)
    assert any("line 4" in p and "eleven is not a digit" in p for p in problems)
    assert any("line 5" in p and "not an image" in p for p in problems)
    assert not (tmp_path / "outside.png").exists()
    assert not list(tmp_path.glob("**/outside.png"))
    assert all(len(d.id) == 16 for d in own.digits())  # ids are content hashes, never names from the zip


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04 not really", "Not a zip file"),
        (b"", "Not a zip file"),
        (_zip({"readme.txt": b"hi"}), "has no labels.csv"),
        (_zip({"labels.csv": b"name,digit\na.png,1\n"}), "needs the columns file and label"),
        (_zip({"labels.csv": b"\xff\xfe\x00bad"}), "labels.csv cannot be read"),
    ],
)
def test_an_import_that_cannot_be_used_says_what_to_give_and_keeps_nothing(own, data, message):
    with pytest.raises(OwnDigitsError, match=message):
        own.import_zip(data)
    assert own.count() == 0


def test_a_zip_that_unpacks_to_too_much_is_refused_before_unpacking(own):
    bomb = _zip({"labels.csv": b"file,label\n", "big.png": bytes(101 * 2**20)})
    assert len(bomb) < 2**20
    with pytest.raises(OwnDigitsError, match="unpacks to more than 100 MB"):
        own.import_zip(bomb)


def test_scores_count_right_answers_per_digit_and_put_confident_mistakes_first(own, mnist):
    digits = [own.keep(canvas_of(mnist.x_test[i]), int(mnist.y_test[i]))[0] for i in range(4)]
    probabilities = np.full((4, 10), 0.01)
    for i, digit in enumerate(digits):
        probabilities[i, digit.label] = 0.9
    probabilities[1] = 0.01
    probabilities[1, (digits[1].label + 1) % 10] = 0.6
    probabilities[2] = 0.01
    probabilities[2, (digits[2].label + 1) % 10] = 0.95
    result = score_probabilities(digits, probabilities)
    assert (result.right, result.count, result.accuracy) == (2, 4, 0.5)
    assert [a.digit.id for a in result.mistakes] == [digits[2].id, digits[1].id]
    assert sum(kept for _, kept in result.per_label().values()) == 4
    assert sum(map(sum, result.confusion)) == 4


@pytest.mark.skipif(not BUNDLED_MODEL.exists(), reason="the bundled model is package data")
def test_a_model_is_scored_on_the_set_through_the_draw_pages_preprocessing(own, mnist):
    for i in range(30):
        own.keep(canvas_of(mnist.x_test[i]), int(mnist.y_test[i]))
    own.folder.joinpath("broken.png").write_bytes(b"junk")
    result = score_model(Predictor.from_path(BUNDLED_MODEL), own)
    assert result.count == 30
    assert result.unreadable == 1
    assert result.accuracy >= 0.9  # MNIST's own test digits, drawn large: the model reads nearly all


KEEPER = """
import sys, numpy as np
from mnist_core.store import RunStore
own = RunStore(sys.argv[1]).own_digits
rng = np.random.default_rng(int(sys.argv[2]))
print("ready", flush=True)
while True:
    own.keep(rng.integers(0, 256, (280, 280), dtype=np.uint8), int(rng.integers(10)))
"""


def test_a_process_killed_while_keeping_digits_leaves_every_kept_one_whole(tmp_path):
    root = tmp_path / "runs"
    rng = np.random.default_rng(19)
    for attempt in range(6):
        keeper = subprocess.Popen(
            [sys.executable, "-c", KEEPER, str(root), str(attempt)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert keeper.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.05, 0.6)))
        os.kill(keeper.pid, signal.SIGKILL)
        keeper.wait()
    own = RunStore(root).own_digits
    assert own.count() > 0
    assert all(isinstance(e, OwnDigit) for e in own.entries())  # no half-written PNG is ever listed
    assert RunStore(root).entries() == []  # the set is not a run


def test_the_command_line_keeps_lists_scores_exports_imports_and_removes(tmp_path, mnist):
    runs = tmp_path / "runs"
    picture = tmp_path / "seven.png"
    Image.fromarray(255 - np.kron(mnist.x_test[0], np.ones((10, 10), np.uint8))).save(picture)
    kept = json.loads(cli("digits", "keep", str(picture), "--label", "7", "--runs-dir", str(runs), "--json").stdout)
    assert kept[0]["new"]
    listed = json.loads(cli("digits", "list", "--runs-dir", str(runs), "--json").stdout)
    assert [(row["label"], row["source"]) for row in listed] == [(7, "upload")]
    if BUNDLED_MODEL.exists():
        [scored] = json.loads(cli("digits", "score", "--runs-dir", str(runs), "--json").stdout)
        assert (scored["model"], scored["digits"]) == ("bundled", 1)
    archive = tmp_path / "mine.zip"
    cli("digits", "export", str(archive), "--runs-dir", str(runs))
    other = tmp_path / "other"
    assert "imported 1; 0 already" in cli("digits", "import", str(archive), "--runs-dir", str(other)).stdout
    bad = cli("digits", "import", str(tmp_path), "--runs-dir", str(other), check=False)
    assert bad.returncode == 2
    assert "is a folder; give the zip file" in bad.stderr
    hostile = cli("digits", "remove", "../x", "--runs-dir", str(other), check=False)
    assert hostile.returncode == 2
    assert "is not the id of a kept digit" in hostile.stderr
    cli("digits", "remove", listed[0]["id"], "--runs-dir", str(runs))
    assert json.loads(cli("digits", "list", "--runs-dir", str(runs), "--json").stdout) == []
    empty = cli("digits", "score", "--runs-dir", str(runs), check=False)
    assert empty.returncode == 2
    assert "Your set is empty" in empty.stderr
