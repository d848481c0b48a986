"""How well a model reads the user's own digits: the set "Wrong? It is a ..." keeps (mnist_core.store.own_digits).

Every kept picture goes through the same preprocessing as a fresh drawing, so a model scored here is scored on the
user's hand as the Draw page would read it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnist_core.data.mnist import NUM_CLASSES
from mnist_core.data.preprocess import FIELD, prepare
from mnist_core.inspection.evaluation import confusion_matrix
from mnist_core.store.own_digits import OwnDigit, OwnDigits
from mnist_core.store.records import RecordError


@dataclass(frozen=True)
class OwnDigitAnswer:
    digit: OwnDigit
    predicted: int
    confidence: float

    @property
    def right(self) -> bool:
        return self.predicted == self.digit.label


@dataclass(frozen=True)
class OwnDigitsScore:
    """A model on the user's own digits: its accuracy, every answer (mistakes first, most confident first), the
    confusion matrix, and how many files could not be read (left out)."""

    answers: tuple[OwnDigitAnswer, ...]
    confusion: tuple[tuple[int, ...], ...]
    unreadable: int

    @property
    def count(self) -> int:
        return len(self.answers)

    @property
    def right(self) -> int:
        return sum(answer.right for answer in self.answers)

    @property
    def accuracy(self) -> float | None:
        return self.right / self.count if self.count else None

    @property
    def mistakes(self) -> tuple[OwnDigitAnswer, ...]:
        return tuple(answer for answer in self.answers if not answer.right)

    def per_label(self) -> dict[int, tuple[int, int]]:
        """Digit -> (right, kept) for each digit the set holds."""
        counts: dict[int, list[int]] = {}
        for answer in self.answers:
            right_kept = counts.setdefault(answer.digit.label, [0, 0])
            right_kept[0] += answer.right
            right_kept[1] += 1
        return {digit: (right, kept) for digit, (right, kept) in sorted(counts.items())}


def prepared_inputs(own_digits: OwnDigits) -> tuple[list[OwnDigit], np.ndarray, int]:
    """The set's readable digits and their 28x28 inputs (N, 28, 28, 1), and how many files could not be read."""
    digits, inputs, unreadable = [], [], 0
    for entry in own_digits.entries():  # one listing; each picture then read once more, for its pixels
        if not isinstance(entry, OwnDigit):  # damaged: listed with its reason, never scored
            unreadable += 1
            continue
        try:
            prepared = prepare(own_digits.picture(entry.id))
        except (RecordError, OSError):  # damaged or removed since it was listed
            prepared = None
        if prepared is None:
            unreadable += 1
            continue
        digits.append(entry)
        inputs.append(prepared.image)
    images = np.asarray(inputs, np.float32).reshape(-1, FIELD, FIELD, 1)
    return digits, images, unreadable


def score_probabilities(digits: list[OwnDigit], probabilities: np.ndarray, unreadable: int = 0) -> OwnDigitsScore:
    probabilities = np.asarray(probabilities).reshape(len(digits), NUM_CLASSES)
    predicted = probabilities.argmax(axis=1) if len(digits) else np.zeros(0, int)
    answers = [
        OwnDigitAnswer(digit, int(predicted[i]), float(probabilities[i, predicted[i]]))
        for i, digit in enumerate(digits)
    ]
    answers.sort(key=lambda a: (a.right, -a.confidence if not a.right else 0.0))
    labels = np.array([d.label for d in digits], int)
    confusion = confusion_matrix(labels, predicted.astype(int))
    return OwnDigitsScore(tuple(answers), tuple(tuple(int(v) for v in row) for row in confusion), unreadable)


def score_model(predictor, own_digits: OwnDigits, prepared=None) -> OwnDigitsScore:
    """A Predictor (mnist_core.inspection.predict) on every readable digit of the set, in one batch. `prepared`:
    `prepared_inputs(own_digits)` made once, when several models are scored on the same set."""
    digits, images, unreadable = prepared or prepared_inputs(own_digits)
    probabilities = predictor.probabilities(images) if len(digits) else np.zeros((0, NUM_CLASSES))
    return score_probabilities(digits, probabilities, unreadable)
