import numpy as np

from mnist_core.inspection.evaluation import evaluate_probabilities
from mnist_core.store.records import Misclassified


def test_metrics_from_a_tiny_hand_made_example():
    labels = np.array([0, 0, 1, 1, 2])
    probabilities = np.full((5, 10), 0.01)
    for row, predicted in enumerate([0, 1, 1, 1, 2]):
        probabilities[row, predicted] = 0.91
    result = evaluate_probabilities(probabilities, labels)
    assert result.test_accuracy == 0.8
    confusion = np.array(result.confusion_matrix)
    assert confusion[0, 0] == 1
    assert confusion[0, 1] == 1
    assert confusion[1, 1] == 2
    assert confusion.sum() == 5
    per_class = {row.digit: row for row in result.per_class}
    assert per_class[0].precision == 1.0
    assert per_class[0].recall == 0.5
    assert np.isclose(per_class[1].precision, 2 / 3)
    assert per_class[1].recall == 1.0
    assert np.isclose(per_class[1].f1, 0.8)
    assert per_class[5].support == 0
    assert per_class[5].f1 == 0.0
    assert result.misclassified == (Misclassified(index=1, true=0, predicted=1, confidence=0.91),)
    expected_loss = -(4 * np.log(0.91) + np.log(0.01)) / 5
    assert np.isclose(result.test_loss, expected_loss)
