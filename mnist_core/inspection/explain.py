"""What the network sees: which pixels drove an answer, and what the first convolution layer made of the input.

Two views, both plain Keras (a functional sub-model and batched predictions; no backend-specific calls), so they work
on any Keras backend:

- an occlusion map: hide one small patch of the 28x28 input at a time (set it to background) and measure how much
  the probability of the answer drops. Pixels whose hiding costs the most are the ones the answer rests on. It needs
  no gradients, and one batch of about 150 copies of the image costs a few milliseconds more than one prediction;
- the feature maps of the first convolution layer (after its normalisation and ReLU, when the model has them):
  one 28x28 map per filter, the edges and strokes each filter responds to.
"""

from __future__ import annotations

import numpy as np

from mnist_core.data.preprocess import FIELD

PATCH = 6  # about the width of an MNIST stroke plus its edges: hides one piece of stroke at a time
STRIDE = 2


class Explainer:
    """Builds the first-convolution sub-model once per model; then each explanation is one batched call."""

    def __init__(self, model):
        self.model = model
        self.first_conv = first_conv_output(model)
        self._features = None

    @property
    def has_conv(self) -> bool:
        return self.first_conv is not None

    def occlusion(self, image01: np.ndarray, digit: int) -> np.ndarray:
        """(28, 28) map in [0, 1]: how much hiding each pixel's neighbourhood lowers the probability of `digit`.

        1 marks the patch whose hiding costs the most; patches whose hiding raises the probability count as 0.
        """
        image = np.asarray(image01, dtype=np.float32).reshape(FIELD, FIELD)
        starts = range(0, FIELD - PATCH + 1, STRIDE)
        boxes = [(y, x) for y in starts for x in starts]
        batch = np.repeat(image[np.newaxis], len(boxes) + 1, axis=0)
        for i, (y, x) in enumerate(boxes, start=1):
            batch[i, y : y + PATCH, x : x + PATCH] = 0.0
        probabilities = np.asarray(self.model.predict_on_batch(batch[..., np.newaxis]))[:, digit]
        drops = np.maximum(probabilities[0] - probabilities[1:], 0.0)

        total = np.zeros((FIELD, FIELD), np.float32)
        covered = np.zeros((FIELD, FIELD), np.float32)
        for drop, (y, x) in zip(drops, boxes, strict=True):
            total[y : y + PATCH, x : x + PATCH] += drop
            covered[y : y + PATCH, x : x + PATCH] += 1
        heat = total / np.maximum(covered, 1)
        top = float(heat.max())
        return heat / top if top > 1e-6 else heat

    def feature_maps(self, image01: np.ndarray) -> np.ndarray:
        """(filters, 28, 28) activations of the first convolution layer for this input."""
        if self.first_conv is None:
            raise ValueError("this model has no convolution layer")
        if self._features is None:
            import keras

            self._features = keras.Model(self.model.inputs, self.first_conv, name="first_conv_maps")
        batch = np.asarray(image01, dtype=np.float32).reshape(1, FIELD, FIELD, 1)
        maps = np.asarray(self._features.predict_on_batch(batch))[0]
        return np.moveaxis(maps, -1, 0)


def first_conv_output(model):
    """The symbolic output of the first Conv2D, taken after the BatchNormalization / activation right behind it.

    A model that wraps another (`model_files.as_digit_classifier` puts a Reshape in front of an imported 28x28 or
    784-input model, a Softmax after one that gives logits) is looked into: the wrapped model's first convolution
    belongs to that model's own graph, so it is reached by calling the wrapped model's layers up to it on the
    tensor the wrapper feeds the wrapped model.
    """
    import keras
    from keras import layers

    following = (layers.BatchNormalization, layers.Activation, layers.ReLU)
    # A Sequential model is a chain by definition, but one loaded from a file was built several times over and its
    # layers' `output` and `input` come from different builds: the layers behind the convolution are called anew.
    chain = isinstance(model, keras.Sequential)
    output, found = None, False
    for layer in model.layers:
        if not found:
            if isinstance(layer, layers.Conv2D):
                found, output = True, layer.output
            elif isinstance(layer, keras.Model):
                inner = first_conv_output(layer)
                fed = _input_of(layer)
                if inner is not None and fed is not None:
                    return keras.Model(layer.inputs, inner, name=f"{layer.name}_to_first_conv")(fed)
            continue
        if not isinstance(layer, following):
            break
        if chain:
            output = layer(output)
        elif _consumes(layer, output):
            output = layer.output
        else:
            break
    return output


