"""Drawn-digit accuracy and canvas latency of a model: the Draw page's two published figures.

    .venv/bin/python -m bench.bench_draw                       # the bundled default model
    .venv/bin/python -m bench.bench_draw --model runs/<id>/model.keras --json bench/results/draw.json

Accuracy: every picture in the drawn set (tests/data/drawn, made by `python -m tests.support.drawn_digits`, plus
any recorded canvas drawings in its `recorded/` folder), read once with the MNIST-style preprocessing and once with
the naive shrink of the whole picture to 28x28, by the same model; overall and per placement, pen and medium.
Latency: from the canvas' RGBA image (280x280x4 uint8, as the Draw page receives it) to the ten probabilities,
in-process, after a warm-up; median and 95th percentile over repeated canvas drawings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from mnist_core.data.preprocess import naive_shrink, open_image, prepare
from mnist_core.inspection.predict import BUNDLED_MODEL, Predictor
from tests.support.drawn_digits import label_of

ROOT = Path(__file__).resolve().parents[1]

DRAWN = ROOT / "tests" / "data" / "drawn"


def drawn_files(folder: Path = DRAWN) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))


def groups_of(path: Path) -> dict[str, str]:
    """Placement, pen and medium from a generated file's name; recorded drawings form their own group."""
    if path.parent.name == "recorded":
        _, _, where, _ = path.stem.split("_")
        return {"source": "recorded", "recorded": where}
    _, _, placement, pen, medium = path.stem.split("_")
    return {"source": "generated", "placement": placement, "pen": pen, "medium": medium}


def accuracy(predictor: Predictor, files: list[Path]) -> dict:
    labels, mnist_style, naive, names = [], [], [], []
    for path in files:
        image = np.asarray(open_image(path))
        prepared, shrunk = prepare(image), naive_shrink(image)
        mnist_style.append(prepared.image if prepared is not None else np.zeros((28, 28), np.float32))
        naive.append(shrunk if shrunk is not None else np.zeros((28, 28), np.float32))
        labels.append(label_of(path))
        names.append(path)
    labels = np.array(labels)
    right = {
        "mnist_style": predictor.probabilities(np.stack(mnist_style)).argmax(1) == labels,
        "naive_shrink": predictor.probabilities(np.stack(naive)).argmax(1) == labels,
    }
    by_group: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for i, path in enumerate(names):
        for kind, value in groups_of(path).items():
            by_group[f"{kind}={value}"]["mnist_style"].append(bool(right["mnist_style"][i]))
            by_group[f"{kind}={value}"]["naive_shrink"].append(bool(right["naive_shrink"][i]))
    return {
        "images": len(files),
        "mnist_style": float(right["mnist_style"].mean()),
        "naive_shrink": float(right["naive_shrink"].mean()),
        "groups": {
            group: {way: float(np.mean(values)) for way, values in ways.items()} | {"images": len(ways["mnist_style"])}
            for group, ways in sorted(by_group.items())
        },
        "misread": [
            p.name if p.parent.name != "recorded" else f"recorded/{p.name}"
            for p, ok in zip(names, right["mnist_style"], strict=True)
            if not ok
        ],
    }


def latency(predictor: Predictor, files: list[Path], repeats: int = 300) -> dict:
    """Milliseconds from the canvas' RGBA array to the ten probabilities; also from its PNG bytes, as the page
    gets them."""
    pngs = [p.read_bytes() for p in files if p.suffix == ".png"][:40]
    canvases = [np.asarray(open_image(png)) for png in pngs]
    for canvas in canvases[:5]:  # warm-up: first calls build and trace
        predictor.predict_picture(canvas)
    from_array, from_png = [], []
    for i in range(repeats):
        canvas, png = canvases[i % len(canvases)], pngs[i % len(pngs)]
        start = time.perf_counter()
        predictor.predict_picture(canvas)
        middle = time.perf_counter()
        predictor.predict_picture(np.asarray(open_image(png)))
        end = time.perf_counter()
        from_array.append((middle - start) * 1000)
        from_png.append((end - middle) * 1000)
    from_array.sort()
    from_png.sort()
    return {
        "repeats": repeats,
        "median_ms": statistics.median(from_array),
        "p95_ms": from_array[int(0.95 * (len(from_array) - 1))],
        "max_ms": from_array[-1],
        "from_png_median_ms": statistics.median(from_png),
        "from_png_p95_ms": from_png[int(0.95 * (len(from_png) - 1))],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=str(BUNDLED_MODEL), help="a .keras model (default: the bundled one)")
    parser.add_argument("--drawn", default=str(DRAWN), help="the drawn-digit folder")
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--show-misread", action="store_true", help="list the misread files")
    args = parser.parse_args(argv)

    predictor = Predictor.from_path(args.model)
    files = drawn_files(Path(args.drawn))
    if not files:
        print(f"no drawings in {args.drawn}; make them with: python -m tests.support.drawn_digits {args.drawn}")
        return 1
    result = {
        "model": args.model,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_implementation()} "
        f"{platform.python_version()}",
        "accuracy": accuracy(predictor, files),
        "latency": latency(predictor, files, args.repeats),
    }
    acc, lat = result["accuracy"], result["latency"]
    print(f"model: {args.model}")
    print(f"drawn digits: {acc['images']} images")
    print(f"  MNIST-style preprocessing: {acc['mnist_style']:.1%}")
    print(f"  naive shrink to 28x28:     {acc['naive_shrink']:.1%}")
    for group, values in acc["groups"].items():
        print(
            f"    {group:22s} {values['images']:4d} images  MNIST-style {values['mnist_style']:6.1%}"
            f"  naive {values['naive_shrink']:6.1%}"
        )
    print(
        f"canvas image -> probabilities: median {lat['median_ms']:.1f} ms, p95 {lat['p95_ms']:.1f} ms "
        f"({lat['repeats']} calls, in-process; {result['machine']})"
    )
    print(
        f"  from the PNG the canvas sends: median {lat['from_png_median_ms']:.1f} ms, "
        f"p95 {lat['from_png_p95_ms']:.1f} ms"
    )
    print(f"  load average while measuring: {os.getloadavg()[0]:.1f}")
    if args.show_misread:
        for name in acc["misread"]:
            print("  misread:", name)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
