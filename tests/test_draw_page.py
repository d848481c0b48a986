"""The Draw page, driven through AppTest with faked canvas drawings (no browser).

The canvas is a custom component; AppTest cannot draw on it, but a drawing can be faked by putting what the
component would send (a PNG data URL of the canvas) into its session state, then rerunning the script.
The page needs a model: the bundled default when it exists, otherwise one trained here (the post's model on 20,000
images for 3 epochs, about 10 s; it reads the project's drawn digits about as well as the default does).
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mnist_core.inspection.predict import BUNDLED_MODEL
from mnist_core.networks.presets import PRESETS
from mnist_core.store import RunStore, Trainer
from tests.support.drawn_digits import Drawing, render
from tests.support.pages import shown, texts

ROOT = Path(__file__).resolve().parents[1]
TEST_MODEL = PRESETS["post"].config.replace(epochs=3, train_limit=20000, batch_size=128)


@pytest.fixture(scope="module")
def model_runs_dir(tmp_path_factory, mnist) -> Path:
    """A run store the page can draw with: empty if the bundled model exists, else holding one trained run."""
    runs_dir = tmp_path_factory.mktemp("draw") / "runs"
    if not BUNDLED_MODEL.exists():
        from mnist_core.jobs.runner import execute_run

        with RunStore(runs_dir).create(TEST_MODEL, name="draw-test", preset="post", trainer=Trainer.OWNER) as writer:
            execute_run(writer, mnist)
    return runs_dir


def draw_page(runs_dir: Path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("MNIST_LAB_RUNS", str(runs_dir))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/draw.py")
    at.run()
    assert not at.exception
    return at


def png_data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def fake_drawing(at, image: Image.Image):
    """What the canvas component sends when a stroke ends: its Fabric JSON and the rendered PNG."""
    at.session_state["draw_canvas"] = {"drawing": {"raw": {"objects": [{"type": "path"}]}, "data": png_data_url(image)}}
    at.run()
    assert not at.exception


@pytest.fixture
def page(model_runs_dir, monkeypatch):
    return draw_page(model_runs_dir, monkeypatch)


def test_an_empty_canvas_shows_a_prompt_not_a_prediction(page):
    assert any("Draw a digit" in info.value for info in page.info)
    assert not page.metric
    assert not page.get("plotly_chart")


@pytest.mark.parametrize(
    "drawing",
    [
        Drawing(3, 0, "centred", "thick", "canvas"),
        Drawing(7, 0, "small", "thin", "canvas"),  # small, somewhere away from the centre
        Drawing(0, 1, "off-centre", "thick", "canvas"),  # in a corner
        Drawing(4, 0, "large", "thin", "canvas"),
    ],
    ids=lambda d: d.name,
)
def test_a_drawing_is_answered_with_its_evidence(page, drawing):
    fake_drawing(page, render(drawing, seed=7))
    assert page.metric[0].value == str(drawing.digit)
    bars = page.get("html")[0].proto.body  # the answer's probabilities, ten bars, come first
    assert bars.count('<div class="bar"') + bars.count('<div class="bar answer"') == 10
    assert f'class="bar answer" title="digit {drawing.digit}: ' in bars
    # as drawn, the 28x28 input, the occlusion overlay, and the first layer's feature maps
    evidence = ("As drawn", "The 28x28 input it receives", "Where hiding a patch", "First convolution layer")
    captions = image_captions(page)
    assert len([caption for caption in captions if caption.startswith(evidence)]) == 4
    assert all(caption.startswith(evidence) for caption in captions[:4])  # above the layer view
    assert "What the network sees" in [h.value for h in page.subheader]


def image_captions(page) -> list[str]:
    return [image.proto.imgs[0].caption for image in page.image]


def test_the_layers_of_the_model_are_listed_in_order_below_the_answer(page, model_runs_dir):
    from mnist_core.inspection.layers import LayerInspector
    from mnist_core.inspection.predict import Predictor

    fake_drawing(page, render(Drawing(3, 0, "centred", "thick", "canvas")))
    headings = [h.value for h in page.subheader]
    assert headings.index("What the network sees") < headings.index("Inside the network, layer by layer")
    model_path = BUNDLED_MODEL if BUNDLED_MODEL.exists() else RunStore(model_runs_dir).runs()[0].model_path
    steps = LayerInspector(Predictor.from_path(model_path).model).inspect(np.zeros((28, 28), np.float32)).steps
    labels = [shown(e.label) for e in page.expander if e.label[0].isdigit()]
    assert labels == [f"{s.index}. {s.name} · {s.type} · {s.shape_text}" for s in steps]
    # every layer has its picture: maps and vectors as images, the probabilities as the second chart
    pictures = [c for c in image_captions(page)[4:] if "colour scale" in c]
    assert len(pictures) == len(steps) - 1  # all but the probabilities, which are a chart
    assert len(page.get("plotly_chart")) == 1  # the probabilities' layer (the answer's bars are HTML)

    conv = next(s for s in steps if s.type == "Conv2D")
    page.selectbox(key=f"draw_layers.pick.{conv.index}").set_value(5).run()
    assert not page.exception
    assert any("for map 5" in c.value for c in page.caption)
    assert f"Map 5 of {conv.name}" in image_captions(page)


def test_a_cleared_canvas_shows_the_prompt_again_and_the_page_has_no_second_clear_button(page):
    fake_drawing(page, render(Drawing(1, 0, "centred", "thick", "canvas")))
    assert page.metric
    # The canvas' own toolbar clears it (its bin): what the component then sends is the empty, black canvas.
    fake_drawing(page, Image.new("RGB", (280, 280), "black"))
    assert not page.metric
    assert any("Draw a digit" in info.value for info in page.info)
    assert not [b for b in page.button if "clear" in b.label.lower()]
    assert any("Undo, redo and" in c.value for c in page.caption)


def test_uploads_get_a_row_each_and_bad_files_a_clear_message(page):
    good = io.BytesIO()
    render(Drawing(2, 0, "centred", "medium", "paper")).save(good, format="JPEG")
    blank = io.BytesIO()
    Image.new("L", (60, 60), 255).save(blank, format="PNG")
    page.file_uploader(key="draw_uploads").set_value(
        [
            ("two.jpg", good.getvalue(), "image/jpeg"),
            ("notes.png", b"this is not a picture" * 5, "image/png"),
            ("half.png", png_data(render(Drawing(5, 0, "centred", "thick", "canvas")))[:300], "image/png"),
            ("blank.png", blank.getvalue(), "image/png"),
            ("giant.png", giant_png_header(), "image/png"),
        ]
    ).run()
    assert not page.exception
    table = page.dataframe[0].value
    assert table["file"].tolist() == ["two.jpg", "notes.png", "half.png", "blank.png", "giant.png"]
    assert table["answer"].iloc[0] == 2
    assert table["input"].iloc[0].startswith("data:image/png")
    errors = texts(page.error)
    assert any("notes.png" in e and "not an image" in e for e in errors)
    assert any("half.png" in e and "truncated" in e for e in errors)
    assert any("blank.png" in e and "blank" in e for e in errors)
    assert any("giant.png" in e and "too large" in e for e in errors)


def giant_png_header() -> bytes:
    """A tiny file that claims to be 30000 x 30000 pixels: a decompression bomb must be refused, not decoded."""
    import struct
    import zlib

    data = bytearray(png_data(Image.new("L", (1, 1))))
    ihdr = struct.pack(">II", 30000, 30000) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def png_data(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_without_any_model_the_page_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.setattr("mnist_core.inspection.predict.BUNDLED_MODEL", tmp_path / "no-bundled-model.keras")
    at = draw_page(tmp_path / "empty-runs", monkeypatch)
    assert any("python -m mnist_core train" in info.value for info in at.info)
    assert not at.get("bidi_component")


def test_the_page_keys_every_widget_and_chart(page):
    fake_drawing(page, render(Drawing(8, 0, "centred", "thick", "canvas")))
    keys = {w.key for w in (*page.selectbox, *page.slider, *page.button)}
    assert {"draw_model", "draw_pen"} <= keys
    assert np.isclose(sum(float(v) for v in _bar_values(page)), 1.0, atol=1e-3)


def _bar_values(page):
    import json

    figure = json.loads(page.get("plotly_chart")[0].proto.spec)
    return figure["data"][0]["y"]


def test_a_low_top_probability_is_shown_as_not_sure(page, monkeypatch):
    monkeypatch.setattr("mnist_core.inspection.predict.CONFIDENT", 1.01)  # no answer is ever that sure
    fake_drawing(page, render(Drawing(6, 0, "centred", "thick", "canvas")))
    assert page.metric[0].label == "The network's best guess"
    assert any(w.value.startswith("Not sure") for w in page.warning)


def test_the_model_picker_offers_the_bundled_model_first_then_every_finished_run(trained_run, monkeypatch):
    at = draw_page(trained_run.model_path.parents[1], monkeypatch)
    picker = at.selectbox(key="draw_model")
    when = trained_run.meta.created_at.replace("T", " ")[:16]
    accuracy = f"{trained_run.results.test_accuracy:.2%}"
    assert f"small · trained {when} · {accuracy} test accuracy" in picker.options  # no internal id
    assert picker.format_func(trained_run.id) == f"small · trained {when} · {accuracy} test accuracy"
    if BUNDLED_MODEL.exists():
        assert picker.options[0] == "Bundled default model"


def test_the_model_picker_adds_the_run_id_only_where_two_runs_share_a_name():
    from mnist_core.i18n import translator
    from mnist_core.presentation.draw_page import ModelEntry, model_labels

    entries = [
        ModelEntry("20261207-012106.206-fast-fed1", "fast", "2026-12-07T01:21:06.206", 0.99333),
        ModelEntry("20261207-013000.000-fast-0a0b", "fast", "2026-12-07T01:30:00.000", 0.9912),
        ModelEntry("20261207-014000.000-post-1c1d", "the post's model", "2026-12-07T01:40:00.000", None),
        ModelEntry("20261207-015000.000-h5-2e2f", "post.h5", "2026-12-07T01:50:00.000", 0.9668, imported=True),
    ]
    labels = model_labels(entries)
    assert labels["20261207-012106.206-fast-fed1"] == (
        "fast · trained 2026-12-07 01:21 · 99.33% test accuracy · 20261207-012106.206-fast-fed1"
    )
    assert labels["20261207-014000.000-post-1c1d"] == "the post's model · trained 2026-12-07 01:40 · not evaluated"
    assert labels["20261207-015000.000-h5-2e2f"] == "post.h5 · imported 2026-12-07 01:50 · 96.68% test accuracy"
    chinese = model_labels(entries, translator("zh"))
    assert chinese["20261207-015000.000-h5-2e2f"] == "post.h5 · 导入于 2026-12-07 01:50 · 测试准确率 96.68%"


def test_a_thick_pen_on_a_small_digit_gets_a_tip_where_a_loop_can_fill_in(page):
    recorded = ROOT / "tests" / "data" / "drawn" / "recorded"
    fake_drawing(page, Image.open(recorded / "0_0_small_browser.png"))  # 18 px pen, 52 px tall
    assert any("pen is thick" in caption.value for caption in page.caption)
    fake_drawing(page, Image.open(recorded / "1_0_small_browser.png"))  # as thick, but a 1 has no loop
    assert page.metric[0].value == "1"
    assert not any("pen is thick" in caption.value for caption in page.caption)
    fake_drawing(page, render(Drawing(0, 0, "centred", "medium", "canvas")))
    assert not any("pen is thick" in caption.value for caption in page.caption)


@pytest.mark.skipif(not BUNDLED_MODEL.exists(), reason="reads the drawn set with the bundled model")
def test_on_the_drawn_set_the_thick_pen_tip_shows_for_every_looped_digit_and_never_for_a_1_or_a_7():
    from mnist_core.data.preprocess import THICK_STROKE, open_image
    from mnist_core.inspection.predict import Predictor
    from mnist_core.presentation.draw_page import LOOPED_DIGITS, thick_pen_tip
    from tests.support.drawn_digits import label_of

    predictor = Predictor.from_path(BUNDLED_MODEL)
    folder = ROOT / "tests" / "data" / "drawn"
    tips = {}
    for path in sorted([*folder.glob("*.png"), *folder.glob("*.jpg"), *(folder / "recorded").glob("*.png")]):
        prediction, prepared = predictor.predict_picture(open_image(path))
        if prepared.stroke > THICK_STROKE:  # a pen thick for the digit's size: the strokes were thinned
            tips[path.name] = (label_of(path), thick_pen_tip(prepared.stroke, prediction.digit, prediction.sure))
    assert len(tips) >= 40  # every digit drawn small with a fat pen, recorded in chromium and rendered
    assert {digit for digit, _ in tips.values()} == set(range(10))
    assert all(tip == (digit in LOOPED_DIGITS) for digit, tip in tips.values()), tips


def test_wrong_it_is_a_keeps_the_drawing_with_the_right_label_in_the_readers_own_set(page, model_runs_dir):
    own = RunStore(model_runs_dir).own_digits
    own.remove(own.ids())
    try:
        fake_drawing(page, render(Drawing(7, 0, "centred", "thick", "canvas"), seed=3))
        answer = int(page.metric[0].value)
        pills = page.pills(key="draw_correct")
        assert pills.options == [str(d) for d in range(10) if d != answer]  # the other nine digits
        right = (answer + 1) % 10
        pills.set_value(right).run()
        assert not page.exception
        [kept] = own.digits()
        assert (kept.label, kept.record.predicted) == (right, answer)
        assert kept.record.model == "Bundled default model" or kept.record.model.startswith("draw-test")
        assert any(f"Kept as a {right}. Your set holds 1 digit" in s.value for s in page.success)
        assert page.pills(key="draw_correct").value is None  # a one-click action: ready for the next drawing
        # The same drawing again with the same label is not kept twice; a right answer can be kept too.
        page.pills(key="draw_correct").set_value(right).run()
        assert any("already in your set" in s.value for s in page.success)
        assert own.count() == 1
        page.button(key="draw_keep_right").click().run()
        assert sorted(d.label for d in own.digits()) == sorted([right, answer])
        # What was kept is the drawing the answer was for: the model reads it as it did on the page.
        assert own.picture(kept.id).shape == (280, 280)
    finally:
        own.remove(own.ids())


def test_a_store_that_cannot_keep_the_drawing_says_so_and_the_page_goes_on(page, model_runs_dir):
    own = RunStore(model_runs_dir).own_digits
    own.remove(own.ids())
    own.folder.parent.mkdir(parents=True, exist_ok=True)
    if own.folder.exists():
        own.folder.rmdir()
    own.folder.write_text("a file where the set's folder should be")
    try:
        fake_drawing(page, render(Drawing(3, 0, "centred", "thick", "canvas")))
        page.pills(key="draw_correct").set_value(5).run()
        assert not page.exception
        assert any("Not kept:" in e.value for e in page.error)
        assert page.metric  # the answer is still there
    finally:
        own.folder.unlink()
