"""The one place that turns library exceptions into a message and an exit code (never a traceback)."""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import typer

from autotrain.cli import display
from autotrain.cli.exits import ExitCode
from autotrain.training.usage import UsageError as BadInput  # noqa: F401 -- the CLI's name for it

MAX_PROBLEMS = 20  # a config with thousands of bad keys gets a readable error, not thousands of lines
Message = Callable[[], str] | str


def _say(message: Message) -> str:
    return message() if callable(message) else message


@contextmanager
def exit_codes(interrupted: Message = "interrupted; nothing was written",
               kept: Message = "the newest complete checkpoint is kept") -> Iterator[None]:
    """Library exceptions as a message on stderr and an ExitCode.

    ``interrupted`` is what a Ctrl-C/SIGTERM that stops the command at once means, ``kept`` what is left
    after an OS error (disk full, read-only): both must be true for the command and the moment (a
    callable is asked when it happens).
    """
    from autotrain.store.catalog import UnreadableError
    from autotrain.store.runs import RunError
    from autotrain.training.config import ConfigError
    from autotrain.training.data import DataError

    try:
        yield
    except ConfigError as exc:
        _fail(config_problems(exc), ExitCode.BAD_INPUT)
    except (BadInput, RunError, DataError, UnreadableError) as exc:
        _fail(str(exc), ExitCode.BAD_INPUT)
    except KeyboardInterrupt:
        _fail(_say(interrupted), ExitCode.INTERRUPTED)
    except MemoryError as exc:  # a late one: the up-front estimate was not enough (another process took memory?)
        _fail(f"out of memory ({str(exc)[:200] or type(exc).__name__}); use smaller sizes, or free memory or "
              "raise the process limit (ulimit -v)", ExitCode.BAD_INPUT)
    except RuntimeError as exc:
        if type(exc).__name__ != "DeviceUnavailableError":  # engine/backend.py's; not imported here (lazy)
            raise
        _fail(str(exc), ExitCode.BAD_INPUT)
    except BrokenPipeError:  # the reader of stdout went away (| head): nothing failed
        display.pipe_closed()
    except OSError as exc:  # disk full, read-only runs dir...: the previous checkpoint is intact
        where = f": {written_file(exc.filename)}" if exc.filename else ""
        _fail(f"{exc.strerror or exc}{where}; {_say(kept)}", ExitCode.OS_ERROR)


TEMP_FILE = re.compile(r"^\.(?P<name>.+)\.\d+\.tmp$")  # store.runs.atomic_write's .NAME.PID.tmp


def written_file(filename) -> str:
    """The file an OS error is about, as the user knows it: the file being written, not its temporary twin."""
    path = Path(os.fsdecode(filename))
    found = TEMP_FILE.match(path.name)
    return str(path.with_name(found["name"]) if found else path)


def _fail(message: str, code: ExitCode):
    display.error(message)
    raise typer.Exit(code) from None


def exit_with(code: ExitCode) -> None:
    """End the command with ``code`` (nothing when it is OK)."""
    if code != ExitCode.OK:
        raise typer.Exit(code)


def config_problems(error) -> str:
    """A ConfigError's problems, one a line (at most MAX_PROBLEMS), then its footer."""
    problems = error.problems
    n = len(problems)
    shown = [str(p) for p in problems[:MAX_PROBLEMS]]
    if n > MAX_PROBLEMS:
        shown.append(f"... and {n - MAX_PROBLEMS} more")
    head = "" if n == 1 else f"{n} problems in the config:\n"
    return head + "\n".join([("  " if n > 1 else "") + line for line in shown] + error.footer())


__all__ = ["exit_codes", "exit_with", "written_file", "BadInput", "config_problems", "MAX_PROBLEMS"]
