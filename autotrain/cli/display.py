"""Everything autotrain shows on a terminal: progress bars, tables, errors (rich lives only in the cli package).

Results go to stdout; progress, hints and errors go to stderr, so ``--json`` output stays parseable.
"""
from __future__ import annotations

import errno
import functools
import json
import os
from dataclasses import dataclass
import sys
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from autotrain.cli.exits import ExitCode

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

MAX_TABLE_ROWS = 40  # the full table is in metrics.csv; the screen shows a readable sample
REFRESH_S = 0.1  # progress fields are updated at most this often, so drawing never slows training


EXIT_PIPE_CLOSED = ExitCode.PIPE_CLOSED  # the reader went away (`autotrain runs | head -1`)


class _ClosedPipeGuard:
    """sys.stdout/sys.stderr (looked up at each write, so test runners' swaps are seen) for a reader that may
    go away.  Stdout's closed pipe ends the process quietly with EXIT_PIPE_CLOSED (the results cannot be
    delivered), instead of an "OS error"; stderr's (or no stderr at all, ``2>&-``) only silences the messages:
    the command goes on and its exit code still says what happened."""

    def __init__(self, stderr: bool, stream=None):
        self._stderr, self._fixed = stderr, stream

    def _stream(self):
        stream = self._fixed if self._fixed is not None else sys.stderr if self._stderr else sys.stdout
        return stream if stream is not None else _devnull()

    def write(self, text: str) -> int:
        try:
            return self._stream().write(text)
        except OSError as exc:
            self._closed(exc)
            return len(text)

    def flush(self) -> None:
        try:
            self._stream().flush()
        except OSError as exc:
            self._closed(exc)

    def _closed(self, exc: OSError | None = None) -> None:
        """The reader is gone (EPIPE), or there never was a stream (EBADF: ``>&-``); another OSError is raised."""
        if exc is not None and exc.errno not in (errno.EPIPE, errno.EBADF):
            raise exc
        # Later writes (and the interpreter's last flush) go to /dev/null, so nothing complains at exit.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream().fileno())
        except (OSError, ValueError, AttributeError):
            pass
        if not self._stderr:
            raise SystemExit(EXIT_PIPE_CLOSED)

    def __getattr__(self, name):
        return getattr(self._stream(), name)


@functools.cache
def _devnull():
    """Where output goes when the process has no such stream (started with ``2>&-``)."""
    return open(os.devnull, "w", encoding="utf-8")


def guard_stdout() -> None:
    """Make every write to sys.stdout, typer's help and usage text included, end quietly with
    EXIT_PIPE_CLOSED when the reader is gone (click would exit 1 for it, "a check failed")."""
    if sys.stdout is not None and not isinstance(sys.stdout, _ClosedPipeGuard):  # None: started with >&-
        sys.stdout = _ClosedPipeGuard(False, sys.stdout)


def pipe_closed() -> None:
    """End quietly (EXIT_PIPE_CLOSED) after a write to stdout found its reader gone."""
    _ClosedPipeGuard(False)._closed()


# rich is imported on first use: `autotrain fit --quiet` in a script should not pay for it.
@functools.cache
def _console(stderr: bool) -> "Console":
    from rich.console import Console
    return Console(file=_ClosedPipeGuard(stderr), highlight=False)


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
    cols = [Col("step", "right"), Col("loss", "right"), Col("elapsed_s", "right")]
    return fitted_table(title, cols, [[str(step), f"{loss:.10g}", f"{elapsed:.3f}"]
                                      for step, loss, elapsed in _sample(rows)])


