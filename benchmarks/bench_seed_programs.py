"""An independent check of the suite's seed figures: the tutorial's programs exactly as written, interleaved.

    python benchmarks/bench_seed_programs.py                  # 1 BLAS thread, ~500 steps a program
    python benchmarks/bench_seed_programs.py --threads default --rounds 40 --torch

Programs (the seed's text, from tests/data or shared/seed, with only the import line changed):
- ``numpy``: the tutorial's numpy warm-up (below, as published, its arrays cast to float32 like the others);
- ``autograd``, ``custom-relu``: the seed's PyTorch programs with ``import autotrain.engine as torch``;
- ``static``: the seed's TensorFlow program with ``import autotrain.engine.static as tf`` (it feeds float64
  arrays to float32 placeholders, as written, so it pays a cast per step); ``static-f32``: the same with
  its two ``np.random.randn`` feeds cast to float32 (what the suite's static row feeds);
- ``torch``: with ``--torch``, the seed's autograd program on real PyTorch (single-threaded at 1 thread).

How: each program runs in its own thread, its ``range(500)`` replaced by a turnstile that lets it run a
block of steps and then waits for its next turn, and its ``print`` by one that ignores its (evaluated)
arguments.  One program runs at a time.  Rounds run the programs in a shuffled order, each for a few
untimed steps and then a timed block; the time is read inside the loop, so thread hand-over is not in it.
Ratios are medians of per-round ratios to ``numpy``.  Nothing here shares code with ``suite.py``'s rows.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

# The numpy warm-up of "Learning PyTorch with Examples" as the tests keep it (tests/programs/old_numpy.py, the
# published text), with every array cast to float32, the dtype the seed's other programs use.
NUMPY_PROGRAM = re.sub(r"(np\.random\.randn\([^)]*\))", r"\1.astype(np.float32)",
                       (ROOT / "tests" / "programs" / "old_numpy.py").read_text(encoding="utf-8"))
LOOP = re.compile(r"\brange\(500\)")


def programs(with_torch: bool) -> dict[str, str]:
    """name -> program text, the seed's with only the framework import changed."""
    from seed import ported, seed_programs  # tests/seed.py: the seed's ```py blocks, in order

    autograd, custom, static = seed_programs()
    found = {"numpy": NUMPY_PROGRAM,
             "autograd": ported(autograd, "import torch", "import autotrain.engine as torch"),
             "custom-relu": ported(custom, "import torch", "import autotrain.engine as torch"),
             "static": ported(static, "import tensorflow as tf", "import autotrain.engine.static as tf")}
    # The TF program feeds float64 arrays to float32 placeholders, as written; the same program fed float32
    # arrays shows what that cast costs.
    found["static-f32"] = found["static"].replace("np.random.randn(N, D_in)", "np.random.randn(N, D_in).astype(np.float32)") \
        .replace("np.random.randn(N, D_out)", "np.random.randn(N, D_out).astype(np.float32)")
    if with_torch:
        found["torch"] = autograd
    for name, text in found.items():
        if len(LOOP.findall(text)) != 1:
            raise SystemExit(f"the {name} program does not have exactly one 'range(500)' loop")
    return found


class Turnstile:
    """Stands in for a program's ``range(500)``: runs ``untimed`` then ``timed`` steps per turn, timing
    the timed ones from the start of the first to the start of the step after the last."""

    def __init__(self, clock=time.perf_counter) -> None:
        self.clock = clock
        self.go, self.done = threading.Semaphore(0), threading.Semaphore(0)
        self.untimed = self.timed = self.count = self.total = 0
        self.started = 0.0
        self.samples: list[float] = []
        self.stop = False
        self.error: BaseException | None = None

    def __iter__(self):
        return self

    def __next__(self) -> int:
        if self.count == self.untimed:
            self.started = self.clock()
        if self.count == self.untimed + self.timed:  # the turn is over: record, hand back, wait
            if self.timed:
                self.samples.append((self.clock() - self.started) / self.timed)
            self.done.release()
            self.go.acquire()
            if self.stop:
                raise StopIteration
            self.count = 0
            if self.untimed == 0:
                self.started = self.clock()
        self.count += 1
        self.total += 1
        return self.total - 1  # the step number, as range's would be

    def turn(self, untimed: int, timed: int) -> None:
        """Let the program run one turn and wait until it is done."""
        self.untimed, self.timed = untimed, timed
        self.go.release()
        self.done.acquire()
        if self.error:
            raise RuntimeError("a seed program failed") from self.error


