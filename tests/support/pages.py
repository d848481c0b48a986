"""Helpers for the AppTest page tests: the app under test, its charts as data, and small run-store fixtures
written the way training writes them (no training, so each test takes a second or two)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from mnist_core.data.mnist import load_mnist
from mnist_core.inspection.evaluation import evaluate_probabilities
from mnist_core.networks.config import RunConfig
from mnist_core.networks.metrics import EpochMetrics, ProgressPoint
from mnist_core.presentation.text import WORD_JOINER
from mnist_core.store import Run, RunState, RunStore, RunWriter, Trainer, records
from mnist_core.store.records import Progress

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TINY = RunConfig(epochs=3, train_limit=1000, batch_size=128)


def open_page(page: str, timeout: float = 60) -> AppTest:
    """The real app.py, switched to one page and run (pages that build a model load Keras: a long timeout)."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    if page != "pages/data.py":
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def figure(at: AppTest, key: str) -> dict:
    """The Plotly figure a chart with this key drew, as the JSON the browser receives."""
    for chart in at.get("plotly_chart"):
        if chart.proto.id.endswith(f"-{key}"):
            return json.loads(chart.proto.spec)
    raise AssertionError(f"no chart with key {key!r}")


def texts(elements) -> list[str]:
    """What each element shows a reader: markdown escapes and invisible word joiners taken out."""
    return [shown(str(e.value)) for e in elements]


def shown(markdown: str) -> str:
    """The text a reader sees of a markdown string the pages escaped with `presentation.text.markdown_text`."""
    return re.sub(r"\\(.)", r"\1", markdown).replace(WORD_JOINER, "")


def history(epochs: int, start: float = 0.7) -> list[EpochMetrics]:
    return [
        EpochMetrics(
            epoch=e,
            loss=1.0 / e,
            accuracy=start + 0.05 * e,
            val_loss=1.1 / e,
            val_accuracy=start + 0.04 * e,
            learning_rate=0.001,
            seconds=2.0,
        )
        for e in range(1, epochs + 1)
    ]


def completed_run(store: RunStore, name: str, wrong: int = 30) -> Run:
    """A finished run with real-shaped results: `wrong` test digits misclassified as the next digit."""
    labels = load_mnist().y_test
    predicted = labels.copy()
    predicted[:wrong] = (predicted[:wrong] + 1) % 10
    probabilities = np.eye(10, dtype=np.float32)[predicted] * 0.9 + 0.01
    with store.create(TINY, name=name, preset=None, trainer=Trainer.OWNER) as writer:
        writer.write_history(history(3))
        results = evaluate_probabilities(probabilities, labels)
        writer.write_results(records.replace(results, parameters=232590, best_epoch=3))
        writer.write_status(RunState.COMPLETED, train_seconds=6.5, test_accuracy=1 - wrong / 10000, test_loss=0.1)
    return store.get(writer.id)


def running_run(store: RunStore, name: str = "live") -> RunWriter:
    """A run this very process 'trains' (it holds the run's lock until the test process ends): one epoch done,
    the second half-way."""
    writer = store.create(TINY, name=name, preset=None, trainer=Trainer.OWNER)
    writer.start()
    writer.write_history(history(1))
    points = (
        ProgressPoint(epoch=1, batch=4, steps=8, progress=0.5, loss=1.5, accuracy=0.6, elapsed=1.0),
        ProgressPoint(epoch=2, batch=4, steps=8, progress=1.5, loss=0.8, accuracy=0.8, elapsed=3.0),
    )
    writer.write_progress(Progress(epochs=3, steps=8, epoch=2, batch=4, points=points, updated_at=time.time()))
    return writer
