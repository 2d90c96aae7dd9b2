"""A sweep directory's files: sweep.yaml, sweep.csv, and each trial's status and metric from its run."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from autotrain.store.metrics import read_metrics
from autotrain.training.config import ConfigError
from autotrain.sweep.spec import SweepSpec, Trial, is_real_number

#: Trial states a resumed sweep keeps as they are.
FINISHED = ("completed", "diverged", "pruned")


@dataclass
class TrialResult:
    """What one trial did: its status and metric (None unless it completed)."""

    trial: Trial
    status: str = "pending"  # pending | running | completed | pruned | diverged | interrupted | failed
    metric: float | None = None
    note: str = ""


@dataclass
class Progress:
    total: int
    done: int = 0
    running: int = 0
    failed: int = 0


@dataclass
class SweepResult:
    """A sweep's directory, spec and one result per trial (in trial order)."""

    path: Path
    spec: SweepSpec
    results: list[TrialResult]
    interrupted: bool = False

    def ranked(self) -> list[TrialResult]:
        """Completed trials best first by the metric, then pruned ones (by the last value they reported),
        then the others in trial order."""
        def by_metric(status):
            rows = [r for r in self.results if r.metric is not None and r.status == status]
            return sorted(rows, key=lambda r: r.metric, reverse=self.spec.goal == "max")
        ranked = by_metric("completed") + by_metric("pruned")
        return ranked + [r for r in self.results if r not in ranked]

    @property
    def best(self) -> TrialResult | None:
        """The best completed trial (None: none completed)."""
        ranked = self.ranked()
        return ranked[0] if ranked and ranked[0].status == "completed" and ranked[0].metric is not None else None


def csv_columns(spec: SweepSpec) -> list[str]:
    return ["trial", "run", *spec.keys, "status", "metric", "value"]


def write_csv(result: SweepResult) -> None:
    """sweep.csv, atomically: one row per trial in trial order (values written so they read back exactly)."""
    import csv
    import io

    from autotrain.store.runs import atomic_write

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(csv_columns(result.spec))
    for r in result.results:
        vals = [repr(v) if isinstance(v, float) else v for v in (r.trial.values.get(k, "") for k in result.spec.keys)]
        w.writerow([r.trial.index, r.trial.dirname, *vals, r.status, result.spec.metric,
                    "" if r.metric is None else repr(r.metric)])
    atomic_write(result.path / "sweep.csv", lambda f: f.write(buf.getvalue().encode()))


def create_sweep(spec: SweepSpec, runs_dir: str | os.PathLike = "runs") -> Path:
    """A new ``<runs_dir>/<UTC timestamp>-sweep-<name>/`` holding sweep.yaml."""
    from autotrain.store.runs import atomic_write, create_unique_dir, sanitize_name

    path = create_unique_dir(runs_dir, f"sweep-{sanitize_name(spec.name)}")
    atomic_write(path / "sweep.yaml", lambda f: f.write(spec.to_yaml().encode()))
    return path


def metric_value(run_path: Path, metric: str, last_row: bool = False) -> float | None:
    """``metric`` of a finished run: a summary.json field, or the last value of a metrics.csv column
    (``last_row``: always the column, e.g. for a pruned run)."""
    from autotrain.store import catalog

    if last_row:
        try:
            value = read_metrics(run_path / "metrics.csv").last(metric)
        except catalog.UnreadableError:
            return None
        return value if value is not None and math.isfinite(value) else None
    try:
        summary = catalog.read_json(run_path / "summary.json")
    except catalog.UnreadableError:
        summary = {}
    if metric == "ms_per_step":
        rate = summary.get("steps_per_s")
        return 1e3 / rate if is_real_number(rate) and rate > 0 else None
    if metric in ("wall_time_s", "elapsed_s"):  # the whole run's time, every resumed segment counted
        try:
            value = read_metrics(run_path / "metrics.csv").last("elapsed_s")
        except catalog.UnreadableError:
            value = None
        if value is not None and math.isfinite(value) and (metric == "elapsed_s" or summary.get("resumed_from")):
            return float(value)
    if metric == "loss" and is_real_number(summary.get("final_loss")):
        return float(summary["final_loss"])
    if is_real_number(summary.get(metric)):
        return float(summary[metric])
    try:
        value = read_metrics(run_path / "metrics.csv").last(metric.removeprefix("final_"))
    except catalog.UnreadableError:
        return None
    return value if value is not None and math.isfinite(value) else None


