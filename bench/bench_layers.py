"""The layer view's two costs: every layer's output for one digit (one forward pass), and its pictures' encoding.

    .venv/bin/python -m bench.bench_layers                      # the bundled model and the `best` preset
    .venv/bin/python -m bench.bench_layers --repeats 200 --json bench/results/layers.json

Pass: `LayerInspector.inspect` on a drawn digit (28x28 after the MNIST-style preprocessing), in-process, after a
warm-up; the `best` preset untrained (its weights do not change the cost). Encoding: every picture the Draw page
shows for that digit (one PNG per layer: a grid of maps, or a strip of cells), as `pages/layers_ui.py` makes them.
Median and 95th percentile over repeated digits; the CPU model from /proc/cpuinfo.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from mnist_core.data.preprocess import open_image, prepare
from mnist_core.inspection.layers import FEATURE_MAPS, INPUT, VECTOR, LayerInspector
from mnist_core.inspection.predict import BUNDLED_MODEL, Predictor
from mnist_core.presentation import layer_pictures as pictures

ROOT = Path(__file__).resolve().parents[1]

DRAWN = ROOT / "tests" / "data" / "drawn"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def digits(count: int = 40) -> list[np.ndarray]:
    images = []
    for path in sorted(DRAWN.glob("*.png"))[:count]:
        prepared = prepare(np.asarray(open_image(path)))
        if prepared is not None:
            images.append(prepared.image)
    return images or [np.random.default_rng(0).random((28, 28)).astype(np.float32)]


def encode_all(view) -> int:
    """Every picture the page shows for this view, as PNG bytes; returns the bytes in all."""
    size = 0
    for step in view.steps:
        if step.kind in (INPUT, FEATURE_MAPS):
            size += len(pictures.png(pictures.maps_sheet(step.activations, step.value_range)))
        elif step.kind == VECTOR:
            size += len(pictures.png(pictures.vector_sheet(step.activations, step.value_range)))
    return size


def percentiles(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"median_ms": statistics.median(ordered), "p95_ms": ordered[int(0.95 * (len(ordered) - 1))]}


def measure(name: str, model, images: list[np.ndarray], repeats: int) -> dict:
    started = time.perf_counter()
    inspector = LayerInspector(model)
    build_s = time.perf_counter() - started
    for image in images[:5]:  # warm-up
        encode_all(inspector.inspect(image))
    passes, encodes, sizes = [], [], []
    for i in range(repeats):
        image = images[i % len(images)]
        start = time.perf_counter()
        view = inspector.inspect(image)
        middle = time.perf_counter()
        sizes.append(encode_all(view))
        end = time.perf_counter()
        passes.append((middle - start) * 1000)
        encodes.append((end - middle) * 1000)
    return {
        "model": name,
        "steps": len(view.steps),
        "feature_maps": view.map_count,
        "build_s": build_s,
        "pass": percentiles(passes),
        "encode": percentiles(encodes),
        "png_kib": statistics.median(sizes) / 1024,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    from mnist_core.networks.model import build_model
    from mnist_core.networks.presets import PRESETS

    images = digits()
    models = {
        "bundled": Predictor.from_path(BUNDLED_MODEL).model,
        "best (untrained)": build_model(PRESETS["best"].config),
    }
    result = {
        "cpu": cpu_model(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average": os.getloadavg()[0],
        "models": [measure(name, model, images, args.repeats) for name, model in models.items()],
    }
    print(f"CPU: {result['cpu']} ({result['machine']}; load average {result['load_average']:.1f})")
    for row in result["models"]:
        print(
            f"{row['model']:17s} {row['steps']:3d} steps, {row['feature_maps']:5d} maps | "
            f"pass median {row['pass']['median_ms']:.1f} ms, p95 {row['pass']['p95_ms']:.1f} ms | "
            f"encode median {row['encode']['median_ms']:.1f} ms, p95 {row['encode']['p95_ms']:.1f} ms, "
            f"{row['png_kib']:.0f} KiB of PNG | inspector built in {row['build_s']:.2f} s"
        )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
