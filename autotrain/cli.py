"""The ``autotrain`` command line: parse, call the library once, display; exceptions become exit codes.

Exit codes: 0 done, 1 OS error (disk full, read-only), 2 bad input (config, --set, run directory, device, memory), 3 diverged, 130 interrupted.
To add a command, write a function with an Annotated signature and wrap its body in ``exit_codes()``.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Iterator, Optional

import typer

from autotrain import display

if TYPE_CHECKING:
    from autotrain.config import FitConfig

# NOTE: autotrain.config (pydantic, numpy) is imported inside the commands, so `autotrain --help`
# starts in a fraction of the time; the commands themselves need it anyway.

EXIT_OS_ERROR, EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_INTERRUPTED = 1, 2, 3, 130

app = typer.Typer(help="Train small networks four ways on autotrain's own autograd engine.", rich_markup_mode=None,
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
config_app = typer.Typer(help="Inspect the config format.", no_args_is_help=True)
app.add_typer(config_app, name="config")


class BadInput(Exception):
    """Anything the user can fix by changing the command line; exit code 2."""


@contextmanager
def exit_codes() -> Iterator[None]:
    """The one place that turns library exceptions into a message and an exit code (never a traceback)."""
    from autotrain.config import ConfigError
    from autotrain.data import DataError
    from autotrain.runs import RunError

    try:
        yield
    except ConfigError as exc:
        n = len(exc.problems)
        head = "" if n == 1 else f"{n} problems in the config:\n"
        display.error(head + "\n".join(("  " if n > 1 else "") + str(p) for p in exc.problems))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except (BadInput, RunError, DataError) as exc:
        display.error(str(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except KeyboardInterrupt:  # a second Ctrl-C during a step or a checkpoint write
        display.error("interrupted; the newest complete checkpoint is kept (resume with --resume RUN_DIR)")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except RuntimeError as exc:
        if type(exc).__name__ != "DeviceUnavailableError":  # engine/backend.py's; not imported here (lazy)
            raise
        display.error(str(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except OSError as exc:  # disk full, read-only runs dir...: the previous checkpoint is intact
        display.error(f"{exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}; "
                      "the newest complete checkpoint is kept")
        raise typer.Exit(EXIT_OS_ERROR) from None


ConfigArg = Annotated[Optional[Path], typer.Argument(help="YAML config file (see configs/). Optional with --resume.",
                                                     show_default=False)]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", metavar="KEY=VALUE",
                                                     help="Override one config key; repeatable.")]


def _config_for_resume(run, config: Path | None, overrides: list[str]) -> FitConfig:
    """The run's own config; a CONFIG/--set given too must describe the same run, except a larger
    ``steps``/``epochs`` (extend the run) or another ``keep_checkpoints``."""
    from autotrain.config import LENGTH_KEYS, load_config

    cfg = run.read_config()
    if config is not None or overrides:
        given = load_config(config or run.config_path, overrides, check=False)
        a, b = cfg.model_dump(), given.model_dump()
        if given.config_hash() != cfg.config_hash():
            diff = ", ".join(f"{k}: run has {a[k]!r}, given {b[k]!r}" for k in a if a[k] != b[k]
                             and k not in LENGTH_KEYS)
            raise BadInput(f"refusing to resume {run.path}: it was made with another config ({diff}); "
                           "start a new run instead, or resume without CONFIG/--set (only a larger steps or "
                           "epochs, to extend the run, and keep_checkpoints may change)")
        shorter = [k for k in ("steps", "epochs") if a[k] is not None and b[k] is not None and b[k] < a[k]]
        if (a["epochs"] is None) != (b["epochs"] is None):
            shorter.append("epochs")
        if shorter:
            k = shorter[0]
            raise BadInput(f"refusing to resume {run.path} with {k}: {b[k]!r}: the run has {k}: {a[k]!r}; a run can "
                           f"be extended (a larger {k}) but not shortened or switched between steps and epochs")
        if a != b:
            run.write_config(given)  # the extended length is now the run's own
            cfg = given
    return cfg


@app.command()
def fit(
    config: ConfigArg = None,
    set_: SetOpt = None,
    print_config: Annotated[bool, typer.Option("--print-config", help="Print the resolved config and exit.")] = False,
    runs_dir: Annotated[Path, typer.Option(help="Root folder for new run directories.")] = Path("runs"),
    resume: Annotated[Optional[Path], typer.Option(help="Continue the run in RUN_DIR from its newest checkpoint.",
                                                   metavar="RUN_DIR")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no table.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON (implies --quiet).")] = False,
) -> None:
    """Train the network in CONFIG; write a new run directory.

    The run directory (under --runs-dir) gets config.yaml, metrics.csv, data.npz, checkpoints/ and summary.json.
    """
    from autotrain import runs, train
    from autotrain.config import check_resources, load_config, resolve

    overrides = list(set_ or [])
    with exit_codes():
        run = runs.open_run(resume) if resume is not None else None
        if print_config:
            path = config or (run.config_path if run else None)
            if path is None:
                raise BadInput("--print-config needs a CONFIG file (or --resume RUN_DIR)")
            display.resolved_config(resolve(path, overrides))
            return
        data = None
        if run is not None:
            cfg = _config_for_resume(run, config, overrides)
            check_resources(cfg, str(run.config_path))
        elif config is None:
            raise BadInput("missing CONFIG: give a YAML config file, e.g. autotrain fit configs/two_layer.yaml")
        else:
            cfg = load_config(config, overrides)
            cfg, data = train.resolve_data(cfg, str(config))  # a bad data file: exit 2 before any run exists
            check_resources(cfg, str(config))
            run = runs.create_run(cfg, runs_dir)
        with display.progress(train.total_steps(cfg, run), quiet=quiet or as_json) as on_step:
            summary = train.fit(cfg, run, on_step=on_step, data=data)
    if as_json:
        display.as_json(summary.to_dict())
    elif not quiet:
        display.summary(summary, run.read_metric_rows())
    if as_json or quiet:  # a skipped damaged checkpoint is news even to a script: stderr, like the hints
        for note in summary.notes:
            display.hint(f"note: {note}")
    _finish(summary)


def _finish(summary) -> None:
    """Exit code and hint for a run that did not complete."""
    if summary.status == "diverged":
        display.hint(f"diverged: the loss became non-finite at step {summary.diverged_at}; lower lr "
                     f"(e.g. --set lr=...) and start again. Last finite checkpoint kept in {summary.run_dir}")
        raise typer.Exit(EXIT_DIVERGED)
    if summary.status == "interrupted":
        display.hint(f"interrupted at step {summary.step} ({summary.signal}); checkpoint written. "
                     f"Continue with: autotrain fit --resume {summary.run_dir}")
        raise typer.Exit(EXIT_INTERRUPTED)


@app.command()
def gradcheck(
    config: Annotated[Optional[Path], typer.Argument(help="YAML config: check the two-layer loss at its sizes and "
                                                         "seed (sampling Jacobian entries). Default: tiny sizes.",
                                                    show_default=False)] = None,
    dtype: Annotated[str, typer.Option(help="float64 (reliable) or float32 (needs looser tolerances).")] = "float64",
    eps: Annotated[float, typer.Option(help="Finite-difference step.")] = 1e-6,
    atol: Annotated[float, typer.Option(help="Absolute tolerance of the pass rule.")] = 1e-5,
    rtol: Annotated[float, typer.Option(help="Relative tolerance of the pass rule.")] = 1e-3,
    only: Annotated[Optional[str], typer.Option(help="Run only checks whose name matches: a glob ('op:*', "
                                                     "'loss:static') or a substring ('relu').",
                                                metavar="PATTERN")] = None,
) -> None:
    """Check every gradient against finite differences.

    Every op, the custom ReLU Function, and the two-layer loss in each mode, against finite differences and
    against each other; exit 1 on a failure.
    """
    from autotrain import checks
    from autotrain.config import load_config

    with exit_codes():
        if dtype not in ("float32", "float64"):
            raise BadInput(f"--dtype {dtype!r}: choose float32 or float64")
        cfg = load_config(config) if config is not None else None
        report = checks.run_checks(cfg, dtype=dtype, eps=eps, atol=atol, rtol=rtol, only=only)
    display.gradcheck_report(report)
    if not report.passed:
        raise typer.Exit(1)


@app.command("compare-modes")
def compare_modes(
    config: Annotated[Path, typer.Argument(help="YAML config file (see configs/).", show_default=False)],
    set_: SetOpt = None,
    modes: Annotated[Optional[list[str]], typer.Option("--modes", help="Modes to run, comma-separated or repeated "
                                                       "(default: all four; manual always runs, as the reference).")
                     ] = None,
    steps: Annotated[Optional[int], typer.Option(min=1, help="Steps per mode (default: the config's).")] = None,
    show_graph: Annotated[bool, typer.Option("--show-graph", help="Print the static graph's node counts per "
                                             "compiler pass and fused groups; write DOT files to the run.")] = False,
    plot: Annotated[Optional[Path], typer.Option(help="Write the loss curves to FILE (.png, .svg; needs "
                                                      "autotrain[plot]); a copy goes to the run directory.",
                                                 metavar="FILE")] = None,
    against: Annotated[Optional[list[str]], typer.Option(help="Add the seed run in real torch or jax (repeatable).")
                       ] = None,
    runs_dir: Annotated[Path, typer.Option(help="Root folder for the comparison's run directory.")] = Path("runs"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Train CONFIG in all four modes; compare them.

    Identical data and weights for every mode; compares losses, weights, speed and memory; exit 1 if any
    mode disagrees with manual.
    """
    import importlib.util

    from autotrain import compare
    from autotrain.config import load_config

    with exit_codes():
        bad = [a for a in against or [] if a not in compare.AGAINST]
        if bad:
            raise BadInput(f"--against {bad[0]!r}: choose from {', '.join(compare.AGAINST)}")
        if plot is not None and importlib.util.find_spec("matplotlib") is None:
            raise BadInput("--plot needs matplotlib: pip install 'autotrain[plot]' (or leave out --plot)")
        try:
            names = compare.mode_names(modes)
        except ValueError as exc:  # an unknown mode name
            raise BadInput(str(exc)) from None
        cfg = load_config(config, list(set_ or []))
        total_steps = (steps or cfg.steps) * (len(names) + len(set(against or [])))
        with display.mode_progress(total_steps, quiet=quiet) as on_step:
            result = compare.compare_modes(cfg, names, steps, on_step, against=against or (),
                                           graph=show_graph, runs_dir=runs_dir)
    if plot is not None:
        for path in dict.fromkeys([plot, result.run_dir / plot.name]):
            display.plot_losses(result, path)
    display.comparison(result, show_graph=show_graph)
    if not result.agree:
        raise typer.Exit(1)


