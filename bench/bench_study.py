"""What sharing a study costs: trials per minute of tiny trials, one worker against two on one machine, with the
study in SQLite (the default) and in PostgreSQL (what several machines share).

    .venv/bin/python -m bench.bench_study                   # 12 trials per measurement, 2 rounds
    .venv/bin/python -m bench.bench_study --trials 6 --rounds 1

Each measurement is a fresh grid of `--trials` one-epoch trials on 1,000 images, trained by `study run` worker
processes, each with a run store of its own (two workers in one store would take turns: one training per store).
PostgreSQL is a throwaway local cluster (tests/support/pg_cluster.py; needs Debian's postgresql). Reported, from the
trials' own start and end times in the study:

- trials per minute: trials / (last trial's end - first trial's start), so TensorFlow's start-up is left out;
- seconds between trials: in one worker, from a trial's end to its next trial's start (taking the training slot,
  asking the study for a trial, creating the run), the coordination itself;
- the whole wall time of the workers, start-up included.

Measurements alternate (SQLite 1, PostgreSQL 1, SQLite 2, PostgreSQL 2, then again), so drifts of a busy machine
fall on all of them alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
RESULTS = ROOT / "bench" / "results"


def measure(url: str, workers: int, trials: int, folder: Path, name: str) -> dict:
    from mnist_core.store import RunStore
    from mnist_core.study import Studies, grid_study

    stores = [RunStore(folder / f"{name}-w{i}") for i in range(workers)]
    dropouts = [round(0.05 * i, 2) for i in range(trials)]  # `trials` distinct cells
    Studies(stores[0], url).create(name, grid_study({"dropout": dropouts}, epochs=1, train_limit=1000))
    load = os.getloadavg()[0]  # other work on the machine, for the record
    started = time.monotonic()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "mnist_core", "study", "run", name, "--storage", url, "--runs-dir", str(s.root)],
            cwd=ROOT,
            env=os.environ,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for s in stores
    ]
    for process in processes:
        if process.wait(timeout=1800) != 0:
            raise RuntimeError(f"a worker failed (exit {process.returncode})")
    wall = time.monotonic() - started
    attempts = Studies(stores[0], url).attempts(name)
    done = [a for a in attempts if a.state == "complete"]
    assert len(done) == trials == len({a.slot for a in done}), "every cell once"
    first = min(a.started for a in done)
    last = max(a.completed for a in done)
    gaps = []
    for pid in {a.attrs["pid"] for a in done}:
        mine = sorted((a for a in done if a.attrs["pid"] == pid), key=lambda a: a.started)
        gaps += [(b.started - a.completed).total_seconds() for a, b in zip(mine, mine[1:], strict=False)]
    return {
        "storage": url.split(":")[0].split("+")[0],
        "workers": workers,
        "trials": trials,
        "trials_per_minute": trials / (last - first).total_seconds() * 60,
        "seconds_between_trials": statistics.median(gaps) if gaps else None,
        "wall_seconds": wall,
        "load_average_before": load,
    }


def _spread(values: list[float], form: str) -> str:
    if len(values) == 1:
        return format(values[0], form)
    return f"{format(statistics.median(values), form)} ({format(min(values), form)}-{format(max(values), form)})"


def machine() -> str:
    cpu = platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=12, help="trials per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="measurements of each kind")
    parser.add_argument("--out", default=str(RESULTS / "study_coordination.json"))
    args = parser.parse_args(argv)
    from tests.support.pg_cluster import Cluster, find_bin

    bin_dir = find_bin()
    if bin_dir is None:
        sys.exit("bench_study: needs Debian's postgresql (apt-get install postgresql)")
    cluster = Cluster(bin_dir).start()
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-study-") as tmp:
            folder = Path(tmp)
            for round_ in range(args.rounds):
                for workers in (1, 2):
                    for storage in ("sqlite", "postgresql"):
                        name = f"{storage}-{workers}-{round_}"
                        if storage == "sqlite":
                            url = f"sqlite:///{folder / name}.db"
                        else:
                            url = cluster.create_database(name.replace("-", "_"))
                        result = measure(url, workers, args.trials, folder, name)
                        results.append(result)
                        print(json.dumps(result), file=sys.stderr, flush=True)
    finally:
        cluster.stop()
    lines = [
        f"{datetime.now():%Y-%m-%d}, {machine()}; {args.trials} trials of 1 epoch on 1,000 images per measurement, "
        f"{args.rounds} rounds; median (lowest-highest)",
        "",
        "| study database | workers | trials per minute | seconds between trials | wall time (start-up too) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for storage in ("sqlite", "postgresql"):
        for workers in (1, 2):
            mine = [r for r in results if r["storage"] == storage and r["workers"] == workers]
            cells = [
                _spread([r[key] for r in mine], form)
                for key, form in (
                    ("trials_per_minute", ".1f"),
                    ("seconds_between_trials", ".2f"),
                    ("wall_seconds", ".0f"),
                )
            ]
            shown = "SQLite" if storage == "sqlite" else "PostgreSQL"
            lines.append(f"| {shown} | {workers} | {cells[0]} | {cells[1]} | {cells[2]} s |")
    text = "\n".join(lines)
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"machine": machine(), "results": results}, indent=2) + "\n")
    Path(args.out).with_suffix(".md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
