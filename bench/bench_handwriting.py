"""Issue 19's handwriting benchmark: how well a model reads real handwriting by writers who are not MNIST's, drawn on
the canvas and photographed on paper, and the user's own digits ("Wrong? It is a ..." on the Draw page).

    .venv/bin/python -m bench.bench_handwriting                       # the bundled model (about 20 s)
    .venv/bin/python -m bench.bench_handwriting --run fast            # a run's model (id, id prefix or name)
    .venv/bin/python -m bench.bench_handwriting --model path/to/model.keras --renders 3

The set is the UCI optdigits test set (bench/handwriting.py: 1,797 digits by 13 writers, rebuilt from its 8x8
counts), each digit rendered `--renders` times as a canvas drawing and as a paper photo with a fixed seed, then
prepared and read exactly as the Draw page does. It is never used to train or to choose a setting. Prints the
accuracy for each rendering and per digit, and the model's score on the user's own digits of the run store
(`--runs-dir`, default $MNIST_LAB_RUNS or ./runs) when there are any. Writes bench/results/handwriting.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from bench.bench_fast import cpu_model
from bench.handwriting import load_optdigits, render_canvas, render_paper
from mnist_core.data.mnist import NUM_CLASSES
from mnist_core.data.preprocess import FIELD, open_image, prepare
from mnist_core.inspection.own_digits import score_model
from mnist_core.inspection.predict import BUNDLED_MODEL, Predictor
from mnist_core.networks import backend
from mnist_core.store import RunStore

ROOT = Path(__file__).resolve().parents[1]
GOAL = 0.98


def prepared_batch(pictures) -> tuple[np.ndarray, np.ndarray]:
    """28x28 inputs for the pictures that hold ink, and a mask of which did (a blank one counts as wrong)."""
    inputs, found = [], []
    for picture in pictures:
        prepared = prepare(picture)
        found.append(prepared is not None)
        inputs.append(prepared.image if prepared is not None else np.zeros((FIELD, FIELD), np.float32))
    return np.asarray(inputs, np.float32)[..., None], np.asarray(found)


def measure(predictor: Predictor, renders: int, seed: int) -> dict:
    data = load_optdigits()
    results = {}
    for rendering in ("canvas", "paper"):
        rng = np.random.default_rng(seed)
        right = np.zeros(NUM_CLASSES)
        total = np.zeros(NUM_CLASSES)
        started = time.perf_counter()
        for _ in range(renders):
            if rendering == "canvas":
                pictures = [render_canvas(c, rng) for c in data.counts]
            else:
                pictures = [open_image(render_paper(c, rng), name="photo.jpg") for c in data.counts]
            images, found = prepared_batch(pictures)
            predicted = np.asarray(predictor.model.predict(images, batch_size=512, verbose=0)).argmax(axis=1)
            hits = (predicted == data.labels) & found
            np.add.at(right, data.labels, hits)
            np.add.at(total, data.labels, 1)
        accuracy = right.sum() / total.sum()
        results[rendering] = {
            "accuracy": round(float(accuracy), 4),
            "digits": int(total.sum()),
            "per_digit": {str(d): round(float(right[d] / total[d]), 4) for d in range(NUM_CLASSES)},
            "seconds": round(time.perf_counter() - started, 1),
        }
        print(
            f"{rendering:>6}: {accuracy:.2%} of {int(total.sum())} read right "
            f"({'meets' if accuracy >= GOAL else 'below'} the {GOAL:.0%} goal); per digit: "
            + " ".join(f"{d}:{right[d] / total[d]:.1%}" for d in range(NUM_CLASSES)),
            flush=True,
        )
    results["source"] = data.source
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--run", help="a run of the store whose model to measure (id, id prefix or name)")
    which.add_argument("--model", help="a .keras or .h5 model file (default: the bundled model)")
    parser.add_argument("--runs-dir", help="the run store (default: $MNIST_LAB_RUNS or ./runs)")
    parser.add_argument("--renders", type=int, default=1, help="renderings of each digit (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    store = RunStore(args.runs_dir) if args.runs_dir else RunStore()
    model_path = store.find(args.run).model_path if args.run else Path(args.model or BUNDLED_MODEL)
    backend.import_keras()
    predictor = Predictor.from_path(model_path)
    print(f"CPU: {cpu_model()}; model {model_path}", flush=True)
    results = {"cpu": cpu_model(), "model": str(model_path), "renders": args.renders, "seed": args.seed}
    results.update(measure(predictor, args.renders, args.seed))
    own = store.own_digits
    if own.count():
        score = score_model(predictor, own)
        results["own_digits"] = {"accuracy": score.accuracy, "right": score.right, "digits": score.count}
        print(f"your own digits ({store.root}): {score.right} of {score.count} read right ({score.accuracy:.2%})")
    else:
        print(f"your own digits: none kept in {store.root}")
    out = ROOT / "bench" / "results" / "handwriting.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