def _input_of(layer):
    """The one tensor a layer was (first) called on in the model around it, or None (several inputs, or none)."""
    try:
        fed = layer.input
    except (AttributeError, ValueError):
        return None
    return fed if not isinstance(fed, (list, tuple, dict)) else None


def _consumes(layer, tensor) -> bool:
    try:
        return layer.input is tensor
    except (AttributeError, ValueError):
        return False


def normalise_maps(maps: np.ndarray) -> np.ndarray:
    """Scale each feature map to [0, 1] on its own, for display; a map with no response stays 0."""
    flat = maps.reshape(len(maps), -1)
    top = flat.max(axis=1, keepdims=True)
    bottom = flat.min(axis=1, keepdims=True)
    span = np.where(top - bottom > 1e-6, top - bottom, 1.0)
    return ((flat - bottom) / span).reshape(maps.shape)


# --- pictures for a page: plain uint8 arrays, crisp when enlarged ---------------------------------------------------


def enlarge(image01: np.ndarray, factor: int = 10) -> np.ndarray:
    """A small image blown up with square pixels (a browser would blur it), as uint8."""
    pixels = np.clip(np.asarray(image01, dtype=np.float32), 0, 1)
    big = np.kron(pixels, np.ones((factor, factor) + (1,) * (pixels.ndim - 2), np.float32))
    return (big * 255).round().astype(np.uint8)


def overlay(image01: np.ndarray, heat: np.ndarray, factor: int = 10) -> np.ndarray:
    """The input in grey with the occlusion map laid over it in red-to-yellow, as a uint8 RGB image."""
    grey = 0.45 * np.asarray(image01, dtype=np.float32)
    heat = np.clip(np.asarray(heat, dtype=np.float32), 0, 1)
    rgb = np.stack([grey + heat, grey + 0.85 * heat**2, grey], axis=-1)
    return enlarge(rgb, factor)


def mosaic(maps01: np.ndarray, columns: int = 8, gap: int = 2, factor: int = 3) -> np.ndarray:
    """Feature maps (n, h, w) in [0, 1] tiled in a grid with grey gaps, as one uint8 image."""
    count, height, width = maps01.shape
    rows = -(-count // columns)
    cell_h, cell_w = height * factor, width * factor
    sheet = np.full((rows * (cell_h + gap) - gap, columns * (cell_w + gap) - gap), 0.5, np.float32)
    for i, single in enumerate(maps01):
        r, c = divmod(i, columns)
        tile = np.kron(single, np.ones((factor, factor), np.float32))
        sheet[r * (cell_h + gap) : r * (cell_h + gap) + cell_h, c * (cell_w + gap) : c * (cell_w + gap) + cell_w] = tile
    return (np.clip(sheet, 0, 1) * 255).round().astype(np.uint8)


def png_data_url(image_uint8: np.ndarray) -> str:
    """An image as a data: URL, for a table's image column."""
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image_uint8).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def outline(picture: np.ndarray, box: tuple[int, int, int, int], colour=(79, 70, 229), width: int = 2) -> np.ndarray:
    """The picture as drawn (RGB uint8) with the box the ink was cropped to outlined: what step 2 kept."""
    rgb = np.asarray(picture)
    if rgb.ndim == 2:
        rgb = np.stack([rgb] * 3, axis=-1)
    rgb = rgb[..., :3].copy()
    if rgb.dtype != np.uint8:
        rgb = (np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)
    top, left, bottom, right = box
    height, width_px = rgb.shape[:2]
    top, left = max(top - width, 0), max(left - width, 0)
    bottom, right = min(bottom + width, height), min(right + width, width_px)
    rgb[top : top + width, left:right] = colour
    rgb[bottom - width : bottom, left:right] = colour
    rgb[top:bottom, left : left + width] = colour
    rgb[top:bottom, right - width : right] = colour
    return rgb
