"""Open model files people bring, and turn each bad one into one clear line.

Three kinds of file reach this project: a run's own `model.keras` (Keras 3), `.keras` files from Keras' examples,
and `.h5` files saved by Keras 2 (tf.keras), as the blog post's readers have. Plain `keras.saving.load_model` is
unhelpful on the bad ones: a zero-byte or garbage `model.keras` is "File not found", a directory is "File not found"
too, a truncated HDF5 file is an `OSError` from h5py, a custom layer is a `TypeError` of several hundred characters.

`load_model_file` looks at the file first (does it exist, is it a file, does its name end in .keras or .h5, is it
empty, do its first bytes say zip or HDF5, can its archive or HDF5 structure be read, does it hold a model or only
weights) and only then hands it to Keras, always with `safe_mode=True`. Every problem becomes a `ModelFileError` whose
message names the file, says what is wrong and what to do; only genuine bugs escape as other exceptions.

`as_digit_classifier` then checks that the model reads one 28x28 digit and answers ten classes, and wraps it so it
takes this project's input, (N, 28, 28, 1) floats in [0, 1], and returns probabilities.

Plain Keras and h5py only (Keras itself depends on h5py), imported when first needed: importing this module stays
cheap, so the command line can name `ModelFileError` without loading TensorFlow.
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from mnist_core.data.mnist import INPUT_SHAPE, NUM_CLASSES
from mnist_core.i18n import Message, TranslatableError, as_message

if TYPE_CHECKING:
    import keras

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
# The first bytes of each format: a .keras file is a zip archive, a Keras 2 .h5 file is HDF5. (HDF5 allows the
# signature at offsets 512, 1024, ... after a "user block"; Keras and h5py never write one, so offset 0 is checked.)
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or the end record of an empty archive
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
# Keras' own model classes: the layer names a config may hold besides those in `keras.layers`.
MODEL_CLASSES = {"Sequential", "Functional", "Model"}
ACCEPTED_INPUTS = (INPUT_SHAPE, INPUT_SHAPE[:2], (INPUT_SHAPE[0] * INPUT_SHAPE[1],))  # 28x28x1, 28x28, 784


class ModelFileError(TranslatableError, ValueError):
    """A model file that cannot be used. Its message is one line: the file, what is wrong (`problem`), what to do
    (`remedy`), both Messages: `str(error)` in English (the command line's --json), a page's in its reader's
    language. What Keras or h5py said goes in verbatim, as an argument of the problem."""

    def __init__(self, source: str | os.PathLike, problem: str | Message, remedy: str | Message | None = None):
        self.source, self.problem = str(source), as_message(problem)
        self.remedy = as_message(remedy) if remedy is not None else None
        if self.remedy is None:
            explanation = Message("{source}: {problem}.", source=self.source, problem=self.problem)
        else:
            explanation = Message(
                "{source}: {problem}. {remedy}.", source=self.source, problem=self.problem, remedy=self.remedy
            )
        super().__init__(explanation)

    def naming(self, source: str) -> ModelFileError:
        """The same error about the same file known by another name (an upload's, not its temporary path's)."""
        return ModelFileError(source, self.problem, self.remedy)


def _error(path, problem: Message, remedy: Message) -> ModelFileError:
    return ModelFileError(path, problem, remedy)


def _one_line(text: str) -> str:
    """A library's reason as one line, whatever it quoted."""
    return " ".join(str(text).splitlines())


def _first_line(error: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message, cut to `limit` characters: Keras' messages run to pages."""
    lines = str(error).strip().splitlines()  # one line: the message stays one line
    text = lines[0] if lines else type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- loading ---------------------------------------------------------------------------------------------------


def load_model_file(path: str | os.PathLike) -> keras.Model:
    """Load a `.keras` (Keras 3) or `.h5` (Keras 2 / tf.keras or Keras 3 legacy) model without its optimizer.

    `safe_mode=True` always: a file that needs arbitrary Python code to load (a Lambda layer) is refused.
    Raises `ModelFileError` for every file that cannot be loaded.
    """
    path = Path(path)
    config = _model_config(path)  # refuses what Keras would misreport, before Keras sees the file

    import keras

    from mnist_core.networks.augmentation import OWN_LAYERS  # a model trained with them loads

    try:
        with warnings.catch_warnings():
            # Keras 2 files pass `input_shape` to their first layer; Keras 3 warns about it on every load. Harmless.
            warnings.filterwarnings("ignore", message="Do not pass an `input_shape`", category=UserWarning)
            return keras.saving.load_model(path, compile=False, safe_mode=True, custom_objects=OWN_LAYERS)
    except (ValueError, TypeError, KeyError, OSError, zipfile.BadZipFile) as error:
        # What Keras 3.15 raises for a file it cannot rebuild: ValueError (unknown layer in an .h5, the safe-mode
        # refusal, missing weights, mismatched shapes), TypeError (unknown layer in a .keras), KeyError and OSError
        # (archive members or HDF5 groups missing or unreadable).
        raise _load_failure(path, config, error) from error


def check_model_file(path: str | os.PathLike) -> None:
    """Refuse a missing, misnamed, empty, damaged or weights-only file as `load_model_file` would, without Keras:
    a fraction of a second, where starting TensorFlow first takes seconds. Raises ModelFileError."""
    _model_config(Path(path))


def _model_config(path: Path) -> dict:
    """Check the file on disk and return its model config (the architecture, as JSON), or raise ModelFileError."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise _error(path, Message("no such file"), Message("Check the path, or pick another model")) from None
    except OSError as error:
        raise _error(path, _cannot_read(error), Message("Check its permissions")) from None
    if path.is_dir():
        raise _error(
            path, Message("is a directory, not a model file"), Message("Give the .keras or .h5 file itself")
        ) from None
    if path.suffix.lower() not in MODEL_SUFFIXES:
        raise _error(
            path,
            Message("{suffix} is not a model file name", suffix=path.suffix)
            if path.suffix
            else Message("a name without a suffix is not a model file name"),
            Message("Keras models end in .keras (Keras 3) or .h5 (Keras 2); rename the file if it is one"),
        )
    if stat.st_size == 0:
        raise _error(
            path,
            Message("the file is empty (0 bytes), probably an interrupted save or a disk fault"),
            Message("Save or train the model again"),
        )
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(HDF5_MAGIC))
    except OSError as error:
        raise _error(path, _cannot_read(error), Message("Check its permissions")) from None

    is_zip, is_hdf5 = head.startswith(ZIP_MAGIC), head.startswith(HDF5_MAGIC)
    is_keras_name = path.suffix.lower() == ".keras"
    if not (is_zip or is_hdf5):
        raise _error(
            path,
            Message(
                "is not a Keras model: its first bytes are neither a .keras archive (zip) nor an HDF5 (.h5) file, "
                "so it is damaged or another kind of file"
            ),
            Message("Save or train the model again, or pick another model"),
        )
    if is_zip and not is_keras_name:
        raise _error(
            path, Message("is a .keras archive (zip) named as an .h5 file"), Message("Rename it to end in .keras")
        )
    if is_hdf5 and is_keras_name:
        raise _error(
            path, Message("is an HDF5 file (Keras 2's .h5 format) named .keras"), Message("Rename it to end in .h5")
        )
    return _zip_config(path) if is_zip else _hdf5_config(path)


def _zip_config(path: Path) -> dict:
    """A .keras file: a zip archive holding config.json, metadata.json and the weights."""
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()  # reads every member and checks its CRC: catches a file cut or corrupted
            if damaged:
                raise zipfile.BadZipFile(f"member {damaged} fails its checksum")
            if "config.json" not in archive.namelist():
                raise _error(
                    path,
                    Message("is a zip archive but not a Keras model (no config.json inside)"),
                    Message("Pick a file saved by Keras' model.save()"),
                )
            text = archive.read("config.json")
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        raise _error(
            path,
            Message("the .keras archive is truncated or damaged ({reason})", reason=_first_line(error)),
            Message("Save or train the model again"),
        ) from None
    return _parse_config(path, text, "config.json")


def _hdf5_config(path: Path) -> dict:
    """An .h5 file: HDF5 with the architecture as JSON in the `model_config` attribute (absent from weights files)."""
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            text = h5.attrs.get("model_config")
    except OSError as error:
        raise _error(
            path,
            Message("the HDF5 file is truncated or damaged ({reason})", reason=_first_line(error)),
            Message("Save or train the model again"),
        ) from None
    if text is None:
        raise _error(
            path,
            Message("holds weights only, with no model architecture (a save_weights() file)"),
            Message("Save the whole model with model.save('model.keras') (or .h5 in Keras 2) and open that"),
        )
    return _parse_config(path, text, "model_config")


def _parse_config(path: Path, text: str | bytes, where: str) -> dict:
    """`where`: the part of the file that holds the architecture (config.json, or the HDF5 model_config)."""
    try:
        config = json.loads(text)
    except (ValueError, TypeError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise _error(
            path,
            Message("its {part} is damaged ({reason})", part=where, reason=_first_line(error)),
            Message("Save or train the model again"),
        ) from None
    if not isinstance(config, dict):
        raise _error(
            path,
            Message("its {part} does not describe a model", part=where),
            Message("Pick a file saved by Keras' model.save()"),
        )
    return config


def _layer_classes(config: dict) -> list[str]:
    """The class names of a model's layers, nested models included, as its saved config lists them.

    Keras 3 and Keras 2 configs share this shape: {"class_name": ..., "config": {"layers": [<layer config>, ...]}}.
    """
    names = [config.get("class_name")]
    inner = config.get("config")
    if isinstance(inner, dict):
        for layer in inner.get("layers") or ():
            if isinstance(layer, dict):
                names += _layer_classes(layer)
    return [name for name in names if isinstance(name, str)]


def _load_failure(path: Path, config: dict, error: Exception) -> ModelFileError:
    """Say why Keras could not rebuild the model, naming the layer at fault when the config shows it."""
    import keras

    from mnist_core.networks.augmentation import OWN_LAYERS

    classes = _layer_classes(config)
    if "Lambda" in classes or "safe_mode" in str(error):
        return _error(
            path,
            Message(
                "refused: it holds a Lambda layer (Python code saved in the file), and loading one could run "
                "arbitrary code, so this project never loads it"
            ),
            Message(
                "Rebuild the model without Lambda layers (Keras has Rescaling, Reshape and Activation layers) and "
                "save it again"
            ),
        )
    known = MODEL_CLASSES | set(OWN_LAYERS)
    unknown = sorted({name for name in classes if name not in known and not hasattr(keras.layers, name)})
    if unknown:
        return _error(
            path,
            Message(
                "uses layers Keras {version} does not know: {layers} (custom code, which this project does not load)",
                version=keras.__version__,
                layers=", ".join(unknown),
            ),
            Message("Rebuild the model from Keras' built-in layers and save it again"),
        )
    return _error(
        path,
        Message(
            "Keras {version} cannot rebuild the model from it ({reason})",
            version=keras.__version__,
            reason=f"{type(error).__name__}: {_first_line(error)}",
        ),
        Message("Save it again with model.save('model.keras'), or pick another model"),
    )


# --- adapting --------------------------------------------------------------------------------------------------


def as_digit_classifier(model: keras.Model, source: str) -> keras.Model:
    """Check that `model` reads one 28x28 digit and answers 10 classes; return a model for this project's input.

    Accepted inputs (batch axis aside): 28x28x1, 28x28 or a flat 784. The returned model takes (N, 28, 28, 1)
    floats in [0, 1] and returns (N, 10) probabilities: the model itself when it already does, otherwise the model
    wrapped with a Reshape in front and, when its last layer gives logits rather than a softmax, a Softmax after.
    `source` (a path or a name) starts every error message.
    """
    import keras

    input_shapes = [tuple(tensor.shape[1:]) for tensor in model.inputs]
    output_shapes = [tuple(tensor.shape[1:]) for tensor in model.outputs]
    if len(input_shapes) != 1 or input_shapes[0] not in ACCEPTED_INPUTS:
        raise _error(
            source,
            Message(
                "the model takes {shapes} (batch axis aside), but a digit classifier here reads one 28x28, 28x28x1 "
                "or 784 image",
                shapes=_shapes(input_shapes),
            ),
            Message("Pick a model trained on MNIST-sized images"),
        )
    if len(output_shapes) != 1 or output_shapes[0] != (NUM_CLASSES,):
        raise _error(
            source,
            Message(
                "the model outputs {shapes} (batch axis aside), but a digit classifier needs {count} classes",
                shapes=_shapes(output_shapes),
                count=NUM_CLASSES,
            ),
            Message("Pick a model trained to tell the ten digits apart"),
        )

    needs_reshape = input_shapes[0] != INPUT_SHAPE
    needs_softmax = not _ends_in_softmax(model)
    if not (needs_reshape or needs_softmax):
        return model  # this project's own models: used as they are

    images = keras.Input(shape=INPUT_SHAPE, name="digit_image")
    x = keras.layers.Reshape(input_shapes[0])(images) if needs_reshape else images  # same pixels, the model's layout
    x = model(x)
    if needs_softmax:
        x = keras.layers.Softmax()(x)  # logits -> probabilities (softmax of a log-softmax is the softmax too)
    return keras.Model(images, x, name=f"{model.name}_for_digits")


def _ends_in_softmax(model: keras.Model) -> bool:
    """Whether the model's last layer already gives probabilities: a Softmax layer, or any layer with softmax
    activation (Dense(10, activation="softmax") in the blog post). A nested model is looked into."""
    import keras

    last = model.layers[-1] if model.layers else None
    if isinstance(last, keras.Model):
        return _ends_in_softmax(last)
    if isinstance(last, keras.layers.Softmax):
        return True
    return getattr(getattr(last, "activation", None), "__name__", None) == "softmax"


def _shapes(shapes: list[tuple]) -> Message:
    text = ["x".join("?" if size is None else str(size) for size in shape) or "()" for shape in shapes]
    if len(text) == 1:
        return Message("shape {shape}", shape=text[0])
    return Message("{count} tensors ({shapes})", count=len(text), shapes=", ".join(text))


def _cannot_read(error: OSError) -> Message:
    return Message("cannot read the file ({reason})", reason=_one_line(error.strerror or str(error)))
