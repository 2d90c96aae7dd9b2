"""How many BLAS threads a run uses: one rule for ``fit``, sweep trials, ``compare-modes`` and ``evaluate``.

A small network's matrix products take microseconds; OpenBLAS's default (a thread per core) then spends
more time waking and synchronising threads than multiplying, and on a machine whose other cores are busy
the waiting dominates (the seed network runs several times slower with 2 threads than with 1 on a loaded
2-core machine).  Threads pay only when one step's products are large: measured on a 2-core machine,
the 2-thread/1-thread speed ratio of a two-layer step was 1.3x idle / 0.4x loaded at 6.5e6
multiply-adds (the seed), 1.9x / 0.7x at 2.6e8, and 1.9x / 0.9x at 2.1e9.  ``auto`` therefore uses one
thread below ``AUTO_MIN_WORK`` multiply-adds per step and every available core above it.

The count depends only on the config, the batch and the cores this process may use -- never on the
machine's momentary load -- so a ``fit`` and a sweep trial of the same config compute the same float32
numbers (OpenBLAS's results change with the thread count).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

AUTO_MIN_WORK = 1_000_000_000  # multiply-adds per step from which more threads pay (see the module docstring)
FORWARD_BACKWARD = 3  # a step's products: the forward one and two in the backward pass, per layer


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity; the machine's count where that is unknown)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def work_per_step(cfg, batch: int | None = None) -> int:
    """Multiply-adds of one training step of ``cfg``'s network on ``batch`` rows (default: ``cfg.N``)."""
    rows = batch if batch is not None else (cfg.N or 1)
    sizes = [cfg.D_in, *cfg.hidden, cfg.D_out]
    return FORWARD_BACKWARD * rows * sum(a * b for a, b in zip(sizes, sizes[1:]))


def blas_threads(cfg, batch: int | None = None, cores: int | None = None) -> int:
    """The BLAS thread count for training ``cfg``: its ``threads`` key, or for ``auto`` the rule above.

    ``batch``: the rows of one step when ``cfg.N`` does not say (a data file's full batch).
    """
    cores = available_cores() if cores is None else cores
    wanted = getattr(cfg, "threads", "auto")
    if wanted != "auto":
        return int(wanted)
    return 1 if work_per_step(cfg, batch) < AUTO_MIN_WORK else max(1, cores)


def parse_threads(text: str) -> int | str:
    """``--threads`` text: ``auto`` or a positive integer; ValueError naming what is expected otherwise."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_THREADS:
        raise ValueError(f"--threads {text!r}: expected auto or an integer from 1 to {MAX_THREADS}")
    return n


MAX_THREADS = 1024  # more than any machine here has; a larger number is a typo, not a request


@contextmanager
def limit_blas(threads: int) -> Iterator[int]:
    """Run the block with ``threads`` BLAS threads (threadpoolctl), restoring the previous count after."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="blas"):
        yield threads
