"""The ``autotrain`` command line: parse, call the library once, display; exceptions become exit codes.

Exit codes (one table for every command): 0 done, 1 a check failed (gradcheck, compare-modes disagreeing),
2 bad input (config, --set, run directory, device, memory), 3 diverged, 4 OS error (disk full, read-only),
130 interrupted, 141 the output pipe was closed by its reader (``| head``; nothing failed).
To add a command, write a function with an Annotated signature and wrap its body in ``exit_codes()``.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Callable, Iterator, Optional

import typer

from autotrain.cli import display


# NOTE: autotrain.training.config (pydantic, numpy) is imported inside the commands, so `autotrain --help`
# starts in a fraction of the time; the commands themselves need it anyway.

EXIT_CHECK_FAILED, EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_OS_ERROR, EXIT_INTERRUPTED = 1, 2, 3, 4, 130
EXIT_PIPE_CLOSED = display.EXIT_PIPE_CLOSED

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
    from autotrain.training.config import ConfigError
    from autotrain.training.data import DataError
    from autotrain.store.runs import RunError

    try:
        yield
    except ConfigError as exc:
        display.error(_config_problems(exc))
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
    except BrokenPipeError:  # the reader of stdout went away (| head): nothing failed
        display.pipe_closed()
    except OSError as exc:  # disk full, read-only runs dir...: the previous checkpoint is intact
        display.error(f"{exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}; "
                      f"{kept() if callable(kept) else kept}")
        raise typer.Exit(EXIT_OS_ERROR) from None


MAX_PROBLEMS = 20  # a config with thousands of bad keys gets a readable error, not thousands of lines


def _config_problems(error) -> str:
    problems = error.problems
    n = len(problems)
    shown = [str(p) for p in problems[:MAX_PROBLEMS]]
    if n > MAX_PROBLEMS:
        shown.append(f"... and {n - MAX_PROBLEMS} more")
    head = "" if n == 1 else f"{n} problems in the config:\n"
    return head + "\n".join([("  " if n > 1 else "") + line for line in shown] + error.footer())


def _version(value: bool) -> None:
    if value:
        from autotrain import __version__

        display.plain(f"autotrain {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Print the version and exit.")] = False) -> None:
    """Train a two-layer network four ways on autotrain's own autograd engine."""


ConfigArg = Annotated[Optional[Path], typer.Argument(help="YAML config file (see configs/). Optional with --resume.",
                                                     show_default=False)]
WideOpt = Annotated[bool, typer.Option("--wide", help="Show every table column, however wide (default: the "
                                                     "columns that fit the terminal, 80 when piped).")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", metavar="KEY=VALUE",
                                                     help="Override one config key; repeatable.")]


ThreadsOpt = Annotated[Optional[str], typer.Option(
    "--threads", metavar="N|auto", help="BLAS threads (the config's threads key; default auto: 1 for small "
    "networks such as the seed, every core for large ones).", show_default=False)]


def _threads_override(threads: str | None) -> list[str]:
    """``--threads`` as a ``--set threads=...`` override (empty when not given); BadInput for a bad value."""
    from autotrain.training.threads import parse_threads

    if threads is None:
        return []
    try:
        return [f"threads={parse_threads(threads)}"]
    except ValueError as exc:
        raise BadInput(str(exc)) from None


TensorBoardOpt = Annotated[Optional[bool], typer.Option(
    "--tensorboard/--no-tensorboard", help="Write TensorBoard event files into the run directory (default: "
    "when autotrain[tensorboard] is installed).", show_default=False)]
WorkersOpt = Annotated[Optional[int], typer.Option(min=1, help="Trials run at once (default: the sweep file's "
                                                              "workers, else the number of cores).")]


def _check_tensorboard(wanted: bool | None) -> None:
    """--tensorboard without the extra: refused before anything is written."""
    from autotrain.store import tensorboard as tb

    if wanted and not tb.available():
        raise BadInput(tb.HINT + " (or leave out --tensorboard)")


