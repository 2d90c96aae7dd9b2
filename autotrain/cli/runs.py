"""The commands that read run directories: evaluate, predict, runs, show, plot, export-tensorboard."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from autotrain.cli import display
from autotrain.cli.errors import exit_codes
from autotrain.cli.options import CheckpointOpt, RunArg, RunStatus, SortKey, ThreadsOpt, WideOpt, choice, value

UNCHANGED = "nothing was changed"
NOTHING_WRITTEN = "nothing was written"


def evaluate(
    run: RunArg,
    data: Annotated[Optional[Path], typer.Option("--data", help="A file in the training data's format (default: the "
                                                 "run's validation split).", metavar="FILE")] = None,
    checkpoint: CheckpointOpt = "last",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    threads: ThreadsOpt = None,
) -> None:
    """Loss (and accuracy, for classification) of a run's checkpoint.

    On the run's validation split, or on FILE (the saved standardisation and class names are applied).
    """
    from autotrain.store.evaluate import evaluate_run

    with exit_codes(kept=NOTHING_WRITTEN):
        result = evaluate_run(run, data, checkpoint, threads=threads or "auto")
        display.as_json(result.to_dict()) if as_json else display.evaluation(result)


def predict(
    run: RunArg,
    input_: Annotated[Path, typer.Option("--input", help="Rows to predict: a CSV with the training features' "
                                         "header, or a 2-D .npy.", metavar="FILE", show_default=False)],
    output: Annotated[Path, typer.Option("--output", help="Where to write the predictions (.csv or .npy).",
                                         metavar="FILE", show_default=False)],
    checkpoint: CheckpointOpt = "last",
) -> None:
    """Predict rows of FILE with a run's checkpoint; class names for classification."""
    from autotrain.store.evaluate import predict_run

    with exit_codes(kept=f"{output} is written whole or not at all: nothing was written"):
        result = predict_run(run, input_, output, checkpoint)
        display.prediction(result)


def runs(
    runs_dir: Annotated[Optional[Path], typer.Option(help="The folder of run directories.  [default: runs]",
                                                     show_default=False)] = None,
    status: Annotated[Optional[RunStatus], choice(RunStatus, "--status", help="Only runs with this status.",
                                                   metavar="STATUS")] = None,
    sort: Annotated[SortKey, choice(SortKey, "--sort", help="The order of the list.", metavar="KEY")] = SortKey.start,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
    wide: WideOpt = False,
) -> None:
    """List every run, comparison and sweep in --runs-dir (newest first).

    One row each: directory, name, mode, status, step/steps, final loss, best validation figure, steps/s,
    start time, size on disk; a sweep's trials under it. A damaged or foreign folder is a row marked
    unreadable.
    """
    from autotrain.store import catalog

    with exit_codes(kept=UNCHANGED):
        listing = catalog.runs_in(runs_dir, status=value(status), sort=value(sort))
        if as_json:
            return display.as_json(listing.to_dict())
        display.use_wide(wide)
        display.runs_table(listing.entries, str(listing.runs_dir))


def show(
    run: Annotated[Path, typer.Argument(help="A run, compare-modes or sweep directory.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print everything as JSON (metrics as columns).")] = False,
    wide: WideOpt = False,
) -> None:
    """Show one run: resolved config, summary, checkpoints kept, and its loss curves in the terminal."""
    from autotrain.store import catalog

    with exit_codes(kept=UNCHANGED):
        detail = catalog.detail(run)
        if as_json:
            return display.as_json(detail.to_dict())
        display.use_wide(wide)
        display.show_run(detail)


def plot(
    runs: Annotated[list[Path], typer.Argument(help="Run/compare directories (loss curves), or one sweep "
                                                    "directory (its metric against the swept key).",
                                               show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="The image to write: .png, .svg or .pdf.",
                                         show_default=False)],
) -> None:
    """Draw runs' loss curves on one chart, or a sweep's metric against its swept key (needs autotrain[plot])."""
    from autotrain.cli import plots

    with exit_codes(kept=UNCHANGED):
        drawn = plots.draw(runs, output)
        display.drawn(drawn)


def export_tensorboard(
    runs: Annotated[list[Path], typer.Argument(help="Run, compare-modes or sweep directories.", show_default=False)],
    overwrite: Annotated[bool, typer.Option(help="Replace event files a directory already has.")] = False,
) -> None:
    """Write TensorBoard event files for runs made without them, from their metrics.csv."""
    from autotrain.store import tensorboard as tb

    with exit_codes(kept="the event files already written are kept; the others were not started"):
        export = tb.export_runs(runs, overwrite=overwrite, on_written=display.wrote_events)
        display.exported(export)
