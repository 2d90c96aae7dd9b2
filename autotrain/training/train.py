"""The training loop: ``fit`` a config into a run directory, or ``run_steps`` without any files.

Nothing here prints.  ``fit`` returns a ``Summary``; progress goes to an optional ``on_step(step, loss)``
callback (``display.py`` turns it into a progress bar).
"""
from __future__ import annotations

import functools
import json
import math
import os
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from typing import Callable, Iterable, Iterator

import numpy as np

import zipfile

from autotrain.training.config import FitConfig
from autotrain.training.data import (DataError, loads_json, FitData, Problem, batches_per_epoch, load_fit_data, make_problem, order_rng,
                            prepare_fit_data)
from autotrain.modes.base import spec_from_config
from autotrain.training.record import (CheckpointError, RunError, RunRecord, best_validation,
                                       checkpoint_spec as run_checkpoint_spec)
from autotrain.training.threads import blas_threads, limit_blas

FIRST_ROWS = 3  # the first steps are always logged: that is where the loss moves most
OnStep = Callable[[int, float], None]
OnLog = Callable[[int, dict], bool]  # a logged metrics row -> stop here (pruned)?


@dataclass(kw_only=True)
class Summary:
    """What a ``fit`` did; also written to the run's summary.json (built from keywords only)."""

    status: str  # running | completed | interrupted | pruned | diverged | failed
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
    best_val_loss: float | None = None  # the lowest validation loss logged (None without a validation split)
    best_val_accuracy: float | None = None  # its accuracy (classification)
    best_step: int | None = None  # the checkpoint (updates done) holding those weights
    epochs: int | None = None
    batches_per_epoch: int = 1
    signal: str | None = None
    notes: list[str] = field(default_factory=list)
    checkpoint: int | None = None  # step of the newest checkpoint written (None: none was)
    error: str | None = None  # why a ``failed`` run stopped (e.g. out of memory)
    threads: int | None = None  # BLAS threads used (autotrain.training.threads.blas_threads)

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

    >>> from autotrain.training.data import make_problem
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


def _finite(state: dict[str, np.ndarray]) -> bool:
    return all(bool(np.isfinite(a).all()) for a in state.values())


def resolve_data(cfg: FitConfig, source: str = "config") -> tuple[FitConfig, FitData]:
    """Load the data ``cfg`` names and put its D_in/D_out into the config (so the run records them).

    A D_in/D_out the config gives that differs from the file's is a ConfigError naming both values.
    """
    from autotrain.training.config import ConfigError, ConfigIssue

    data = prepare_fit_data(cfg)
    if cfg.synthetic:
        return cfg, data
    problems = []
    for key, got, what in (("D_in", data.D_in, "feature columns"), ("D_out", data.D_out,
                           "classes" if data.classes is not None else "target columns")):
        if key in cfg.model_fields_set and getattr(cfg, key) != got:
            problems.append(ConfigIssue(source, f"the config says {getattr(cfg, key)}, but {cfg.data} has {got} "
                                                  f"{what}; leave {key} out (it is read from the data) or fix it",
                                          key=key))
    if problems:
        raise ConfigError(problems)
    return cfg.model_copy(update={"D_in": data.D_in, "D_out": data.D_out}), data


