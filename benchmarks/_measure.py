"""What the suite measures besides time: flops, memory, allocations per step, page faults, start-up, the machine."""
from __future__ import annotations

import contextlib
import gc
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


class ThreadPinError(RuntimeError):
    """A thread count was asked for but cannot be pinned in this process."""


BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def pinned_by_environment(count: int) -> bool:
    """Whether the process was started with BLAS pinned to ``count`` threads by its environment.

    Without threadpoolctl, ``OPENBLAS_NUM_THREADS=1`` (etc.) set before numpy loads is the other way to pin
    BLAS: it is how the test suite runs (tests/conftest.py), and what the refusal below tells users to do.
    Every variable that is set must say ``count``, and at least one must be set.
    """
    values = [os.environ[name] for name in BLAS_THREAD_VARIABLES if name in os.environ]
    return bool(values) and all(v.strip() == str(count) for v in values)


@contextlib.contextmanager
def blas_threads(count: int | None):
    """Pin BLAS to ``count`` threads with threadpoolctl (``None``: leave the default); yields a label.

    Refuses (ThreadPinError) rather than measure unpinned: an unpinned "1 thread" run is a 2-thread
    run, and on 2 cores that swings identical computations by up to 25% (see docs/performance.md).
    """
    if count is None:
        yield "default"
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        if pinned_by_environment(count):
            yield str(count)
            return
        raise ThreadPinError(
            f"cannot pin BLAS to {count} thread(s): threadpoolctl is not installed. "
            "pip install threadpoolctl, or run with OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "
            "MKL_NUM_THREADS=1 and --threads default") from None
    with threadpool_limits(limits=count, user_api="blas"):
        yield str(count)


def placed_copy(value, rng: random.Random):
    """A fresh copy of every array in ``value`` (an array, or a tuple/NamedTuple/list/dict of them), each at a
    random 64-byte-aligned offset into a new buffer; other values are returned as they are.

    Rebuilding rows from placed copies every round makes where a row's arrays lie in memory a draw per
    round instead of one draw for the whole run: with 2 BLAS threads the same step ran 0.34-0.45 ms
    depending on its arrays' addresses (1 thread: within 2%).
    """
    if isinstance(value, np.ndarray):
        buf = np.empty(value.nbytes + 8192, np.uint8)
        start = (-buf.ctypes.data) % 64 + 64 * rng.randrange(64)
        out = buf[start:start + value.nbytes].view(value.dtype).reshape(value.shape)
        out[...] = value
        return out
    if isinstance(value, tuple):
        items = [placed_copy(v, rng) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, list):
        return [placed_copy(v, rng) for v in value]
    if isinstance(value, dict):
        return {k: placed_copy(v, rng) for k, v in value.items()}
    return value


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def clock_for(name: str, threads: int | None) -> str:
    """``auto``: CPU time at 1 thread, wall time otherwise.

    On a shared machine wall time charges a row for every moment another process held its core (under a
    load average of 6 on 2 cores the seed's numpy step read 0.7-1.1 ms wall); the process's CPU time
    read 0.33-0.41 ms, its quiet-machine wall time.  With one thread the step's work is the process's
    CPU time; with more, CPU time adds the threads up and counts their spinning, so it is not a time.
    """
    if name == "auto":
        return "cpu" if threads == 1 else "wall"
    return name


def timed_rounds(build, names, rounds: int, block: int, rewarm: int, warmup: int, seed: int = 0,
                 progress=None, clock: str = "wall") -> dict[str, list[float]]:
    """Seconds per step of each row in each round.

    ``build(name, rng)`` returns a fresh zero-argument step for row ``name``.  Every row is built once
    and warmed ``warmup`` steps (compilers, caches, allocator pools).  Then each round rebuilds every row
    (fresh arrays at fresh addresses), collects the garbage, and runs the rows in a shuffled order:
    ``rewarm`` untimed steps, then ``block`` timed ones.  Shuffled, not rotated: a rotation keeps each
    row behind the same neighbour every round, and a step after another row's runs 15-45% slower (its
    caches hold the other row's data), so rotation turned neighbours into fixed biases.
    """
    now = CLOCKS[clock]
    rng = random.Random(seed)
    for name in names:
        step = build(name, rng)
        for _ in range(warmup):
            step()
    samples = {name: [] for name in names}
    for r in range(rounds):
        steps = {name: build(name, rng) for name in names}
        gc.collect()  # the rebuild's garbage is not the next timed step's to collect
        order = list(names)
        rng.shuffle(order)
        for name in order:
            step = steps[name]
            for _ in range(rewarm):
                step()
            start = now()
            for _ in range(block):
                step()
            samples[name].append((now() - start) / block)
        del steps
        if progress:
            progress(r + 1, rounds)
    return samples


def paired_ratio(a, b) -> float:
    """Median of the per-round ratios: rows timed in the same round share the machine's state."""
    return statistics.median(x / y for x, y in zip(a, b))


def ratio_spread(a, b) -> float:
    """Half the interquartile range of the per-round ratios: how far one round's ratio strays."""
    ratios = [x / y for x, y in zip(a, b)]
    if len(ratios) < 4:
        return 0.0
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    return (q3 - q1) / 2


def step_flops(n: int, d_in: int, h: int, d_out: int) -> int:
    """Matmul flops in one step: forward 2·N·D_in·H + 2·N·H·D_out; backward grad_w2, grad_h, grad_w1.

    No gradient for x, so the backward pass is two N·H·D_out matmuls and one N·D_in·H.
    """
    forward = 2 * n * d_in * h + 2 * n * h * d_out
    backward = 2 * n * h * d_out * 2 + 2 * n * d_in * h
    return forward + backward