def metrics_table(rows: list[dict], title: str = "metrics") -> Table:
    """metrics.csv rows (dicts) as a table: epoch and validation columns only where the run has them."""
    cols = ["step"] + [c for c in ("epoch",) if any(r["epoch"] is not None for r in rows)] + ["loss"]
    cols += [c for c in ("val_loss", "val_accuracy") if any(r[c] is not None for r in rows)] + ["elapsed_s"]
    fmt = {"step": str, "epoch": str, "loss": lambda v: f"{v:.10g}", "val_loss": lambda v: f"{v:.10g}",
           "val_accuracy": lambda v: f"{v:.2%}", "elapsed_s": lambda v: f"{v:.3f}"}
    cells = [["" if r[c] is None else fmt[c](r[c]) for c in cols] for r in _sample(rows)]
    return fitted_table(title, [Col(c, "right") for c in cols], cells)


def summary(s, rows: list) -> None:
    """The end of a fit: the metrics table, the best validation figure, the status line and the run directory.

    ``rows``: ``RunDir.read_metrics().rows()`` dicts (or the older ``(step, loss, elapsed_s)`` tuples)."""
    if rows:
        shown = len(_sample(rows))
        title = "loss" + (f" ({shown} of {len(rows)} logged rows; all in metrics.csv)" if shown < len(rows) else "")
        print_table(metrics_table(rows, title) if isinstance(rows[0], dict) else loss_table(rows, title))
    if getattr(s, "best_val_loss", None) is not None:
        acc = "" if s.best_val_accuracy is None else f", val accuracy {s.best_val_accuracy:.2%}"
        # A metrics row's step is the step's index; its validation figure is of the weights after that step,
        # i.e. the checkpoint one higher (named by updates done).
        console().print(f"best: val loss {s.best_val_loss:.10g}{acc} at step {s.best_step - 1} "
                        f"(its weights: checkpoints/step-{s.best_step:06d}.npz)", markup=False, soft_wrap=True)
    for note in s.notes:
        hint(f"note: {note}")
    loss = "-" if s.final_loss is None else f"{s.final_loss:.10g}"
    console().print(f"{s.status}: step {s.step}/{s.steps}, final loss {loss}, {s.steps_per_s:,.0f} steps/s, "
                  f"{s.wall_time_s:.2f} s", markup=False)
    console().print(f"run: {s.run_dir}", markup=False, soft_wrap=True)


def fit_outcome(o, *, json_out: bool = False, quiet: bool = False) -> None:
    """The end of ``fit``: the summary (table and lines, or JSON), then what to do about a run that did not
    complete (a ``failed`` run's line is an error)."""
    s = o.summary
    if json_out:
        as_json(o.to_dict())
    elif not quiet:
        summary(s, o.rows)
    if json_out or quiet:  # a skipped damaged checkpoint is news even to a script: stderr, like the hints
        for note in s.notes:
            hint(f"note: {note}")
    if o.message is not None:
        error(o.message) if s.status == "failed" else hint(o.message)


def prediction(p) -> None:
    """``autotrain predict``: one line on stderr saying what was written where."""
    more = ", ..." if len(p.columns) > 6 else ""
    hint(f"{p.rows} rows predicted with checkpoint step {p.checkpoint_step}: {p.output} "
         f"({', '.join(p.columns[:6])}{more})")


def evaluation(e) -> None:
    """``autotrain evaluate``: one line per figure."""
    out = console().print
    out(f"checkpoint step {e.checkpoint_step} on the {e.data}" if not e.data.endswith((".csv", ".npz", ".npy"))
        else f"checkpoint step {e.checkpoint_step} on {e.data}", markup=False, soft_wrap=True)
    out(f"rows: {e.rows}", markup=False)
    out(f"loss ({e.loss_name}): {e.loss:.10g}", markup=False)
    if e.accuracy is not None:
        out(f"accuracy: {e.accuracy:.2%}", markup=False)


def as_json(data: dict) -> None:
    """``data`` as one JSON document on stdout (no colours, no wrapping)."""
    plain(json.dumps(data, indent=2))


