"""The ``autotrain`` command line: parse, call the library once, display; exceptions become exit codes.

Exit codes: 0 done, 1 OS error (disk full, read-only), 2 bad input (config, --set, run directory, device, memory), 3 diverged, 130 interrupted.
To add a command, write a function with an Annotated signature and wrap its body in ``exit_codes()``.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Callable, Iterator, Optional

import typer

from autotrain import display

if TYPE_CHECKING:
    from autotrain.config import FitConfig

# NOTE: autotrain.config (pydantic, numpy) is imported inside the commands, so `autotrain --help`
# starts in a fraction of the time; the commands themselves need it anyway.

EXIT_OS_ERROR, EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_INTERRUPTED = 1, 2, 3, 130

_HELP = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(help="Train small networks four ways on autotrain's own autograd engine.", rich_markup_mode=None,
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, context_settings=_HELP)
config_app = typer.Typer(help="Inspect the config format.", no_args_is_help=True, context_settings=_HELP)
app.add_typer(config_app, name="config")


class BadInput(Exception):
    """Anything the user can fix by changing the command line; exit code 2."""


@contextmanager
def exit_codes(interrupted: Callable[[], str] | str = "interrupted; nothing was written",
               kept: Callable[[], str] | str = "the newest complete checkpoint is kept") -> Iterator[None]:
    """The one place that turns library exceptions into a message and an exit code (never a traceback).

    ``interrupted`` is what a Ctrl-C/SIGTERM that stops the command at once means, ``kept`` what is left
    after an OS error (disk full, read-only): both must be true for the command and the moment (a
    callable is asked when it happens).
    """
    from autotrain.config import ConfigError
    from autotrain.data import DataError
    from autotrain.runs import RunError

    try:
        yield
    except ConfigError as exc:
        display.error(_config_problems(exc.problems))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except (BadInput, RunError, DataError) as exc:
        display.error(str(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except KeyboardInterrupt:
        display.error(interrupted() if callable(interrupted) else interrupted)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except MemoryError as exc:  # a late one: the up-front estimate was not enough (another process took memory?)
        display.error(f"out of memory ({str(exc)[:200] or type(exc).__name__}); use smaller sizes, or free "
                      "memory or raise the process limit (ulimit -v)")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except RuntimeError as exc:
        if type(exc).__name__ != "DeviceUnavailableError":  # engine/backend.py's; not imported here (lazy)
            raise
        display.error(str(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except OSError as exc:  # disk full, read-only runs dir...: the previous checkpoint is intact
        display.error(f"{exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}; "
                      f"{kept() if callable(kept) else kept}")
        raise typer.Exit(EXIT_OS_ERROR) from None


MAX_PROBLEMS = 20  # a config with thousands of bad keys gets a readable error, not thousands of lines


def _config_problems(problems) -> str:
    n = len(problems)
    shown = [str(p) for p in problems[:MAX_PROBLEMS]]
    if n > MAX_PROBLEMS:
        shown.append(f"... and {n - MAX_PROBLEMS} more")
    head = "" if n == 1 else f"{n} problems in the config:\n"
    return head + "\n".join(("  " if n > 1 else "") + line for line in shown)


def _version(value: bool) -> None:
    if value:
        from autotrain import __version__

        typer.echo(f"autotrain {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Print the version and exit.")] = False) -> None:
    """Train a two-layer network four ways on autotrain's own autograd engine."""


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
            from autotrain.config import _shown

            diff = ", ".join(f"{k}: run has {_shown(a[k])}, given {_shown(b[k])}" for k in a if a[k] != b[k]
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
    print_config: Annotated[bool, typer.Option("--print-config", help="Print the resolved config and exit "
                                               "(as JSON with --json).")] = False,
    runs_dir: Annotated[Path, typer.Option(help="Root folder for new run directories.")] = Path("runs"),
    resume: Annotated[Optional[Path], typer.Option(help="Continue the run in RUN_DIR from its newest checkpoint.",
                                                   metavar="RUN_DIR")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no table.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON (implies --quiet).")] = False,
) -> None:
    """Train the network in CONFIG; write a new run directory.

    The run directory (under --runs-dir) gets config.yaml, metrics.csv, data.npz, checkpoints/ and summary.json.
    """
    from autotrain import train

    overrides = list(set_ or [])
    made: list = []  # the run this command writes, once it exists (for a true message on a hard interrupt)
    # Signal handlers before the first write: a Ctrl-C/SIGTERM from here on ends with exit 130 and a true message.
    with train.stop_on_signals() as stop, exit_codes(lambda: _interrupted_fit(made), lambda: _kept(made)):
        summary = _fit_command(config, overrides, print_config, runs_dir, resume, quiet, as_json, stop, made)
        if summary is None:
            return
        stop.deferred = True  # the run is over; a signal now must not cut the report short
        run = made[0]
        if as_json:
            display.as_json(summary.to_dict())
        elif not quiet:
            display.summary(summary, run.read_metric_rows())
        if as_json or quiet:  # a skipped damaged checkpoint is news even to a script: stderr, like the hints
            for note in summary.notes:
                display.hint(f"note: {note}")
        _finish(summary)


def _fit_command(config, overrides, print_config, runs_dir, resume, quiet, as_json, stop, made):
    from autotrain import runs, train
    from autotrain.config import check_resources, load_config, resolve

    run = runs.open_run(resume) if resume is not None else None
    if print_config:
        path = config or (run.config_path if run else None)
        if path is None:
            raise BadInput("--print-config needs a CONFIG file (or --resume RUN_DIR)")
        resolved = resolve(path, overrides)
        display.resolved_config_json(resolved) if as_json else display.resolved_config(resolved)
        return None
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
    if stop.signum is not None:  # a signal while reading the config: nothing was written yet
        raise KeyboardInterrupt
    if run is None:
        run = runs.create_run(cfg, runs_dir)
    made.append(run)
    with display.progress(train.total_steps(cfg, run), quiet=quiet or as_json) as on_step:
        return train.fit(cfg, run, on_step=on_step, data=data)


def _interrupted_fit(made: list) -> str:
    """What a hard interrupt of ``fit`` leaves, read from the disk: true whenever it happens."""
    if not made:
        return "interrupted before anything was written"
    run = made[0]
    found = run.checkpoints()
    if not found:
        return f"interrupted before the first checkpoint of {run.path} was written; start again with autotrain fit CONFIG"
    return (f"interrupted; the newest complete checkpoint (step {found[-1][0]}) is kept. "
            f"Continue with: autotrain fit --resume {run.path}")


def _kept(made: list) -> str:
    """What an OS error during ``fit`` leaves behind, read from the disk."""
    found = made[0].checkpoints() if made else []
    if not found:
        return "nothing to resume (no checkpoint was written)"
    return f"the newest complete checkpoint is kept (step {found[-1][0]}): autotrain fit --resume {made[0].path}"


def _finish(summary) -> None:
    """Exit code and hint for a run that did not complete."""
    if summary.status == "diverged":
        display.hint(f"diverged: the loss became non-finite at step {summary.diverged_at}; lower lr "
                     f"(try --set lr={lower_lr(summary)}) and start again. Last finite checkpoint kept in "
                     f"{summary.run_dir}")
        raise typer.Exit(EXIT_DIVERGED)
    if summary.status == "interrupted":
        if summary.checkpoint is None:
            display.hint(f"interrupted ({summary.signal}) before the first checkpoint was written; nothing to "
                         "resume: start again with autotrain fit CONFIG")
        else:
            display.hint(f"interrupted at step {summary.step} ({summary.signal or 'signal'}); the checkpoint at "
                         f"step {summary.step} is kept. Continue with: autotrain fit --resume {summary.run_dir}")
        raise typer.Exit(EXIT_INTERRUPTED)
    if summary.status == "failed":
        kept = ("no checkpoint was written" if summary.checkpoint is None else
                f"the newest complete checkpoint (step {summary.step}) is kept")
        display.error(f"{summary.error}; {kept}. Use smaller sizes, or free memory or raise the process limit "
                      f"(ulimit -v) and continue with: autotrain fit --resume {summary.run_dir}")
        raise typer.Exit(EXIT_BAD_INPUT)


def lower_lr(summary_or_cfg) -> str:
    """A learning rate worth trying after a divergence: a tenth of the one that diverged, as a plain number."""
    lr = getattr(summary_or_cfg, "lr", None)
    if lr is None:  # a Summary: the lr is in the run's config
        from autotrain.runs import open_run

        lr = open_run(summary_or_cfg.run_dir).read_config().lr
    return f"{lr / 10:.3g}"


@app.command()
def gradcheck(
    config: Annotated[Optional[Path], typer.Argument(help="YAML config: check the two-layer loss at its sizes and "
                                                         "seed (sampling Jacobian entries). Default: tiny sizes.",
                                                    show_default=False)] = None,
    dtype: Annotated[str, typer.Option(help="float64 (the stricter check) or float32.")] = "float64",
    eps: Annotated[Optional[float], typer.Option(help="Finite-difference step (default: 1e-6 float64, 1e-3 float32).",
                                                 show_default=False)] = None,
    atol: Annotated[Optional[float], typer.Option(help="Absolute tolerance of the pass rule (default: 1e-5 float64, "
                                                       "1e-2 float32).", show_default=False)] = None,
    rtol: Annotated[Optional[float], typer.Option(help="Relative tolerance of the pass rule (default: 1e-3 float64, "
                                                       "1e-2 float32).", show_default=False)] = None,
    only: Annotated[Optional[str], typer.Option(help="Run only checks whose name matches: a glob ('op:*', "
                                                     "'loss:static') or a substring ('relu').",
                                                metavar="PATTERN")] = None,
) -> None:
    """Check every gradient against finite differences.

    Every op, the custom ReLU Function, and the two-layer loss in each mode, against finite differences and
    against each other; exit 1 on a failure, 2 for bad input (including --only matching nothing).
    """
    from autotrain import checks
    from autotrain.config import check_resources, load_config

    with exit_codes("interrupted; gradcheck writes nothing, so nothing is lost", "gradcheck writes nothing"):
        if dtype not in checks.DEFAULTS:
            raise BadInput(f"--dtype {dtype!r}: choose float32 or float64")
        try:
            checks.validate(*(d if v is None else v for v, d in zip((eps, atol, rtol), checks.DEFAULTS[dtype])))
        except ValueError as exc:
            raise BadInput(str(exc)) from None
        cfg = load_config(config, check=False) if config is not None else None
        if cfg is not None and not _seed_network(cfg):
            raise BadInput(f"gradcheck CONFIG checks the seed's network (synthetic data, one hidden ReLU layer, no "
                           f"bias, sum of squares); {config} describes another (H={cfg.H}, activation "
                           f"{cfg.activation}, loss {cfg.loss}, data {'synthetic' if cfg.synthetic else 'a file'}). "
                           "Run autotrain gradcheck without CONFIG for every op; tests/test_fit_models.py checks "
                           "every loss, activation and depth against finite differences")
        if cfg is not None:
            check_resources(cfg.model_copy(update={"dtype": dtype}), str(config), "gradcheck", runners=4)
        try:
            report = checks.run_checks(cfg, dtype=dtype, eps=eps, atol=atol, rtol=rtol, only=only)
        except checks.NoMatch as exc:
            raise BadInput(str(exc)) from None
    display.gradcheck_report(report)
    if not report.passed:
        raise typer.Exit(1)


def _seed_network(cfg) -> bool:
    return (cfg.synthetic and isinstance(cfg.H, int) and not cfg.bias and cfg.activation == "relu"
            and cfg.loss == "sum_squares")


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
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON (implies --quiet).")] = False,
) -> None:
    """Train CONFIG in all four modes; compare them.

    Identical data and weights for every mode; compares losses, weights, speed and memory; exit 1 if any
    mode disagrees with manual, 3 if every mode diverged (lower lr).
    """
    import importlib.util

    from autotrain import compare
    from autotrain.config import check_resources, load_config

    with exit_codes("interrupted before the comparison was complete; compare-modes keeps no checkpoint, so there "
                    "is nothing to resume: run it again",
                    "the comparison was not completely written (compare-modes keeps no checkpoint): run it again"):
        bad = [a for a in against or [] if a not in compare.AGAINST]
        if bad:
            raise BadInput(f"--against {bad[0]!r}: choose from {', '.join(compare.AGAINST)}")
        if plot is not None and importlib.util.find_spec("matplotlib") is None:
            raise BadInput("--plot needs matplotlib: pip install 'autotrain[plot]' (or leave out --plot)")
        try:
            names = compare.mode_names(modes)
        except ValueError as exc:  # an unknown mode name
            raise BadInput(str(exc)) from None
        cfg = load_config(config, list(set_ or []), check=False)
        check_resources(cfg, str(config), "compare-modes", runners=len(names) + len(set(against or [])))
        total_steps = (steps or cfg.steps) * (len(names) + len(set(against or [])))
        with display.mode_progress(total_steps, quiet=quiet or as_json) as on_step:
            result = compare.compare_modes(cfg, names, steps, on_step, against=against or (),
                                           graph=show_graph, runs_dir=runs_dir)
        if plot is not None:
            for path in dict.fromkeys([plot, result.run_dir / plot.name]):
                display.plot_losses(result, path)
    if as_json:
        display.comparison_json(result)
    else:
        display.comparison(result, show_graph=show_graph)
    if result.diverged:
        if as_json:
            display.hint(display.diverged_line(result))
        raise typer.Exit(EXIT_DIVERGED)
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
    """Console-script entry point (``autotrain``).

    SIGTERM is handled like Ctrl-C from the start (exit 130 with a message saying what is kept);
    ``fit`` replaces both with its checkpoint-then-stop handlers before its first write.
    """
    import signal

    signal.signal(signal.SIGTERM, signal.default_int_handler)
    app()


if __name__ == "__main__":
    main()
