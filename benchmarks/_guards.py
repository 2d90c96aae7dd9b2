"""The compiled row's guard cost: what checking a trace's guards costs per call, apart from the step.

``torch.compile`` checks its guards on every call before it runs a plan: the common case in the fast
guard (one generated function of identity tests), anything else in the full guard (the whole key,
computed and compared).  Both are timed here on the row's own compiled function, with the arguments of
its last call, the best of a few repeats (a guard is short enough to be timed alone).
"""
from __future__ import annotations

import gc
import time


def compiled_functions() -> list:
    from autotrain.engine.compile import CompiledFunction
    return [o for o in gc.get_objects() if type(o) is CompiledFunction]


def guard_cost(factory, problem, lr, threads=None, steps: int = 30, calls: int = 2000) -> dict | None:
    """``{"fast_us", "full_us"}`` per call for the row ``factory`` builds, or None without a fast guard."""
    before = {id(f) for f in compiled_functions()}
    step = factory(problem, lr, threads=threads)
    for _ in range(steps):
        step()
    made = [f for f in compiled_functions() if id(f) not in before and f._fast is not None]
    if not made:
        return None
    fn = made[-1]
    fast = fn._fast
    seen = []
    check = fast.check
    fast.check = lambda args: seen.append(args) or check(args)
    try:
        step()
    finally:
        fast.check = check
    if not seen or not check(seen[-1]):
        return None
    args = seen[-1]

    def full():
        key, _ = fn._guard_key(args, {})
        return any(t.guard == key for t in fn.traces)
    return {"fast_us": _best_us(lambda: check(args), calls), "full_us": _best_us(full, calls // 10)}


def _best_us(fn, calls: int, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6
