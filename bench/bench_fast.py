"""Issue 19's `fast` benchmark: the `fast` preset against the seed post's script, both as whole processes.

    .venv/bin/python -m bench.bench_fast                      # 2 alternating rounds of each (4-5 min on 2 quiet cores)
    .venv/bin/python -m bench.bench_fast --rounds 4
    .venv/bin/python -m bench.bench_fast --seeds 0 1 2 3 4    # `fast` with each random seed: its test accuracy
    .venv/bin/python -m bench.bench_fast --precision float32  # `fast` in float32 even where the CPU has bf16 units

A round runs `python -m mnist_core train --preset fast` (a fresh run store in a temporary folder, MNIST's cache warm)
and `python bench/post_script.py --no-plots` (bench/post_script.py: the post's script, ported line for line), each
in a process of its own, in turns (the first of each round alternates, so a machine that gets busier or quieter
over the run favours neither). Both times are the whole process as a user waits for it: Python and TensorFlow
start-up, the data, the training, the test evaluation and the saving. Prints each time with its CPU seconds and
test accuracy, the ratio of the medians, the CPU model with its bf16 units, and the load average before and after
each process (this machine is shared: a ratio of runs made in turns is the figure to read). Writes
bench/results/fast.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mnist_core.networks.backend import cpu_bf16_flags

ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.992
# The post's script prints the test accuracy alone on a line, after model.evaluate.
POST_ACCURACY = re.compile(r"^(0\.\d+|1\.0+)$", re.MULTILINE)


def cpu_model() -> str:
    """The CPU's model name, its bf16 units and the number of cores, as every figure is published with."""
    name = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    flags = cpu_bf16_flags()
    units = ", ".join(flags) if flags else "no avx512_bf16 / amx_bf16"
    return f"{name} ({units}), {os.cpu_count()} cores"


def load_average() -> float:
    return os.getloadavg()[0]


def environment() -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    return env


def timed(command: list[str], cwd: Path) -> dict:
    """Run one whole process; its wall time, its CPU seconds (user + system) and the load around it."""
    load_before = load_average()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=environment(), capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "load_before": round(load_before, 2),
        "load_after": round(load_average(), 2),
        "stdout": result.stdout,
    }