RunArg = Annotated[Path, typer.Argument(help="A run directory (runs/<...>).", show_default=False)]
CheckpointOpt = Annotated[str, typer.Option("--checkpoint", help="best (lowest validation loss), last, or a step "
                                                                  "number.", metavar="best|last|STEP")]


@app.command()
def evaluate(
    run: RunArg,
    data: Annotated[Optional[Path], typer.Option("--data", help="A file in the training data's format (default: the "
                                                 "run's validation split).", metavar="FILE")] = None,
    checkpoint: CheckpointOpt = "last",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Loss (and accuracy, for classification) of a run's checkpoint.

    On the run's validation split, or on FILE (the saved standardisation and class names are applied).
    """
    from autotrain.evaluate import evaluate_run

    with exit_codes():
        result = evaluate_run(run, data, checkpoint)
    if as_json:
        display.as_json(result.to_dict())
    else:
        display.evaluation(result)


@app.command()
def predict(
    run: RunArg,
    input_: Annotated[Path, typer.Option("--input", help="Rows to predict: a CSV with the training features' "
                                         "header, or a 2-D .npy.", metavar="FILE", show_default=False)],
    output: Annotated[Path, typer.Option("--output", help="Where to write the predictions (.csv or .npy).",
                                         metavar="FILE", show_default=False)],
    checkpoint: CheckpointOpt = "last",
) -> None:
    """Predict rows of FILE with a run's checkpoint; class names for classification."""
    from autotrain.evaluate import predict_run

    with exit_codes():
        result = predict_run(run, input_, output, checkpoint)
    display.hint(f"{result.rows} rows predicted with checkpoint step {result.checkpoint_step}: {result.output} "
                 f"({', '.join(result.columns[:6])}{', ...' if len(result.columns) > 6 else ''})")


@config_app.command("schema")
def config_schema() -> None:
    """Print the JSON schema of a fit config (for editors and validators)."""
    from autotrain.config import FitConfig

    typer.echo(json.dumps(FitConfig.model_json_schema(), indent=2))


def main() -> None:
    """Console-script entry point (``autotrain``)."""
    app()


if __name__ == "__main__":
    main()
