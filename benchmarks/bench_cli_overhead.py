"""What `autotrain fit` costs on top of the bare training loop (target: <= 1.2x at 5000 steps).

CLI:     the whole `autotrain fit configs/two_layer.yaml --set steps=5000 --quiet` process, wall clock
         (interpreter start, imports, config, run directory, metrics, checkpoints, summary).
Library: `autotrain.training.train.run_steps` for the same mode, data and steps, timed inside a fresh process
         (problem creation, engine import and mode construction included; no files written).

    python benchmarks/bench_cli_overhead.py [--steps 5000] [--mode autograd] [--repeat 5]

It prints an estimate of its running time first (from a short probe run) and a line per run.
Both commands run this checkout's code (``autotrain`` on PATH may be another copy).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "two_layer.yaml"

# What the ``autotrain`` console script does, from this checkout.
CLI = "import sys; from autotrain.cli import main; sys.exit(main())"
LIBRARY = """
import sys, time
t0 = time.perf_counter()
from autotrain.training.config import load_config
from autotrain.training.train import problem_for, run_steps
cfg = load_config(sys.argv[1], sys.argv[2:], check=False)
run_steps(cfg.mode, problem_for(cfg), cfg.lr, cfg.steps, cfg.device)
print(time.perf_counter() - t0)
"""


def cli_seconds(overrides: list[str]) -> float:
    with tempfile.TemporaryDirectory() as runs:
        args = [sys.executable, "-c", CLI, "fit", str(CONFIG), "--quiet", "--runs-dir", runs]
        for o in overrides:
            args += ["--set", o]
        t0 = time.perf_counter()
        subprocess.run(args, check=True, cwd=ROOT)
        return time.perf_counter() - t0


def library_seconds(overrides: list[str]) -> float:
    out = subprocess.run([sys.executable, "-c", LIBRARY, str(CONFIG), *overrides], check=True, cwd=ROOT,
                         capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def estimate_seconds(mode_override: list[str], steps: int, repeat: int) -> tuple[float, float]:
    """(estimated total seconds, the probe's own seconds): two short library runs give the fixed cost
    (interpreter, imports, set-up) and the cost per step; each of the ``2 * repeat`` runs is assumed
    to cost that at ``steps`` (the CLI's files add little)."""
    started = time.perf_counter()
    small, large = max(steps // 50, 10), max(steps // 10, 50)
    t_small = library_seconds([f"steps={small}", *mode_override])
    t_large = library_seconds([f"steps={large}", *mode_override])
    per_step = max(t_large - t_small, 0.0) / (large - small)
    fixed = max(t_small - small * per_step, 0.0) + 0.15  # + the interpreter start `library` does not time
    return 2 * repeat * (fixed + steps * per_step), time.perf_counter() - started


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--mode", default=None, help="default: the config's mode")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    mode = [f"mode={args.mode}"] if args.mode else []
    overrides = [f"steps={args.steps}"] + mode
    estimate, probe = estimate_seconds(mode, args.steps, args.repeat)
    print(f"{2 * args.repeat} runs of {args.steps} steps (library and CLI alternately): about {estimate:.0f} s "
          f"(estimated from a {probe:.1f} s probe)", flush=True)
    cli, lib = [], []
    started = time.perf_counter()
    total = 2 * args.repeat
    for i in range(args.repeat):  # interleaved, so drifting machine load hits both alike
        for name, runner, found in (("library", library_seconds, lib), ("autotrain fit", cli_seconds, cli)):
            found.append(runner(overrides))
            done = len(lib) + len(cli)
            elapsed = time.perf_counter() - started
            print(f"  [{done}/{total}] {name:13s} {found[-1]:7.3f} s   elapsed {elapsed:5.0f} s, "
                  f"about {elapsed / done * (total - done):.0f} s left", flush=True)
    # The minimum is the run least disturbed by other processes; the median is shown for context.
    c, l = min(cli), min(lib)
    print(f"config {CONFIG.name} {' '.join(overrides)} (best of {args.repeat}; median in brackets)")
    print(f"library run_steps : {l:7.3f} s  ({statistics.median(lib):.3f})   {[round(t, 3) for t in lib]}")
    print(f"autotrain fit     : {c:7.3f} s  ({statistics.median(cli):.3f})   {[round(t, 3) for t in cli]}")
    print(f"ratio cli/library : {c / l:.3f}  ({statistics.median(cli) / statistics.median(lib):.3f})   "
          "(target <= 1.2)")


if __name__ == "__main__":
    main()