def fit(cfg: FitConfig, run: RunRecord, on_step: OnStep | None = None, data: FitData | None = None,
        on_log: OnLog | None = None) -> Summary:
    """Train ``cfg`` into ``run``: from its newest good checkpoint if it has one, else from scratch.

    Writes data.npz, metrics.csv, checkpoints (step 0, every ``checkpoint_every``, the last, and the best by
    validation loss; only the newest ``keep_checkpoints`` step files plus the best are kept) and
    summary.json, holding the run's lock throughout (a second writer gets ``RunLocked``).
    SIGINT/SIGTERM checkpoint the current step and return status ``interrupted`` (a second signal
    stops at once: ``interrupted`` at the newest complete checkpoint); a NaN/inf loss returns
    ``diverged`` and keeps the last finite checkpoint; running out of memory returns ``failed``.
    A run already ``completed`` is returned as it is, untouched.

    ``on_log(step, row)`` is called with every logged metrics row (``loss``, ``val_loss``, ``val_accuracy``,
    ``epoch``; None where a value does not apply) once it is written; a true answer stops the run there as
    ``pruned``: checkpointed at that step, so ``fit --resume`` continues it (a sweep's pruner uses this).
    """
    with stop_on_signals() as stop, run.lock():  # handlers first: the lock file is the first write
        run.refuse_links()
        adopt_length(run, cfg)
        done = finished_summary(run, cfg)
        if done is not None:
            return done
        clock = Clock()
        try:
            return _fit(cfg, run, on_step, stop, data, on_log, clock)
        except KeyboardInterrupt:  # a second signal: stop now, say where the run can continue from
            stop.deferred = True
            interrupted = True
        except MemoryError as exc:
            stop.deferred = True
            interrupted, error = False, f"out of memory ({str(exc)[:200] or type(exc).__name__})"
        # outside the except blocks: the traceback (and the arrays its frames hold) is gone by now
        wall = clock.elapsed()
        if interrupted:
            return _mark_stopped(cfg, run, "interrupted", wall, signal=_signal_name(stop.signum))
        return _mark_stopped(cfg, run, "failed", wall, error=error)


def finished_summary(run: RunRecord, cfg: FitConfig) -> Summary | None:
    """The summary of ``run`` when it already completed ``cfg`` (resume leaves it untouched), else None.

    Extension hook: a resume that should train further (``--set steps=`` larger) gets None here when
    its config hash differs from the completed one, and continues from the newest checkpoint.
    """
    try:
        data = run.read_summary()
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("status") != "completed" or not cfg.hash_matches(str(data.get("config_hash"))):
        return None
    found = run.checkpoints()
    # the config hash leaves out the length (steps/epochs): a larger one continues the run
    total = cfg.steps if cfg.epochs is None else cfg.epochs * int(data.get("batches_per_epoch") or 1)
    if data.get("step") != total or not found or found[-1][0] != total:  # e.g. its last checkpoint was lost
        return None
    try:
        run.load_checkpoint(found[-1][1], cfg)
    except CheckpointError:  # the final checkpoint was damaged since: resume repairs the run as usual
        return None
    known = {f.name for f in fields(Summary)}
    summary = Summary(**{k: v for k, v in data.items() if k in known})
    summary.notes = [f"already completed at step {total}/{total}; nothing was changed"]
    return summary


def _signal_name(signum: int | None) -> str | None:
    return signal.Signals(signum).name if signum else None


def _mark_stopped(cfg: FitConfig, run: RunRecord, status: str, wall_time_s: float = 0.0, **extra) -> Summary:
    """summary.json for a run stopped mid-way: its step is the newest complete checkpoint (None: none), its
    wall time every segment's training time up to the stop (``wall_time_s``, as the loop's clock had it)."""
    found = run.checkpoints()
    step = found[-1][0] if found else 0
    summary = Summary(status=status, run_dir=str(run.path), mode=cfg.mode, steps=cfg.steps, step=step,
                      final_loss=None, wall_time_s=wall_time_s, steps_per_s=step / wall_time_s if wall_time_s > 0
                      else 0.0, config_hash=cfg.config_hash(), checkpoint=found[-1][0] if found else None, **extra)
    try:
        previous = run.read_summary()
        summary.resumed_from, summary.notes = previous.get("resumed_from"), list(previous.get("notes", []))
        for key in ("steps", "epochs", "batches_per_epoch", "best_val_loss", "best_val_accuracy", "best_step"):
            if key in previous:  # an epochs run's length and its best so far, as the run had them
                setattr(summary, key, previous[key])
        logged = run.read_metrics().tuples("step", "loss")
        summary.final_loss = next((loss for s, loss in reversed(logged) if s < step), None)
    except (OSError, ValueError, AttributeError):
        pass
    run.write_summary(summary.to_dict())
    return summary


