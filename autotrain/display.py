"""Everything autotrain shows on a terminal: progress bars, tables, errors (rich lives only here and in cli.py).

Results go to stdout; progress, hints and errors go to stderr, so ``--json`` output stays parseable.
"""
from __future__ import annotations

import functools
import json
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

MAX_TABLE_ROWS = 40  # the full table is in metrics.csv; the screen shows a readable sample
REFRESH_S = 0.1  # progress fields are updated at most this often, so drawing never slows training


# rich is imported on first use: `autotrain fit --quiet` in a script should not pay for it.
@functools.cache
def _console(stderr: bool) -> "Console":
    from rich.console import Console
    return Console(stderr=stderr, highlight=False)


def console() -> "Console":
    """The stdout console (results: tables, summaries)."""
    return _console(False)


def err_console() -> "Console":
    """The stderr console (progress, hints, errors)."""
    return _console(True)


def error(message: str) -> None:
    """Print an error for a user (no traceback); ``message`` may span several lines."""
    err_console().print(f"error: {message}", markup=False, soft_wrap=True)


def hint(message: str) -> None:
    """A one-line hint on stderr (how to resume, what to change)."""
    err_console().print(message, markup=False, soft_wrap=True)


@contextmanager
def progress(total: int, start: int = 0, *, quiet: bool = False) -> Iterator:
    """A progress bar with step, loss and steps/s; yields the ``on_step(step, loss)`` callback for train.fit.

    Yields None (no callback at all) when quiet or when stderr is not a terminal.
    """
    if quiet or not err_console().is_terminal:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("step {task.completed:>6}/{task.total}"), BarColumn(),
                   TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[rate]} steps/s"),
                   TimeElapsedColumn(), console=err_console())
    task = bar.add_task("fit", total=total, completed=start, loss="-", rate="-")
    t0, last = time.monotonic(), [0.0]

    def on_step(step: int, loss: float) -> None:
        now = time.monotonic()
        if now - last[0] >= REFRESH_S or step == total - 1:
            last[0] = now
            rate = (step + 1 - start) / (now - t0) if now > t0 else 0.0
            bar.update(task, completed=step + 1, loss=f"{loss:.6g}", rate=f"{rate:,.0f}")

    with bar:
        yield on_step


def _sample(rows: list, limit: int = MAX_TABLE_ROWS) -> list:
    """At most ``limit`` rows: the first three, evenly spaced ones, and the last."""
    if len(rows) <= limit:
        return rows
    stride = -(-(len(rows) - 4) // (limit - 4))
    return rows[:3] + rows[3:-1:stride] + rows[-1:]


def loss_table(rows: list[tuple[int, float, float]], title: str = "loss") -> Table:
    """The logged steps as a table (a sample of them when there are many)."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("step", justify="right")
    table.add_column("loss", justify="right")
    table.add_column("elapsed_s", justify="right")
    for step, loss, elapsed in _sample(rows):
        table.add_row(str(step), f"{loss:.10g}", f"{elapsed:.3f}")
    return table


def summary(s, rows: list[tuple[int, float, float]]) -> None:
    """The end of a fit: the loss table, the status line and the run directory."""
    if rows:
        shown = len(_sample(rows))
        title = "loss" + (f" ({shown} of {len(rows)} logged rows; all in metrics.csv)" if shown < len(rows) else "")
        console().print(loss_table(rows, title))
    for note in s.notes:
        hint(f"note: {note}")
    loss = "-" if s.final_loss is None else f"{s.final_loss:.10g}"
    console().print(f"{s.status}: step {s.step}/{s.steps}, final loss {loss}, {s.steps_per_s:,.0f} steps/s, "
                  f"{s.wall_time_s:.2f} s", markup=False)
    console().print(f"run: {s.run_dir}", markup=False, soft_wrap=True)


def as_json(data: dict) -> None:
    """``data`` as one JSON document on stdout (no colours, no wrapping)."""
    print(json.dumps(data, indent=2))


def resolved_config(resolved) -> None:
    """``--print-config``: every key, its value and where the value came from."""
    from rich.table import Table

    table = Table(title=f"config ({resolved.path or 'no file'})", title_justify="left")
    table.add_column("key")
    table.add_column("value")
    table.add_column("from")
    for key, value in resolved.config.model_dump().items():
        table.add_row(key, repr(value) if isinstance(value, float) else str(value), resolved.sources[key])
    console().print(table)