def _tensorboard(run, cfg, wanted: bool | None):
    """The live TensorBoard writer for ``fit``: on when installed (or asked), off with --no-tensorboard."""
    from contextlib import nullcontext

    from autotrain.store import tensorboard as tb

    if wanted is False or not tb.available():
        return nullcontext()
    return tb.LiveWriter(run.path, cfg.model_dump(), resumed_from=tb.resume_step(run.path))


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
    tensorboard: TensorBoardOpt = None,
    sweep_: Annotated[Optional[list[str]], typer.Option("--sweep", metavar="KEY=V1,V2,...",
                                                        help="Sweep KEY over the values (repeatable: a grid); "
                                                             "see `autotrain sweep`.")] = None,
    workers: WorkersOpt = None,
    metric: Annotated[str, typer.Option(help="With --sweep: the metric that ranks the trials.")] = "loss",
    threads: ThreadsOpt = None,
) -> None:
    """Train the network in CONFIG; write a new run directory.

    The run directory (under --runs-dir) gets config.yaml, metrics.csv, data.npz, checkpoints/ and summary.json.
    """
    from autotrain.training import train

    with exit_codes():
        overrides = list(set_ or []) + _threads_override(threads)
    if sweep_:
        return _fit_sweep(config, overrides, sweep_, runs_dir, workers, metric, tensorboard, quiet or as_json,
                          conflicting=[name for name, given in (("--resume", resume), ("--print-config", print_config))
                                       if given])
    made: list = []  # the run this command writes, once it exists (for a true message on a hard interrupt)
    # Signal handlers before the first write: a Ctrl-C/SIGTERM from here on ends with exit 130 and a true message.
    with train.stop_on_signals() as stop, exit_codes(lambda: _interrupted_fit(made), lambda: _kept(made)):
        summary = _fit_command(config, overrides, print_config, runs_dir, resume, quiet, as_json, stop, made,
                               tensorboard)
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


def _fit_command(config, overrides, print_config, runs_dir, resume, quiet, as_json, stop, made, tensorboard=None):
    from autotrain.store import runs
    from autotrain.training import train
    from autotrain.training.config import check_resources, load_config, resolve

    _check_tensorboard(tensorboard)
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
        cfg = train.resume_config(run, config, overrides)
        check_resources(cfg, str(run.config_path))
    elif config is None:
        raise BadInput("missing CONFIG: give a YAML config file, e.g. autotrain fit configs/two_layer.yaml")
    else:
        cfg = _named_after(load_config(config, overrides), config)
        cfg, data = train.resolve_data(cfg, str(config))  # a bad data file: exit 2 before any run exists
        check_resources(cfg, str(config))
    if stop.signum is not None:  # a signal while reading the config: nothing was written yet
        raise KeyboardInterrupt
    if run is None:
        run = runs.create_run(cfg, runs_dir)
    made.append(run)
    from autotrain.sweep import report as sweep_report  # a sweep trial reports its rows to the pruner

    with display.progress(train.total_steps(cfg, run), quiet=quiet or as_json) as on_step, \
            _tensorboard(run, cfg, tensorboard):
        return train.fit(cfg, run, on_step=on_step, data=data, on_log=sweep_report.reporter_from_env())


