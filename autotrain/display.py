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


def metrics_table(rows: list[dict], title: str = "metrics") -> Table:
    """metrics.csv rows (dicts) as a table: epoch and validation columns only where the run has them."""
    from rich.table import Table

    cols = ["step"] + [c for c in ("epoch",) if any(r["epoch"] is not None for r in rows)] + ["loss"]
    cols += [c for c in ("val_loss", "val_accuracy") if any(r[c] is not None for r in rows)] + ["elapsed_s"]
    table = Table(title=title, title_justify="left")
    for c in cols:
        table.add_column(c, justify="right")
    fmt = {"step": str, "epoch": str, "loss": lambda v: f"{v:.10g}", "val_loss": lambda v: f"{v:.10g}",
           "val_accuracy": lambda v: f"{v:.2%}", "elapsed_s": lambda v: f"{v:.3f}"}
    for r in _sample(rows):
        table.add_row(*("" if r[c] is None else fmt[c](r[c]) for c in cols))
    return table


def summary(s, rows: list) -> None:
    """The end of a fit: the metrics table, the best validation figure, the status line and the run directory.

    ``rows``: ``RunDir.read_metric_rows()`` dicts (or the older ``(step, loss, elapsed_s)`` tuples)."""
    if rows:
        shown = len(_sample(rows))
        title = "loss" + (f" ({shown} of {len(rows)} logged rows; all in metrics.csv)" if shown < len(rows) else "")
        console().print(metrics_table(rows, title) if isinstance(rows[0], dict) else loss_table(rows, title))
    if getattr(s, "best_val_loss", None) is not None:
        acc = "" if s.best_val_accuracy is None else f", val accuracy {s.best_val_accuracy:.2%}"
        console().print(f"best: val loss {s.best_val_loss:.10g}{acc} at step {s.best_step} "
                        f"(checkpoints/step-{s.best_step:06d}.npz)", markup=False)
    for note in s.notes:
        hint(f"note: {note}")
    loss = "-" if s.final_loss is None else f"{s.final_loss:.10g}"
    console().print(f"{s.status}: step {s.step}/{s.steps}, final loss {loss}, {s.steps_per_s:,.0f} steps/s, "
                  f"{s.wall_time_s:.2f} s", markup=False)
    console().print(f"run: {s.run_dir}", markup=False, soft_wrap=True)


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


def resolved_config_json(resolved) -> None:
    """``--print-config --json``: {"path", "config": {key: value}, "sources": {key: default|file|--set}}."""
    as_json({"path": resolved.path, "config": resolved.config.model_dump(), "sources": resolved.sources})


# ----------------------------------------------------------------------------- gradcheck and compare-modes
def _print_wide(renderable, columns: int) -> None:
    """Print a many-column table at the terminal's width, or at ``columns`` when stdout is a file or pipe."""
    c = console()
    if c.is_terminal or c.width >= columns:
        c.print(renderable)
        return
    saved, c.width = c.width, columns
    try:
        c.print(renderable)
    finally:
        c.width = saved


def _num(value, fmt: str = ".3g") -> str:
    return "-" if value is None else format(value, fmt)


def gradcheck_report(report) -> None:
    """``autotrain gradcheck``: one row per check and input, the pass rule once under the table, warnings."""
    from rich.table import Table

    from autotrain.engine.gradcheck import PASS_RULE

    for warning in report.warnings:
        hint(f"warning: {warning}")
    table = Table(title=f"gradcheck ({report.dtype}, eps={report.eps:g}, atol={report.atol:g}, "
                        f"rtol={report.rtol:g})", title_justify="left")
    for name, justify in (("check", "left"), ("input", "left"), ("shapes", "left"), ("dtype", "left"),
                          ("against", "left"), ("entries", "right"), ("max abs err", "right"),
                          ("max rel err", "right"), ("worst entry", "left"), ("analytical", "right"),
                          ("reference", "right"), ("", "left")):
        table.add_column(name, justify=justify)
    for row in report.rows:
        table.add_row(*_gradcheck_cells(row))
    _print_wide(table, 170)
    failed = sum(not r.passed for r in report.rows)
    console().print(f"pass rule: {PASS_RULE} (entrywise; a large relative error on a near-zero entry can pass)",
                    markup=False, soft_wrap=True)
    for note in report.notes:
        console().print(f"note: {note}", markup=False, soft_wrap=True)
    verdict = "all passed" if report.passed else f"{failed} of {len(report.rows)} FAILED"
    console().print(f"{len(report.rows)} checks: {verdict}", markup=False)


