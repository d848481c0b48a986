"""Reproduce the blog post's hyperparameter study and write the table for docs/studies.md.

    .venv/bin/python -m bench.reproduce_post_study                         # the real thing: 7 runs, full data
    .venv/bin/python -m bench.reproduce_post_study --limit 2000 --epochs 1 # a quick check that it all works

The seven runs are the `presets.STUDY` presets, trained as one study through the same engine as the Experiments
page (`mnist_core.study`): one trial at a time, each an ordinary run in the run store. The table puts each run's
test accuracy beside the figure the post reported, with the epochs run, the best epoch, train / validation
accuracy and the time it took. Stopped half-way (Ctrl-C, a crash)? Run the same command again with `--name` of
the study: it resumes and never retrains a finished run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from mnist_core.data.mnist import load_mnist
from mnist_core.networks.presets import PRESETS, STUDY
from mnist_core.store import RunStore
from mnist_core.study import Studies, preset_study

ROOT = Path(__file__).resolve().parents[1]

RESULTS = ROOT / "bench" / "results"
# Differences from the post that hold for every run, whatever the numbers turn out to be.
NOTES = """
Known differences from the post, whatever the numbers:
- Before testing, this project puts back the weights of the epoch with the lowest val_loss (the "best epoch"
  column); the post tested the weights of its last epoch.
- `widest` is a guess: the post says only "larger again"; we use filters 128 / 256.
- Different TensorFlow / Keras versions (the post: 2019, standalone Keras), CPU instead of the post's machine, and
  one random seed (42) per run: differences of about 0.1 percentage point are within run-to-run noise.
"""


def markdown_table(rows: list[dict]) -> str:
    """The table of docs/studies.md: one line per preset of the study, its latest completed trial."""
    latest = {}
    for row in rows:
        if row["state"] == "completed":
            latest[row["preset"]] = row
    lines = [
        "| run | change from the post's model | post's test accuracy | this project | difference | epochs run "
        "| best epoch | train / val accuracy | time |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in STUDY:
        row = latest.get(name)
        post = PRESETS[name].reported_accuracy
        if row is None:
            lines.append(f"| {name} | {PRESETS[name].description} | {post:.2%} | not run | | | | | |")
            continue
        diff = (row["test_accuracy"] - post) * 100
        lines.append(
            f"| {name} | {PRESETS[name].description} | {post:.2%} | {row['test_accuracy']:.2%} | {diff:+.2f} pp "
            f"| {row['epochs_run']}/{row['epochs']} | {row['best_epoch']} "
            f"| {row['train_accuracy']:.2%} / {row['val_accuracy']:.2%} | {_duration(row['seconds'])} |"
        )
    return "\n".join(lines)


def _duration(seconds) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import keras
    import tensorflow as tf

    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, help="train every run on the first N training images only")
    parser.add_argument("--epochs", type=int, help="train every run for N epochs (default: the post's)")
    parser.add_argument("--runs-dir", default=str(RESULTS / "post-study-runs"), help="the run store to train into")
    parser.add_argument("--storage", help="an Optuna database URL (default: sqlite in the run store)")
    parser.add_argument("--name", help="the study's name; an existing one is resumed (default: post-study-<time>)")
    parser.add_argument("--out", default=str(RESULTS / "post_study.md"), help="where to write the markdown")
    args = parser.parse_args(argv)

    store = RunStore(args.runs_dir)
    lab = Studies(store, args.storage)
    name = args.name or f"post-study-{datetime.now():%Y%m%d-%H%M%S}"
    if name in lab.names():
        requeued = lab.prepare_resume(name)
        print(f"resuming study {name!r}" + (f"; trial(s) {requeued} queued again" if requeued else ""), file=sys.stderr)
    else:
        lab.create(name, preset_study(STUDY, epochs=args.epochs, train_limit=args.limit))
        print(f"study {name!r} created in {lab.url}", file=sys.stderr)

    data = load_mnist()
    started = time.monotonic()
    lab.run_worker(name, data=data, log=lambda message: print(message, file=sys.stderr, flush=True))
    wall = time.monotonic() - started

    rows = lab.rows(name)
    progress = lab.progress(name)
    images = args.limit or len(data.x_train)
    header = [
        f"The post's study `{name}`, {datetime.now():%Y-%m-%d}: {progress['finished']}/{progress['planned']} runs, "
        f"{images:,} training images (20% held out for validation), "
        + (f"{args.epochs} epoch(s) each" if args.epochs else "the post's epochs (20 for post, 10 for the rest)")
        + f"; this worker's wall time {_duration(wall)}.",
        f"Machine: {machine()}.",
        "",
    ]
    text = "\n".join(header) + markdown_table(rows) + "\n" + NOTES
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")
    Path(args.out).with_suffix(".json").write_text(json.dumps({**progress, "trials": rows}, indent=2) + "\n")
    print(text)
    print(f"written to {args.out} (and .json beside it)", file=sys.stderr)
    return 0 if progress["state"] == "finished" else 1


if __name__ == "__main__":
    sys.exit(main())