def run_fast(seed: int | None = None, precision: str | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-fast-") as folder:
        command = [sys.executable, "-m", "mnist_core", "train", "--preset", "fast", "--runs-dir", folder, "--json"]
        command += ["--seed", str(seed)] if seed is not None else []
        command += ["--precision", precision] if precision else []
        result = timed(command, ROOT)
        summary = json.loads(result.pop("stdout"))
        config = json.loads((Path(folder) / summary["run_id"] / "config.json").read_text())
    return {
        "what": "fast",
        "seed": config["seed"],
        "precision": config["precision"],
        "test_accuracy": summary["test_accuracy"],
        "train_s": round(summary["train_seconds"], 2),
        **result,
    }


def run_post() -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-post-") as folder:  # it saves post_model.keras where it runs
        result = timed([sys.executable, str(ROOT / "bench" / "post_script.py"), "--no-plots"], Path(folder))
    stdout = result.pop("stdout")
    found = POST_ACCURACY.findall(stdout)
    return {"what": "post", "test_accuracy": float(found[-1]) if found else None, **result}


def show(row: dict) -> None:
    accuracy = f"{row['test_accuracy']:.2%}" if row.get("test_accuracy") is not None else "?"
    extra = f", seed {row['seed']}, {row['precision']}" if row["what"] == "fast" else ""
    print(
        f"{row['what']:>4}{extra}: {row['wall_s']:.1f} s wall, {row['cpu_s']:.1f} s CPU, test accuracy {accuracy}"
        f" (load {row['load_before']:.2f} -> {row['load_after']:.2f})",
        flush=True,
    )


def compare(rounds: int, precision: str | None) -> dict:
    rows = []
    for index in range(rounds):
        order = (run_fast, run_post) if index % 2 == 0 else (run_post, run_fast)
        for runner in order:
            row = runner(precision=precision) if runner is run_fast else runner()
            show(row)
            rows.append(row)
    fast = [r for r in rows if r["what"] == "fast"]
    post = [r for r in rows if r["what"] == "post"]

    def median(items, key):
        return statistics.median(r[key] for r in items)

    return {
        "rows": rows,
        "fast_wall_median_s": median(fast, "wall_s"),
        "post_wall_median_s": median(post, "wall_s"),
        "wall_ratio": round(median(fast, "wall_s") / median(post, "wall_s"), 3),
        "cpu_ratio": round(median(fast, "cpu_s") / median(post, "cpu_s"), 3),
    }


def seeds(values: list[int], precision: str | None) -> list[dict]:
    rows = []
    for seed in values:
        row = run_fast(seed, precision)
        show(row)
        rows.append(row)
    return rows


def report(results: dict) -> str:
    lines = [f"CPU: {results['cpu']}; load average {results['load_start']:.2f} at the start"]
    comparison = results.get("comparison")
    if comparison:
        lines += [
            "",
            "| process | wall s | CPU s | test accuracy | load before -> after |",
            "| --- | ---: | ---: | ---: | --- |",
        ]
        for row in comparison["rows"]:
            name = f"`fast` ({row['precision']}, seed {row['seed']})" if row["what"] == "fast" else "post_script.py"
            accuracy = f"{row['test_accuracy']:.2%}" if row["test_accuracy"] is not None else "?"
            lines.append(
                f"| {name} | {row['wall_s']:.1f} | {row['cpu_s']:.1f} | {accuracy} |"
                f" {row['load_before']:.2f} -> {row['load_after']:.2f} |"
            )
        lines.append(
            f"\nmedians: fast {comparison['fast_wall_median_s']:.1f} s, post {comparison['post_wall_median_s']:.1f} s:"
            f" wall ratio **{comparison['wall_ratio']:.3f}** (CPU-seconds ratio {comparison['cpu_ratio']:.3f});"
            " target at most 0.125"
        )
    if results.get("seeds"):
        rows = results["seeds"]
        lines += ["", "| seed | precision | test accuracy | wall s | CPU s |", "| ---: | --- | ---: | ---: | ---: |"]
        lines += [
            f"| {r['seed']} | {r['precision']} | {r['test_accuracy']:.2%} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} |"
            for r in rows
        ]
        accuracies = [r["test_accuracy"] for r in rows]
        reached = sum(a >= TARGET for a in accuracies)
        lines.append(
            f"\n{reached} of {len(rows)} seeds at or above {TARGET:.1%}; worst {min(accuracies):.2%},"
            f" mean {statistics.mean(accuracies):.2%}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, help="rounds of fast + post (default 2; 0 with --seeds alone)")
    parser.add_argument("--seeds", type=int, nargs="+", metavar="SEED", help="train fast with each seed")
    parser.add_argument("--precision", choices=("float32", "mixed_bfloat16"), help="override fast's precision")
    args = parser.parse_args(argv)
    rounds = args.rounds if args.rounds is not None else (0 if args.seeds else 2)

    results = {"cpu": cpu_model(), "load_start": round(load_average(), 2), "started": time.strftime("%F %T")}
    print(f"CPU: {results['cpu']}; load average {results['load_start']:.2f}", flush=True)
    # MNIST's cache written and read once, untimed, so every timed process finds it warm.
    subprocess.run(
        [sys.executable, "-m", "mnist_core", "data"], cwd=ROOT, env=environment(), check=True, capture_output=True
    )
    if rounds:
        results["comparison"] = compare(rounds, args.precision)
    if args.seeds:
        results["seeds"] = seeds(args.seeds, args.precision)
    results["load_end"] = round(load_average(), 2)
    print("\n" + report(results))
    out = ROOT / "bench" / "results" / "fast.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
