"""``autotrain gradcheck`` and ``autotrain compare-modes``: the commands that check the engine and the modes."""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated, Optional

import typer

from autotrain.cli import display
from autotrain.cli.errors import exit_codes, exit_with
from autotrain.cli.exits import ExitCode
from autotrain.cli.options import MODES_HELP, Against, DType, QuietOpt, SetOpt, ThreadsOpt, WideOpt, choice, value


def gradcheck(
    config: Annotated[Optional[Path], typer.Argument(help="YAML config: check the two-layer loss at its sizes and "
                                                         "seed (sampling Jacobian entries). Default: tiny sizes.",
                                                    show_default=False)] = None,
    dtype: Annotated[DType, choice(DType, "--dtype", help="float64 is the stricter check.")
                     ] = DType.float64,
    eps: Annotated[Optional[float], typer.Option(help="Finite-difference step (default: 1e-6 float64, 1e-3 float32).",
                                                 show_default=False)] = None,
    atol: Annotated[Optional[float], typer.Option(help="Absolute tolerance of the pass rule (default: 1e-5 float64, "
                                                       "1e-2 float32).", show_default=False)] = None,
    rtol: Annotated[Optional[float], typer.Option(help="Relative tolerance of the pass rule (default: 1e-3 float64, "
                                                       "1e-2 float32).", show_default=False)] = None,
    only: Annotated[Optional[str], typer.Option(help="Run only checks whose name matches: a glob ('op:*', "
                                                     "'loss:static') or a substring ('relu').",
                                                metavar="PATTERN")] = None,
    wide: WideOpt = False,
) -> None:
    """Check every gradient against finite differences.

    Every op, the custom ReLU Function, and the two-layer loss in each mode, against finite differences and
    against each other; exit 1 on a failure, 2 for bad input (including --only matching nothing).
    """
    from autotrain.training import checks

    with exit_codes(checks.INTERRUPTED, checks.KEPT):
        report = checks.gradcheck(config, value(dtype), eps, atol, rtol, only)
        display.use_wide(wide)
        display.gradcheck_report(report)
    exit_with(ExitCode.OK if report.passed else ExitCode.CHECK_FAILED)


def compare_modes(
    config: Annotated[Path, typer.Argument(help="YAML config file (see configs/).", show_default=False)],
    set_: SetOpt = None,
    modes: Annotated[Optional[list[str]], typer.Option("--modes", help="Modes to run, comma-separated or repeated "
                                                       f"(default: every mode: {MODES_HELP}; manual always "
                                                       "runs, as the reference).")] = None,
    steps: Annotated[Optional[int], typer.Option(min=1, help="Steps per mode (default: the config's).")] = None,
    show_graph: Annotated[bool, typer.Option("--show-graph", help="Print the static graph's node counts per "
                                             "compiler pass and fused groups; write DOT files to the run.")] = False,
    plot: Annotated[Optional[Path], typer.Option(help="Write the loss curves to FILE (.png, .svg; needs "
                                                      "autotrain[plot]); a copy goes to the run directory.",
                                                 metavar="FILE")] = None,
    against: Annotated[Optional[list[Against]], choice(Against, "--against", help="Add the seed run in a real "
                                                       "framework (repeatable).")] = None,
    runs_dir: Annotated[Path, typer.Option(help="Root folder for the comparison's run directory.")] = Path("runs"),
    quiet: QuietOpt = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON (implies --quiet).")] = False,
    threads: ThreadsOpt = None,
    wide: WideOpt = False,
) -> None:
    """Train CONFIG in every mode; compare them.

    Identical data and weights for every mode; compares losses, weights, speed and memory; exit 1 if any
    mode disagrees with manual, 3 if every mode diverged (lower lr).
    """
    from autotrain.store.comparisons import compare_and_write
    from autotrain.training import compare

    with exit_codes(compare.INTERRUPTED, compare.KEPT):
        display.require_plot_file(plot)
        result = compare_and_write(config, set_ or [], modes=modes, steps=steps,
                                   against=[value(a) for a in against or []], graph=show_graph, runs_dir=runs_dir,
                                   threads=threads, progress=partial(display.mode_progress, quiet=quiet or as_json))
        display.use_wide(wide)
        display.comparison_outcome(result, json_out=as_json, show_graph=show_graph, plot=plot)
    exit_with(ExitCode.DIVERGED if result.diverged else ExitCode.OK if result.agree else ExitCode.CHECK_FAILED)
