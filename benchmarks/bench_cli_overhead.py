"""What `autotrain fit` costs on top of the bare training loop (issue 4 target: <= 1.2x at 5000 steps).

CLI:     the whole `autotrain fit configs/two_layer.yaml --set steps=5000 --quiet` process, wall clock
         (interpreter start, imports, config, run directory, metrics, checkpoints, summary).
Library: `autotrain.train.run_steps` for the same mode, data and steps, timed inside a fresh process
         (problem creation, engine import and mode construction included; no files written).

    python benchmarks/bench_cli_overhead.py [--steps 5000] [--mode autograd] [--repeat 5]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "two_layer.yaml"

LIBRARY = """
import sys, time
t0 = time.perf_counter()
from autotrain.config import load_config
from autotrain.train import problem_for, run_steps
cfg = load_config(sys.argv[1], sys.argv[2:], check=False)
run_steps(cfg.mode, problem_for(cfg), cfg.lr, cfg.steps, cfg.device)
print(time.perf_counter() - t0)
"""


def cli_seconds(overrides: list[str]) -> float:
    exe = shutil.which("autotrain")
    cmd = [exe] if exe else [sys.executable, "-m", "autotrain"]
    with tempfile.TemporaryDirectory() as runs:
        args = cmd + ["fit", str(CONFIG), "--quiet", "--runs-dir", runs]
        for o in overrides:
            args += ["--set", o]
        t0 = time.perf_counter()
        subprocess.run(args, check=True, cwd=ROOT)
        return time.perf_counter() - t0


def library_seconds(overrides: list[str]) -> float:
    out = subprocess.run([sys.executable, "-c", LIBRARY, str(CONFIG), *overrides], check=True, cwd=ROOT,
                         capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--mode", default=None, help="default: the config's mode")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    overrides = [f"steps={args.steps}"] + ([f"mode={args.mode}"] if args.mode else [])
    cli, lib = [], []
    for _ in range(args.repeat):  # interleaved, so drifting machine load hits both alike
        lib.append(library_seconds(overrides))
        cli.append(cli_seconds(overrides))
    # The minimum is the run least disturbed by other processes; the median is shown for context.
    c, l = min(cli), min(lib)
    print(f"config {CONFIG.name} {' '.join(overrides)} (best of {args.repeat}; median in brackets)")
    print(f"library run_steps : {l:7.3f} s  ({statistics.median(lib):.3f})   {[round(t, 3) for t in lib]}")
    print(f"autotrain fit     : {c:7.3f} s  ({statistics.median(cli):.3f})   {[round(t, 3) for t in cli]}")
    print(f"ratio cli/library : {c / l:.3f}  ({statistics.median(cli) / statistics.median(lib):.3f})   "
          "(target <= 1.2)")


if __name__ == "__main__":
    main()