class Clock:
    """A run's training time: what the checkpoint it started from had (``base``) plus this segment's, so a
    resumed run's segments add up as an uninterrupted run counts them.  ``elapsed()`` is 0 until started."""

    def __init__(self, now: Callable[[], float] = time.perf_counter) -> None:
        self.base, self._t0, self._now = 0.0, None, now

    def start(self, base: float) -> None:
        self.base, self._t0 = base, self._now()

    def elapsed(self) -> float:
        return self.base if self._t0 is None else self.base + self._now() - self._t0


@dataclass
class Start:
    """Where a fit begins: the mode with its weights, the plan, the data order, and what a resume keeps."""

    mode: object
    data: FitData
    plan: "FitPlan"
    order: np.random.Generator
    step: int  # updates already done (0: a new run)
    elapsed_s: float  # training time of those updates
    resumed: bool
    keep_row: Callable[[int], bool] | None  # which old metrics rows an extended run keeps (None: all)
    notes: list[str]


def begin(cfg: FitConfig, run: RunRecord, data: FitData | None) -> Start:
    """Build the mode and put it where the run's newest good checkpoint left it; a new run gets data.npz and
    its step-0 checkpoint."""
    from autotrain.modes import build_mode

    notes = run.clean_temp_files()
    data = fit_data_for(cfg, run) if data is None or run.data_path.exists() else data
    spec = spec_from_config(cfg, data.D_in, data.D_out)
    mode = build_mode(cfg.mode, spec, data.params, cfg.device)
    plan = FitPlan.of(cfg, data)
    ckpt = run.latest_checkpoint(cfg, spec=run_checkpoint_spec(cfg))
    notes += run.notes
    order = order_rng(cfg.seed)
    keep_row = None
    if ckpt is not None:
        ckpt, keep_row = _start_of_extension(run, cfg, plan, ckpt)
        mode.load_state(ckpt.weights, ckpt.optimizer_state)
        start, elapsed0 = ckpt.step, ckpt.elapsed_s
        _restore_order(order, ckpt.rng_state)
    else:
        start, elapsed0 = 0, 0.0
        run.save_fit_data(data)
        run.save_checkpoint(0, mode.state(), cfg.config_hash(), 0.0, _rng_json(cfg, order), mode.optimizer_state())
    if not run.data_path.exists():
        run.save_fit_data(data)
    return Start(mode=mode, data=data, plan=plan, order=order, step=start, elapsed_s=elapsed0,
                 resumed=ckpt is not None, keep_row=keep_row, notes=notes)


class Validator:
    """(val_loss, val_accuracy) of the mode's current weights on the validation split."""

    NONE = (None, None)

    def __init__(self, mode, data: FitData):
        self.mode, self.data = mode, data
        self.x, self.y = mode.prepare(data.x_val, data.y_val)

    @classmethod
    def of(cls, mode, data: FitData) -> "Validator | None":
        """The validator of ``data``'s validation split; None without one."""
        return None if data.x_val is None else cls(mode, data)

    def __call__(self) -> tuple[float, float | None]:
        loss, out = self.mode.evaluate(self.x, self.y)
        acc = float(np.mean(np.argmax(out, axis=1) == self.data.y_val)) if self.data.classes is not None else None
        return loss, acc


class RowLogger:
    """Writes a logged step's metrics row, then asks the ``on_log`` hook (a sweep's pruner) whether to stop."""

    def __init__(self, metrics, plan: "FitPlan", on_log: OnLog | None):
        self.metrics, self.plan, self.on_log = metrics, plan, on_log

    def write(self, t: int, loss: float, elapsed: float, val: tuple) -> bool:
        """Write row ``t``; True when the hook prunes the run here (never for a non-finite loss)."""
        epoch = self.plan.epoch_of(t)
        self.metrics.write(t, loss, elapsed, epoch, *val)
        if self.on_log is None or not math.isfinite(loss):
            return False
        return bool(self.on_log(t, {"loss": loss, "val_loss": val[0], "val_accuracy": val[1], "epoch": epoch}))


