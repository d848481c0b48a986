"""Classify single digits fast with a saved model.

`model.predict` sets up a whole data pipeline on every call (about 150 ms here), so a live canvas would stutter.
A `Predictor` loads the model once, warms it up, and calls `predict_on_batch`, which costs a few milliseconds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_core.data.preprocess import FIELD, ImageError, Prepared, open_image, prepare
from mnist_core.i18n import Message
from mnist_core.networks.model_files import ModelFileError, as_digit_classifier, load_model_file

# Below this top probability the answer is shown as "not sure".
CONFIDENT = 0.6
BUNDLED_MODEL = Path(__file__).resolve().parents[1] / "bundled" / "default.keras"


def bundled_model() -> Path | None:
    """The model shipped with MNIST Lab (package data), or None where a packager left it out."""
    return BUNDLED_MODEL if BUNDLED_MODEL.is_file() else None


@dataclass
class Prediction:
    digit: int
    confidence: float
    probabilities: list[float]

    @property
    def sure(self) -> bool:
        return self.confidence >= CONFIDENT

    def to_dict(self) -> dict:
        return {"digit": self.digit, "confidence": self.confidence, "probabilities": self.probabilities}


@dataclass
class PictureAnswer:
    """The answer for one picture of a digit, or why there is none."""

    name: str
    prediction: Prediction | None = None
    prepared: Prepared | None = None
    problem: Message | None = None  # why there is no answer: not an image, damaged, too large, blank

    @property
    def explanation(self) -> Message | None:
        """The problem as one line that names the picture, for a list of several, in the reader's language."""
        return Message("{name}: {problem}", name=self.name, problem=self.problem) if self.problem else None

    @property
    def error(self) -> str | None:
        """The same line in English (the command line's --json)."""
        return str(self.explanation) if self.problem else None


class Predictor:
    def __init__(self, model):
        self.model = model
        self.model.predict_on_batch(np.zeros((1, FIELD, FIELD, 1), np.float32))  # build the predict function once

    @classmethod
    def from_path(cls, path: str | os.PathLike) -> Predictor:
        """Open a .keras or Keras 2 .h5 model and adapt it to 28x28x1 input and probabilities.

        Raises ModelFileError, with a one-line message, for a file that is missing, damaged or not a digit classifier.
        """
        path = Path(path)
        if not path.exists():
            raise ModelFileError(
                path, Message("no such model file"), Message("Train a run first, or pick another model")
            )
        return cls(as_digit_classifier(load_model_file(path), str(path)))

    def probabilities(self, images01: np.ndarray) -> np.ndarray:
        """(N, 28, 28) or (N, 28, 28, 1) float images in [0, 1] -> (N, 10) probabilities."""
        batch = np.asarray(images01, dtype=np.float32).reshape(-1, FIELD, FIELD, 1)
        return np.asarray(self.model.predict_on_batch(batch))

    def predict_image01(self, image01: np.ndarray) -> Prediction:
        return to_prediction(self.probabilities(image01[np.newaxis])[0])

    def predict_picture(self, picture) -> tuple[Prediction | None, Prepared | None]:
        """Prepare any picture MNIST-style and classify it; (None, None) when it holds no ink."""
        prepared = prepare(picture)
        if prepared is None:
            return None, None
        return self.predict_image01(prepared.image), prepared

    def classify_pictures(self, pictures: Iterable[tuple[str, object]]) -> list[PictureAnswer]:
        """Open, prepare and classify pictures given as (name, file path or bytes): an answer per picture, in order.
        A picture that cannot be opened or holds no ink gets its problem instead; the others are still answered."""
        answers = []
        for name, source in pictures:
            try:
                prediction, prepared = self.predict_picture(open_image(source, name=name))
            except ImageError as error:
                answers.append(PictureAnswer(name, problem=error.problem))
                continue
            if prediction is None:
                answers.append(PictureAnswer(name, problem=Message("no ink found: the picture looks blank")))
            else:
                answers.append(PictureAnswer(name, prediction, prepared))
        return answers


def to_prediction(probabilities: np.ndarray) -> Prediction:
    digit = int(np.argmax(probabilities))
    return Prediction(digit, float(probabilities[digit]), [float(p) for p in probabilities])