def plain(text: str) -> None:
    """``text`` and a newline on stdout as it is (no markup, colour or wrapping); a closed pipe ends quietly."""
    out = _ClosedPipeGuard(False)
    out.write(text + "\n")
    out.flush()


def resolved_config(resolved) -> None:
    """``--print-config``: every key, its value and where the value came from."""
    rows = [[_escape(key), _escape(yaml_value(value)), resolved.sources[key]]
            for key, value in resolved.config.model_dump().items()]
    # the title names a file: a line of its own, so a long path is never folded inside the table's width
    console().print(f"config ({resolved.path or 'no file'})", markup=False, soft_wrap=True)
    print_table(fitted_table(None, [Col("key"), Col("value"), Col("from")], rows))


def yaml_value(value) -> str:
    """A config value as it is written in a config file (null, true, 1.0e-06, [16, 16]), never Python's repr."""
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 30).strip()
    return text[:-3].strip() if text.endswith("\n...") or text.endswith("...") else text


def resolved_config_json(resolved) -> None:
    """``--print-config --json``: {"path", "config": {key: value}, "sources": {key: default|file|--set}}."""
    as_json({"path": resolved.path, "config": resolved.config.model_dump(), "sources": resolved.sources})


# ----------------------------------------------------------------------------- gradcheck and compare-modes
NARROW = 80  # the width a table fits when stdout is not a terminal (stable columns for pipes and files)
_WIDE = [False]


def use_wide(wide: bool) -> None:
    """``--wide``: every table shows all its columns, however wide (the command line sets it once)."""
    _WIDE[0] = wide


@dataclass(frozen=True)
class Col:
    """A table column: its header, alignment and priority (0: always shown; higher numbers go first when the
    table must shrink to fit the width)."""

    name: str
    justify: str = "left"
    priority: int = 0