@dataclass
class BestValidation:
    """The lowest finite validation loss so far, its accuracy and the checkpoint (updates done) of its weights."""

    val_loss: float | None = None
    val_accuracy: float | None = None
    step: int | None = None

    def improved_by(self, val: tuple) -> bool:
        return val[0] is not None and math.isfinite(val[0]) and (self.val_loss is None or val[0] < self.val_loss)


class CheckpointKeeper:
    """The checkpoints of a fit: every ``checkpoint_every`` steps, the last step, a step a signal or the
    pruner stops at, and the best by validation loss; then the old ones a run keeps no more are removed.

    The best is kept in memory and written with the next checkpoint, so tracking it costs no extra writes;
    weights that are not finite are never checkpointed.
    """

    def __init__(self, run: RunRecord, cfg: FitConfig, plan: "FitPlan", best: BestValidation, checkpoint: int):
        self.run, self.cfg, self.plan, self.best = run, cfg, plan, best
        self.config_hash = cfg.config_hash()
        self.checkpoint = checkpoint  # the newest checkpoint written
        self._pending = None  # (step, state, optimizer state, elapsed, rng) of a best not written yet

    def consider(self, step: int, val: tuple, mode, elapsed: float, rng: Callable[[], str]) -> None:
        """Remember the weights after ``step`` updates when ``val`` is a new best."""
        if self.best.improved_by(val):
            self.best = BestValidation(val[0], val[1], step)
            self._pending = (step, mode.state(), mode.optimizer_state(), elapsed, rng())

    def due(self, step: int, stopping: bool) -> bool:
        return step % self.cfg.checkpoint_every == 0 or step == self.plan.steps or stopping

    def save(self, step: int, mode, clock: Clock, rng: Callable[[], str]) -> None:
        """Checkpoint the weights after ``step`` updates (and a pending best), then prune the old ones."""
        state = mode.state()
        if not _finite(state):  # the update itself may overflow
            return
        if self._pending is not None and self._pending[0] != step:
            self.flush_best()
        self._pending = None
        # the time so far, callbacks included: a resume continues from it, so the segments add up
        self.run.save_checkpoint(step, state, self.config_hash, clock.elapsed(), rng(), mode.optimizer_state())
        self.checkpoint = step
        _drop_off_schedule(self.run, self.cfg, self.plan, step, self.best.step)
        self.run.prune_checkpoints(self.cfg.keep_checkpoints,
                                   protect=[self.best.step] if self.best.step is not None else [])

    def flush_best(self) -> None:
        """Write the best weights not written yet (e.g. the run diverged after its best)."""
        if self._pending is not None:
            b_step, b_state, b_opt, b_elapsed, b_rng = self._pending
            self.run.save_checkpoint(b_step, b_state, self.config_hash, b_elapsed, b_rng, b_opt)
            self._pending = None


