"""Bring your own model: a Keras model file trained elsewhere becomes a run, evaluated like the runs trained here.

The blog post's readers have `.h5` files saved by Keras 2; others have `.keras` files from Keras' examples. Any model
that reads one 28x28 digit (28x28, 28x28x1 or a flat 784) and answers ten classes is opened in safe mode and adapted
(`model_files`), evaluated on the MNIST test set (`evaluation`: confusion matrix, per-class metrics, misclassified
digits), and kept as a run of kind "imported": the Runs page compares it with trained runs, the Draw page draws with
it, `evaluate` and `predict` use it.

Everything that can refuse a file happens before the run store is touched: a file that is not a model, a model of
another shape, one safe mode refuses, or one whose answers are not probabilities raises `ModelFileError` (one line) and
changes nothing in the store. Only then is the run created, locked by this process from before it is visible, and
written in a fraction of a second: a process killed in that instant leaves a run that reads "interrupted" (and a
half-written model in its folder, which the next import, training or worker sweeps away); an error there removes the
run again.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from mnist_core.data.mnist import MnistData, load_mnist
from mnist_core.i18n import Message
from mnist_core.networks.model_files import ModelFileError, as_digit_classifier, load_model_file
from mnist_core.store import (
    RecordError,
    Results,
    Run,
    RunKind,
    RunState,
    RunStore,
    Trainer,
    check_name,
    now_iso,
    records,
)
from mnist_core.store.runs import MAX_NAME_LENGTH


def import_model(
    store: RunStore,
    path: str | os.PathLike,
    name: str | None = None,
    data: MnistData | None = None,
    *,
    source_name: str | None = None,
) -> Run:
    """Open, check, evaluate and keep the model file at `path` as an imported run; return the run.

    `name` defaults to the file's name. `source_name` is the file's name as the user knows it, when `path` is a
    temporary copy (an upload): it is recorded as the run's source file and starts every error message instead of
    the temporary path. Raises ModelFileError for a file that cannot be used, RunStoreError for a bad name or an
    unwritable store, DataError when MNIST cannot be loaded; in each case nothing in the store has changed.
    """
    path = Path(path)
    source = source_name or path.name
    name = check_name(name) if name and name.strip() else default_name(source)
    started = time.monotonic()

    try:
        model = as_digit_classifier(load_model_file(path), str(path))
    except ModelFileError as error:
        if source_name is None:
            raise
        raise error.naming(source_name) from None
    data = data or load_mnist()
    results = _evaluate(model, data, source_name or str(path))

    # From here on the file has passed every check: the run is created, locked by this process, and written.
    store.sweep()  # as `train` does: what killed imports and trainings left (temporary files, runs still "running")
    with store.create(None, name=name, trainer=Trainer.OWNER, kind=RunKind.IMPORTED, source_file=source) as writer:
        try:
            writer.start()
            writer.save_model(model)  # the adapted model, so Predictor and the Draw page load it like any run's
            writer.write_results(results)
            writer.write_status(
                RunState.COMPLETED,
                finished_at=now_iso(),
                wall_seconds=round(time.monotonic() - started, 2),
                test_accuracy=results.test_accuracy,
                test_loss=results.test_loss,
            )
        except BaseException:
            # A disk fault or Ctrl-C half-way: leave nothing rather than a half-imported run.
            writer.close()
            with contextlib.suppress(Exception):
                store.delete(writer.id)
            raise
    return store.get(writer.id)


def import_upload(
    store: RunStore, file_name: str, content: bytes, name: str | None = None, data: MnistData | None = None
) -> Run:
    """An uploaded model file (the Runs page's): written under its own name to a temporary folder, since Keras opens
    files by path, imported, and the folder removed whatever happens. Errors name the file as uploaded."""
    local_name = Path(file_name).name
    if local_name in ("", ".", ".."):
        local_name = "upload"  # then refused for its missing suffix, like any file without one
    with tempfile.TemporaryDirectory(prefix="mnist-lab-import-") as folder:
        path = Path(folder) / local_name
        path.write_bytes(content)
        return import_model(store, path, name, data, source_name=file_name)


def default_name(file_name: str) -> str:
    """A run name from a file's name: printable, and no longer than a run name may be."""
    name = "".join(ch if ch.isprintable() else "?" for ch in file_name).strip()
    return name[:MAX_NAME_LENGTH] or "imported model"


def _evaluate(model, data: MnistData, label: str) -> Results:
    """The project's evaluation on the MNIST test set, checked to be a valid results record before any run exists."""
    from mnist_core.inspection.evaluation import evaluate_probabilities, predict_probabilities
    from mnist_core.networks.training import to_model_input

    probabilities = predict_probabilities(model, to_model_input(data.x_test))
    if not np.isfinite(probabilities).all():
        raise ModelFileError(
            label,
            Message(
                "the model answers MNIST test digits with numbers that are not finite (NaN or infinity), so its "
                "weights are damaged or it was never trained"
            ),
            Message("Pick another model"),
        )
    results = records.replace(
        evaluate_probabilities(probabilities, data.y_test),
        parameters=int(model.count_params()),
        data_source=data.source,
    )
    try:  # the same check every later read makes: a record that fails it would make the run read as damaged
        return records.decode(records.encode(results), Results, "results.json")
    except RecordError as error:
        raise ModelFileError(
            label,
            Message("the model's answers are not probabilities ({reason})", reason=error.problem),
            Message("Pick another model"),
        ) from None