def _named_after(cfg, config: Path):
    """A config that gives no ``name`` is named after its file (``my_data.yaml`` makes ``my_data`` runs)."""
    if "name" in cfg.model_fields_set or not config.stem.strip():
        return cfg
    return cfg.model_copy(update={"name": config.stem})


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
        from autotrain.store.runs import open_run

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
    wide: WideOpt = False,
) -> None:
    """Check every gradient against finite differences.

    Every op, the custom ReLU Function, and the two-layer loss in each mode, against finite differences and
    against each other; exit 1 on a failure, 2 for bad input (including --only matching nothing).
    """
    from autotrain.training import checks
    from autotrain.training.config import check_resources, load_config

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
    display.use_wide(wide)
    display.gradcheck_report(report)
    if not report.passed:
        raise typer.Exit(EXIT_CHECK_FAILED)


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
    threads: ThreadsOpt = None,
    wide: WideOpt = False,
) -> None:
    """Train CONFIG in all four modes; compare them.

    Identical data and weights for every mode; compares losses, weights, speed and memory; exit 1 if any
    mode disagrees with manual, 3 if every mode diverged (lower lr).
    """
    import importlib.util

    from autotrain.store.comparisons import write_comparison
    from autotrain.training import compare
    from autotrain.training.config import check_resources, load_config
    from autotrain.training.threads import blas_threads, limit_blas

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
        cfg = _named_after(load_config(config, list(set_ or []) + _threads_override(threads), check=False), config)
        check_resources(cfg, str(config), "compare-modes", runners=len(names) + len(set(against or [])))
        total_steps = (steps or cfg.steps) * (len(names) + len(set(against or [])))
        with display.mode_progress(total_steps, quiet=quiet or as_json) as on_step, \
                limit_blas(blas_threads(cfg)):
            result = compare.compare_modes(cfg, names, steps, on_step, against=against or (), graph=show_graph)
            write_comparison(result, runs_dir)
        if plot is not None:
            for path in dict.fromkeys([plot, result.run_dir / plot.name]):
                display.plot_losses(result, path)
    if as_json:
        display.comparison_json(result)
    else:
        display.use_wide(wide)
        display.comparison(result, show_graph=show_graph)
    if result.diverged:
        if as_json:
            display.hint(display.diverged_line(result))
        raise typer.Exit(EXIT_DIVERGED)
    if not result.agree:
        raise typer.Exit(EXIT_CHECK_FAILED)


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
    threads: ThreadsOpt = None,
) -> None:
    """Loss (and accuracy, for classification) of a run's checkpoint.

    On the run's validation split, or on FILE (the saved standardisation and class names are applied).
    """
    from autotrain.store.evaluate import evaluate_run
    from autotrain.training.threads import limit_blas

    with exit_codes():
        with limit_blas(_evaluate_threads(run, threads)):
            result = evaluate_run(run, data, checkpoint)
    if as_json:
        display.as_json(result.to_dict())
    else:
        display.evaluation(result)


def _evaluate_threads(run: Path, threads: str | None) -> int:
    """The BLAS threads for evaluating ``run``: --threads, else the rule applied to the run's own config (a run
    that cannot be read gets 1; evaluate_run then says what is wrong with it)."""
    from autotrain.training.threads import blas_threads, parse_threads

    given = _threads_override(threads)
    if given:
        n = parse_threads(threads)
        if n != "auto":
            return n
    try:
        from autotrain.store.runs import open_run

        return blas_threads(open_run(run).read_config())
    except Exception:  # noqa: BLE001 -- any unreadable run: evaluate_run reports it properly
        return 1


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
    from autotrain.store.evaluate import predict_run

    with exit_codes():
        result = predict_run(run, input_, output, checkpoint)
    display.hint(f"{result.rows} rows predicted with checkpoint step {result.checkpoint_step}: {result.output} "
                 f"({', '.join(result.columns[:6])}{', ...' if len(result.columns) > 6 else ''})")


# ----------------------------------------------------------------------------- runs, show, plot, TensorBoard
RUN_STATUSES = ("completed", "running", "killed", "failed", "interrupted", "diverged", "agree", "DISAGREE",
                "incomplete", "unknown", "no summary", "unreadable")  # what `runs` shows in its status column (and --status filters by)
@app.command("runs")
def runs_cmd(
    runs_dir: Annotated[Optional[Path], typer.Option(help="The folder of run directories.  [default: runs]",
                                                     show_default=False)] = None,
    status: Annotated[Optional[str], typer.Option(help="Only runs with this status (completed, running, killed, failed, "
                                                       "interrupted, diverged, agree, DISAGREE, unreadable).")
                      ] = None,
    sort: Annotated[str, typer.Option(help="start, name, status, loss, val, steps_per_s, size or dir.")] = "start",
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
    wide: WideOpt = False,
) -> None:
    """List every run, comparison and sweep in --runs-dir (newest first).

    One row each: directory, name, mode, status, step/steps, final loss, best validation figure, steps/s,
    start time, size on disk; a sweep's trials under it. A damaged or foreign folder is a row marked
    unreadable.
    """
    from autotrain.store import catalog

    with exit_codes(kept="nothing was changed"):
        if status is not None and status not in RUN_STATUSES:
            raise BadInput(f"--status {status!r}: choose from {', '.join(RUN_STATUSES)}")
        if sort not in catalog.SORT_KEYS:
            raise BadInput(f"--sort {sort!r}: choose from {', '.join(catalog.SORT_KEYS)}")
        if runs_dir is not None and not runs_dir.is_dir():
            raise BadInput(f"--runs-dir {runs_dir}: no such directory (runs are created by autotrain fit)")
        runs_dir = runs_dir or Path("runs")  # the default folder not made yet: no runs, not an error
        entries = catalog.list_runs(runs_dir, status=status, sort=sort) if runs_dir.is_dir() else []
    if as_json:
        display.as_json({"runs_dir": str(runs_dir), "runs": [e.to_dict() for e in entries]})
    else:
        display.use_wide(wide)
        display.runs_table(entries, str(runs_dir))