def _fit(cfg: FitConfig, run: RunRecord, on_step: OnStep | None, stop: StopFlag, data: FitData | None,
         on_log: OnLog | None = None, clock: Clock | None = None) -> Summary:
    clock = clock or Clock()
    s = begin(cfg, run, data)
    mode, plan, start = s.mode, s.plan, s.step
    kept = [r for r in run.read_metrics().rows() if r["step"] < start and (s.keep_row is None or s.keep_row(r["step"]))]
    best = BestValidation(*best_validation(kept))
    summary = _running_summary(cfg, run, s, best)
    run.write_summary(summary.to_dict())

    batches = Batches(s.data, plan, mode, s.order, start)
    validate = Validator.of(mode, s.data)
    keeper = CheckpointKeeper(run, cfg, plan, best, checkpoint=start)
    last_finite = next((r["loss"] for r in reversed(kept)), None) if s.resumed and start > 0 else None
    step, status = start, "completed"
    clock.start(s.elapsed_s)
    if stop.signum is not None and start < plan.steps:  # a signal during start-up: stop at the checkpoint just made
        status, summary.signal = "interrupted", _signal_name(stop.signum)
    with limit_blas(summary.threads), run.open_metrics(keep_before=start, logged=s.keep_row) as metrics, \
            np.errstate(all="ignore"):
        rows = RowLogger(metrics, plan, on_log)
        for t in range(start, plan.steps if status == "completed" else start):
            loss = mode.step(*batches.get(t))
            finite = math.isfinite(loss)
            logged = not finite or plan.logged(t)
            val = validate() if logged and finite and validate is not None else Validator.NONE
            elapsed = clock.elapsed()
            pruned = rows.write(t, loss, elapsed, val) if logged else False
            if on_step is not None:
                on_step(t, loss)
            if not finite:
                status, summary.diverged_at = "diverged", t
                break
            last_finite, step = loss, t + 1
            rng = functools.partial(_rng_json, cfg, s.order, batches, step)
            keeper.consider(step, val, mode, elapsed, rng)
            stopping = (stop.signum is not None or pruned) and step < plan.steps
            if keeper.due(step, stopping):
                keeper.save(step, mode, clock, rng)
            if stopping:
                status = "pruned" if pruned else "interrupted"
                summary.signal = None if pruned else _signal_name(stop.signum)
                break
    keeper.flush_best()
    stop.deferred = True  # from here on a signal no longer cuts anything short
    summary.status, summary.step, summary.final_loss, summary.checkpoint = status, step, last_finite, keeper.checkpoint
    summary.best_val_loss, summary.best_val_accuracy, summary.best_step = (keeper.best.val_loss,
                                                                           keeper.best.val_accuracy, keeper.best.step)
    wall = clock.elapsed()  # every segment's training time, as an uninterrupted run counts it
    ran = step + (1 if status == "diverged" else 0)
    summary.wall_time_s, summary.steps_per_s = wall, (ran / wall if wall > 0 else 0.0)
    run.write_summary(summary.to_dict())
    return summary


def _running_summary(cfg: FitConfig, run: RunRecord, s: Start, best: BestValidation) -> Summary:
    """summary.json while the fit runs: where it started, and the best of the rows a resume keeps."""
    return Summary(status="running", run_dir=str(run.path), mode=cfg.mode, steps=s.plan.steps, step=s.step,
                   final_loss=None, wall_time_s=0.0, steps_per_s=0.0, config_hash=cfg.config_hash(),
                   resumed_from=s.step if s.resumed else None, notes=s.notes, checkpoint=s.step,
                   epochs=cfg.epochs, batches_per_epoch=s.plan.per_epoch, threads=blas_threads(cfg, s.plan.batch),
                   best_val_loss=best.val_loss, best_val_accuracy=best.val_accuracy, best_step=best.step)


def _drop_off_schedule(run: RunRecord, cfg: FitConfig, plan: "FitPlan", newest: int, best: int | None) -> None:
    """Remove checkpoints older than ``newest`` that an uninterrupted run never writes: one a signal made
    (the run has continued past it) or a shorter run's last step (the run was extended past it).  Then the
    run's checkpoints, and what keep_checkpoints prunes, are an uninterrupted run's."""
    for step, path in run.checkpoints():
        if step < newest and step != best and step % cfg.checkpoint_every and step != plan.steps:
            path.unlink(missing_ok=True)


def _start_of_extension(run: RunRecord, cfg: FitConfig, plan: "FitPlan", ckpt):
    """(the checkpoint to continue from, the row filter) so an extended run ends as an uninterrupted one would.

    The shorter run logged its last step, which the longer plan may not log: that row goes, and with it
    maybe the best validation loss.  The best among the remaining rows needs its checkpoint, which the
    shorter run may never have written (a later best replaced it before the next checkpoint); then the run
    continues from the newest checkpoint at or before that best, and the replay, bit-identical, writes it.
    """
    rows = [r for r in run.read_metrics().rows() if r["step"] < ckpt.step]
    kept = [r for r in rows if plan.logged(r["step"])]
    if len(kept) == len(rows):
        return ckpt, None
    best_step = best_validation(kept)[2]
    if best_step is None or run.checkpoint_path(best_step).is_file():
        return ckpt, plan.logged
    for step, path in reversed(run.checkpoints()):
        if step <= best_step:
            try:
                return run.load_checkpoint(path, cfg, run_checkpoint_spec(cfg)), plan.logged
            except CheckpointError:
                continue
    return ckpt, None  # nothing to replay from: the old rows (and their best) stay as they are