NUMPY_DOMAIN = np.lib.tracemalloc_domain  # numpy reports its data buffers to tracemalloc under this domain
TRANSIENT_FLOOR = 1024  # bytes: below this, a peak rise inside one opcode may be Python objects


def count_allocations(step, threshold: int) -> int:
    """Arrays of at least ``threshold`` bytes allocated during one ``step()`` (tracemalloc must be on).

    tracemalloc keeps live blocks, not events, so we look at every Python opcode boundary:
    - new numpy-domain blocks of ``threshold`` bytes or more since the previous boundary count one each;
    - if none appeared but the traced peak rose by ``max(threshold, 1 KiB)``, an array was made and
      freed inside that opcode (``np.square(y_pred - y)`` frees the difference as the square appears),
      which counts one.
    Several such arrays inside one opcode count once, so this is a lower bound.  (``_get_traces`` is
    the private call behind ``tracemalloc.take_snapshot``; it is the cheap way to read domains.)
    """
    count, last, seen = 0, 0, None
    transient = max(threshold, TRANSIENT_FLOOR)

    def live():
        return Counter((size, tb) for domain, size, tb, *_ in tracemalloc._get_traces()
                       if domain == NUMPY_DOMAIN and size >= threshold)

    def tracer(frame, event, arg):
        nonlocal count, last, seen
        frame.f_trace_opcodes = True
        current, peak = tracemalloc.get_traced_memory()
        # Scanning the traces is the costly part: only when this interval allocated or freed that much.
        if peak - last >= threshold or abs(current - last) >= threshold:
            now = live()
            new = sum((now - seen).values())
            seen = now
            # A "call" event's rise is the tracer's own doing: handing us ``frame`` materializes a frame
            # object sized for all the function's locals (over 1 KiB for a compiled static plan).
            count += new or int(event != "call" and peak - last >= transient)
        last = current
        tracemalloc.reset_peak()
        return tracer

    seen, last = live(), tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    sys.settrace(tracer)
    try:
        step()
    finally:
        sys.settrace(None)
    return count


def minor_faults() -> int:
    """Minor page faults of this process so far (all threads)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def memory_profile(build, warmup: int, steps: int, threshold: int) -> dict:
    """Peak traced bytes (row construction included), growth over ``steps // 3`` steady steps (the
    smaller of two consecutive windows), arrays allocated per steady step, and page faults per step
    (counted without tracemalloc, which slows allocation; over at most 500 steps).

    ``build()`` returns a fresh step.  Memory that a framework allocates outside Python's and numpy's
    allocators (PyTorch, XLA) is invisible to tracemalloc; only the page faults see it.
    """
    step = build()
    for _ in range(warmup):
        step()
    fault_steps = max(min(steps, 500), 1)
    faults = minor_faults()
    for _ in range(fault_steps):
        step()
    faults_per_step = (minor_faults() - faults) / fault_steps
    tracemalloc.start()
    try:
        step = build()
        for _ in range(warmup):
            step()
        # Growth is read after gc.collect() (the engine's graphs hold reference cycles) over two
        # consecutive windows of a third of the steps each, after a first third; the smaller of the two
        # counts.  A leak grows in both windows; a one-off (a cache filled, a dict resized: a few KiB seen
        # at random points) in one at most.
        third = max(steps // 3, 1)
        for _ in range(third):
            step()
        growths = []
        for _ in range(2):
            gc.collect()
            settled = tracemalloc.get_traced_memory()[0]
            for _ in range(third):
                step()
            gc.collect()
            growths.append(tracemalloc.get_traced_memory()[0] - settled)
        peak = tracemalloc.get_traced_memory()[1]
        growth = min(growths)
        tracemalloc.stop()  # forget the live blocks: count_allocations scans every trace at each opcode
        tracemalloc.start()
        allocations = count_allocations(step, threshold)
    finally:
        tracemalloc.stop()
    return {"peak_bytes": peak, "growth_bytes": growth, "growth_steps": third, "allocs_per_step": allocations,
            "faults_per_step": faults_per_step}


def startup_seconds(runs: int) -> dict:
    """Median wall time of ``autotrain --help`` and of ``python -c "import numpy"``, run alternately.

    ``autotrain --help`` runs as the console script does (import autotrain.cli, call main) from this
    checkout: an installed ``autotrain`` script may load another copy of the package.
    """
    cli = "import sys; from autotrain.cli import main; sys.exit(main())"
    commands = {"autotrain --help": [sys.executable, "-c", cli, "--help"],
                "python -c 'import numpy'": [sys.executable, "-c", "import numpy"]}
    samples = {name: [] for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            start = time.perf_counter()
            subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            samples[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return {"seconds": medians, "samples": samples, "runs": runs, "cwd": str(ROOT)}


def machine() -> dict:
    """Where the numbers came from: CPU, cores, load, numpy, its BLAS and the kernel OpenBLAS chose."""
    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "numpy": np.__version__, "blas": _blas(),
            "blas_env": {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS_", "GOTO", "MKL_"))},
            "load_average": os.getloadavg()}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _blas() -> str:
    """The BLAS numpy was built with, and its threads as threadpoolctl sees them when installed."""
    try:
        from threadpoolctl import threadpool_info
        # The kernel (architecture) matters: OPENBLAS_CORETYPE can make OpenBLAS pick an older one.
        found = [f"{i['internal_api']} {i.get('version')} {i.get('architecture') or ''} kernel "
                 f"({i['num_threads']} threads)" for i in threadpool_info() if i.get("user_api") == "blas"]
        if found:
            return "; ".join(found)
    except ImportError:
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # the config layout varies across numpy versions; this is only a label
        return "unknown"
