"""The one table of exit codes, for every command (docs/errors.md shows it to users)."""
from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What an ``autotrain`` process's exit status means."""

    OK = 0
    CHECK_FAILED = 1  # gradcheck found a wrong gradient, compare-modes a mode that disagrees
    BAD_INPUT = 2  # config, --set, an option, a run directory, the device, memory: the user can fix it
    DIVERGED = 3  # the loss became NaN/inf (lower lr)
    OS_ERROR = 4  # disk full, read-only folder, permission denied
    INTERRUPTED = 130  # Ctrl-C or SIGTERM (what a shell reports for SIGINT)
    PIPE_CLOSED = 141  # the reader of stdout went away (`| head`): nothing failed (what a shell reports for SIGPIPE)


#: The exit code of a run that ended with this status (every other status exits OK).
STATUS_EXIT = {"diverged": ExitCode.DIVERGED, "interrupted": ExitCode.INTERRUPTED, "failed": ExitCode.BAD_INPUT}


def for_status(status: str) -> ExitCode:
    return STATUS_EXIT.get(status, ExitCode.OK)


__all__ = ["ExitCode", "STATUS_EXIT", "for_status"]