def total_steps(cfg: FitConfig, run: RunRecord | None = None) -> int:
    """How many updates ``cfg`` trains (``epochs`` x batches per epoch, or ``steps``), for progress bars."""
    if cfg.epochs is None:
        return cfg.steps
    data = fit_data_for(cfg, run)
    return FitPlan.of(cfg, data).steps


# ------------------------------------------------------------------------------------ plan, batches, validation
@dataclass(frozen=True)
class FitPlan:
    """How long a fit runs and what it logs: ``steps`` updates of ``batch`` rows, ``per_epoch`` per pass."""

    steps: int
    batch: int
    per_epoch: int
    n_train: int
    shuffle: bool
    log_every: int
    by_epoch: bool

    @classmethod
    def of(cls, cfg: FitConfig, data: FitData) -> "FitPlan":
        n = len(data.x_train)
        batch = n if cfg.synthetic or cfg.N is None else min(cfg.N, n)
        per_epoch = batches_per_epoch(n, batch)
        steps = cfg.epochs * per_epoch if cfg.epochs is not None else cfg.steps
        shuffle = cfg.shuffle if cfg.shuffle is not None else per_epoch > 1
        return cls(steps, batch, per_epoch, n, shuffle, cfg.log_every, cfg.epochs is not None)

    def epoch_of(self, step: int) -> int | None:
        """The epoch of ``step``; None (an empty cell) for the seed's kind of run, full batches counted in steps,
        where every step is an epoch and the column would only repeat the step."""
        if self.per_epoch == 1 and not self.by_epoch:
            return None
        return step // self.per_epoch

    def logged(self, step: int) -> bool:
        """The seed's rows (first few, every ``log_every``-th, the last) and, with minibatches, each epoch's end."""
        end_of_epoch = self.per_epoch > 1 and step % self.per_epoch == self.per_epoch - 1
        return is_logged(step, self.steps, self.log_every) or end_of_epoch


class Batches:
    """The minibatch of each step: epoch e's order is a permutation drawn from ``order`` when e starts (or
    the rows in file order without shuffling); full batches are converted for the mode once."""

    def __init__(self, data: FitData, plan: FitPlan, mode, order: np.random.Generator, start: int):
        self.data, self.plan, self.mode, self.order = data, plan, mode, order
        self.perm, self.epoch = None, None
        self.epoch_state = order.bit_generator.state
        self.whole = mode.prepare(data.x_train, data.y_train) if plan.per_epoch == 1 and not plan.shuffle else None

    def get(self, t: int):
        if self.whole is not None:
            return self.whole
        epoch, b = divmod(t, self.plan.per_epoch)
        if epoch != self.epoch:
            self.epoch_state = self.order.bit_generator.state
            self.perm = self.order.permutation(self.plan.n_train) if self.plan.shuffle else None
            self.epoch = epoch
        lo, hi = b * self.plan.batch, min((b + 1) * self.plan.batch, self.plan.n_train)
        if self.perm is None:
            return self.mode.prepare(self.data.x_train[lo:hi], self.data.y_train[lo:hi])
        rows = self.perm[lo:hi]
        return self.mode.prepare(self.data.x_train[rows], self.data.y_train[rows])

    def state_for(self, next_step: int) -> dict:
        """The generator state a resume at ``next_step`` needs: the one before that step's epoch was drawn."""
        epoch = next_step // self.plan.per_epoch
        return self.epoch_state if epoch == self.epoch else self.order.bit_generator.state


