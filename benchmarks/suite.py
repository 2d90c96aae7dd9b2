"""autotrain's benchmark suite: every mode against hand-written numpy, one command.

    python benchmarks/suite.py                         # seed tiny wide mlp digits; 1 BLAS thread and default
    python benchmarks/suite.py --quick                 # fewer steps, for a look
    python benchmarks/suite.py --workloads seed --threads 1 --rows manual,autograd,static --json seed.json

Workloads: ``seed``/``tiny``/``wide`` (the seed's two-layer net and SGD at three sizes), ``mlp``
(Linear-ReLU-Linear-ReLU-Linear, cross-entropy, Adam) and ``digits`` (the shipped classification
config's training step).  For each workload and row: median ms/step over rounds; each round rebuilds
every row from the same data and weights (fresh arrays, fresh addresses) and runs the rows in a
shuffled order, each for ``SETTLE`` untimed steps (enough for every row to reach its steady step)
and then a timed block.  Ratios are medians of the per-round ratios to the workload's reference
(hand-written numpy).  Also: matmul GFLOP/s and the
fraction of the matmuls timed alone (the floor, two-layer workloads), peak traced memory, growth over
steady steps, arrays allocated per steady step (tracemalloc), minor page faults per step, then
``autotrain --help`` start-up against ``import numpy``, and the project's targets with pass/miss
(judged at 1 thread, where the figures are reproducible).  Results go to rich tables and a JSON file.

BLAS threads are pinned with threadpoolctl (a benchmark-only tool, not a dependency of autotrain);
without it a numeric ``--threads`` is refused, with the environment variables to use instead.  JAX's
XLA pool is pinned to 1 thread only when every setting is 1 (it is fixed when jax loads).  The suite
sets OMP_WAIT_POLICY=PASSIVE unless it is set: PyTorch's spinning OpenMP threads otherwise starve numpy's.
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

from _measure import (CLOCKS, ThreadPinError, blas_threads, clock_for, machine, memory_profile,  # noqa: E402
                      paired_ratio, placed_copy, ratio_spread, startup_seconds, timed_rounds)
from _report import (markdown_table, memory_targets, result_table, startup_target, targets_table,  # noqa: E402
                     time_targets)
from _rows import TWO_LAYER, RowTable, Skip, try_build  # noqa: E402
from _guards import guard_cost  # noqa: E402

UNTRACED = {"torch eager", "jax jit"}  # their allocators bypass tracemalloc: only page faults are real
THREAD_ENV = ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "XLA_FLAGS",
              "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
TWIN_TOLERANCE = 0.05  # a twin (same computation) may beat the reference by this much before we warn


@dataclass(frozen=True)
class Workload:
    """Sizes, a learning rate that stays finite for the whole run, and how to time it.

    Each of ``rounds`` rounds rebuilds every row, then runs each (shuffled order) for ``rewarm``
    untimed and ``block`` timed steps; the medians are over rounds.
    """

    name: str
    table: RowTable
    sizes: tuple
    lr: float
    rounds: int
    block: int  # timed steps per row per round
    rewarm: int  # untimed steps per row per round, after its rebuild and the row before it ran (SETTLE)
    warmup: int  # untimed steps per row once, first (compilers, caches)
    memory_steps: int  # steady steps for the memory growth (flat over 10,000) and page faults


#: untimed steps each row takes after its rebuild before a round times it: every row's step keeps getting
#: faster for that long (fresh arrays paging in, allocator pools, the compiled row's trace and its first
#: replays), so a shorter rewarm times part of each row's start instead of the steady step a user sees,
#: and times more of it for the rows that start slowest.  The same count for every row.
SETTLE = 10


def _workloads() -> dict[str, Workload]:
    from _digits import DIGITS
    from _mlp import MLP

    return {
        "seed": Workload("seed", TWO_LAYER, (64, 1000, 100, 10), 1e-6, rounds=40, block=10, rewarm=SETTLE, warmup=50,
                         memory_steps=2000),
        "tiny": Workload("tiny", TWO_LAYER, (8, 16, 16, 4), 1e-6, rounds=40, block=20, rewarm=SETTLE, warmup=50,
                         memory_steps=10_000),
        # BLAS-bound, ~0.4 s a step.  lr 1e-6 diverges here within 3 steps.
        "wide": Workload("wide", TWO_LAYER, (1024, 4096, 2048, 256), 1e-10, rounds=8, block=1, rewarm=1, warmup=2,
                         memory_steps=2),
        # Linear(64,128) ReLU Linear(128,128) ReLU Linear(128,10), CrossEntropyLoss, Adam, batch 32.
        "mlp": Workload("mlp", MLP, (32, 64, 128, 128, 10), 1e-3, rounds=40, block=10, rewarm=SETTLE, warmup=50,
                        memory_steps=2000),
        # the shipped classification config's training step (digits), every mode.
        "digits": Workload("digits", DIGITS, (), 0.0, rounds=30, block=10, rewarm=SETTLE, warmup=30, memory_steps=500),
    }


WORKLOADS = _workloads()
DEFAULT_WORKLOADS = "seed,tiny,wide,mlp,digits"


def quick(w: Workload) -> Workload:
    """Fewer steps: a look at the numbers, not a measurement to quote."""
    return replace(w, rounds=min(w.rounds, 5), block=min(w.block, 5), rewarm=min(w.rewarm, 2),
                   warmup=min(w.warmup, 10), memory_steps=min(w.memory_steps, 200))


def all_row_names() -> list[str]:
    """Every row any workload knows, in table order."""
    names: list[str] = []
    for w in WORKLOADS.values():
        names += [n for n in w.table.rows if n not in names]
    return names


def selected_rows(w: Workload, names) -> list[str]:
    """The reference first, then the selected rows this workload has, in table order."""
    return [w.table.reference] + [n for n in w.table.rows if n in names and n != w.table.reference]


def time_rows(w: Workload, names, threads, progress=None, clock: str = "auto") -> dict:
    """Medians of every row at one thread setting; ratios are medians of the per-round ratios."""
    clock = clock_for(clock, threads)
    table = w.table
    ref, floor = table.reference, table.floor
    result = {"workload": w.name, "describe": table.describe(w.sizes), "sizes": list(w.sizes), "lr": w.lr,
              "threads": str(threads or "default"), "clock": clock, "flops": table.flops(w.sizes),
              "timed_steps": w.rounds * w.block, "rows": {}, "skipped": {}, "reference": ref, "twin": None}
    try:
        problem = table.problem(w.sizes)
    except Skip as why:  # the workload's data or config is not in this checkout
        result["skipped"] = {name: str(why) for name in selected_rows(w, names)}
        return result
    with blas_threads(threads) as label:
        skipped = {}
        for name in selected_rows(w, names):
            _, why = try_build(table.rows[name], problem, w.lr, threads)
            if why:
                skipped[name] = why
        runnable = [n for n in selected_rows(w, names) if n not in skipped]

        def build(name, rng):
            return table.rows[name](placed_copy(problem, rng), w.lr, threads=threads)

        samples = timed_rounds(build, runnable, w.rounds, w.block, w.rewarm, w.warmup, progress=progress,
                               clock=clock)
    flops = result["flops"]
    rows = {}
    for name, values in samples.items():
        seconds = statistics.median(values)
        floor_s = statistics.median(samples[floor]) if floor in samples else None
        rows[name] = {"seconds": seconds,
                      "ratio": paired_ratio(values, samples[ref]) if ref in samples else None,
                      "ratio_spread": ratio_spread(values, samples[ref]) if ref in samples else None,
                      "gflops": flops / seconds / 1e9 if flops else None,
                      "floor_fraction": floor_s / seconds if floor_s else None, "samples": values}
    result.update(threads=label, rows=rows, skipped=skipped, twin=twin_check(table, rows))
    if "compiled" in rows:
        with blas_threads(threads):
            result["guard"] = guard_cost(table.rows["compiled"], problem, w.lr, threads)
    return result


def twin_check(table: RowTable, rows: dict) -> dict | None:
    """The reference against a row that computes the same step (two-layer: the ``manual`` mode).

    If the twin runs faster than the reference by more than TWIN_TOLERANCE, the table is wrong, not the
    code: the reference is not what a competent user writes, or the machine cannot resolve the
    difference right now.  A slower twin only says its code does more (the manual mode is generic).
    """
    twin = table.twin
    if not twin or twin not in rows or table.reference not in rows:
        return None
    ratio = paired_ratio(rows[twin]["samples"], rows[table.reference]["samples"])
    return {"row": twin, "ratio": ratio, "ok": ratio >= 1 - TWIN_TOLERANCE}


def memory_rows(w: Workload, names) -> dict:
    """Memory figures for each row, at default threads (allocation does not depend on them)."""
    table = w.table
    try:
        problem = table.problem(w.sizes)
    except Skip:  # reported by time_rows
        return {}
    threshold = table.alloc_threshold(problem)
    found = {}
    for name in selected_rows(w, names):
        factory = table.rows[name]
        try:
            m = memory_profile(lambda: factory(problem, w.lr), min(w.warmup, 20), w.memory_steps, threshold)
        except Exception:  # skipped rows are reported by time_rows with their reason
            continue
        if name in UNTRACED:
            m.update(peak_bytes=None, growth_bytes=None, allocs_per_step=None)
        found[name] = {**m, "threshold": threshold, "steps": w.memory_steps}
    return found


def run_suite(workloads, threads, names, startup_runs: int, console=None, clock: str = "auto",
              memory: bool = True) -> dict:
    """Everything the suite measures, as one JSON-ready dict; tables go to ``console`` as they finish."""
    report = {"machine": machine(), "thread_env": {k: os.environ.get(k) for k in THREAD_ENV},
              "results": [], "memory": {}, "startup": None, "targets": [], "notes": []}
    started = time.perf_counter()
    say = console.print if console else (lambda *a, **k: None)
    # No up-front time estimate: a row's cost varies 10x with the machine and its load; each stage says the
    # time so far instead.
    say(f"[dim]load average {fmt_load(os.getloadavg())}[/]")
    for w in workloads:
        found = {}
        if memory:
            say(f"[dim]{w.name}: memory ({w.memory_steps} steps a row)[/]")
            found = memory_rows(w, names)
            report["targets"] += memory_targets(w.name, found)
        report["memory"][w.name] = found
        for count in threads:
            say(f"[dim]{w.name}: timing at {count or 'default'} thread(s), {w.rounds} rounds "
                f"({time.perf_counter() - started:.0f} s so far)[/]")
            result = time_rows(w, names, count, clock=clock)
            report["results"].append(result)
            report["targets"] += time_targets(result)
            say(result_table(result, found, report["targets"]))
            if result.get("guard"):
                g = result["guard"]
                say(f"compiled: guards {g['fast_us']:.1f} us a call (the fast guard; the full guard "
                    f"{g['full_us']:.1f} us)")
    if startup_runs:
        report["startup"] = startup_seconds(startup_runs)
        report["targets"].append(startup_target(report["startup"]))
    report["machine"]["load_average_after"] = os.getloadavg()
    report["elapsed_s"] = time.perf_counter() - started
    report["notes"] = notes(report)
    return report


def notes(report: dict) -> list[str]:
    """What a reader needs to trust the numbers: skipped rows, twin checks, unpinned pools, machine load."""
    found = sorted({f"{r['workload']}: {name}: {note}" for r in report["results"]
                    for name, note in r["skipped"].items()})
    for r in report["results"]:
        twin = r.get("twin")
        if twin and not twin["ok"]:
            found.append(f"{r['workload']} at {r['threads']} thread(s): {twin['row']} computes the same step as "
                         f"{r['reference']} but ran in {twin['ratio']:.3f}x its time: the reference row is slow, "
                         f"or differences under {1 - twin['ratio']:.0%} are not resolved at this setting")
    if any("jax jit" in r["rows"] for r in report["results"]):
        pinned = "--xla_cpu_multi_thread_eigen=false" in (os.environ.get("XLA_FLAGS") or "")
        found.append("jax jit: XLA pinned to 1 thread (XLA_FLAGS, set before jax loaded)" if pinned else
                     "jax jit: XLA's CPU thread pool is not pinned by --threads (run --threads 1 alone to pin it)")
    if any(report["memory"].values()):
        found.append("peak/growth/arrays: tracemalloc (Python + numpy allocations; torch and XLA are invisible to "
                     "it); arrays/step counts allocations >= the smallest activation's bytes")
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


RESULTS = Path(__file__).resolve().parent / "results"  # git-ignored; `autotrain runs` lists only runs/


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--workloads", default=DEFAULT_WORKLOADS, help="comma-separated: %s" % ",".join(WORKLOADS))
    parser.add_argument("--threads", default="1,default", help="BLAS thread settings, e.g. 1,default or 2")
    parser.add_argument("--rows", default=None,
                        help="rows besides each workload's reference (default: all); a row a workload does not "
                             "have is left out of that workload: %s" % ",".join(all_row_names()))
    parser.add_argument("--json", type=Path, default=None, help="where to write results (default: benchmarks/results/, git-ignored; "
                        "never runs/, whose folders are runs)")
    parser.add_argument("--quick", action="store_true", help="fewer steps: a look, not a measurement")
    parser.add_argument("--clock", choices=["auto", *CLOCKS], default="auto",
                        help="auto (default): process CPU time at 1 thread (robust to other processes on a shared "
                             "machine), wall time otherwise")
    parser.add_argument("--markdown", action="store_true", help="also print the timings as one Markdown table")
    parser.add_argument("--no-memory", action="store_true",
                        help="time only: skip the tracemalloc pass (the slow part on a loaded machine)")
    parser.add_argument("--startup-runs", type=int, default=None, help="subprocess runs each (0 skips; default 7)")
    return parser.parse_args(argv)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_threads(text: str) -> list[int | None]:
    threads = []
    for part in _split(text):
        if part == "default":
            threads.append(None)
        elif part.isdigit() and int(part) > 0:
            threads.append(int(part))
        else:
            raise SystemExit(f"--threads: {part!r} is not 'default' or a positive number")
    if not threads:
        raise SystemExit("--threads: give at least one setting, e.g. 1,default")
    return threads


def check_pinning(threads) -> None:
    """Refuse up front, not after minutes of other workloads, when a thread count cannot be pinned."""
    if any(threads):
        try:
            with blas_threads(1):
                pass
        except ThreadPinError as error:
            raise SystemExit(str(error)) from None


def pin_xla_if_one_thread(threads) -> None:
    """XLA fixes its pool when jax loads: pin it to 1 thread only when every setting is 1 thread."""
    if threads == [1] * len(threads) and "jax" not in sys.modules:
        flags = os.environ.get("XLA_FLAGS", "")
        if "--xla_cpu_multi_thread_eigen" not in flags:
            os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false "
                                       "intra_op_parallelism_threads=1").strip()


def main(argv=None) -> dict:
    from rich.console import Console

    args = parse_args(argv)
    unknown = [n for n in _split(args.workloads) if n not in WORKLOADS]
    if unknown or not _split(args.workloads):
        raise SystemExit(f"unknown workloads {unknown}; choose from {', '.join(WORKLOADS)}")
    workloads = [WORKLOADS[name] for name in _split(args.workloads)]
    workloads = [quick(w) for w in workloads] if args.quick else workloads
    threads = parse_threads(args.threads)
    names = all_row_names() if args.rows is None else _split(args.rows)
    unknown = [n for n in names if n not in all_row_names()]
    if unknown:
        raise SystemExit(f"unknown rows {unknown}; choose from {', '.join(all_row_names())}")
    check_pinning(threads)
    pin_xla_if_one_thread(threads)
    startup_runs = args.startup_runs if args.startup_runs is not None else (3 if args.quick else 7)
    console = Console(width=None if sys.stdout.isatty() else 160)  # wide tables stay readable in a log
    report = run_suite(workloads, threads, names, startup_runs, console, clock=args.clock,
                       memory=not args.no_memory)
    print_footer(report, console)
    if args.markdown:
        print(markdown_table(report["results"]))
    path = args.json or RESULTS / time.strftime("suite-%Y%m%d-%H%M%S.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str))
    console.print(f"results: {path}")
    return report


if __name__ == "__main__":
    main()
