"""``fit`` as one library call: resolve the config, open or create the run, apply the resume and extend
rules, train it, and say in words what the run directory holds when it stops.

>>> job = FitJob("configs/two_layer.yaml", ["steps=20"], runs_dir="runs")     # doctest: +SKIP
>>> outcome = job.run()                                                      # doctest: +SKIP
>>> outcome.summary.status, outcome.message                                  # doctest: +SKIP
('completed', None)

Nothing here prints.  A progress display is the caller's: ``progress(total)`` is a context manager
yielding the ``on_step(step, loss)`` callback (or None).  The messages (``interrupted_message``,
``kept_message``, ``FitOutcome.message``) are read from the disk when they are asked for, so they are
true whenever the fit stops.
"""
from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ContextManager, Iterable

from autotrain.store import runs
from autotrain.training import train
from autotrain.training.usage import UsageError

StepDisplay = Callable[[int], ContextManager]  # progress(total steps) -> context yielding on_step (or None)


def lower_lr(lr: float) -> str:
    """A learning rate worth trying after a divergence: a tenth of the one that diverged, as a plain number."""
    return f"{lr / 10:.3g}"


def threads_override(threads: str | None) -> list[str]:
    """``--threads N|auto`` as a ``threads=...`` override (empty when not given); UsageError for a bad value."""
    from autotrain.training.threads import parse_threads

    if threads is None:
        return []
    try:
        return [f"threads={parse_threads(threads)}"]
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def named_after(cfg, config: str | os.PathLike):
    """A config that gives no ``name`` is named after its file (``my_data.yaml`` makes ``my_data`` runs)."""
    stem = Path(config).stem
    if "name" in cfg.model_fields_set or not stem.strip():
        return cfg
    return cfg.model_copy(update={"name": stem})


def check_tensorboard(wanted: bool | None) -> None:
    """``tensorboard=True`` without the extra: refused before anything is written."""
    from autotrain.store import tensorboard as tb

    if wanted and not tb.available():
        raise UsageError(tb.HINT + " (or leave out --tensorboard)")


def tensorboard_writer(run, cfg, wanted: bool | None):
    """The live TensorBoard writer of a fit: on when installed (or asked), off when ``wanted`` is False."""
    from autotrain.store import tensorboard as tb

    if wanted is False or not tb.available():
        return nullcontext()
    return tb.LiveWriter(run.path, cfg.model_dump(), resumed_from=tb.resume_step(run.path))


@dataclass
class FitOutcome:
    """What a fit did: its Summary, the run's metrics rows, and for a run that did not complete the line
    that says what happened and what to do (``message``; None when there is nothing to say)."""

    summary: train.Summary
    rows: list[dict] = field(default_factory=list)
    message: str | None = None

    @property
    def status(self) -> str:
        return self.summary.status

    def to_dict(self) -> dict:
        """The summary as summary.json holds it."""
        return self.summary.to_dict()


def outcome_message(summary: train.Summary, lr: float) -> str | None:
    """The line for a run that stopped without completing (``lr``: the run's, for a divergence), else None."""
    if summary.status == "diverged":
        return (f"diverged: the loss became non-finite at step {summary.diverged_at}; lower lr (try --set "
                f"lr={lower_lr(lr)}) and start again. Last finite checkpoint kept in {summary.run_dir}")
    if summary.status == "interrupted":
        if summary.checkpoint is None:
            return (f"interrupted ({summary.signal}) before the first checkpoint was written; nothing to resume: "
                    "start again with autotrain fit CONFIG")
        return (f"interrupted at step {summary.step} ({summary.signal or 'signal'}); the checkpoint at step "
                f"{summary.step} is kept. Continue with: autotrain fit --resume {summary.run_dir}")
    if summary.status == "failed":
        kept = ("no checkpoint was written" if summary.checkpoint is None else
                f"the newest complete checkpoint (step {summary.step}) is kept")
        return (f"{summary.error}; {kept}. Use smaller sizes, or free memory or raise the process limit "
                f"(ulimit -v) and continue with: autotrain fit --resume {summary.run_dir}")
    return None


