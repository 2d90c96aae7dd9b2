"""The training loop: ``fit`` a config into a run directory, or ``run_steps`` without any files.

Nothing here prints.  ``fit`` returns a ``Summary``; progress goes to an optional ``on_step(step, loss)``
callback (``display.py`` turns it into a progress bar).
"""
from __future__ import annotations

import json
import math
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterator

import numpy as np

from autotrain.config import FitConfig
from autotrain.data import Problem, make_problem
from autotrain.runs import RunDir

FIRST_ROWS = 3  # the first steps are always logged: that is where the loss moves most
OnStep = Callable[[int, float], None]


@dataclass
class Summary:
    """What a ``fit`` did; also written to the run's summary.json."""

    status: str  # completed | interrupted | diverged
    run_dir: str
    mode: str
    steps: int  # the config's target
    step: int  # updates done when the run stopped (the step of the last checkpoint written)
    final_loss: float | None  # the last finite loss (None if no step ran)
    wall_time_s: float
    steps_per_s: float
    config_hash: str
    resumed_from: int | None = None
    diverged_at: int | None = None
    signal: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def is_logged(step: int, steps: int, log_every: int) -> bool:
    """Whether ``step`` gets a metrics row: the first few, every ``log_every``-th, and the last."""
    return step < FIRST_ROWS or step % log_every == 0 or step == steps - 1


def problem_for(cfg: FitConfig) -> Problem:
    """The data and initial weights ``cfg`` describes."""
    return make_problem(cfg.N, cfg.D_in, cfg.H, cfg.D_out, cfg.dtype, cfg.seed)


def run_steps(mode: str, problem: Problem, lr: float, steps: int, device: str = "cpu") -> list[float]:
    """Train ``steps`` SGD steps of ``mode`` from ``problem`` with no files or callbacks; the losses.

    The plain library path, for benchmarks and ``compare-modes``:

    >>> from autotrain.data import make_problem
    >>> losses = run_steps("manual", make_problem(8, 5, 4, 3, "float64"), lr=1e-3, steps=3)
    >>> len(losses), losses[0] > losses[-1]
    (3, True)
    """
    from autotrain.modes import make_mode

    m = make_mode(mode, problem, lr, device)
    x, y = m.prepare(problem.x, problem.y)
    with np.errstate(all="ignore"):
        return [m.step(x, y) for _ in range(steps)]


class _StopFlag:
    signum: int | None = None


@contextmanager
def _stop_on_signals() -> Iterator[_StopFlag]:
    """SIGINT/SIGTERM set a flag that the loop checks after each step; a second one stops at once."""
    flag = _StopFlag()

    def handler(signum, frame):
        if flag.signum is not None:
            raise KeyboardInterrupt
        flag.signum = signum

    old = {}
    if threading.current_thread() is threading.main_thread():  # signal handlers live in the main thread
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, handler)
    try:
        yield flag
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


def _finite(state: dict[str, np.ndarray]) -> bool:
    return all(bool(np.isfinite(a).all()) for a in state.values())


def fit(cfg: FitConfig, run: RunDir, on_step: OnStep | None = None) -> Summary:
    """Train ``cfg`` into ``run``: from its newest good checkpoint if it has one, else from scratch.

    Writes data.npz, metrics.csv, checkpoints (step 0, every ``checkpoint_every``, the last) and
    summary.json.  SIGINT/SIGTERM checkpoint the current step and return status ``interrupted``; a
    NaN/inf loss returns ``diverged`` and keeps the last finite checkpoint.
    """
    from autotrain.modes import make_mode

    config_hash = cfg.config_hash()
    notes = run.clean_temp_files()
    problem = problem_for(cfg)
    mode = make_mode(cfg.mode, problem, cfg.lr, cfg.device)
    ckpt = run.latest_checkpoint(cfg)
    notes += run.notes
    if ckpt is not None:
        mode.load_state(ckpt.state)
        start, elapsed0 = ckpt.step, ckpt.elapsed_s
    else:
        start, elapsed0 = 0, 0.0
        run.save_data(problem)
        run.save_checkpoint(0, mode.state(), config_hash, 0.0, _rng_state(cfg))
    if not run.data_path.exists():
        run.save_data(problem)
    summary = Summary("running", str(run.path), cfg.mode, cfg.steps, start, None, 0.0, 0.0, config_hash,
                      resumed_from=start if ckpt is not None else None, notes=notes)
    run.write_summary(summary.to_dict())

    x, y = mode.prepare(problem.x, problem.y)
    last_finite, step, status = None, start, "completed"
    if ckpt is not None and start > 0:
        last_finite = next((loss for s, loss, _ in reversed(run.read_metrics()) if s < start), None)
    t0 = time.perf_counter()
    with _stop_on_signals() as stop, run.open_metrics(keep_before=start) as metrics, np.errstate(all="ignore"):
        for t in range(start, cfg.steps):
            loss = mode.step(x, y)
            elapsed = elapsed0 + time.perf_counter() - t0
            finite = math.isfinite(loss)
            if not finite or is_logged(t, cfg.steps, cfg.log_every):
                metrics.write(t, loss, elapsed)
            if on_step is not None:
                on_step(t, loss)
            if not finite:
                status, summary.diverged_at = "diverged", t
                break
            last_finite, step = loss, t + 1
            stopping = stop.signum is not None and step < cfg.steps
            if step % cfg.checkpoint_every == 0 or step == cfg.steps or stopping:
                state = mode.state()
                if _finite(state):  # the update itself may overflow; never checkpoint non-finite weights
                    run.save_checkpoint(step, state, config_hash, elapsed, _rng_state(cfg))
            if stopping:
                status, summary.signal = "interrupted", signal.Signals(stop.signum).name
                break
    wall = time.perf_counter() - t0
    ran = step - start + (1 if status == "diverged" else 0)
    summary.status, summary.step, summary.final_loss = status, step, last_finite
    summary.wall_time_s, summary.steps_per_s = wall, (ran / wall if wall > 0 else 0.0)
    run.write_summary(summary.to_dict())
    return summary


def _rng_state(cfg: FitConfig) -> str:
    """The random state a checkpoint needs, as JSON.

    Full-batch SGD draws nothing after ``make_problem``, so the seed is the whole state; it is stored
    in every checkpoint so one file says how to continue.
    """
    return json.dumps({"seed": cfg.seed, "generator": "numpy.random.default_rng", "draws_after_init": 0})


__all__ = ["fit", "run_steps", "Summary", "is_logged", "problem_for", "FIRST_ROWS"]
