"""The ``autotrain`` command line: parse, call the library once, display; exceptions become exit codes.

``app`` (the typer app, cli/app.py) and ``main`` (the console script) are all it exports; the exit codes
are one table, :class:`~autotrain.cli.exits.ExitCode` (0 done, 1 a check failed, 2 bad input, 3 diverged,
4 OS error, 130 interrupted, 141 the output pipe was closed by its reader).
"""
from __future__ import annotations

from autotrain.cli.app import app, main
from autotrain.cli.exits import ExitCode

EXIT_CHECK_FAILED, EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_OS_ERROR, EXIT_INTERRUPTED, EXIT_PIPE_CLOSED = (
    ExitCode.CHECK_FAILED, ExitCode.BAD_INPUT, ExitCode.DIVERGED, ExitCode.OS_ERROR, ExitCode.INTERRUPTED,
    ExitCode.PIPE_CLOSED)

__all__ = ["app", "main", "ExitCode"]

if __name__ == "__main__":
    main()
