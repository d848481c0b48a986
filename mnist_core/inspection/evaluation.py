"""How well a trained model does on the test set: the post's accuracy, plus what it lacked.

Everything is computed from one pass of predicted probabilities with numpy: accuracy and loss (the same numbers
as `model.evaluate`), the confusion matrix, per-class precision / recall / F1, and the misclassified images.
"""

from __future__ import annotations

import numpy as np

from mnist_core.data.mnist import NUM_CLASSES
from mnist_core.networks.metrics import accuracy, cross_entropy
from mnist_core.store.records import ClassMetrics, Misclassified, Results


def predict_probabilities(model, images01: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Probabilities for many (N, 28, 28, 1) float images, in large batches."""
    return np.asarray(model.predict(images01, batch_size=batch_size, verbose=0))


def evaluate_probabilities(probabilities: np.ndarray, labels: np.ndarray) -> Results:
    predicted = probabilities.argmax(axis=1)
    confusion = confusion_matrix(labels, predicted)
    wrong = np.flatnonzero(predicted != labels)
    # Most confident mistakes first: the most instructive ones to look at.
    wrong = wrong[np.argsort(-probabilities[wrong, predicted[wrong]], kind="stable")]
    return Results(
        test_accuracy=accuracy(probabilities, labels),
        test_loss=cross_entropy(probabilities, labels),
        test_images=len(labels),
        confusion_matrix=confusion.tolist(),
        per_class=per_class_metrics(confusion),
        misclassified=tuple(
            Misclassified(
                index=int(i),
                true=int(labels[i]),
                predicted=int(predicted[i]),
                confidence=float(probabilities[i, predicted[i]]),
            )
            for i in wrong
        ),
    )


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Rows: true digit; columns: predicted digit."""
    return np.bincount(labels * NUM_CLASSES + predicted, minlength=NUM_CLASSES**2).reshape(NUM_CLASSES, NUM_CLASSES)


def per_class_metrics(confusion: np.ndarray) -> tuple[ClassMetrics, ...]:
    rows = []
    for digit in range(NUM_CLASSES):
        hits = confusion[digit, digit]
        predicted_as = confusion[:, digit].sum()
        actual = confusion[digit, :].sum()
        precision = hits / predicted_as if predicted_as else 0.0
        recall = hits / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(ClassMetrics(digit, float(precision), float(recall), float(f1), int(actual)))
    return tuple(rows)


def evaluate_model(model, images01: np.ndarray, labels: np.ndarray) -> Results:
    return evaluate_probabilities(predict_probabilities(model, images01), np.asarray(labels))
