"""A sweep (or a fit that may be a sweep's trial) as one library call, with every check that must come
before the first write: the backend and its extra, Optuna for a search or a pruner, TensorBoard.

Nothing here prints; ``progress(total)`` is the caller's display, a context manager yielding the
``on_progress(p)`` callback (or None).
"""
from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ContextManager, Iterable

from autotrain.store.fitting import FitJob, FitOutcome, check_tensorboard
from autotrain.sweep import report
from autotrain.sweep.local import open_sweep, resume_sweep, run_sweep
from autotrain.sweep.names import BACKENDS
from autotrain.sweep.results import SweepResult, best_config
from autotrain.sweep.spec import SweepSpec, load_sweep, quick_spec
from autotrain.training.usage import UsageError

#: What a sweep stopped by an OS error or a hard interrupt leaves.
KEPT = "finished trials and every checkpoint are kept (autotrain sweep --resume SWEEP_DIR)"
TrialDisplay = Callable[[int], ContextManager]  # display(total trials) -> context yielding on_progress


def run_fit(job: FitJob, *, progress=None, stop=None) -> FitOutcome:
    """``job.run_fit``, reporting its logged rows to the sweep's pruner when this process is a sweep's trial."""
    return job.run_fit(progress=progress, stop=stop, on_log=report.reporter_from_env())


def check_backend(spec: SweepSpec, backend: str, address: str | None, tensorboard: bool | None) -> None:
    """Refuse, before anything is written, what the sweep could not do here."""
    if backend not in BACKENDS:
        raise UsageError(f"--backend {backend!r}: choose local or ray")
    if backend == "ray":
        from autotrain.sweep.ray_backend import RAY_HINT, available
        if not available():
            raise UsageError(RAY_HINT)
    elif address is not None:
        raise UsageError("--address needs --backend ray")
    check_tensorboard(tensorboard)
    from autotrain.sweep import study

    if spec.needs_optuna and not study.available():
        raise UsageError(study.OPTUNA_HINT)


def sweep(spec_file: str | os.PathLike | None = None, *, resume: str | os.PathLike | None = None,
          runs_dir: str | os.PathLike = "runs", workers: int | None = None, backend: str = "local",
          address: str | None = None, tensorboard: bool | None = None,
          progress: TrialDisplay | None = None) -> SweepResult:
    """Run the sweep file ``spec_file`` into a new sweep directory under ``runs_dir``, or finish the sweep
    in ``resume`` (exactly one of them)."""
    if (spec_file is None) == (resume is None):
        raise UsageError("give a SWEEP file, or --resume SWEEP_DIR (not both)")
    if resume is not None:
        spec = open_sweep(resume)
    else:
        spec = load_sweep(spec_file)
    return _drive(spec, resume, runs_dir, workers, backend, address, tensorboard, progress)


def quick_sweep(config: str | os.PathLike | None, sweeps: list[str], overrides: Iterable[str] = (), *,
                metric: str = "loss", runs_dir: str | os.PathLike = "runs", workers: int | None = None,
                tensorboard: bool | None = None, progress: TrialDisplay | None = None) -> SweepResult:
    """``fit CONFIG --sweep KEY=V1,V2 ...``: a grid sweep over CONFIG, the same as a sweep file."""
    if config is None:
        raise UsageError("--sweep needs a CONFIG file")
    spec = quick_spec(config, sweeps, list(overrides), metric)
    return _drive(spec, None, runs_dir, workers, "local", None, tensorboard, progress)


def _drive(spec, resume, runs_dir, workers, backend, address, tensorboard, progress) -> SweepResult:
    check_backend(spec, backend, address, tensorboard)
    kwargs = dict(workers=workers, backend=backend, address=address, tensorboard=tensorboard)
    with (progress(spec.total) if progress is not None else nullcontext()) as on_progress:
        if resume is not None:
            return resume_sweep(resume, on_progress=on_progress, **kwargs)
        return run_sweep(spec, runs_dir, on_progress=on_progress, **kwargs)


def result_dict(result: SweepResult) -> dict:
    """A sweep's outcome as JSON data: where it is, its metric and goal, every trial's values and metric."""
    return {"sweep_dir": str(result.path), "metric": result.spec.metric, "goal": result.spec.goal,
            "interrupted": result.interrupted,
            "trials": [{"trial": r.trial.index, "run": r.trial.dirname, "values": r.trial.values,
                        "status": r.status, "value": r.metric} for r in result.results]}


@dataclass
class BestTrialConfig:
    """The best completed trial's full config as YAML, the line saying which trial it is, and the file it was
    written to (None: not written)."""

    text: str
    note: str
    output: Path | None = None


def write_best(sweep_dir: str | os.PathLike | None, output: str | os.PathLike | None = None) -> BestTrialConfig:
    """The best trial's config of the sweep in ``sweep_dir``, written atomically to ``output`` when given."""
    from autotrain.store.runs import atomic_write

    if sweep_dir is None:
        raise UsageError("sweep best needs a SWEEP_DIR, e.g. autotrain sweep best runs/<...>-sweep-lr")
    text, note = best_config(sweep_dir)
    if output is None:
        return BestTrialConfig(text, note)
    out = Path(output)
    if out.is_dir():
        raise UsageError(f"--output {out}: is a directory; give a file name, e.g. best.yaml")
    if not out.parent.is_dir():
        raise UsageError(f"--output {out}: the folder {out.parent} does not exist")
    atomic_write(out, lambda f: f.write(text.encode()))
    return BestTrialConfig(text, note, out)


__all__ = ["run_fit", "sweep", "quick_sweep", "check_backend", "result_dict", "write_best", "BestTrialConfig",
           "BACKENDS", "KEPT"]
