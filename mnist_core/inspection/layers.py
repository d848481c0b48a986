"""Inside the network, layer by layer: what every layer of a model makes of one 28x28 digit.

A `LayerInspector` is built once per loaded model. It lays the model out as one chain of steps, from the input to
the probabilities, looking inside wrapped models (an imported model that `model_files.as_digit_classifier` put
between a Reshape and a Softmax is listed layer by layer), and builds one Keras model whose outputs are every
step's output. So `inspect(image)` is ONE forward pass (`predict_on_batch` on a batch of one), however many layers
there are; `kernel_for` then reads a convolution's weights to show which kernel made a feature map.

Plain Keras and numpy, no backend calls: any Keras backend runs it. What a person reads (the notes on each step) is
kept together in `NOTES`: English message ids, made Messages that a page shows in its reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import numpy as np
from keras import layers

from mnist_core.data.preprocess import FIELD
from mnist_core.i18n import Message, marked

# What each step shows.
INPUT = "input"  # the 28x28 digit the network receives
FEATURE_MAPS = "feature_maps"  # height x width x channels: one picture per channel
VECTOR = "vector"  # one value per unit (Flatten, Dense)
PROBABILITIES = "probabilities"  # the ten answers
UNSUPPORTED = "unsupported"  # an output this view cannot draw: listed with its shape and a note

TOP_SLICES = 4  # kernel slices shown first for a later convolution; the rest are one click away

# Every sentence a person reads, in one place: English message ids (extracted by Babel through `marked`), which
# `note` makes Messages, so a page shows them in its reader's language. Keras' layer types ({type}) stay as they are.
NOTES = {
    "input": marked("The 28x28 digit as the network receives it: the preprocessed drawing, values from 0 to 1."),
    "conv_relu": marked("After ReLU (built into this {type}): negative responses are set to 0."),
    "conv_linear": marked("Raw filter responses, before any activation (negative values kept)."),
    "conv_then_norm": marked(
        "Raw filter responses, before normalisation and ReLU, which follow as layers of their own."
    ),
    "conv_activation": marked("After its built-in {activation} activation."),
    "batch_norm": marked(
        "BatchNormalization: normalised with the moving statistics learned in training (inference mode)."
    ),
    "relu": marked("ReLU: negative values set to 0."),
    "activation": marked("Activation {activation}."),
    "max_pool": marked("Max pooling {size}: keeps the largest value of each {size} patch."),
    "average_pool": marked("Average pooling {size}: the mean of each {size} patch."),
    "global_pool": marked("{type}: one value per channel."),
    "dropout": marked(
        "{type} does nothing at inference: its output is its input, unchanged (it only acts in training)."
    ),
    "augmentation": marked(
        "{type} does nothing at inference: it varies the training images only, so its output is its input."
    ),
    "flatten": marked("The maps laid out as one vector of {size:,} values."),
    "reshape": marked("The same values in another shape."),
    "dense_relu": marked("After ReLU (built into this Dense): negative values set to 0."),
    "dense_linear": marked("Raw outputs (logits), before any activation."),
    "dense_activation": marked("After its built-in {activation} activation."),
    "softmax": marked("Softmax: the ten probabilities, which add up to 1."),
    "unsupported": marked("This view cannot draw a {type} output of shape {shape}: listed, not drawn."),
    "kernel_first": marked(
        "The {kh}x{kw} kernel of {name} for map {channel}: the input times these weights, summed, "
        "plus the bias, gives each pixel of the map."
    ),
    "kernel_later": marked(
        "Map {channel} of {name} sums {count} input maps, each through its own {kh}x{kw} slice of the "
        "kernel; the slices that weigh most (largest sum of absolute weights) come first."
    ),
    "kernel_none": marked("No convolution made this map: {reason}"),
    "kernel_not_conv": marked("the layers before it are not a plain Conv2D."),
    "kernel_groups": marked("{name} is a grouped convolution, which this view does not unpick."),
}


def note(key: str, **values) -> Message:
    return Message(NOTES[key], **values)


# --- results ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerStep:
    """One layer's output for one digit."""

    index: int  # position in the listing, 0 = the input
    name: str  # the layer's name; a layer inside a wrapped model is "outer/inner"
    type: str  # the layer's class, e.g. "Conv2D"
    output_shape: tuple[int, ...]  # batch axis aside
    kind: str  # INPUT, FEATURE_MAPS, VECTOR, PROBABILITIES or UNSUPPORTED
    note: Message
    # FEATURE_MAPS and INPUT: (channels, height, width); VECTOR and PROBABILITIES: (units,); UNSUPPORTED: None
    activations: np.ndarray | None = field(repr=False, compare=False)
    value_range: tuple[float, float] = (0.0, 0.0)  # one colour scale for every picture of this step
    fed_by: int | None = None  # the step whose output this layer read, when the model is a chain

    @property
    def shape_text(self) -> str:
        return "x".join("?" if size is None else str(size) for size in self.output_shape) or "()"

    @property
    def channels(self) -> int:
        return len(self.activations) if self.kind in (INPUT, FEATURE_MAPS) else 0


