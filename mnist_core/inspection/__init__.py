"""Inspection: what a trained network makes of digits.

    predict     Predictor: a model file -> answers for canvas drawings, photos and 28x28 arrays (the bundled
                model when nothing is trained yet)
    explain     Explainer: where the network looked (occlusion) and the first convolution's feature maps
    evaluation  the MNIST test set: accuracy, loss, confusion matrix, per-class precision / recall / F1, mistakes

None of these modules imports Keras at import time; a model is loaded when one is asked for.
"""

from mnist_core.inspection.evaluation import evaluate_model, evaluate_probabilities, predict_probabilities
from mnist_core.inspection.explain import Explainer
from mnist_core.inspection.predict import BUNDLED_MODEL, CONFIDENT, PictureAnswer, Prediction, Predictor

__all__ = [
    "BUNDLED_MODEL",
    "CONFIDENT",
    "Explainer",
    "PictureAnswer",
    "Prediction",
    "Predictor",
    "evaluate_model",
    "evaluate_probabilities",
    "predict_probabilities",
]
