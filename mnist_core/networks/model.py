"""Build the Keras 3 model for a RunConfig, and describe it as data (the post's `model.summary()`).

The shape follows the blog post: convolution blocks of [Conv2D 'same' relu -> MaxPooling2D 2x2], then Dropout ->
Flatten -> Dense relu -> Dropout -> Dense 10 softmax. Batch normalisation and augmentation layers are added only
when the config asks for them. Only `keras` APIs are used here, so any Keras backend can run it.

Mixed precision is set layer by layer (`dtype=`), never as Keras' global policy: a worker trains one run after
another in one process, and a global policy would carry into the next run.
"""

from __future__ import annotations

import keras
from keras import layers

from mnist_core.data.mnist import INPUT_SHAPE, NUM_CLASSES
from mnist_core.networks.augmentation import RandomElasticDistortion, RandomSlant, RandomStrokeWidth
from mnist_core.networks.config import RunConfig

AUGMENTATION = "augmentation"  # the training-only block's name: `inference_only` leaves it out


def build_model(config: RunConfig) -> keras.Model:
    # Every layer after the augmentation computes in the config's precision, but the output: probabilities in float32.
    dtype = config.precision
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = inputs
    if config.augments:
        x = _augmentation(config)(x)

    for block, (filters, kernel_size) in enumerate(zip(config.filters, config.kernel_sizes, strict=True), start=1):
        for conv in range(1, config.convs_per_block + 1):
            name = f"conv{block}" if config.convs_per_block == 1 else f"conv{block}_{conv}"
            if config.batch_norm:
                # The normalisation's own offset makes the convolution's bias redundant.
                x = layers.Conv2D(filters, kernel_size, padding=config.padding, use_bias=False, name=name, dtype=dtype)(
                    x
                )
                x = layers.BatchNormalization(name=f"{name}_bn", dtype=dtype)(x)
                x = layers.Activation("relu", name=f"{name}_relu", dtype=dtype)(x)
            else:
                # ReLU before the pooling: max-pooling and ReLU commute, so this is conv -> pool -> ReLU too.
                x = layers.Conv2D(
                    filters, kernel_size, padding=config.padding, activation="relu", name=name, dtype=dtype
                )(x)
        x = layers.MaxPooling2D(pool_size=2, name=f"pool{block}", dtype=dtype)(x)

    if config.dropout:
        x = layers.Dropout(config.dropout, name="dropout_conv", dtype=dtype)(x)
    x = layers.Flatten(name="flatten", dtype=dtype)(x)
    if config.dense_units:
        x = layers.Dense(config.dense_units, activation="relu", name="dense", dtype=dtype)(x)
        if config.dropout:
            x = layers.Dropout(config.dropout, name="dropout_dense", dtype=dtype)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="digit", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="mnist_cnn")


def _augmentation(config: RunConfig) -> keras.Sequential:
    """Random stroke widths, elastic distortions, rotations, zoom, slant and shifts of the training images; these
    layers pass images through untouched at inference. In float32 whatever the config's precision (the exported
    script builds them before it sets its precision)."""
    steps = []
    if config.augment_stroke:
        steps.append(RandomStrokeWidth(config.augment_stroke, seed=config.seed, name="stroke_width"))
    if config.augment_elastic:
        steps.append(RandomElasticDistortion(config.augment_elastic, seed=config.seed, name="elastic"))
    if config.augment_rotation:
        steps.append(layers.RandomRotation(config.augment_rotation / 360.0, fill_mode="constant", seed=config.seed))
    if config.augment_zoom:
        steps.append(layers.RandomZoom(config.augment_zoom, fill_mode="constant", seed=config.seed))
    if config.augment_shear:
        steps.append(RandomSlant(config.augment_shear, seed=config.seed, name="slant"))
    if config.augment_shift:
        steps.append(
            layers.RandomTranslation(config.augment_shift, config.augment_shift, fill_mode="constant", seed=config.seed)
        )
    return keras.Sequential(steps, name=AUGMENTATION)


def inference_only(model: keras.Model) -> keras.Model:
    """The same network, sharing its weights, without the augmentation block it was trained with.

    That block passes images through unchanged at inference, so predictions are the same; but a file that holds
    it needs this project's own augmentation layers to load, and a file for inference (the bundled model, an
    export) should load in any Keras 3. Only this module's own layout (input, augmentation, then a chain of single
    layers) is rebuilt; any other model comes back as it is.
    """
    if len(model.layers) < 3 or model.layers[1].name != AUGMENTATION or not _is_chain(model):
        return model
    inputs = keras.Input(shape=model.inputs[0].shape[1:], name=model.layers[0].name)
    x = inputs
    for layer in model.layers[2:]:
        x = layer(x)
    return keras.Model(inputs, x, name=model.name)


def _is_chain(model: keras.Model) -> bool:
    """Whether every layer takes exactly the previous layer's output once (no branch, no second input), read from
    the model's own config."""
    config = model.get_config()
    names = [layer["name"] for layer in config["layers"]]
    for previous, layer in zip(names[:-1], config["layers"][1:], strict=True):
        nodes = layer["inbound_nodes"]
        if len(nodes) != 1 or len(nodes[0]["args"]) != 1 or not isinstance(nodes[0]["args"][0], dict):
            return False  # not one node with one tensor in (a merge layer's argument is a list of them)
        history = nodes[0]["args"][0].get("config", {}).get("keras_history")
        if not history or history[0] != previous:
            return False
    return True  # a second input would have no inbound node and fail above


def summary_rows(model: keras.Model) -> list[dict]:
    """The model summary as data: one row per layer with its output shape and parameter count."""
    rows = []
    for layer in model.layers:
        shape = getattr(layer, "output", None)
        shape = tuple(shape.shape[1:]) if shape is not None and hasattr(shape, "shape") else ()
        rows.append(
            {
                "layer": layer.name,
                "type": type(layer).__name__,
                "output_shape": "x".join(str(dim) for dim in shape),
                "parameters": int(layer.count_params()),
            }
        )
    return rows


def describe(config: RunConfig) -> tuple[list[dict], int]:
    """Summary rows and total parameter count for a config, before any training."""
    model = build_model(config)
    return summary_rows(model), int(model.count_params())