@dataclass(frozen=True)
class LayerView:
    """Every step of a model for one digit, in order; `probabilities` is the model's answer."""

    steps: tuple[LayerStep, ...]
    probabilities: np.ndarray = field(repr=False, compare=False)

    @property
    def digit(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def map_count(self) -> int:
        return sum(step.channels for step in self.steps if step.kind == FEATURE_MAPS)


@dataclass(frozen=True)
class KernelSlice:
    input_channel: int
    weights: np.ndarray = field(repr=False, compare=False)  # (k, k)
    weight: float  # the slice's L1 norm: how much this input map counts
    input_map: np.ndarray | None = field(repr=False, compare=False)  # (h, w): the convolution's input channel


@dataclass(frozen=True)
class KernelView:
    """The kernel behind one feature map: a Conv2D's weights for that output channel, slice by input channel."""

    step: int  # the step whose map was picked
    channel: int
    feature_map: np.ndarray = field(repr=False, compare=False)
    conv_step: int | None  # the Conv2D step that made the channel (the map may be its ReLU, norm or pooling)
    conv_name: str | None
    slices: tuple[KernelSlice, ...]  # every input channel, heaviest first
    bias: float | None
    note: Message

    @property
    def top(self) -> tuple[KernelSlice, ...]:
        return self.slices[:TOP_SLICES]

    @property
    def rest(self) -> tuple[KernelSlice, ...]:
        return self.slices[TOP_SLICES:]


# --- laying a model out as steps ---------------------------------------------------------------------------------

# Layers that keep each channel where it was: a map of theirs was made by the same channel of the convolution before.
CHANNEL_WISE = (
    layers.BatchNormalization,
    layers.Activation,
    layers.ReLU,
    layers.LeakyReLU,
    layers.MaxPooling2D,
    layers.AveragePooling2D,
    layers.Dropout,
    layers.SpatialDropout2D,
    layers.GaussianNoise,
    layers.GaussianDropout,
)
INFERENCE_NO_OPS = (layers.Dropout, layers.SpatialDropout2D, layers.GaussianNoise, layers.GaussianDropout)


@dataclass
class _Traced:
    layer: object
    name: str
    tensor: object
    fed_by: int | None  # position in the traced list (the input is -1), or None
    wrapped_in: str | None


class LayerInspector:
    """Built once per loaded model; `inspect` is then one forward pass for every layer's output."""

    def __init__(self, model: keras.Model):
        self.model = model
        image = keras.Input(shape=(FIELD, FIELD, 1), name="layer_view_image")
        self._traced: list[_Traced] = []
        if self._is_chain(model):
            self._trace_chain(model, image, prefix="", source=-1)
            outputs = [t.tensor for t in self._traced]
            self._viewer = keras.Model(image, outputs, name="layer_view")
        else:  # branches: every layer's output as the model's own graph has it, one sub-model, nothing nested opened
            found = [layer for layer in model.layers if not isinstance(layer, layers.InputLayer)]
            self._traced = [_Traced(layer, layer.name, layer.output, None, None) for layer in found]
            self._viewer = keras.Model(model.inputs, [t.tensor for t in self._traced], name="layer_view")
        self._viewer.predict_on_batch(np.zeros((1, FIELD, FIELD, 1), np.float32))  # build the predict function once
        self._steps_meta = [self._describe(i, t) for i, t in enumerate(self._traced)]
        self._weights: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
        self.passes = 0  # forward passes run (the tests count them)

    # Tracing: the model's layers called anew, in order, on one input, so that a wrapped model's layers become steps
    # of the same graph (no part of the network runs twice).

    @staticmethod
    def _is_chain(model) -> bool:
        if isinstance(model, keras.Sequential):
            return all(not isinstance(layer, keras.Model) or LayerInspector._is_chain(layer) for layer in model.layers)
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            return False
        previous = model.inputs[0]
        for layer in model.layers:
            if isinstance(layer, layers.InputLayer):
                continue
            try:
                fed, out = layer.input, layer.output
            except (AttributeError, ValueError):
                return False
            if fed is not previous or isinstance(out, (list, tuple, dict)):
                return False
            if isinstance(layer, keras.Model) and not LayerInspector._is_chain(layer):
                return False
            previous = out
        return previous is model.outputs[0]

    def _trace_chain(self, model, tensor, prefix: str, source: int):
        for layer in model.layers:
            if isinstance(layer, layers.InputLayer):
                continue
            if isinstance(layer, keras.Model):
                tensor, source = self._trace_chain(layer, tensor, f"{prefix}{layer.name}/", source)
                continue
            tensor = layer(tensor)
            self._traced.append(_Traced(layer, prefix + layer.name, tensor, source, prefix.rstrip("/") or None))
            source = len(self._traced) - 1
        return tensor, source

    # Inspecting one digit.

    def inspect(self, image01: np.ndarray) -> LayerView:
        """Every layer's output for one (28, 28) image in [0, 1]: one forward pass."""
        image = np.asarray(image01, dtype=np.float32).reshape(1, FIELD, FIELD, 1)
        outputs = self._viewer.predict_on_batch(image)
        self.passes += 1
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        first = LayerStep(0, "input", "Input", (FIELD, FIELD, 1), INPUT, note("input"), image[0, ..., 0][None], (0, 1))
        steps = [first]
        for i, (meta, output) in enumerate(zip(self._steps_meta, outputs, strict=True)):
            steps.append(self._step(i, meta, output))
        return LayerView(tuple(steps), np.asarray(outputs[-1], dtype=np.float32)[0])

    def _step(self, i: int, meta: dict, output) -> LayerStep:
        values = None
        if meta["kind"] != UNSUPPORTED:
            values = np.asarray(output, dtype=np.float32)[0]
            if meta["kind"] == FEATURE_MAPS:  # channels first: one picture per channel
                values = np.moveaxis(values, -1, 0) if values.ndim == 3 else values[np.newaxis]
        value_range = (float(values.min()), float(values.max())) if values is not None and values.size else (0.0, 0.0)
        return LayerStep(
            index=i + 1,
            name=meta["name"],
            type=meta["type"],
            output_shape=meta["shape"],
            kind=meta["kind"],
            note=meta["note"],
            activations=values,
            value_range=value_range,
            fed_by=meta["fed_by"],
        )

    def _describe(self, i: int, traced: _Traced) -> dict:
        layer, tensor = traced.layer, traced.tensor
        shape = tuple(tensor.shape[1:]) if hasattr(tensor, "shape") else ()
        type_name = type(layer).__name__
        # Height x width x channels; or a digit reshaped to 28x28 for a model that reads it row by row.
        if (len(shape) == 3 and None not in shape) or shape == (FIELD, FIELD):
            kind = FEATURE_MAPS
        elif len(shape) == 1 and shape[0] is not None:
            # The model's last output is its answer (as_digit_classifier makes sure it is ten probabilities).
            kind = PROBABILITIES if i == len(self._traced) - 1 and shape == (10,) else VECTOR
        else:
            kind = UNSUPPORTED
        text = (
            note("unsupported", type=type_name, shape="x".join(str(s) for s in shape))
            if kind == UNSUPPORTED
            else self._note_for(layer, shape, i)
        )
        if kind == PROBABILITIES and not text:
            text = note("softmax")
        return {
            "name": traced.name,
            "type": type_name,
            "shape": shape,
            "kind": kind,
            "note": text,
            "fed_by": None if traced.fed_by is None else traced.fed_by + 1,
        }

    def _note_for(self, layer, shape, i: int) -> str:
        type_name = type(layer).__name__
        activation = getattr(getattr(layer, "activation", None), "__name__", None)
        if isinstance(layer, layers.Conv2D):
            if activation == "relu":
                return note("conv_relu", type=type_name)
            if activation in (None, "linear"):
                after = self._traced[i + 1].layer if i + 1 < len(self._traced) else None
                normalised = isinstance(after, layers.BatchNormalization)
                return note("conv_then_norm" if normalised else "conv_linear")
            return note("conv_activation", activation=activation)
        if isinstance(layer, layers.BatchNormalization):
            return note("batch_norm")
        if isinstance(layer, layers.ReLU) or (isinstance(layer, layers.Activation) and activation == "relu"):
            return note("relu")
        if isinstance(layer, layers.Softmax) or (isinstance(layer, layers.Activation) and activation == "softmax"):
            return note("softmax")
        if isinstance(layer, layers.Activation):
            return note("activation", activation=activation)
        if isinstance(layer, (layers.MaxPooling2D, layers.AveragePooling2D)):
            size = "x".join(str(s) for s in layer.pool_size)
            return note("max_pool" if isinstance(layer, layers.MaxPooling2D) else "average_pool", size=size)
        if isinstance(layer, (layers.GlobalAveragePooling2D, layers.GlobalMaxPooling2D)):
            return note("global_pool", type=type_name)
        if isinstance(layer, INFERENCE_NO_OPS):
            return note("dropout", type=type_name)
        if type_name.startswith("Random"):  # RandomRotation, RandomZoom, RandomTranslation, RandomFlip, ...
            return note("augmentation", type=type_name)
        if isinstance(layer, layers.Flatten):
            return note("flatten", size=int(np.prod(shape)))
        if isinstance(layer, layers.Reshape):
            return note("reshape")
        if isinstance(layer, layers.Dense):
            if activation == "relu":
                return note("dense_relu")
            if activation == "softmax":
                return note("softmax")
            if activation in (None, "linear"):
                return note("dense_linear")
            return note("dense_activation", activation=activation)
        return ""

    # The kernel behind a feature map.

    def kernel_for(self, view: LayerView, step_index: int, channel: int) -> KernelView:
        """Which kernel made map `channel` of step `step_index`: the Conv2D that produced this channel (walking back
        through normalisation, activation, pooling and dropout, which keep channels apart), its k x k slice for each
        of its input maps, heaviest (L1) first, each beside that input map."""
        step = view.steps[step_index]
        if step.kind not in (FEATURE_MAPS, INPUT) or not 0 <= channel < step.channels:
            raise ValueError(f"step {step_index} has no feature map {channel}")
        feature_map = step.activations[channel]

        def none(reason: str) -> KernelView:
            text = note("kernel_none", reason=reason)
            return KernelView(step_index, channel, feature_map, None, None, (), None, text)

        conv_index = step_index
        while conv_index > 0:
            layer = self._traced[conv_index - 1].layer
            if type(layer) is layers.Conv2D:
                break
            if not isinstance(layer, CHANNEL_WISE) or view.steps[conv_index].fed_by is None:
                return none(note("kernel_not_conv"))
            conv_index = view.steps[conv_index].fed_by
        else:
            return none(note("kernel_not_conv"))
        conv = self._traced[conv_index - 1].layer
        conv_step = view.steps[conv_index]
        if getattr(conv, "groups", 1) != 1:
            return none(note("kernel_groups", name=conv_step.name))
        kernel, bias = self._conv_weights(conv_index, conv)
        fed_by = conv_step.fed_by
        inputs = view.steps[fed_by].activations if fed_by is not None else None
        if inputs is not None and len(inputs) != kernel.shape[2]:
            inputs = None
        slices = [
            KernelSlice(c, kernel[:, :, c, channel], float(np.abs(kernel[:, :, c, channel]).sum()), None)
            for c in range(kernel.shape[2])
        ]
        slices = [
            KernelSlice(s.input_channel, s.weights, s.weight, inputs[s.input_channel] if inputs is not None else None)
            for s in sorted(slices, key=lambda s: -s.weight)
        ]
        kh, kw = kernel.shape[:2]
        key = "kernel_first" if kernel.shape[2] == 1 else "kernel_later"
        text = note(key, kh=kh, kw=kw, name=conv_step.name, channel=channel, count=kernel.shape[2])
        return KernelView(
            step_index,
            channel,
            feature_map,
            conv_index,
            conv_step.name,
            tuple(slices),
            None if bias is None else float(bias[channel]),
            text,
        )

    def _conv_weights(self, conv_index: int, conv) -> tuple[np.ndarray, np.ndarray | None]:
        if conv_index not in self._weights:
            kernel = np.asarray(keras.ops.convert_to_numpy(conv.kernel), dtype=np.float32)
            bias = np.asarray(keras.ops.convert_to_numpy(conv.bias), np.float32) if conv.use_bias else None
            self._weights[conv_index] = (kernel, bias)
        return self._weights[conv_index]