@app.command()
def show(
    run: Annotated[Path, typer.Argument(help="A run, compare-modes or sweep directory.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print everything as JSON (metrics as columns).")] = False,
    wide: WideOpt = False,
) -> None:
    """Show one run: resolved config, summary, checkpoints kept, and its loss curves in the terminal."""
    from autotrain.store import catalog

    with exit_codes(kept="nothing was changed"):
        try:
            detail = catalog.detail(run)
        except catalog.UnreadableError as exc:
            raise BadInput(str(exc)) from None
    if as_json:
        display.as_json(detail.to_dict())
    else:
        display.use_wide(wide)
        display.show_run(detail)


@app.command()
def plot(
    runs: Annotated[list[Path], typer.Argument(help="Run/compare directories (loss curves), or one sweep "
                                                    "directory (its metric against the swept key).",
                                               show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="The image to write: .png, .svg or .pdf.",
                                         show_default=False)],
) -> None:
    """Draw runs' loss curves on one chart, or a sweep's metric against its swept key (needs autotrain[plot])."""
    from autotrain.store import catalog
    from autotrain.cli import plots

    with exit_codes(kept="nothing was changed"):
        if not plots.available():
            raise BadInput(plots.HINT)
        if output.suffix.lower() not in plots.SUFFIXES:
            raise BadInput(f"--output {output}: the suffix must be one of {', '.join(plots.SUFFIXES)}")
        if not output.parent.is_dir():
            raise BadInput(f"--output {output}: the folder {output.parent} does not exist")
        details = []
        for path in runs:
            try:
                details.append(catalog.detail(path))
            except catalog.UnreadableError as exc:
                raise BadInput(str(exc)) from None
        sweeps = [d for d in details if d.entry.kind == "sweep"]
        try:
            if sweeps and len(details) > 1:
                raise BadInput("give one sweep directory, or only run/compare directories")
            if sweeps:
                plots.plot_sweep(sweeps[0], output)
                charts, skipped = plots.plot_study(sweeps[0].entry.dir, output)
                for chart in charts:
                    display.hint(f"wrote {chart}")
                for why in skipped:
                    display.hint(f"not drawn: {why}")
            else:
                plots.plot_runs(details, output)
        except ValueError as exc:
            raise BadInput(str(exc)) from None
    display.hint(f"wrote {output}")


@app.command("export-tensorboard")
def export_tensorboard(
    runs: Annotated[list[Path], typer.Argument(help="Run, compare-modes or sweep directories.", show_default=False)],
    overwrite: Annotated[bool, typer.Option(help="Replace event files a directory already has.")] = False,
) -> None:
    """Write TensorBoard event files for runs made without them, from their metrics.csv."""
    from autotrain.store import tensorboard as tb

    with exit_codes(kept="nothing was changed"):
        if not tb.available():
            raise BadInput(tb.HINT)
        for path in runs:
            try:
                written = tb.export_run(path, overwrite=overwrite)
            except ValueError as exc:
                raise BadInput(str(exc)) from None
            for folder in written:
                display.hint(f"wrote events to {folder}")
    display.hint(f"view them with: tensorboard --logdir {runs[0].parent if len(runs) == 1 else 'runs'}")


