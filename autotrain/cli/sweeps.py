"""``autotrain sweep``: run a sweep file, finish one (--resume), or write its best trial's config (best)."""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated, Optional

import typer

from autotrain.cli import display
from autotrain.cli.errors import BadInput, exit_codes, exit_with
from autotrain.cli.exits import ExitCode
from autotrain.cli.options import Backend, TensorBoardOpt, WideOpt, WorkersOpt, choice, value


def sweep(
    spec: Annotated[Optional[Path], typer.Argument(help="The sweep file (YAML; see configs/sweep_lr.yaml), or "
                                                        "`best SWEEP_DIR` to write the best trial's config.",
                                                   metavar="SWEEP_FILE | best SWEEP_DIR", show_default=False)] = None,
    sweep_dir: Annotated[Optional[Path], typer.Argument(hidden=True, show_default=False)] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="With best: the config file to write "
                                                                        "(default: print it).")] = None,
    resume: Annotated[Optional[Path], typer.Option(help="Finish the sweep in SWEEP_DIR: finished trials are "
                                                        "kept, interrupted ones resume, missing ones start.",
                                                   metavar="SWEEP_DIR")] = None,
    workers: WorkersOpt = None,
    backend: Annotated[Backend, choice(Backend, "--backend", help="local: processes on this machine.")
                       ] = Backend.local,
    address: Annotated[Optional[str], typer.Option(help="With --backend ray: the cluster to join (e.g. "
                                                        "ray://head:10001, or auto); default: a local Ray.")
                       ] = None,
    runs_dir: Annotated[Path, typer.Option(help="Root folder for the sweep directory.")] = Path("runs"),
    tensorboard: TensorBoardOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the trials as JSON.")] = False,
    wide: WideOpt = False,
) -> None:
    """Run a sweep: one ordinary run directory per trial, a sweep.csv, and a table sorted by the metric.

    `autotrain sweep best SWEEP_DIR [--output best.yaml]` writes the best completed trial's full config,
    ready for `autotrain fit`.
    """
    from autotrain.sweep import launch

    if spec is not None and str(spec) == "best" and not spec.exists():
        with exit_codes(kept="the config is written whole or not at all: nothing was written"):
            best = launch.write_best(sweep_dir, output)
            return display.best_config(best)
    with exit_codes(kept=launch.KEPT):
        if sweep_dir is not None or output is not None:
            raise BadInput("a second argument and --output belong to: autotrain sweep best SWEEP_DIR")
        result = launch.sweep(spec, resume=resume, runs_dir=runs_dir, workers=workers, backend=value(backend),
                              address=address, tensorboard=tensorboard,
                              progress=partial(display.sweep_progress, quiet=quiet or as_json))
        if as_json:
            display.as_json(launch.result_dict(result))
            display.sweep_interrupted(result)
        else:
            display.use_wide(wide)
            display.sweep_result(result)
    exit_with(ExitCode.INTERRUPTED if result.interrupted else ExitCode.OK)
