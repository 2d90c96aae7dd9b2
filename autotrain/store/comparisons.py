"""A comparison's run directory: what ``compare-modes`` keeps of a :class:`~autotrain.training.compare.Comparison`.

``write_comparison`` makes ``<root>/<UTC timestamp>-compare-<name>/``::

    config.yaml  data.npz        the config and the arrays every mode started from
    <mode>/metrics.csv           a metrics table (autotrain.store.metrics) with a row for every step of that mode
    comparison.csv               the table compare-modes prints
    static-before.dot            (with a graph report) the static graph before / after the passes
    static-after.dot
"""
from __future__ import annotations

import csv
import os
from datetime import datetime
from pathlib import Path

import numpy as np

from autotrain.modes.problem import Problem
from autotrain.store.metrics import metrics_text
from autotrain.store.runs import RunDir, atomic_write, create_unique_dir, sanitize_name
from autotrain.training.compare import COLUMNS, Comparison, ModeResult, rows
from autotrain.training.config import FitConfig


def create_compare_dir(cfg: FitConfig, root: str | os.PathLike = "runs", now: datetime | None = None) -> Path:
    """A new, empty ``<root>/<UTC timestamp>-compare-<name>/`` (``-2``, ``-3``... when the name is taken)."""
    return create_unique_dir(root, f"compare-{sanitize_name(cfg.name)}", now)


def write_comparison(comparison: Comparison, root: str | os.PathLike = "runs") -> Path:
    """Write config, data, per-mode metrics.csv, comparison.csv and (with a graph report) the DOT files;
    set and return ``comparison.run_dir``."""
    path = create_compare_dir(comparison.cfg, root)
    run = RunDir(path)
    run.write_config(comparison.cfg)
    if isinstance(comparison.data, Problem):
        run.save_data(comparison.data)
    elif comparison.data is not None:
        run.save_fit_data(comparison.data)
    for r in comparison.results:
        _write_metrics(path / r.mode / "metrics.csv", r)
    with open(path / "comparison.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        for row in rows(comparison):
            writer.writerow({k: ("" if v is None else repr(v) if isinstance(v, float) else v) for k, v in row.items()})
    if comparison.graph is not None:
        (path / "static-before.dot").write_text(comparison.graph.dot_before + "\n", encoding="utf-8")
        (path / "static-after.dot").write_text(comparison.graph.dot_after + "\n", encoding="utf-8")
    comparison.run_dir = path
    return path


def _write_metrics(path: Path, result: ModeResult) -> None:
    """A row for every step: its loss (read back bit for bit) and the time since the first step began."""
    path.parent.mkdir(parents=True, exist_ok=True)
    elapsed = np.cumsum(result.step_ms) / 1e3
    rows = ({"step": t, "loss": loss, "elapsed_s": e} for t, (loss, e) in enumerate(zip(result.losses, elapsed)))
    text = metrics_text(rows)
    atomic_write(path, lambda f: f.write(text.encode()))


def compare_and_write(config, overrides=(), *, modes=None, steps: int | None = None, against=(),
                      graph: bool = False, runs_dir: str | os.PathLike = "runs", threads: str | None = None,
                      progress=None) -> Comparison:
    """``autotrain compare-modes``: train the config file ``config`` in every mode of ``modes`` (default: all)
    and ``against`` frameworks, from identical data and weights, and write the comparison's directory under
    ``runs_dir``.  A bad mode, framework or size is refused (UsageError, ConfigError) before anything runs.

    ``progress(total steps)`` is the caller's display: a context manager yielding ``on_step(mode, step, loss)``.
    """
    from contextlib import nullcontext

    from autotrain.store.fitting import named_after, threads_override
    from autotrain.training import compare
    from autotrain.training.config import check_resources, load_config
    from autotrain.training.threads import blas_threads, limit_blas
    from autotrain.training.usage import UsageError

    try:
        against = compare.check_against(against)
        names = compare.mode_names(modes)
    except ValueError as exc:  # an unknown mode or framework
        raise UsageError(str(exc)) from None
    cfg = named_after(load_config(config, list(overrides) + threads_override(threads), check=False), config)
    runners = len(names) + len(set(against))
    check_resources(cfg, str(config), "compare-modes", runners=runners)
    shown = progress((steps or cfg.steps) * runners) if progress is not None else nullcontext()
    with shown as on_step, limit_blas(blas_threads(cfg)):
        result = compare.compare_modes(cfg, names, steps, on_step, against=against, graph=graph)
        write_comparison(result, runs_dir)
    return result
