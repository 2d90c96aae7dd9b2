"""``autotrain fit``: train a config into a run directory (or, with --sweep, a grid of them)."""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated, Optional

import typer

from autotrain.cli import display
from autotrain.cli.errors import BadInput, exit_codes, exit_with
from autotrain.cli.exits import ExitCode, for_status

NOTHING_WRITTEN = "nothing was written"
from autotrain.cli.options import ConfigArg, SetOpt, TensorBoardOpt, ThreadsOpt, WideOpt, WorkersOpt


def fit(
    config: ConfigArg = None,
    set_: SetOpt = None,
    print_config: Annotated[bool, typer.Option("--print-config", help="Print the resolved config and exit "
                                               "(as JSON with --json).")] = False,
    runs_dir: Annotated[Path, typer.Option(help="Root folder for new run directories.")] = Path("runs"),
    resume: Annotated[Optional[Path], typer.Option(help="Continue the run in RUN_DIR from its newest checkpoint.",
                                                   metavar="RUN_DIR")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no table.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON (implies --quiet).")] = False,
    tensorboard: TensorBoardOpt = None,
    sweep_: Annotated[Optional[list[str]], typer.Option("--sweep", metavar="KEY=V1,V2,...",
                                                        help="Sweep KEY over the values (repeatable: a grid); "
                                                             "see `autotrain sweep`.")] = None,
    workers: WorkersOpt = None,
    metric: Annotated[str, typer.Option(help="With --sweep: the metric that ranks the trials.")] = "loss",
    threads: ThreadsOpt = None,
    wide: WideOpt = False,
) -> None:
    """Train the network in CONFIG; write a new run directory.

    The run directory (under --runs-dir) gets config.yaml, metrics.csv, data.npz, checkpoints/ and summary.json.
    """
    from autotrain.store.fitting import FitJob
    from autotrain.training import train

    if sweep_:
        return _fit_sweep(config, list(set_ or []), sweep_, runs_dir, workers, metric, tensorboard,
                          quiet, as_json, threads, wide, conflicting=[name for name, given in (
                              ("--resume", resume), ("--print-config", print_config)) if given])
    job = FitJob(config, set_ or [], runs_dir=runs_dir, resume=resume, threads=threads, tensorboard=tensorboard)
    if print_config:
        with exit_codes(kept=NOTHING_WRITTEN):
            resolved = job.resolved()
            display.use_wide(wide)
            return display.resolved_config_json(resolved) if as_json else display.resolved_config(resolved)
    from autotrain.sweep.launch import run_fit

    # Signal handlers before the first write: a Ctrl-C/SIGTERM from here on ends with exit 130 and a true message.
    with train.stop_on_signals() as stop, exit_codes(job.interrupted_message, job.kept_message):
        outcome = run_fit(job, progress=partial(display.progress, quiet=quiet or as_json), stop=stop)
        display.use_wide(wide)
        display.fit_outcome(outcome, json_out=as_json, quiet=quiet)
    exit_with(for_status(outcome.status))


def _fit_sweep(config, overrides, sweeps, runs_dir, workers, metric, tensorboard, quiet, as_json, threads, wide,
               conflicting=()) -> None:
    """``fit CONFIG --sweep KEY=V1,V2``: a grid sweep over CONFIG, the same as a sweep file."""
    from autotrain.store.fitting import threads_override
    from autotrain.sweep.launch import KEPT, quick_sweep, result_dict

    with exit_codes(kept=KEPT):
        if conflicting:
            raise BadInput(f"--sweep cannot be combined with {conflicting[0]} (finish a sweep with: "
                           "autotrain sweep --resume SWEEP_DIR)")
        result = quick_sweep(config, sweeps, overrides + threads_override(threads), metric=metric,
                             runs_dir=runs_dir, workers=workers, tensorboard=tensorboard,
                             progress=partial(display.sweep_progress, quiet=quiet or as_json))
        if as_json:  # the same document as `autotrain sweep --json`
            display.as_json(result_dict(result))
            display.sweep_interrupted(result)
        else:
            display.use_wide(wide)
            display.sweep_result(result)
    exit_with(ExitCode.INTERRUPTED if result.interrupted else ExitCode.OK)
