"""autotrain's benchmark suite (issue 6): every mode against hand-written numpy, one command.

    python benchmarks/suite.py                         # seed, tiny, wide; 1 BLAS thread and default
    python benchmarks/suite.py --quick                 # fewer steps, for a look in under a minute
    python benchmarks/suite.py --workloads seed --threads 1 --json seed.json

For each workload and row: median ms/step after warm-up, measured in interleaved rounds (numpy, floor,
manual, autograd, ... numpy, floor, ...) in one process so machine drift hits every row alike; the
ratio to the hand-written numpy step; achieved matmul GFLOP/s and its fraction of the five matmuls
timed alone (the floor for those shapes); peak traced memory, growth over steady steps, arrays
allocated per steady step (tracemalloc) and minor page faults per step.  PyTorch eager and JAX jit
rows appear when those are installed.  Then ``autotrain --help`` start-up against ``import numpy``,
and issue 6's targets with pass/miss.  Results go to a rich table and a JSON file.

BLAS threads are pinned with threadpoolctl when it is installed (a benchmark-only tool, not a
dependency of autotrain).  Without it, ``--threads 1`` cannot pin in-process: run the suite as
``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/suite.py --threads default``.
JAX's XLA thread pool is not pinned (it is fixed when jax starts).  The suite sets
OMP_WAIT_POLICY=PASSIVE unless it is set: PyTorch's spinning OpenMP threads otherwise starve numpy's.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

# torch's OpenMP threads spin after each op by default; on a 2-core machine they starve OpenBLAS's own
# threads and numpy rows measured next to torch ran 2-100x slower.  Must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# The checkout this file lives in, not whatever autotrain is installed (an editable install may point
# elsewhere), and the sibling helpers, also when tests import this module.
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from _measure import machine, memory_profile, startup_seconds, step_flops  # noqa: E402
from _report import memory_targets, result_table, startup_target, targets_table, time_targets  # noqa: E402
from _rows import FLOOR, REFERENCE, ROWS, build_rows  # noqa: E402
from bench_engine import blas_threads, interleaved_medians  # noqa: E402

from autotrain.data import make_problem  # noqa: E402

UNTRACED = {"torch eager", "jax jit"}  # their allocators bypass tracemalloc: only page faults are real
THREAD_ENV = ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "XLA_FLAGS")


@dataclass(frozen=True)
class Workload:
    """Sizes, a learning rate that stays finite for the whole run, and how many steps to time."""

    name: str
    sizes: tuple[int, int, int, int]  # N, D_in, H, D_out
    lr: float
    rounds: int  # interleaved rounds; the median is over rounds
    per_round: int  # steps per row per round
    warmup: int  # untimed steps per row first
    memory_steps: int  # steady steps for the memory growth (issue 6: flat over 10,000) and page faults


WORKLOADS = {
    "seed": Workload("seed", (64, 1000, 100, 10), 1e-6, rounds=25, per_round=20, warmup=50, memory_steps=2000),
    "tiny": Workload("tiny", (8, 16, 16, 4), 1e-6, rounds=25, per_round=20, warmup=50, memory_steps=10_000),
    # BLAS-bound and ~1 s a step: 2 warm-up + 8 timed steps.  lr 1e-6 diverges here within 3 steps.
    "wide": Workload("wide", (1024, 4096, 2048, 256), 1e-10, rounds=8, per_round=1, warmup=2, memory_steps=2),
}


def quick(w: Workload) -> Workload:
    """Fewer steps: a look at the numbers, not a measurement to quote."""
    return replace(w, rounds=min(w.rounds, 5), per_round=min(w.per_round, 10), warmup=min(w.warmup, 10),
                   memory_steps=min(w.memory_steps, 200))


def rotated_rounds(steps: dict, w: Workload) -> dict:
    """Seconds per step of each row in each round: A B C, then B C A, ...

    Each round is one call of bench_engine's interleaved_medians; the order rotates between rounds
    because a fixed order showed position effects (the row after jax's or torch's ran up to 25% slower
    at wide sizes: their thread pools and freed memory linger into the next row).
    """
    for step in steps.values():
        for _ in range(w.warmup):
            step()
    names, samples = list(steps), {name: [] for name in steps}
    for r in range(w.rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        got = interleaved_medians({n: steps[n] for n in order}, rounds=1, per_round=w.per_round, warmup=0)
        for name, seconds in got.items():
            samples[name].append(seconds)
    return samples


def time_rows(w: Workload, names, threads) -> dict:
    """Medians of every row at one thread setting; ratios are medians of the per-round ratios to numpy."""
    problem = make_problem(*w.sizes, dtype="float32", seed=0)
    with blas_threads(threads) as label:
        steps, skipped = build_rows(names, problem, w.lr, threads)
        samples = rotated_rounds(steps, w)
    flops = step_flops(*w.sizes)
    seconds = {name: statistics.median(v) for name, v in samples.items()}
    floor = seconds.get(FLOOR)
    rows = {name: {"seconds": s, "ratio": statistics.median(a / b for a, b in zip(samples[name], samples[REFERENCE])),
                   "gflops": flops / s / 1e9, "floor_fraction": floor / s if floor else None,
                   "samples": samples[name]} for name, s in seconds.items()}
    return {"workload": w.name, "sizes": list(w.sizes), "lr": w.lr, "threads": label, "flops": flops,
            "timed_steps": w.rounds * w.per_round, "rows": rows, "skipped": skipped}


def memory_rows(w: Workload, names) -> dict:
    """Memory figures for each row, at default threads (allocation does not depend on them)."""
    problem = make_problem(*w.sizes, dtype="float32", seed=0)
    n, _, _, d_out = w.sizes
    threshold = n * d_out * problem.x.itemsize  # the smallest activation: y_pred
    found = {}
    for name in [REFERENCE, *names]:
        try:
            m = memory_profile(lambda: ROWS[name](problem, w.lr), min(w.warmup, 20), w.memory_steps, threshold)
        except Exception:  # skipped rows are reported by time_rows with their reason
            continue
        if name in UNTRACED:
            m.update(peak_bytes=None, growth_bytes=None, allocs_per_step=None)
        found[name] = {**m, "threshold": threshold, "steps": w.memory_steps}
    return found


def run_suite(workloads, threads, names, startup_runs: int, console=None) -> dict:
    """Everything the suite measures, as one JSON-ready dict; tables go to ``console`` as they finish."""
    report = {"machine": machine(), "thread_env": {k: os.environ.get(k) for k in THREAD_ENV},
              "results": [], "memory": {}, "startup": None, "targets": [], "notes": []}
    started = time.perf_counter()
    for w in workloads:
        memory = report["memory"][w.name] = memory_rows(w, names)
        report["targets"] += memory_targets(w.name, memory)
        for count in threads:
            result = time_rows(w, names, count)
            report["results"].append(result)
            report["targets"] += time_targets(result)
            if console:
                console.print(result_table(result, memory, report["targets"]))
    if startup_runs:
        report["startup"] = startup_seconds(startup_runs)
        report["targets"].append(startup_target(report["startup"]))
    report["machine"]["load_average_after"] = os.getloadavg()
    report["elapsed_s"] = time.perf_counter() - started
    report["notes"] = notes(report)
    return report


def notes(report: dict) -> list[str]:
    """What a reader needs to trust the numbers: skipped rows, unpinned pools, machine load."""
    found = sorted({f"{name}: {note}" for r in report["results"] for name, note in r["skipped"].items()})
    if any("threadpoolctl" in str(r["threads"]) for r in report["results"]):
        found.append("threadpoolctl is not installed: '1' was not pinned; set OPENBLAS_NUM_THREADS=1 instead")
    if any("jax jit" in r["rows"] for r in report["results"]):
        found.append("jax jit: XLA's CPU thread pool is not pinned by --threads")
    found.append("peak/growth/arrays: tracemalloc (Python + numpy allocations; torch and XLA are invisible to it); "
                 "arrays/step counts allocations >= N*D_out*itemsize bytes")
    m = report["machine"]
    found.append(f"load average before {fmt_load(m['load_average'])}, after {fmt_load(m['load_average_after'])} "
                 f"on {m['cores']} cores")
    return found


def fmt_load(load) -> str:
    return "/".join(f"{v:.2f}" for v in load)


def print_footer(report: dict, console) -> None:
    s = report["startup"]
    if s:
        secs = s["seconds"]
        console.print("start-up (median of %d): " % s["runs"]
                      + ", ".join(f"{name} {v * 1e3:.0f} ms" for name, v in secs.items()))
    console.print(targets_table(report["targets"]))
    m = report["machine"]
    console.print(f"[dim]{m['cpu']} · {m['cores']} cores · numpy {m['numpy']} · {m['blas']}[/]")
    for note in report["notes"]:
        console.print(f"[dim]note: {note}[/]")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--workloads", default="seed,tiny,wide", help="comma-separated: %s" % ",".join(WORKLOADS))
    parser.add_argument("--threads", default="1,default", help="BLAS thread settings, e.g. 1,default or 2")
    parser.add_argument("--rows", default=",".join(r for r in ROWS if r != REFERENCE),
                        help="rows besides the numpy reference (default: all)")
    parser.add_argument("--json", type=Path, default=None, help="where to write results (default: runs/bench/)")
    parser.add_argument("--quick", action="store_true", help="fewer steps: a look, not a measurement")
    parser.add_argument("--startup-runs", type=int, default=None, help="subprocess runs each (0 skips; default 7)")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    from rich.console import Console

    args = parse_args(argv)
    workloads = [WORKLOADS[name] for name in args.workloads.split(",")]
    workloads = [quick(w) for w in workloads] if args.quick else workloads
    threads = [None if t == "default" else int(t) for t in args.threads.split(",")]
    names = [n for n in args.rows.split(",") if n]
    unknown = [n for n in names if n not in ROWS]
    if unknown:
        raise SystemExit(f"unknown rows {unknown}; choose from {', '.join(ROWS)}")
    startup_runs = args.startup_runs if args.startup_runs is not None else (3 if args.quick else 7)
    console = Console(width=None if sys.stdout.isatty() else 160)  # wide tables stay readable in a log
    report = run_suite(workloads, threads, names, startup_runs, console)
    print_footer(report, console)
    path = args.json or Path("runs/bench") / time.strftime("suite-%Y%m%d-%H%M%S.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str))
    console.print(f"results: {path}")
    return report


if __name__ == "__main__":
    main()