def _gradcheck_cells(row) -> list[str]:
    mark = "[green]pass[/]" if row.passed else "[bold red]FAIL[/]"
    if row.error is not None:
        return [row.name, row.input, row.shapes, row.dtype, row.against, "-", "-", "-", row.error, "-", "-", mark]
    r = row.result
    entries = str(row.compared) if row.compared == row.total else f"{row.compared} of {row.total}"
    return [row.name, row.input, row.shapes, row.dtype, row.against, entries, _num(r.max_abs_err),
            _num(r.max_rel_err), row.worst, _num(r.analytical, ".6g"), _num(r.numerical, ".6g"), mark]


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
    from rich.table import Table

    table = Table(title=f"compare-modes: {c.cfg.name}, {c.steps} steps, {c.cfg.dtype}, N={c.cfg.N} "
                        f"D_in={c.cfg.D_in} H={c.cfg.H} D_out={c.cfg.D_out}", title_justify="left")
    for name in ("mode", "final loss", "max loss dev", "max weight dev", "first step out of tol", "ms/step",
                 "vs manual", "peak step mem", ""):
        table.add_column(name, justify="left" if name in ("mode", "first step out of tol", "") else "right")
    for r in c.results:
        first = "bit-identical" if r.bit_identical else ("within tol" if r.first_out is None else str(r.first_out))
        speed = "-" if r.speed is None else f"{r.speed:.2f}x"
        if c.diverged:
            verdict = f"[bold yellow]diverged at {r.diverged_at}[/]"
        else:
            verdict = "[green]agrees[/]" if r.agrees else "[bold red]DISAGREES[/]"
        table.add_row(r.mode, _num(r.final_loss, ".10g"), _num(r.loss_dev), _num(r.weight_dev), first,
                      _num(r.median_ms, ".3f"), speed, _bytes(r.peak_bytes), verdict)
    _print_wide(table, 130)
    out = console().print
    out(f"tolerance ({c.cfg.dtype}): max relative deviation from manual <= {c.tolerance:g}, for the loss at "
        "every step and for the weights after the last one (relative to the largest manual weight); "
        "ms/step = median over the run, after warm-up, in this process; vs manual > 1 = faster; "
        "peak step mem = tracemalloc peak during one step", markup=False, soft_wrap=True)
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
    steps = sorted({r.diverged_at for r in c.results})
    where = f"at step {steps[0]}" if len(steps) == 1 else f"at steps {steps[0]}..{steps[-1]}"
    return f"diverged {where} in every mode: lower lr (try --set lr={c.cfg.lr / 10:.3g})"


def comparison_json(c) -> None:
    """``compare-modes --json``: the table's rows, the verdict and where the files went, as one JSON document."""
    import math

    def plain(v):
        return v if not isinstance(v, float) or math.isfinite(v) else repr(v)  # JSON has no NaN/inf

    from autotrain.compare import rows

    as_json({"config": c.cfg.model_dump(), "steps": c.steps, "tolerance": c.tolerance,
             "agree": c.agree and not c.diverged, "diverged": c.diverged, "diverged_at": c.diverged_at,
             "rows": [{k: plain(v) for k, v in row.items()} for row in rows(c)], "notes": c.notes,
             "run_dir": None if c.run_dir is None else str(c.run_dir)})


def loss_curves(c, width: int = 60, height: int = 12) -> str:
    """The loss curves as text: log10(loss) against step, one letter per mode (later modes drawn on top)."""
    import math

    curves = [(r.mode, [math.log10(v) for v in r.losses if v > 0 and math.isfinite(v)]) for r in c.results]
    values = [v for _, ys in curves for v in ys]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    grid = [[" "] * width for _ in range(height)]
    for mode, ys in curves:
        for i, v in enumerate(ys):
            col = i * (width - 1) // max(len(ys) - 1, 1)
            row = 0 if hi == lo else round((hi - v) / (hi - lo) * (height - 1))
            grid[row][col] = mode[0]
    labels = [f"1e{hi:+.0f}" if i == 0 else f"1e{lo:+.0f}" if i == height - 1 else "" for i in range(height)]
    lines = [f"{label:>7} |{''.join(cells)}" for label, cells in zip(labels, grid)]
    key = ", ".join(f"{m[0]} = {m}" for m, _ in curves) + " (where curves coincide, the last one shows)"
    return "\n".join(["loss (log scale)"] + lines + [f"{'':>7} +{'-' * width}", f"{'':>9}step 0 .. {c.steps - 1}; {key}"])


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
