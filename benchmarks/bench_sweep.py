"""What pruning and a learning sampler buy on the shipped sweep (configs/sweep_lr.yaml: digits, TPE over lr,
width and optimizer, median pruning, 2 workers).

Prints, per seed:
* median pruning against none (both TPE): the total optimisation steps every trial ran, and the best
  trial's validation accuracy;
* TPE against random search on the same budget (no pruning): the best validation accuracy.

Targets: >= 40% fewer steps with pruning, best accuracy within 0.5 points; TPE's best >= random's.
Trials are ordinary ``fit`` processes (BLAS: one thread per worker, as sweeps set it); the sweep
directories go to a temporary folder.  ``--seeds 1 --trials 16`` for a quick look.

    python benchmarks/bench_sweep.py [--seeds 3] [--trials 32] [--workers 2]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autotrain import sweep  # noqa: E402


def total_steps(result) -> int:
    """Optimisation steps all trials ran (a pruned trial's stop step, a finished one's length)."""
    steps = 0
    for r in result.results:
        summary = json.loads((result.path / r.trial.dirname / "summary.json").read_text())
        steps += int(summary.get("step") or 0)
    return steps


def best_accuracy(result) -> float:
    best = result.best
    return float("nan") if best is None else best.metric


def mean_accuracy(result) -> float:
    """The mean over completed trials: where the sampler spent its budget (a best at the ceiling hides it)."""
    values = [r.metric for r in result.results if r.status == "completed" and r.metric is not None]
    return statistics.mean(values) if values else float("nan")


def run(spec, root: Path, workers: int, **changes):
    variant = dataclasses.replace(spec, **changes)
    t0 = time.perf_counter()
    result = sweep.run_sweep(variant, root, workers=workers, tensorboard=False)
    return result, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    spec = sweep.load_sweep(ROOT / "configs" / "sweep_lr.yaml")
    spec = dataclasses.replace(spec, trials=args.trials)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        for seed in range(args.seeds):
            root = Path(tmp) / f"seed{seed}"
            pruned, t_p = run(spec, root, args.workers, seed=seed)
            plain, t_n = run(spec, root, args.workers, seed=seed, prune={"none": {}})
            rand, t_r = run(spec, root, args.workers, seed=seed, prune={"none": {}}, search="random")
            row = {"seed": seed, "steps_pruned": total_steps(pruned), "steps_plain": total_steps(plain),
                   "n_pruned": sum(r.status == "pruned" for r in pruned.results),
                   "best_pruned": best_accuracy(pruned), "best_plain": best_accuracy(plain),
                   "best_random": best_accuracy(rand), "mean_plain": mean_accuracy(plain), "mean_random": mean_accuracy(rand),
                   "s": (t_p, t_n, t_r)}
            rows.append(row)
            saving = 1 - row["steps_pruned"] / row["steps_plain"]
            print(f"seed {seed}: median pruning {row['steps_pruned']} vs {row['steps_plain']} steps "
                  f"({saving:.1%} fewer, {row['n_pruned']}/{args.trials} pruned); best val accuracy "
                  f"{row['best_pruned']:.4f} vs {row['best_plain']:.4f} "
                  f"({100 * (row['best_pruned'] - row['best_plain']):+.2f} points); "
                  f"TPE {row['best_plain']:.4f} vs random {row['best_random']:.4f} best, "
                  f"{row['mean_plain']:.4f} vs {row['mean_random']:.4f} mean of completed trials; "
                  f"wall {t_p:.0f}s/{t_n:.0f}s/{t_r:.0f}s", flush=True)
    savings = [1 - r["steps_pruned"] / r["steps_plain"] for r in rows]
    gaps = [100 * (r["best_pruned"] - r["best_plain"]) for r in rows]
    print(f"median over {len(rows)} seeds: {statistics.median(savings):.1%} fewer steps with median pruning "
          f"(target >= 40%), best val accuracy {statistics.median(gaps):+.2f} points (target within 0.5); "
          f"TPE >= random in {sum(r['best_plain'] >= r['best_random'] for r in rows)}/{len(rows)} seeds "
          f"(TPE {statistics.mean(r['best_plain'] for r in rows):.4f}, "
          f"random {statistics.mean(r['best_random'] for r in rows):.4f} mean best; "
          f"TPE {statistics.mean(r['mean_plain'] for r in rows):.4f}, "
          f"random {statistics.mean(r['mean_random'] for r in rows):.4f} mean trial)")


if __name__ == "__main__":
    main()
