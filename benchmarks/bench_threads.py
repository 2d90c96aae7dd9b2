"""``autotrain fit configs/two_layer.yaml`` with its default threads against BLAS pinned to 1 by the environment.

Prints the steps/s ratio default / pinned (the aim: >= 0.9), from back-to-back runs in shuffled, interleaved
rounds, each a fresh ``python -m autotrain fit --json`` process, while a busy loop keeps another core loaded
(as on a shared machine).  Usage: ``python benchmarks/bench_threads.py [--rounds 5] [--steps 2000]``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PINNED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
THREAD_VARIABLES = tuple(PINNED) + ("VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def steps_per_s(env: dict, steps: int, runs_dir: str) -> float:
    """One fit of the seed config in a fresh process; its steps/s from the JSON summary."""
    cmd = [sys.executable, "-m", "autotrain", "fit", str(ROOT / "configs" / "two_layer.yaml"), "--json",
           "--no-tensorboard", "--runs-dir", runs_dir, "--set", f"steps={steps}"]
    out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(out)["steps_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--no-load", action="store_true", help="leave the other cores idle")
    args = parser.parse_args()
    base = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), base.get("PYTHONPATH")]))
    envs = {"default": base, "pinned": {**base, **PINNED}}
    load = None if args.no_load else subprocess.Popen([sys.executable, "-c", "while True: pass"])
    rates: dict[str, list[float]] = {k: [] for k in envs}
    try:
        with tempfile.TemporaryDirectory() as runs_dir:
            for _ in range(args.rounds):
                order = list(envs)
                random.shuffle(order)
                for name in order:
                    rates[name].append(steps_per_s(envs[name], args.steps, runs_dir))
    finally:
        if load is not None:
            load.kill()
            load.wait()
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"{os.cpu_count()} cores, other core {'idle' if args.no_load else 'loaded'}, {args.rounds} rounds of "
          f"{args.steps} steps")
    for name, values in rates.items():
        print(f"  {name:8s} median {med[name]:8.0f} steps/s  ({', '.join(f'{v:.0f}' for v in values)})")
    print(f"ratio default/pinned: {med['default'] / med['pinned']:.2f}x")


if __name__ == "__main__":
    main()