def fitted_table(title: str | None, cols: list[Col], rows: list[list[str]], *, width: int | None = None) -> "Table":
    """A table that fits ``width`` (the terminal's; NARROW when stdout is a pipe or file): the columns of
    highest priority number are left out until the rest fit, and cells are never cut short (a cell too long
    even so folds onto the next line).  With ``use_wide(True)`` every column is kept.  Off a terminal the
    table is drawn without borders, so the columns are plain text."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    c = console()
    width = width or (c.width if c.is_terminal else NARROW)
    natural = [max([Text.from_markup(col.name).cell_len] + [Text.from_markup(r[i]).cell_len for r in rows])
               for i, col in enumerate(cols)]
    keep = list(range(len(cols)))
    framed = c.is_terminal
    def total(idx):  # a framed column costs its padding and one border; a plain one its padding
        return sum(natural[i] + (3 if framed else 2) for i in idx) + (1 if framed else 0)
    if not _WIDE[0]:
        for level in sorted({col.priority for col in cols if col.priority > 0}, reverse=True):
            if total(keep) <= width:
                break
            keep = [i for i in keep if cols[i].priority < level]
    table = Table(title=title, title_justify="left", box=box.SQUARE if framed else None,
                  header_style="bold" if framed else "", show_edge=framed)
    for i in keep:
        table.add_column(cols[i].name, justify=cols[i].justify, overflow="fold")
    for r in rows:
        table.add_row(*(r[i] for i in keep))
    dropped = [cols[i].name for i in range(len(cols)) if i not in keep]
    if dropped:
        table.caption = f"(left out to fit {width} columns: {', '.join(dropped)}; --wide shows them)"
        table.caption_justify = "left"
    return table


def print_table(table) -> None:
    """Print a table from ``fitted_table``: at its own full width with ``--wide``, else at the screen's.
    The title and the note of dropped columns are lines of their own (as a title and caption rich would wrap
    them at the table's width)."""
    c = console()
    (title, table.title), (note, table.caption) = (table.title, None), (table.caption, None)
    if title:
        c.print(title, markup=False, highlight=False, style="italic" if c.is_terminal else None)
    if not _WIDE[0]:
        c.print(table)
    else:
        _print_wide(c, table)
    if note:
        c.print(note, markup=False, highlight=False)


def _print_wide(c, table) -> None:
    saved = c.width
    from rich.measure import Measurement

    c.width = max(saved, Measurement.get(c, c.options.update_width(1 << 16), table).maximum)
    try:
        c.print(table, crop=False)
    finally:
        c.width = saved


def _escape(text) -> str:
    """User text (names, file contents) inside a table cell: shown as it is, never read as rich markup."""
    from rich.markup import escape

    return escape(str(text))


def _num(value, fmt: str = ".3g") -> str:
    return "-" if value is None else format(value, fmt)


def gradcheck_report(report) -> None:
    """``autotrain gradcheck``: one row per check and input, the pass rule once under the table, warnings."""

    from autotrain.engine.gradcheck import PASS_RULE

    for warning in report.warnings:
        hint(f"warning: {warning}")
    cols = [Col("check"), Col("input", priority=1), Col("shapes", priority=2), Col("dtype", priority=5),
            Col("against", priority=1), Col("entries", "right", 4), Col("max abs err", "right", 1),
            Col("max rel err", "right", 3), Col("worst entry", priority=5), Col("analytical", "right", 6),
            Col("reference", "right", 6), Col("")]
    title = (f"gradcheck ({report.dtype}, eps={report.eps:g}, atol={report.atol:g}, rtol={report.rtol:g})")
    print_table(fitted_table(title, cols, [_gradcheck_cells(row) for row in report.rows]))
    failed = sum(not r.passed for r in report.rows)
    console().print(f"pass rule: {PASS_RULE} (entrywise; a large relative error on a near-zero entry can pass)",
                    markup=False)
    for note in report.notes:
        console().print(f"note: {note}", markup=False)
    verdict = "all passed" if report.passed else f"{failed} of {len(report.rows)} FAILED"
    console().print(f"{len(report.rows)} checks: {verdict}", markup=False)


def _gradcheck_cells(row) -> list[str]:
    mark = "[green]pass[/]" if row.passed else "[bold red]FAIL[/]"
    e = _escape
    if row.error is not None:
        return [e(row.name), e(row.input), e(row.shapes), row.dtype, e(row.against), "-", "-", "-", e(row.error), "-",
                "-", mark]
    r = row.result
    entries = str(row.compared) if row.compared == row.total else f"{row.compared} of {row.total}"
    return [e(row.name), e(row.input), e(row.shapes), row.dtype, e(row.against), entries, _num(r.max_abs_err),
            _num(r.max_rel_err), e(row.worst), _num(r.analytical, ".6g"), _num(r.numerical, ".6g"), mark]


@contextmanager
def mode_progress(total: int, *, quiet: bool = False) -> Iterator:
    """A progress bar over every step of every mode; yields ``on_step(mode, step, loss)`` (or None)."""
    with progress(total, quiet=quiet) as on_step:
        if on_step is None:
            yield None
            return
        done = [0]

        def on_mode_step(mode: str, step: int, loss: float) -> None:
            on_step(done[0], loss)
            done[0] += 1

        yield on_mode_step


def _bytes(n) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def comparison(c, *, show_graph: bool = False) -> None:
    """``autotrain compare-modes``: the table, the tolerance, notes, the curves, the run directory."""

    cols = [Col("mode"), Col("final loss", "right", 1), Col("max loss dev", "right", 2),
            Col("max weight dev", "right", 2), Col("first out of tol", priority=3), Col("ms/step", "right", 1),
            Col("vs manual", "right", 1), Col("peak step mem", "right", 4), Col("")]
    rows = []
    for r in c.results:
        first = "bit-identical" if r.bit_identical else ("within tol" if r.first_out is None else str(r.first_out))
        speed = "-" if r.speed is None else f"{r.speed:.2f}x"
        if c.diverged:
            verdict = f"[bold yellow]diverged at {r.diverged_at}[/]"
        else:
            verdict = "[green]agrees[/]" if r.agrees else "[bold red]DISAGREES[/]"
        rows.append([r.mode, _num(r.final_loss, ".10g"), _num(r.loss_dev), _num(r.weight_dev), first,
                     _num(r.median_ms, ".3f"), speed, _bytes(r.peak_bytes), verdict])
    title = (f"compare-modes: {c.cfg.name}, {c.steps} steps, {c.cfg.dtype}, N={c.cfg.N} D_in={c.cfg.D_in} "
             f"H={c.cfg.H} D_out={c.cfg.D_out}")
    print_table(fitted_table(title, cols, rows))
    out = console().print
    out(f"tolerance ({c.cfg.dtype}): max relative deviation from manual <= {c.tolerance:g}, for the loss at "
        "every step and for the weights after the last one (relative to the largest manual weight); "
        "ms/step = median over the run, after warm-up, in this process; vs manual > 1 = faster; "
        "peak step mem = tracemalloc peak during one step", markup=False)
    for note in c.notes:
        hint(f"note: {note}")
    if show_graph and c.graph is not None:
        out(str(c.graph), markup=False, soft_wrap=True)
        if c.run_dir is not None:
            out(f"DOT: {c.run_dir / 'static-before.dot'}, {c.run_dir / 'static-after.dot'}", markup=False,
                soft_wrap=True)
    out(loss_curves(c), markup=False, soft_wrap=True)
    if c.diverged:
        verdict = diverged_line(c)
    else:
        verdict = "all modes agree" if c.agree else "modes DISAGREE: " + ", ".join(
            r.mode for r in c.results if not r.agrees)
    out(verdict, markup=False)
    if c.run_dir is not None:
        out(f"run: {c.run_dir}", markup=False, soft_wrap=True)


def diverged_line(c) -> str:
    """One line for a comparison where every mode diverged, with a learning rate worth trying."""
    from autotrain.training.compare import lower_lr_line

    return lower_lr_line(c)


def comparison_json(c) -> None:
    """``compare-modes --json``: the table's rows, the verdict and where the files went, as one JSON document."""
    from autotrain.training.compare import to_dict

    as_json(to_dict(c))


def require_plot_file(path) -> None:
    """Refuse ``--plot FILE`` before anything runs: matplotlib missing, or a file it cannot write."""
    from autotrain.cli import plots
    from autotrain.training.usage import UsageError

    if path is None:
        return
    if not plots.available():
        raise UsageError("--plot needs matplotlib: pip install 'autotrain[plot]' (or leave out --plot)")
    plots.check_output(path, "--plot")


def comparison_outcome(c, *, json_out: bool = False, show_graph: bool = False, plot=None) -> None:
    """The end of ``compare-modes``: the loss-curve files (``plot`` and its copy in the run directory), then
    the table (or JSON) and, for JSON, the divergence line on stderr."""
    if plot is not None:
        for path in dict.fromkeys([plot, c.run_dir / plot.name]):
            plot_losses(c, path)
    if json_out:
        comparison_json(c)
        if c.diverged:
            hint(diverged_line(c))
    else:
        comparison(c, show_graph=show_graph)


def loss_curves(c, width: int = 72, height: int = 14) -> str:
    """The loss curves as text (plotext): log10(loss) against step, one connected line per mode."""
    series = {r.mode: (list(range(len(r.losses))), r.losses) for r in c.results}
    return chart(series, title="loss per mode", width=width, height=height)


def plot_losses(c, path) -> None:
    """Every mode's loss curve on one log-scale chart (PNG, SVG... by the suffix); needs ``autotrain[plot]``."""
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for r in c.results:
        ax.plot(range(len(r.losses)), r.losses, label=r.mode, linewidth=1)
    ax.set(yscale="log", xlabel="step", ylabel="loss", title=f"{c.cfg.name} ({c.cfg.dtype}): loss per mode")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ----------------------------------------------------------------------------- charts, runs, show, sweeps
MARKERS = ("•", "x", "+", "o", "*", "#", "=", "%")


def chart(series: dict[str, tuple[list, list]], *, title: str = "", xlabel: str = "step", log: bool = True,
          width: int = 72, height: int = 16, color: bool | None = None) -> str:
    """Curves as terminal text (plotext): each series a connected line, one colour (or marker) per series.

    ``log`` plots log10 of the positive values with ``1e±k`` tick labels (losses span many decades).
    Without colour (stdout is a file or a pipe) each series gets its own marker, so curves stay
    distinguishable; where they coincide, the last one drawn shows.
    """
    import math

    import plotext as plt

    color = console().is_terminal if color is None else color
    drawn = {}
    for label, (xs, ys) in series.items():
        pairs = [(x, y) for x, y in zip(xs, ys) if y is not None and math.isfinite(y) and (y > 0 or not log)]
        if pairs:
            drawn[label] = ([p[0] for p in pairs], [math.log10(p[1]) if log else p[1] for p in pairs])
    if not drawn:
        return ""
    plt.clf()
    plt.plot_size(width, height)
    plt.theme("pro" if color else "clear")
    for i, (label, (xs, ys)) in enumerate(drawn.items()):
        plt.plot(xs, ys, label=label, marker="braille" if color else MARKERS[i % len(MARKERS)])
    if log:
        lo = min(min(ys) for _, ys in drawn.values())
        hi = max(max(ys) for _, ys in drawn.values())
        plt.yticks(*_log_ticks(lo, hi))
    plt.title(title + (" (log scale)" if log else ""))
    plt.xlabel(xlabel)
    text = plt.build()
    plt.clf()
    return text if color else plt.uncolorize(text)


def _log_ticks(lo: float, hi: float, most: int = 7) -> tuple[list[float], list[str]]:
    """Tick positions (log10) inside [lo, hi] and their labels: powers of ten, or 1-2-5 steps in a short range."""
    import math

    for mantissas in ((1,), (1, 2, 5), (1, 2, 3, 5, 7)):
        ticks = [(math.log10(m) + k, f"{m}e{k:+d}") for k in range(math.floor(lo), math.ceil(hi) + 1)
                 for m in mantissas if lo - 1e-9 <= math.log10(m) + k <= hi + 1e-9]
        if len(ticks) >= 3 or mantissas[-1] == 7:
            break
    if len(ticks) < 2:  # a range inside one 1-2-5 step: the ends, as numbers
        ticks = [(lo, f"{10 ** lo:.3g}"), (hi, f"{10 ** hi:.3g}")] if hi > lo else [(lo, f"{10 ** lo:.3g}")]
    stride = -(-len(ticks) // most)
    ticks = ticks[::stride]
    return [t[0] for t in ticks], [t[1] for t in ticks]


def _fmt(value, spec: str = ".6g") -> str:
    return "-" if value is None else format(value, spec)


def _size(n) -> str:
    return _bytes(n)


def runs_table(entries, root: str) -> None:
    """``autotrain runs``: one row per run, comparison and sweep (its trials indented under it)."""

    if not entries:
        console().print(f"no runs in {root} (autotrain fit CONFIG makes one)", markup=False)
        return

    cols = [Col("dir"), Col("name", priority=4), Col("mode", priority=3), Col("status"), Col("step", "right", 1),
            Col("final loss", "right", 1), Col("best validation", priority=2), Col("steps/s", "right", 3),
            Col("start (UTC)", priority=5), Col("size", "right", 4)]
    rows = []

    def add(e, indent: str = "") -> None:
        from pathlib import Path

        status = e.status or "-"
        if e.kind == "unreadable":
            status = f"[red]unreadable[/]: {_escape(e.error)}" if e.error else "[red]unreadable[/]"
        elif e.status in ("diverged", "DISAGREE", "failed"):
            status = f"[red]{e.status}[/]"
        elif e.error:
            status += f" [yellow]({_escape(e.error)})[/]"
        step = "-" if e.step is None and e.steps is None else f"{_fmt(e.step, 'd')}/{_fmt(e.steps, 'd')}"
        start = (e.start or "-").replace("+00:00", "")
        rows.append([indent + _escape(Path(e.dir).name), _escape(e.name or "-"), e.mode or "-", status, step,
                     _fmt(e.final_loss, ".6g"), e.best_val or "-", _fmt(e.steps_per_s, ",.0f"), start,
                     _size(e.size_bytes)])
    for e in entries:
        add(e)
        for t in e.trials:
            add(t, "└ ")
    print_table(fitted_table(f"runs in {root}", cols, rows))
    n_unreadable = sum(e.kind == "unreadable" for e in entries)
    console().print(f"{len(entries)} entries" + (f", {n_unreadable} unreadable" if n_unreadable else ""),
                    markup=False)


def show_run(d) -> None:
    """``autotrain show``: config, summary, checkpoints, the table of a comparison/sweep, the curves."""

    e = d.entry
    out = console().print
    out(f"{e.kind}: {e.dir}", markup=False, soft_wrap=True)
    for problem in d.problems:
        hint(f"note: {problem}")
    if d.config:
        rows = [[_escape(k), _escape(yaml_value(v))] for k, v in d.config.items()]
        print_table(fitted_table("sweep" if e.kind == "sweep" else "config", [Col("key"), Col("value")], rows))
    if d.summary:
        rows = [[_escape(k), _escape(repr(v) if isinstance(v, float) else str(v))] for k, v in d.summary.items()
                if not (k in ("notes", "versions") and not v)]
        print_table(fitted_table("summary", [Col("field"), Col("value")], rows))
    if e.kind == "run":
        kept = ", ".join(f"{c['file']} ({_bytes(c['bytes'])})" for c in d.checkpoints) or "none"
        out(f"checkpoints kept: {kept}", markup=False, soft_wrap=True)
    if d.table:
        header = list(d.table[0])
        cols = [Col(name, priority=i) for i, name in enumerate(header)]  # the file's own order is its priority
        rows = [[_escape(_cell(v)) for v in row.values()] for row in d.table]
        print_table(fitted_table("sweep.csv" if e.kind == "sweep" else "comparison.csv", cols, rows))
    for text in run_charts(d):
        out(text, markup=False, soft_wrap=True, crop=False)


def _cell(text) -> str:
    """A CSV cell for the screen: long floats shortened to 6 significant digits (the file keeps them all)."""
    text = "" if text is None else str(text)
    if "." in text or "e" in text.lower():
        try:
            return format(float(text), ".6g")
        except ValueError:
            pass
    return text


def run_charts(d) -> list[str]:
    """The charts ``show`` draws: loss (and val_loss) per run or per mode; val_accuracy on its own."""
    charts = []
    loss = {}
    for key, m in d.metrics.items():
        for col in ("loss", "val_loss"):
            xs, ys = m.series(col)
            if xs:
                loss[(f"{key} " if key else "") + col] = (xs, ys)
    if loss:
        charts.append(chart(loss, title="loss"))
    acc = {}
    for key, m in d.metrics.items():
        xs, ys = m.series("val_accuracy")
        if xs:
            acc[(f"{key} " if key else "") + "val_accuracy"] = (xs, ys)
    if acc:
        charts.append(chart(acc, title="validation accuracy", log=False))
    if d.entry.kind == "sweep":
        charts.append(sweep_chart(d))
    return [c for c in charts if c]


def sweep_chart(d) -> str:
    """A sweep's metric against its numeric swept key, one line per mode (as ``autotrain plot`` draws it)."""
    import math

    from autotrain.cli.plots import sweep_lines

    try:
        x, lines = sweep_lines(d)
    except ValueError:
        return ""
    values = [v for _, vs in lines.values() for v in vs]
    log = min(values) > 0 and max(values) / min(values) >= 30
    series = {k: ([math.log10(v) for v in xs] if x in ("H", "N", "D_in") or min(xs) > 0 and max(xs) / min(xs) >= 10
                  else xs, ys) for k, (xs, ys) in lines.items()}
    logx = any(a != b for k in lines for a, b in zip(series[k][0], lines[k][0]))
    metric = d.entry.extra.get("metric") or "metric"
    return chart(series, title=f"{metric} vs {'log10 ' if logx else ''}{x}", xlabel=f"{'log10 ' if logx else ''}{x}",
                 log=log)


@contextmanager
def sweep_progress(total: int, *, quiet: bool = False) -> Iterator:
    """A progress bar over a sweep's trials (done / running / failed); yields ``on_progress(p)`` or None."""
    if quiet or not err_console().is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("trials"), MofNCompleteColumn(), BarColumn(),
                   TextColumn("running {task.fields[running]}  failed {task.fields[failed]}"), TimeElapsedColumn(),
                   console=err_console())
    task = bar.add_task("sweep", total=total, running=0, failed=0)

    def on_progress(p) -> None:
        bar.update(task, completed=p.done, running=p.running, failed=p.failed)

    with bar:
        yield on_progress


def sweep_result(r) -> None:
    """The end of a sweep: every trial sorted by the metric (best first), the best, the directory."""

    spec = r.spec
    cols = [Col("#", "right")] + [Col(key, "right") for key in spec.keys]
    cols += [Col("status"), Col(spec.metric, "right"), Col("run", priority=1)]
    rows = []
    for t in r.ranked():
        status = t.status if t.status == "completed" else f"[red]{t.status}[/]"
        vals = [repr(v) if isinstance(v, float) else str(v) for v in (t.trial.values.get(k, "") for k in spec.keys)]
        rows.append([str(t.trial.index), *map(_escape, vals), status, _fmt(t.metric, ".6g"), t.trial.dirname])
    print_table(fitted_table(f"sweep {spec.name}: {len(r.results)} trials, {spec.metric} ({spec.goal}), best first",
                             cols, rows))
    for t in r.results:
        if t.note:
            hint(f"note: trial {t.trial.index}: {t.note}")
    if r.best is not None:
        console().print(f"best: trial {r.best.trial.index} ({r.best.trial.dirname}), {spec.metric} "
                        f"{r.best.metric:.6g}", markup=False, soft_wrap=True)
    console().print(f"sweep: {r.path}  (sweep.csv, one run directory per trial)", markup=False, soft_wrap=True)
    sweep_interrupted(r)


def sweep_interrupted(r) -> None:
    """How to finish a sweep that was interrupted (nothing when it was not)."""
    if r.interrupted:
        hint(f"sweep interrupted; finish it with: autotrain sweep --resume {r.path}")


def best_config(best) -> None:
    """``sweep best``: the config on stdout, or the line saying where it was written."""
    if best.output is None:
        _ClosedPipeGuard(False).write(best.text)
        _ClosedPipeGuard(False).flush()
    else:
        hint(f"{best.note}; wrote {best.output}: train it with autotrain fit {best.output}")


def wrote_events(folder) -> None:
    hint(f"wrote events to {folder}")


def exported(export) -> None:
    """``export-tensorboard``: how to look at what was written."""
    hint(f"view them with: tensorboard --logdir {export.logdir}")


def drawn(d) -> None:
    """``plot``: every file written, and what could not be drawn."""
    for chart_path in d.charts:
        hint(f"wrote {chart_path}")
    for why in d.skipped:
        hint(f"not drawn: {why}")
    hint(f"wrote {d.output}")
