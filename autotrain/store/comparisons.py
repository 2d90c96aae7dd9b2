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
