"""Networks: what a run trains and how, from the settings to the trained Keras model.

    config       RunConfig, one checked set of settings (saved as config.json)
    presets      named configs: the post's model and its study, `fast`, `best`
    model        build_model(): a RunConfig as Keras layers (imports Keras)
    training     train(): compile and fit with progress, stop and best-weight callbacks (imports Keras)
    metrics      what training reports (EpochMetrics, ProgressPoint) and to whom (ProgressSink); the loss
    codegen      script_for(): the same training as a standalone numpy + Keras script
    model_files  load_model_file(): a .keras or Keras 2 .h5 file, safely, with one-line errors
    backend      TensorFlow's start-up noise kept off the terminal

Importing this package does not import Keras: `build_model`, `describe`, `train` and friends load it when used.
"""

from mnist_core.lazy import lazy_exports
from mnist_core.networks.codegen import script_for
from mnist_core.networks.config import LR_SCHEDULES, OPTIMIZERS, ConfigError, RunConfig
from mnist_core.networks.metrics import EpochMetrics, ForwardingSink, ProgressPoint, ProgressSink, cross_entropy
from mnist_core.networks.model_files import ModelFileError, as_digit_classifier, check_model_file, load_model_file
from mnist_core.networks.presets import ALIASES, DEFAULT_PRESET, PRESETS, STUDY, Preset, canonical_preset, get_preset

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "mnist_core.networks.model": ("build_model", "describe", "summary_rows"),
        "mnist_core.networks.training": ("TrainingResult", "to_model_input", "to_targets", "train"),
    },
)

__all__ = [
    "ALIASES",
    "DEFAULT_PRESET",
    "LR_SCHEDULES",
    "OPTIMIZERS",
    "PRESETS",
    "STUDY",
    "ConfigError",
    "EpochMetrics",
    "ForwardingSink",
    "ModelFileError",
    "Preset",
    "ProgressPoint",
    "RunConfig",
    "TrainingResult",
    "as_digit_classifier",
    "build_model",
    "canonical_preset",
    "check_model_file",
    "cross_entropy",
    "describe",
    "get_preset",
    "load_model_file",
    "script_for",
    "summary_rows",
    "to_model_input",
    "to_targets",
    "train",
    "ProgressSink",
]
