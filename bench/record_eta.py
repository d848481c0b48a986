"""Record real runs for the Train page's time-left estimate: what the page reads while a run trains, and when the run
really ended (its test evaluation and the saved model included).

    .venv/bin/python -m bench.record_eta fast --limit 3000          # any `train` flags after the preset
    .venv/bin/python -m bench.record_eta seed --epochs 4 --limit 12000

Trains with `python -m mnist_core train` in a fresh run store and polls the store every 50 ms, as the page does
once a second. Prints one JSON line: the run's within-epoch points (fractional epoch, seconds since training began),
the per-epoch seconds of history.json, when each epoch ended and when the run was completed (on the points'
clock), its planned epochs, images and validation split. tests/test_presentation.py replays such records.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mnist_core.store import RunState, RunStore

ROOT = Path(__file__).resolve().parents[1]
POLL = 0.05


def record(preset: str, flags: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        store = RunStore(Path(folder) / "runs")
        command = [
            sys.executable,
            "-m",
            "mnist_core",
            "train",
            "--preset",
            preset,
            *flags,
            "--runs-dir",
            str(store.root),
        ]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        offsets, epoch_ends, seen_points, seen_update, run = [], [], 0, None, None
        finished_wall = None
        try:
            while finished_wall is None and process.poll() is None:
                time.sleep(POLL)
                listed = store.runs()
                if not listed:
                    continue
                run = listed[0]
                try:
                    progress = store.progress(run.id)
                except Exception:  # noqa: BLE001 - mid-write: the next poll reads it whole
                    continue
                if progress.updated_at is not None and progress.updated_at != seen_update:
                    seen_update = progress.updated_at
                    if len(progress.points) > seen_points:  # a point's write: its clock and the wall clock agree
                        seen_points = len(progress.points)
                        offsets.append(progress.updated_at - progress.points[-1].elapsed)
                    elif progress.points:  # the write at an epoch's end (the one at the start has no point)
                        epoch_ends.append(progress.updated_at)
                if store.get(run.id).state == RunState.COMPLETED:
                    finished_wall = time.time()
            process.wait()
            run = store.get(run.id)
            progress = store.progress(run.id)
        finally:
            if process.poll() is None:
                process.kill()
        offset = statistics.median(offsets)
        return {
            "command": " ".join(["train", "--preset", preset, *flags]),
            "epochs": run.config.epochs,
            "steps": progress.steps,
            "images": run.config.train_limit or 60_000,
            "validation_split": run.config.validation_split,
            "points": [(round(p.progress, 4), round(p.elapsed, 3)) for p in progress.points],
            "epoch_seconds": [round(h.seconds, 3) for h in run.history],
            "epoch_ends": [round(end - offset, 3) for end in epoch_ends],
            "end": round(finished_wall - offset, 3),
            "train_seconds": run.status.train_seconds,
            "wall_seconds": run.status.wall_seconds,
        }


if __name__ == "__main__":
    print(json.dumps(record(sys.argv[1], sys.argv[2:])))