def start(name: str, text: str, clock=time.perf_counter) -> Turnstile:
    """Run ``text`` in a thread until its loop's first step, where it waits for its first turn."""
    turnstile = Turnstile(clock)
    code = compile(LOOP.sub("__steps__", text), f"<seed program {name}>", "exec")
    namespace = {"__name__": f"seed_{name}", "__steps__": turnstile, "print": lambda *args, **kwargs: None}

    def body():
        try:
            exec(code, namespace)  # noqa: S102 - the repository's own seed programs
        except BaseException as error:  # reported to the scheduler, which is waiting on this turn
            turnstile.error = error
            turnstile.done.release()

    threading.Thread(target=body, name=f"seed-{name}", daemon=True).start()
    turnstile.done.acquire()  # set-up done, parked at the loop
    if turnstile.error:
        raise RuntimeError(f"the {name} program failed before its loop") from turnstile.error
    return turnstile


@contextlib.contextmanager
def pinned(threads: int | None):
    """BLAS (threadpoolctl) and PyTorch pinned to ``threads``; refuses when it cannot pin."""
    if threads is None:
        yield
        return
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        from _measure import pinned_by_environment  # the environment pins BLAS too (as tests/conftest.py does)

        if not pinned_by_environment(threads):
            raise SystemExit("threadpoolctl is not installed: pip install threadpoolctl, or run with "
                             "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 and --threads default") from None
        yield
        return
    with threadpool_limits(limits=threads, user_api="blas"):
        yield


def measure(names, rounds: int, block: int, rewarm: int, warmup: int, threads: int | None, seed: int = 0,
            with_torch: bool = False, clock: str = "auto") -> dict:
    """Seconds per step of every program in every round, and the per-round ratios to numpy.

    ``clock``: ``wall``, ``cpu`` (process CPU time: the other programs' threads are parked, so it is the
    running program's) or ``auto`` (cpu at 1 thread, where it is robust to other processes; wall otherwise).
    """
    now = time.process_time if (clock == "cpu" or clock == "auto" and threads == 1) else time.perf_counter
    texts = programs(with_torch)
    if with_torch:
        import torch  # loaded before pinning, so its pool can be pinned too
        del torch
    rng = random.Random(seed)
    with pinned(threads):
        gates = {name: start(name, texts[name], now) for name in names}
        for gate in gates.values():
            gate.turn(warmup, 0)
        for _ in range(rounds):
            order = list(names)
            rng.shuffle(order)
            for name in order:
                gates[name].turn(rewarm, block)
        for gate in gates.values():
            gate.stop = True
            gate.go.release()
    samples = {name: gate.samples for name, gate in gates.items()}
    base = samples["numpy"]
    return {name: {"ms": statistics.median(v) * 1e3,
                   "ratio": statistics.median(a / b for a, b in zip(v, base))} for name, v in samples.items()}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1", help="'1' (default) or 'default'")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--block", type=int, default=10)
    parser.add_argument("--rewarm", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--torch", action="store_true", help="also the seed's program on real PyTorch")
    parser.add_argument("--clock", choices=["auto", "wall", "cpu"], default="auto",
                        help="auto: process CPU time at 1 thread (robust to other processes), wall otherwise")
    args = parser.parse_args(argv)
    threads = None if args.threads == "default" else int(args.threads)
    names = ["numpy", "autograd", "custom-relu", "static", "static-f32"] + (["torch"] if args.torch else [])
    steps = args.warmup + args.rounds * (args.rewarm + args.block)
    print(f"seed programs as written, {steps} steps each, BLAS threads {args.threads}, {args.rounds} shuffled rounds "
          f"of {args.rewarm} untimed + {args.block} timed steps, {args.clock} clock, load average "
          f"{'/'.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    result = measure(names, args.rounds, args.block, args.rewarm, args.warmup, threads, with_torch=args.torch,
                     clock=args.clock)
    for name, r in result.items():
        print(f"  {name:12s} {r['ms']:8.4f} ms/step   {r['ratio']:6.3f}x numpy")
    return result


if __name__ == "__main__":
    main()