class FitJob:
    """One ``fit`` from what a command line gives: a CONFIG and ``--set`` overrides for a new run under
    ``runs_dir``, or ``resume`` (a run directory) with an optional CONFIG/overrides that may only extend it.

    ``run`` is the run directory once it exists (None before), so ``interrupted_message`` and
    ``kept_message`` can say what is on disk whenever the fit stops.
    """

    def __init__(self, config: str | os.PathLike | None = None, overrides: Iterable[str] = (), *,
                 runs_dir: str | os.PathLike = "runs", resume: str | os.PathLike | None = None,
                 threads: str | None = None, tensorboard: bool | None = None):
        self.config, self.runs_dir, self.resume, self.tensorboard = config, runs_dir, resume, tensorboard
        self.overrides = list(overrides)
        self.threads = threads
        self.run: runs.RunDir | None = None

    def all_overrides(self) -> list[str]:
        return self.overrides + threads_override(self.threads)

    def resolved(self):
        """The resolved config (every key, its value and where it came from) without training anything."""
        from autotrain.training.config import resolve

        overrides = self.all_overrides()
        check_tensorboard(self.tensorboard)
        run = runs.open_run(self.resume) if self.resume is not None else None
        path = self.config or (run.config_path if run else None)
        if path is None:
            raise UsageError("--print-config needs a CONFIG file (or --resume RUN_DIR)")
        return resolve(path, overrides)

    def run_fit(self, *, progress: StepDisplay | None = None, stop: train.StopFlag | None = None,
                on_log: train.OnLog | None = None) -> FitOutcome:
        """Train: check everything that can be checked before the first write, then fit the run."""
        from autotrain.training.config import check_resources, load_config

        overrides = self.all_overrides()
        check_tensorboard(self.tensorboard)
        run = runs.open_run(self.resume) if self.resume is not None else None
        data = None
        if run is not None:
            cfg = train.resume_config(run, self.config, overrides)
            check_resources(cfg, str(run.config_path))
        elif self.config is None:
            raise UsageError("missing CONFIG: give a YAML config file, e.g. autotrain fit configs/two_layer.yaml")
        else:
            cfg = named_after(load_config(self.config, overrides), self.config)
            cfg, data = train.resolve_data(cfg, str(self.config))  # a bad data file: refused before any run exists
            check_resources(cfg, str(self.config))
        if stop is not None and stop.signum is not None:  # a signal while reading the config: nothing written yet
            raise KeyboardInterrupt
        if run is None:
            run = runs.create_run(cfg, self.runs_dir)
        self.run = run
        shown = progress(train.total_steps(cfg, run)) if progress is not None else nullcontext()
        with shown as on_step, tensorboard_writer(run, cfg, self.tensorboard):
            summary = train.fit(cfg, run, on_step=on_step, data=data, on_log=on_log)
        if stop is not None:
            stop.deferred = True  # the run is over; a signal now must not cut the report short
        return FitOutcome(summary=summary, rows=run.read_metrics().rows(), message=outcome_message(summary, cfg.lr))

    def interrupted_message(self) -> str:
        """What a hard interrupt leaves, read from the disk."""
        if self.run is None:
            return "interrupted before anything was written"
        found = self.run.checkpoints()
        if not found:
            return (f"interrupted before the first checkpoint of {self.run.path} was written; start again with "
                    "autotrain fit CONFIG")
        return (f"interrupted; the newest complete checkpoint (step {found[-1][0]}) is kept. "
                f"Continue with: autotrain fit --resume {self.run.path}")

    def kept_message(self) -> str:
        """What an OS error (disk full, read-only) leaves behind, read from the disk."""
        found = self.run.checkpoints() if self.run is not None else []
        if not found:
            return "nothing to resume (no checkpoint was written)"
        return f"the newest complete checkpoint is kept (step {found[-1][0]}): autotrain fit --resume {self.run.path}"


__all__ = ["FitJob", "FitOutcome", "lower_lr", "threads_override", "named_after", "check_tensorboard",
           "tensorboard_writer", "outcome_message"]