def trial_state(path: Path) -> str:
    """``missing``, ``completed``/``diverged``/``pruned`` (kept on resume), or ``unfinished`` (to resume)."""
    from autotrain.store import catalog

    if not path.is_dir():
        return "missing"
    try:
        status = catalog.read_json(path / "summary.json").get("status")
    except catalog.UnreadableError:
        return "unfinished"
    return status if status in FINISHED else "unfinished"


def prepare_trial(sweep_dir: Path, trial: Trial) -> Path:
    """The trial's run directory with its config.yaml (made now if missing; a foreign one is refused)."""
    from autotrain.store.runs import RunDir, RunError

    path = sweep_dir / trial.dirname
    run = RunDir(path)
    path.mkdir(exist_ok=True)
    (path / "checkpoints").mkdir(exist_ok=True)
    if run.config_path.is_file():
        try:
            existing = run.read_config()
        except ConfigError:
            existing = None
        if existing is None or existing.config_hash() != trial.config.config_hash():
            raise RunError(f"{path} holds a run of another config; move it away to resume this sweep")
    else:
        run.write_config(trial.config)
    return path


def finish_trial(result: TrialResult, path: Path, metric: str, returncode: int | None) -> None:
    """Set a finished trial's status and metric from its run directory (``failed`` when fit left no status)."""
    from autotrain.store import catalog

    try:
        status = catalog.read_json(path / "summary.json").get("status")
    except catalog.UnreadableError:
        status = None
    if status in ("completed", "diverged", "interrupted", "pruned"):
        result.status = status
    else:
        result.status = "failed"
        result.note = f"fit exited with code {returncode}; see logs/{path.name}.log"
    if result.status == "pruned":  # the last value it reported to the pruner
        result.metric = metric_value(path, metric.removeprefix("final_"), last_row=True)
    else:
        result.metric = metric_value(path, metric) if result.status == "completed" else None




def best_config(sweep_dir: str | os.PathLike) -> tuple[str, str]:
    """The best completed trial's full config as YAML (ready for ``autotrain fit``) and a line saying which
    trial it is; RunError when the directory is no sweep or no trial completed with a metric."""
    import csv

    from autotrain.training.config import to_yaml
    from autotrain.store.runs import RunDir, RunError
    from autotrain.sweep.local import open_sweep

    path = Path(os.fspath(sweep_dir))
    spec = open_sweep(path)
    try:
        with open(path / "sweep.csv", newline="", encoding="utf-8") as f:
            rows = [r for r in csv.DictReader(f) if r.get("status") == "completed" and is_real_number(_float(r.get("value")))]
    except (OSError, csv.Error) as exc:
        raise RunError(f"{path / 'sweep.csv'}: cannot be read ({exc})") from None
    if not rows:
        raise RunError(f"{path}: no trial has completed with a {spec.metric} yet (autotrain sweep --resume {path})")
    best = (max if spec.goal == "max" else min)(rows, key=lambda r: float(r["value"]))
    run = RunDir(path / best["run"])
    try:
        cfg = run.read_config()
    except (ConfigError, OSError) as exc:
        raise RunError(f"{run.config_path}: cannot be read ({exc})") from None
    note = f"best: trial {best['trial']} ({best['run']}), {spec.metric} {float(best['value']):.6g}"
    header = f"# {note}, from the sweep {path}\n"
    return header + to_yaml(cfg), note


def _float(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None
