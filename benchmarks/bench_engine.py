"""The seed's autograd loop on autotrain's engine vs the same loop in hand-written numpy.

One process, interleaved runs (A B A B ...) so machine drift cancels, medians after
a warm-up.  Run it as::

    python benchmarks/bench_engine.py            # seed sizes, 1 thread and default threads
    python benchmarks/bench_engine.py --tiny     # N=8, D_in=16, H=16, D_out=4: pure overhead

BLAS threads are pinned with threadpoolctl (refused without it).  ``suite.py`` measures the same
rows with rebuilt rows and shuffled rounds; this script is the quick look.
"""
from __future__ import annotations

import argparse
import statistics
import time

import autotrain.engine as torch
from _measure import blas_threads  # pins, or refuses: an unpinned '1 thread' is 2 threads
from autotrain.modes.custom_relu import my_relu  # the seed's MyReLU, as the custom-relu mode uses it

SIZES = {"seed": (64, 1000, 100, 10), "tiny": (8, 16, 16, 4)}
LR = 1e-6


def make_arrays(sizes, dtype="float32", seed=0):
    """x, y, w1, w2 exactly as every autotrain mode gets them."""
    from autotrain.training.data import make_problem
    return list(make_problem(*sizes, dtype=dtype, seed=seed))


def numpy_step_fn(x, y, w1, w2):
    """The seed's hand-written numpy step (the suite's reference row)."""
    from _rows import reference_step
    from autotrain.training.data import Problem
    return reference_step(Problem(x, y, w1, w2), LR)


def engine_step_fn(x, y, w1, w2, relu=lambda h: h.clamp(min=0)):
    """The seed's autograd step on the engine."""
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    w1, w2 = torch.tensor(w1, requires_grad=True), torch.tensor(w2, requires_grad=True)

    def step():
        nonlocal w1, w2
        loss = (relu(x.mm(w1)).mm(w2) - y).pow(2).sum()
        value = loss.item()
        loss.backward()
        with torch.no_grad():
            w1 -= LR * w1.grad
            w2 -= LR * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
        return value
    return step


def interleaved_medians(steps: dict, rounds: int, per_round: int, warmup: int = 50) -> dict:
    """Median seconds per step of each callable, measured in alternating rounds."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    samples = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(per_round):
                step()
            samples[name].append((time.perf_counter() - start) / per_round)
    return {name: statistics.median(values) for name, values in samples.items()}


def run(sizes, rounds: int):
    arrays = make_arrays(sizes)
    steps = {"numpy (hand-written)": numpy_step_fn(*arrays), "engine autograd": engine_step_fn(*arrays),
             "engine custom-relu": engine_step_fn(*arrays, relu=my_relu().apply)}
    return interleaved_medians(steps, rounds=rounds, per_round=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="overhead-only sizes N=8, D_in=16, H=16, D_out=4")
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    sizes = SIZES["tiny" if args.tiny else "seed"]
    print(f"sizes N, D_in, H, D_out = {sizes}, float32, medians of {args.rounds} interleaved rounds of 20 steps")
    for threads in (1, None):
        with blas_threads(threads) as label:
            medians = run(sizes, args.rounds)
        base = medians["numpy (hand-written)"]
        print(f"\nBLAS threads: {label}")
        for name, seconds in medians.items():
            print(f"  {name:22s} {seconds * 1e3:8.4f} ms/step   {seconds / base:5.3f}x numpy")


if __name__ == "__main__":
    main()
