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
from dataclasses import asdict, dataclass, field, fields
from typing import Callable, Iterator

import numpy as np

from autotrain.config import FitConfig
from autotrain.data import Problem, make_problem
from autotrain.runs import CheckpointError, RunDir, load_checkpoint

FIRST_ROWS = 3  # the first steps are always logged: that is where the loss moves most
OnStep = Callable[[int, float], None]


@dataclass
class Summary:
    """What a ``fit`` did; also written to the run's summary.json."""

    status: str  # running | completed | interrupted | diverged | failed
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
    checkpoint: int | None = None  # step of the newest checkpoint written (None: none was)
    error: str | None = None  # why a ``failed`` run stopped (e.g. out of memory)

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


class StopFlag:
    """What the signal handlers saw: ``signum`` of the first SIGINT/SIGTERM (None: none yet).

    A second signal raises KeyboardInterrupt (stop at once) unless ``deferred`` is set: then it is
    only recorded, so the final summary.json is never cut short.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.deferred = False

    def handler(self, signum, frame) -> None:
        if self.signum is not None and not self.deferred:
            raise KeyboardInterrupt
        self.signum = self.signum or signum


_ACTIVE: StopFlag | None = None  # the flag of the outermost stop_on_signals() in this process


@contextmanager
def stop_on_signals() -> Iterator[StopFlag]:
    """SIGINT/SIGTERM set a flag that the loop checks after each step; a second one stops at once.

    Re-entrant: inside an active block (``autotrain fit`` installs one before its first write) it
    yields the same flag.  Only the main thread can install handlers; elsewhere the flag stays unset.
    """
    global _ACTIVE
    if _ACTIVE is not None:
        yield _ACTIVE
        return
    flag, old = StopFlag(), {}
    if threading.current_thread() is threading.main_thread():  # signal handlers live in the main thread
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, flag.handler)
        _ACTIVE = flag
    try:
        yield flag
    finally:
        if old:
            _ACTIVE = None
        for sig, previous in old.items():
            signal.signal(sig, previous)


_stop_on_signals = stop_on_signals  # the old private name


def _finite(state: dict[str, np.ndarray]) -> bool:
    return all(bool(np.isfinite(a).all()) for a in state.values())


def fit(cfg: FitConfig, run: RunDir, on_step: OnStep | None = None) -> Summary:
    """Train ``cfg`` into ``run``: from its newest good checkpoint if it has one, else from scratch.

    Writes data.npz, metrics.csv, checkpoints (step 0, every ``checkpoint_every``, the last) and
    summary.json, holding the run's lock throughout (a second writer gets ``RunLocked``).
    SIGINT/SIGTERM checkpoint the current step and return status ``interrupted`` (a second signal
    stops at once: ``interrupted`` at the newest complete checkpoint); a NaN/inf loss returns
    ``diverged`` and keeps the last finite checkpoint; running out of memory returns ``failed``.
    A run already ``completed`` is returned as it is, untouched.
    """
    with stop_on_signals() as stop, run.lock():  # handlers first: the lock file is the first write
        run.refuse_links()
        done = finished_summary(run, cfg)
        if done is not None:
            return done
        try:
            return _fit(cfg, run, on_step, stop)
        except KeyboardInterrupt:  # a second signal: stop now, say where the run can continue from
            stop.deferred = True
            interrupted = True
        except MemoryError as exc:
            stop.deferred = True
            interrupted, error = False, f"out of memory ({str(exc)[:200] or type(exc).__name__})"
        # outside the except blocks: the traceback (and the arrays its frames hold) is gone by now
        if interrupted:
            return _mark_stopped(cfg, run, "interrupted", signal=_signal_name(stop.signum))
        return _mark_stopped(cfg, run, "failed", error=error)


def finished_summary(run: RunDir, cfg: FitConfig) -> Summary | None:
    """The summary of ``run`` when it already completed ``cfg`` (resume leaves it untouched), else None.

    Extension hook: a resume that should train further (``--set steps=`` larger) gets None here when
    its config hash differs from the completed one, and continues from the newest checkpoint.
    """
    try:
        data = run.read_summary()
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("status") != "completed" or data.get("config_hash") != cfg.config_hash():
        return None
    found = run.checkpoints()
    if data.get("step") != cfg.steps or not found or found[-1][0] != cfg.steps:  # e.g. its last checkpoint was lost
        return None
    try:
        load_checkpoint(found[-1][1], cfg)
    except CheckpointError:  # the final checkpoint was damaged since: resume repairs the run as usual
        return None
    known = {f.name for f in fields(Summary)}
    summary = Summary(**{k: v for k, v in data.items() if k in known})
    summary.notes = [f"already completed at step {cfg.steps}/{cfg.steps}; nothing was changed"]
    return summary


def _signal_name(signum: int | None) -> str | None:
    return signal.Signals(signum).name if signum else None


def _mark_stopped(cfg: FitConfig, run: RunDir, status: str, **extra) -> Summary:
    """summary.json for a run stopped mid-way: its step is the newest complete checkpoint (None: none)."""
    found = run.checkpoints()
    step = found[-1][0] if found else 0
    summary = Summary(status, str(run.path), cfg.mode, cfg.steps, step, None, 0.0, 0.0, cfg.config_hash(),
                      checkpoint=found[-1][0] if found else None, **extra)
    try:
        previous = run.read_summary()
        summary.resumed_from, summary.notes = previous.get("resumed_from"), list(previous.get("notes", []))
        summary.final_loss = next((loss for s, loss, _ in reversed(run.read_metrics()) if s < step), None)
    except (OSError, ValueError, AttributeError):
        pass
    run.write_summary(summary.to_dict())
    return summary


def _fit(cfg: FitConfig, run: RunDir, on_step: OnStep | None, stop: StopFlag) -> Summary:
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
                      resumed_from=start if ckpt is not None else None, notes=notes, checkpoint=start)
    run.write_summary(summary.to_dict())

    x, y = mode.prepare(problem.x, problem.y)
    last_finite, step, status = None, start, "completed"
    if ckpt is not None and start > 0:
        last_finite = next((loss for s, loss, _ in reversed(run.read_metrics()) if s < start), None)
    t0 = time.perf_counter()
    if stop.signum is not None and start < cfg.steps:  # a signal during start-up: stop at the checkpoint just made
        status, summary.signal = "interrupted", _signal_name(stop.signum)
    with run.open_metrics(keep_before=start) as metrics, np.errstate(all="ignore"):
        for t in range(start, cfg.steps if status == "completed" else start):
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
                    summary.checkpoint = step
            if stopping:
                status, summary.signal = "interrupted", _signal_name(stop.signum)
                break
    stop.deferred = True  # from here on a signal no longer cuts anything short
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


__all__ = ["fit", "run_steps", "Summary", "is_logged", "problem_for", "FIRST_ROWS", "stop_on_signals", "StopFlag",
           "finished_summary"]
