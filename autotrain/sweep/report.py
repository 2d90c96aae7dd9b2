"""How a running trial reports its metric and learns it is pruned (standard library only: ``fit`` imports it).

The sweep driver is the only process that touches the Optuna study.  A trial's ``fit`` gets two pipe
descriptors and the metric in ``AUTOTRAIN_SWEEP_REPORT`` (``"<write fd>,<read fd>,<metric>"``).  At every
logged metrics row it writes ``"<step> <value>\\n"`` and waits for one line back: ``"prune"`` (checkpoint
here and stop as ``pruned``) or ``"go"``.  Waiting makes the verdict land at the step it was asked for,
so a sweep prunes the same trials at the same steps however busy the machine is.

On Ray the pipes end in the Ray task on the worker node, which relays each report to the driver through a
Ray queue and the verdict back (see :mod:`autotrain.sweep.ray_backend`): no shared storage is needed.
"""
from __future__ import annotations

import math
import os

ENV = "AUTOTRAIN_SWEEP_REPORT"


def reporter_from_env(environ=None):
    """The ``on_log`` callback for ``train.fit`` when this process is a sweep trial, else None."""
    spec = (os.environ if environ is None else environ).get(ENV)
    if not spec:
        return None
    try:
        wfd, rfd, metric = spec.split(",", 2)
        out, inp = os.fdopen(int(wfd), "w", buffering=1), os.fdopen(int(rfd), "r")
    except (ValueError, OSError):
        return None  # not a channel this process holds: train without reporting
    column = metric.removeprefix("final_")

    def on_log(step: int, row: dict) -> bool:
        value = row.get(column)
        if value is None or not math.isfinite(value):
            return False
        try:
            out.write(f"{step} {value!r}\n")
            return inp.readline().strip() == "prune"
        except (OSError, ValueError):  # the driver is gone: finish the trial as a plain fit would
            return False
    return on_log


def parse_report(line: str) -> tuple[int, float] | None:
    """``(step, value)`` from one report line (None: not a report)."""
    try:
        step, value = line.split()
        return int(step), float(value)
    except ValueError:
        return None


__all__ = ["reporter_from_env", "parse_report", "ENV"]