def fit_data_for(cfg: FitConfig, run: RunRecord | None = None) -> FitData:
    """The run's own data.npz when it has one (a resumed run never re-reads a file that may have changed),
    else the data ``cfg`` names."""
    if run is not None and run.data_path.exists():
        try:
            return load_fit_data(run.data_path)
        except DataError as exc:
            raise DataError(f"{exc}; the run cannot be resumed") from None
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise DataError(f"{run.data_path}: unreadable ({type(exc).__name__}: {exc}); the run cannot be "
                            "resumed") from None
    return prepare_fit_data(cfg)


def _rng_json(cfg: FitConfig, order: np.random.Generator, batches: "Batches | None" = None,
              next_step: int = 0) -> str:
    """The random state a checkpoint needs, as JSON: the data-order generator's state before the epoch of
    ``next_step`` was drawn (the weights and the split come from the seed and are in data.npz)."""
    state = batches.state_for(next_step) if batches is not None else order.bit_generator.state
    return json.dumps({"seed": cfg.seed, "generator": "numpy.random.default_rng([seed, 2])", "data_order": state})


def _restore_order(order: np.random.Generator, text: str) -> None:
    """Put the data-order generator back where the checkpoint left it (seed-format checkpoints: unchanged)."""
    try:
        state = loads_json(text).get("data_order") if text else None
    except (ValueError, AttributeError):
        state = None
    if state is not None:
        order.bit_generator.state = state



def resume_config(run: RunRecord, config: str | os.PathLike | None, overrides: Iterable[str] = ()) -> FitConfig:
    """The config to resume ``run`` with: its own; a CONFIG/--set given too must describe the same run,
    except a larger ``steps``/``epochs`` (extending the run, which then becomes its own config) or another
    ``keep_checkpoints``.  Anything else is refused with a RunError naming the differing keys."""
    from autotrain.training.config import LENGTH_KEYS, load_config

    cfg = run.read_config()
    overrides = list(overrides)
    if config is not None or overrides:
        given = load_config(config or run.config_path, overrides, check=False)
        a, b = cfg.model_dump(), given.model_dump()
        if given.config_hash() != cfg.config_hash():
            from autotrain.training.issues import shown

            diff = ", ".join(f"{k}: run has {shown(a[k])}, given {shown(b[k])}" for k in a if a[k] != b[k]
                             and k not in LENGTH_KEYS)
            raise RunError(f"refusing to resume {run.path}: it was made with another config ({diff}); "
                           "start a new run instead, or resume without CONFIG/--set (only a larger steps or "
                           "epochs, to extend the run, and keep_checkpoints may change)")
        shorter = [k for k in ("steps", "epochs") if a[k] is not None and b[k] is not None and b[k] < a[k]]
        if (a["epochs"] is None) != (b["epochs"] is None):
            shorter.append("epochs")
        if shorter:
            k = shorter[0]
            raise RunError(f"refusing to resume {run.path} with {k}: {b[k]!r}: the run has {k}: {a[k]!r}; a run can "
                           f"be extended (a larger {k}) but not shortened or switched between steps and epochs")
        if a != b:
            cfg = given  # written by fit() once it holds the run's lock (a refused resume writes nothing)
    return cfg


def adopt_length(run: RunRecord, cfg: FitConfig) -> None:
    """Make an extended length (or another keep_checkpoints) the run's own config.yaml; called with the
    run's lock held, so a resume refused for any reason (the run in use, a bad resource) changes no file."""
    try:
        own = run.read_config()
    except Exception:  # noqa: BLE001 - an unreadable config.yaml is the resume's to report, not this
        return
    if own.model_dump() != cfg.model_dump() and own.config_hash() == cfg.config_hash():
        run.write_config(cfg)


__all__ = ["fit", "run_steps", "Summary", "is_logged", "problem_for", "FIRST_ROWS", "stop_on_signals", "StopFlag",
           "finished_summary", "resume_config", "Clock", "Validator", "CheckpointKeeper", "RowLogger", "BestValidation",
           "begin"]
