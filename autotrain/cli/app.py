"""The typer app: every command's name, and the ``config`` group.

Each command (cli/fit.py, cli/checks.py, cli/runs.py, cli/sweeps.py) is its typer signature, one library
call inside ``exit_codes()`` that returns an outcome, and a display call; the exit code comes from the one
table in cli/exits.py.  To add a command, write such a function and register it here.
"""
from __future__ import annotations

import json
from typing import Annotated

import typer

from autotrain.cli import checks, display, fit, runs, sweeps

_HELP = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(help="Train small networks five ways on autotrain's own autograd engine.", rich_markup_mode=None,
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, context_settings=_HELP)
config_app = typer.Typer(help="Inspect the config format.", no_args_is_help=True, context_settings=_HELP)
app.add_typer(config_app, name="config")


def _version(value: bool) -> None:
    if value:
        from autotrain import __version__

        display.plain(f"autotrain {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Print the version and exit.")] = False) -> None:
    """Train a two-layer network five ways on autotrain's own autograd engine."""


app.command()(fit.fit)
app.command()(checks.gradcheck)
app.command("compare-modes")(checks.compare_modes)
app.command()(runs.evaluate)
app.command()(runs.predict)
app.command("runs")(runs.runs)
app.command()(runs.show)
app.command()(runs.plot)
app.command("export-tensorboard")(runs.export_tensorboard)
app.command()(sweeps.sweep)


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
    display.guard_stdout()
    app()


__all__ = ["app", "config_app", "main"]
