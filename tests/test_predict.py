import numpy as np

from mnist_core.i18n import translator
from mnist_core.inspection.predict import Predictor
from mnist_core.networks.training import to_model_input


def test_fast_single_image_path_agrees_with_model_predict(trained_run, mnist):
    predictor = Predictor.from_path(trained_run.model_path)
    images = to_model_input(mnist.x_test[:20])
    slow = predictor.model.predict(images, verbose=0)
    fast = np.concatenate([predictor.probabilities(image[..., 0][np.newaxis]) for image in images])
    assert np.allclose(slow, fast, atol=1e-5)
    prediction = predictor.predict_image01(images[0][..., 0])
    assert prediction.digit == int(np.argmax(slow[0]))
    assert 0 < prediction.confidence <= 1
    assert abs(sum(prediction.probabilities) - 1) < 1e-4


def test_missing_model_file_says_what_to_do(tmp_path):
    import pytest

    from mnist_core.networks.model_files import ModelFileError

    with pytest.raises(ModelFileError, match="Train a run first"):
        Predictor.from_path(tmp_path / "model.keras")


def test_predict_picture_reads_a_canvas_drawing_and_refuses_an_empty_canvas(trained_run):
    from tests.support.drawn_digits import Drawing, render

    predictor = Predictor.from_path(trained_run.model_path)
    canvas = np.asarray(render(Drawing(1, 0, "small", "thin", "canvas")))
    assert canvas.shape == (280, 280, 4)
    prediction, prepared = predictor.predict_picture(canvas)
    assert prepared.image.shape == (28, 28)
    assert len(prediction.probabilities) == 10
    assert abs(sum(prediction.probabilities) - 1) < 1e-4
    empty = np.zeros((280, 280, 4), np.uint8)
    empty[..., 3] = 255
    assert predictor.predict_picture(empty) == (None, None)


def test_pictures_are_answered_in_order_and_each_bad_one_gets_its_problem(trained_run, tmp_path):
    import io

    from PIL import Image

    from tests.support.drawn_digits import Drawing, render

    predictor = Predictor.from_path(trained_run.model_path)
    good = io.BytesIO()
    render(Drawing(2, 0, "centred", "medium", "paper")).save(good, format="JPEG")
    path = tmp_path / "seven.png"
    render(Drawing(7, 0, "centred", "thick", "canvas")).save(path)
    blank = io.BytesIO()
    Image.new("L", (60, 60), 255).save(blank, format="PNG")
    answers = predictor.classify_pictures(
        [
            ("two.jpg", good.getvalue()),
            (str(path), str(path)),
            ("notes.png", b"words " * 20),
            ("blank.png", blank.getvalue()),
        ]
    )
    assert [a.name for a in answers] == ["two.jpg", str(path), "notes.png", "blank.png"]
    assert all(a.prediction is not None and a.prepared.image.shape == (28, 28) for a in answers[:2])
    assert answers[0].problem is None
    assert answers[0].error is None
    assert answers[2].prediction is None
    assert str(answers[2].problem).startswith("not an image")
    assert answers[2].error.startswith("notes.png: not an image")  # English, for --json
    assert str(answers[3].problem) == "no ink found: the picture looks blank"
    # A page shows the same problem in its reader's language, the file's name kept as it is.
    assert translator("zh").message(answers[2].explanation).startswith("notes.png：不是图像")


def test_not_sure_below_the_confidence_threshold():
    from mnist_core.inspection.predict import CONFIDENT, to_prediction

    unsure = to_prediction(np.array([0.5, 0.4] + [0.0125] * 8))
    assert unsure.digit == 0
    assert not unsure.sure
    assert CONFIDENT > 0.5
    assert to_prediction(np.eye(10)[7]).sure
