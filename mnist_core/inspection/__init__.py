"""Inspection: what a trained network makes of digits.

    predict     Predictor: a model file -> answers for canvas drawings, photos and 28x28 arrays (the bundled
                model when nothing is trained yet)
    explain     Explainer: where the network looked (occlusion) and the first convolution's feature maps
    evaluation  the MNIST test set: accuracy, loss, confusion matrix, per-class precision / recall / F1, mistakes
    own_digits  a model scored on the user's own digits (the Draw page's "Wrong? It is a ..." set)
    layers      LayerInspector: every layer's output for one digit in one forward pass, and the kernels behind
                a feature map (imports Keras)

Importing the package does not import Keras: `LayerInspector` loads it when used.
"""

from mnist_core.inspection.evaluation import evaluate_model, evaluate_probabilities, predict_probabilities
from mnist_core.inspection.explain import Explainer
from mnist_core.inspection.own_digits import OwnDigitsScore, score_model
from mnist_core.inspection.predict import BUNDLED_MODEL, CONFIDENT, PictureAnswer, Prediction, Predictor, bundled_model
from mnist_core.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__, {"mnist_core.inspection.layers": ("KernelView", "LayerInspector", "LayerStep", "LayerView")}
)

__all__ = [
    "BUNDLED_MODEL",
    "CONFIDENT",
    "Explainer",
    "KernelView",
    "LayerInspector",
    "LayerStep",
    "LayerView",
    "OwnDigitsScore",
    "PictureAnswer",
    "Prediction",
    "Predictor",
    "bundled_model",
    "evaluate_model",
    "evaluate_probabilities",
    "predict_probabilities",
    "score_model",
]
