"""The Data page's logic: what the network is trained against for a label."""

from __future__ import annotations

import numpy as np

from mnist_core.data.mnist import NUM_CLASSES


def one_hot(label: int) -> np.ndarray:
    """The target row the network is trained against for a label (numpy only: the Data page never loads Keras)."""
    return np.eye(NUM_CLASSES, dtype=np.float32)[int(label)]
