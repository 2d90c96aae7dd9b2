"""The options several commands share, and the choices of options as Enums made from the library's own
lists of names (a name is listed once, where the library defines it; the CLI never re-lists one)."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Iterable, Optional

import typer

# Only the light name modules: the CLI starts without the library (each command imports what it runs).
from autotrain.modes.names import DTYPE_NAMES, MODE_NAMES, REFERENCE_FRAMEWORKS as AGAINST
from autotrain.store.names import SORT_KEYS, STATUSES
from autotrain.sweep.names import BACKENDS


def names_enum(name: str, names: Iterable[str]) -> type[Enum]:
    """A str Enum whose members are ``names`` (member name = value = the name, as typed on the command line)."""
    return Enum(name, {n: n for n in names}, type=str)


DType = names_enum("DType", DTYPE_NAMES)
Against = names_enum("Against", AGAINST)
Backend = names_enum("Backend", BACKENDS)
RunStatus = names_enum("RunStatus", STATUSES)
SortKey = names_enum("SortKey", SORT_KEYS)


def choice(enum: type[Enum], *decls: str, help: str, metavar: str | None = None, **kwargs):
    """A typer Option taking one of ``enum``'s names (listed after ``help``); another value is refused with
    the list to choose from."""
    def parse(text):
        if isinstance(text, enum):
            return text
        try:
            return enum(text)
        except ValueError:
            raise typer.BadParameter(f"{text!r}: choose from {', '.join(m.value for m in enum)}") from None
    names = ", ".join(m.value for m in enum)
    return typer.Option(*decls, parser=parse, metavar=metavar or enum.__name__.upper(),
                        help=f"{help} One of: {names}.", **kwargs)


MODES_HELP = ", ".join(MODE_NAMES)


def value(choice_or_none):
    """The name an Enum member stands for (None stays None)."""
    return None if choice_or_none is None else choice_or_none.value


ConfigArg = Annotated[Optional[Path], typer.Argument(help="YAML config file (see configs/). Optional with --resume.",
                                                     show_default=False)]
WideOpt = Annotated[bool, typer.Option("--wide", help="Show every table column, however wide (default: the "
                                                     "columns that fit the terminal, 80 when piped).")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", metavar="KEY=VALUE",
                                                     help="Override one config key; repeatable.")]
ThreadsOpt = Annotated[Optional[str], typer.Option(
    "--threads", metavar="N|auto", help="BLAS threads (the config's threads key; default auto: 1 for small "
    "networks such as the seed, every core for large ones).", show_default=False)]
TensorBoardOpt = Annotated[Optional[bool], typer.Option(
    "--tensorboard/--no-tensorboard", help="Write TensorBoard event files into the run directory (default: "
    "when autotrain[tensorboard] is installed).", show_default=False)]
WorkersOpt = Annotated[Optional[int], typer.Option(min=1, help="Trials run at once (default: the sweep file's "
                                                              "workers, else the number of cores).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
RunArg = Annotated[Path, typer.Argument(help="A run directory (runs/<...>).", show_default=False)]
CheckpointOpt = Annotated[str, typer.Option("--checkpoint", help="best (lowest validation loss), last, or a step "
                                                                  "number.", metavar="best|last|STEP")]


__all__ = ["DType", "Against", "Backend", "RunStatus", "SortKey", "choice", "value", "names_enum", "ConfigArg",
           "WideOpt", "SetOpt", "ThreadsOpt", "TensorBoardOpt", "WorkersOpt", "QuietOpt", "RunArg",
           "CheckpointOpt"]
