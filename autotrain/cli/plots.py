"""``autotrain plot``: charts of run directories as image files (matplotlib, the ``plot`` extra).

* runs (and comparisons): every loss curve on one log-scale chart, validation loss dashed;
* a sweep: its metric against a swept numeric key (log x when the values span a decade or more),
  one line per mode (or per value of the other swept keys), from sweep.csv.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

HINT = "autotrain plot needs matplotlib: pip install 'autotrain[plot]'"
SUFFIXES = (".png", ".svg", ".pdf")


@dataclass
class Drawn:
    """What ``draw`` wrote: ``output``, a sweep's Optuna charts beside it, and the charts it could not draw."""

    output: Path
    charts: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def draw(paths: list, output: str | os.PathLike) -> Drawn:
    """``autotrain plot``: the loss curves of run/compare directories, or one sweep's metric against its swept
    key (and its study's charts), into ``output``; UsageError for what cannot be drawn (nothing is written)."""
    from autotrain.store import catalog
    from autotrain.training.usage import UsageError

    output = Path(os.fspath(output))
    if not available():
        raise UsageError(HINT)
    check_output(output, "--output")
    details = [catalog.detail(path) for path in paths]
    sweeps = [d for d in details if d.entry.kind == "sweep"]
    if sweeps and len(details) > 1:
        raise UsageError("give one sweep directory, or only run/compare directories")
    try:
        if not sweeps:
            plot_runs(details, output)
            return Drawn(output)
        plot_sweep(sweeps[0], output)
        charts, skipped = plot_study(sweeps[0].entry.dir, output)
        return Drawn(output, list(charts), list(skipped))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def check_output(output: Path, flag: str) -> None:
    """Refuse (UsageError) an image file that cannot be written, before anything is computed: a suffix
    matplotlib is not asked to write here, a directory, a folder that does not exist."""
    from autotrain.training.usage import UsageError

    if output.suffix.lower() not in SUFFIXES:
        raise UsageError(f"{flag} {output}: the suffix must be one of {', '.join(SUFFIXES)}")
    if output.is_dir():
        raise UsageError(f"{flag} {output}: is a directory; give a file name, e.g. loss.png")
    if not output.parent.is_dir():
        raise UsageError(f"{flag} {output}: the folder {output.parent} does not exist")


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def plot_runs(details, output: str | os.PathLike) -> None:
    """Loss curves of runs/comparisons (``catalog.RunDetail``) on one chart, written to ``output``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for d in details:
        label = Path(d.entry.dir).name
        for key, m in d.metrics.items():
            for col, style in (("loss", "-"), ("val_loss", "--")):
                xs, ys = m.series(col)
                pairs = [(x, y) for x, y in zip(xs, ys) if y > 0]
                if pairs:
                    name = " ".join(p for p in (label, key, "" if col == "loss" else col) if p)
                    ax.plot([p[0] for p in pairs], [p[1] for p in pairs], style, label=name, linewidth=1)
    ax.set(yscale="log", xlabel="step", ylabel="loss", title="loss")
    ax.legend(fontsize="small")
    _save(fig, plt, output)


def sweep_axes(rows: list[dict], keys: list[str]) -> tuple[str, list[str]]:
    """The x key (the first swept key whose values are all numbers) and the keys that make separate lines."""
    def numeric(k):
        try:
            return all(math.isfinite(float(r[k])) for r in rows)
        except (KeyError, TypeError, ValueError):
            return False
    xs = [k for k in keys if numeric(k)]
    if not xs:
        raise ValueError(f"the sweep has no numeric swept key to plot against (swept: {', '.join(keys)})")
    x = "H" if "H" in xs else xs[0]
    return x, [k for k in keys if k != x]


def sweep_lines(detail) -> tuple[str, dict[str, tuple[list[float], list[float]]]]:
    """From a sweep's sweep.csv: the x key and, per line (mode or other swept values), sorted (xs, values)."""
    rows = [r for r in detail.table if _finite(r.get("value"))]
    if not rows:
        raise ValueError(f"{detail.entry.dir}: no trial has a {detail.entry.extra.get('metric')} value yet")
    keys = [k for k in detail.table[0] if k not in ("trial", "run", "status", "metric", "value")]
    x, others = sweep_axes(rows, keys)
    points: dict[str, list[tuple[float, float]]] = {}
    for r in rows:
        label = ", ".join(f"{k}={r[k]}" if k != "mode" else r[k] for k in others) or "trials"
        points.setdefault(label, []).append((float(r[x]), float(r["value"])))
    return x, {k: ([p[0] for p in sorted(v)], [p[1] for p in sorted(v)]) for k, v in points.items()}


def _finite(text) -> bool:
    try:
        return math.isfinite(float(text))
    except (TypeError, ValueError):
        return False


def plot_sweep(detail, output: str | os.PathLike, metric_label: str | None = None) -> None:
    """A sweep's metric against its numeric swept key, one line per mode (or other swept values)."""
    x, lines = sweep_lines(detail)
    rows = [r for r in detail.table if _finite(r.get("value"))]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for label, (px, py) in lines.items():
        ax.plot(px, py, "o-", label=label, linewidth=1.2, markersize=4)
    xs = [float(r[x]) for r in rows]
    if min(xs) > 0 and max(xs) / min(xs) >= 10:
        ax.set_xscale("log")
    metric = metric_label or detail.entry.extra.get("metric") or "metric"
    values = [float(r["value"]) for r in rows]
    if min(values) > 0 and max(values) / min(values) >= 30:
        ax.set_yscale("log")
    goal = detail.entry.extra.get("goal")
    ax.set(xlabel=x, ylabel=f"{metric}" + (f" ({'lower' if goal == 'min' else 'higher'} is better)" if goal else ""),
           title=f"sweep {detail.entry.name or Path(detail.entry.dir).name}: {metric} vs {x}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    _save(fig, plt, output)


def plot_study(sweep_dir: str | os.PathLike, output: str | os.PathLike) -> tuple[list[Path], list[str]]:
    """Optuna's charts of a sweep's study (matplotlib backend), beside ``output``: ``<stem>-history``,
    ``<stem>-importances`` and ``<stem>-parallel`` with its suffix.  Returns the files written and, for a chart
    the study cannot give yet (e.g. importances with fewer than two finished trials), why not."""
    from autotrain.sweep import study as st

    path = Path(os.fspath(sweep_dir))
    if not (path / st.STUDY_FILE).is_file() or not st.available():
        return [], []
    import warnings

    import optuna
    from optuna.visualization import matplotlib as ov

    study = st.load_study(path)
    out, skipped = Path(os.fspath(output)), []
    written = []
    charts = (("history", ov.plot_optimization_history), ("importances", ov.plot_param_importances),
              ("parallel", ov.plot_parallel_coordinate))
    plt = _pyplot()
    for name, draw in charts:
        target = out.with_name(f"{out.stem}-{name}{out.suffix}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ax = draw(study)
        except (ValueError, RuntimeError, ZeroDivisionError, optuna.exceptions.OptunaError) as exc:
            skipped.append(f"{name}: {exc}")
            continue
        fig = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
        fig.set_size_inches(7.5, 4.2)
        _save(fig, plt, target)
        written.append(target)
    return written, skipped


def _save(fig, plt, output) -> None:
    fig.tight_layout()
    fig.savefig(output, **({"dpi": 90} if str(output).endswith(".png") else {}))
    plt.close(fig)


__all__ = ["plot_runs", "plot_sweep", "plot_study", "sweep_lines", "available", "HINT", "SUFFIXES", "sweep_axes"]