# ----------------------------------------------------------------------------- sweeps
@app.command()
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
    backend: Annotated[str, typer.Option(help="local (processes on this machine) or ray.")] = "local",
    address: Annotated[Optional[str], typer.Option(help="With --backend ray: the cluster to join (e.g. "
                                                        "ray://head:10001, or auto); default: a local Ray.")
                       ] = None,
    runs_dir: Annotated[Path, typer.Option(help="Root folder for the sweep directory.")] = Path("runs"),
    tensorboard: TensorBoardOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the trials as JSON.")] = False,
) -> None:
    """Run a sweep: one ordinary run directory per trial, a sweep.csv, and a table sorted by the metric.

    `autotrain sweep best SWEEP_DIR [--output best.yaml]` writes the best completed trial's full config,
    ready for `autotrain fit`.
    """
    from autotrain import sweep as sw

    if spec is not None and str(spec) == "best" and not spec.exists():
        with exit_codes():
            if sweep_dir is None:
                raise BadInput("sweep best needs a SWEEP_DIR, e.g. autotrain sweep best runs/<...>-sweep-lr")
            text, note = sw.best_config(sweep_dir)
            if output is None:
                typer.echo(text, nl=False)
            else:
                from autotrain.store.runs import atomic_write

                if output.exists() and output.is_dir():
                    raise BadInput(f"--output {output}: is a directory; give a file name, e.g. best.yaml")
                atomic_write(output, lambda f: f.write(text.encode()))
                display.hint(f"{note}; wrote {output}: train it with autotrain fit {output}")
        return
    with exit_codes(kept="finished trials and every checkpoint are kept (autotrain sweep --resume SWEEP_DIR)"):
        if sweep_dir is not None or output is not None:
            raise BadInput("a second argument and --output belong to: autotrain sweep best SWEEP_DIR")
        if (spec is None) == (resume is None):
            raise BadInput("give a SWEEP file, or --resume SWEEP_DIR (not both)")
        if resume is not None:
            sw.open_sweep(resume)
        result = _run_sweep(sw.load_sweep(spec) if spec is not None else None, resume, runs_dir, workers, backend,
                            address, tensorboard, quiet or as_json)
    _sweep_output(result, as_json)


def _run_sweep(spec, resume, runs_dir, workers, backend, address, tensorboard, quiet):
    from autotrain import sweep as sw

    if backend not in ("local", "ray"):
        raise BadInput(f"--backend {backend!r}: choose local or ray")
    if backend == "ray":
        from autotrain.sweep.ray_backend import RAY_HINT, available
        if not available():
            raise BadInput(RAY_HINT)
    elif address is not None:
        raise BadInput("--address needs --backend ray")
    _check_tensorboard(tensorboard)
    from autotrain.sweep import study

    spec_now = spec if spec is not None else sw.open_sweep(resume)
    if spec_now.needs_optuna and not study.available():  # before anything is written
        raise BadInput(study.OPTUNA_HINT)
    total = spec_now.total
    kwargs = dict(workers=workers, backend=backend, address=address, tensorboard=tensorboard)
    with display.sweep_progress(total, quiet=quiet) as on_progress:
        if resume is not None:
            return sw.resume_sweep(resume, on_progress=on_progress, **kwargs)
        return sw.run_sweep(spec, runs_dir, on_progress=on_progress, **kwargs)


def _sweep_output(result, as_json: bool) -> None:
    if as_json:
        display.as_json({"sweep_dir": str(result.path), "metric": result.spec.metric, "goal": result.spec.goal,
                         "interrupted": result.interrupted,
                         "trials": [{"trial": r.trial.index, "run": r.trial.dirname, "values": r.trial.values,
                                     "status": r.status, "value": r.metric} for r in result.results]})
    else:
        display.sweep_result(result)
    if result.interrupted:
        display.hint(f"sweep interrupted; finish it with: autotrain sweep --resume {result.path}")
        raise typer.Exit(EXIT_INTERRUPTED)


def _fit_sweep(config, overrides, sweeps, runs_dir, workers, metric, tensorboard, quiet, conflicting=()) -> None:
    """``fit CONFIG --sweep KEY=V1,V2``: a grid sweep over CONFIG, the same as a sweep file."""
    from autotrain import sweep as sw

    if conflicting:
        with exit_codes():
            raise BadInput(f"--sweep cannot be combined with {conflicting[0]} (finish a sweep with: "
                           "autotrain sweep --resume SWEEP_DIR)")

    with exit_codes(kept="finished trials and every checkpoint are kept (autotrain sweep --resume SWEEP_DIR)"):
        if config is None:
            raise BadInput("--sweep needs a CONFIG file")
        spec = sw.quick_spec(config, sweeps, overrides, metric)
        result = _run_sweep(spec, None, runs_dir, workers, "local", None, tensorboard, quiet)
    _sweep_output(result, False)


@config_app.command("schema")
def config_schema() -> None:
    """Print the JSON schema of a fit config (for editors and validators)."""
    from autotrain.training.config import FitConfig

    display.plain(json.dumps(FitConfig.model_json_schema(), indent=2))


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
