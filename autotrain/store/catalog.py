"""Find and read run directories without trusting them: ``autotrain runs``, ``show`` and ``plot`` read through here.

A runs folder holds three kinds of directory, all recognised by their files:

* a **run** (``fit``, or one trial of a sweep): ``config.yaml``, ``metrics.csv``, ``summary.json``, ``checkpoints/``
* a **comparison** (``compare-modes``): ``comparison.csv`` and ``<mode>/metrics.csv``
* a **sweep**: ``sweep.yaml``, ``sweep.csv`` and one run directory per trial

Anything else (a damaged run, a foreign folder, a stray file) becomes an entry whose ``error`` says what
is wrong; nothing here raises on bad files.  Every read is bounded (``MAX_SMALL_FILE`` for YAML/JSON,
``MAX_METRICS_FILE`` for a metrics table), opens only regular files, never follows a symbolic link
(``O_NOFOLLOW``, :mod:`autotrain.store.files`) and never leaves the directory it was given, so a link to
``/dev/zero`` or to a file elsewhere is reported, not read.

``metrics.csv`` is read by :mod:`autotrain.store.metrics`, by column *name*.
"""
from __future__ import annotations

import csv
import io
import math
import os
import re
import stat
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from autotrain.modes.names import MODE_NAMES, REFERENCE_FRAMEWORKS
from autotrain.store import metrics as metrics_file
from autotrain.store.files import MAX_SMALL_FILE, UnreadableError, read_bounded, read_text
from autotrain.store.metrics import Metrics, parse_metrics, read_metrics
from autotrain.store.names import SORT_KEYS, STATUSES

MAX_WALK_ENTRIES = 100_000  # size on disk stops counting (and says so) after this many files
STAMP_RE = re.compile(r"^(\d{8}T\d{6}Z)-")
KINDS = ("run", "compare", "sweep", "unreadable")


def read_json(path: Path) -> dict:
    """A JSON object file (summary.json); UnreadableError for anything else."""
    text = read_text(path)
    from autotrain.training.data import loads_json

    try:
        data = loads_json(text)
    except ValueError as exc:
        raise UnreadableError(f"{path.name} is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise UnreadableError(f"{path.name} holds a JSON {type(data).__name__}, expected an object")
    return data


def read_yaml(path: Path) -> dict:
    """A YAML mapping (config.yaml, sweep.yaml), through the config loader's safe, line-aware parser."""
    from autotrain.training.config import ConfigError, parse_yaml

    text = read_text(path)
    try:
        data, _ = parse_yaml(text, path.name)
    except ConfigError as exc:
        raise UnreadableError(str(exc).splitlines()[0]) from None
    if not isinstance(data, dict):
        raise UnreadableError(f"{path.name} is not a YAML mapping")
    return data


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """A small CSV (comparison.csv, sweep.csv) as dicts of strings."""
    return list(csv.DictReader(io.StringIO(read_text(path))))


# ----------------------------------------------------------------------------- what a directory is
def kind_of(path: Path) -> str:
    """``run``, ``compare``, ``sweep`` or ``unreadable``, by the files present (links are not followed)."""
    if path.is_symlink() or not path.is_dir():
        return "unreadable"
    has = lambda name: os.path.lexists(path / name)  # noqa: E731
    if has("sweep.yaml"):
        return "sweep"
    if has("comparison.csv"):
        return "compare"
    if has("config.yaml") and (has("summary.json") or has("metrics.csv") or has("checkpoints")):
        return "run"
    if has("config.yaml") and any((path / m / "metrics.csv").is_file() for m in COMPARISON_DIRS):
        return "compare"  # a comparison killed before it wrote comparison.csv
    return "unreadable"


#: The folders of a comparison that may hold a ``metrics.csv``: one per mode, one per real framework.
COMPARISON_DIRS = MODE_NAMES + REFERENCE_FRAMEWORKS


@dataclass
class Entry:
    """One row of ``autotrain runs``: a run, a comparison, a sweep (with its trials) or an unreadable folder."""

    dir: str
    kind: str
    name: str | None = None
    mode: str | None = None
    status: str | None = None
    step: int | None = None
    steps: int | None = None
    final_loss: float | None = None
    best_val: str | None = None  # e.g. "val_accuracy 0.961 @ 300" or "val_loss 0.0123 @ 280"
    best_val_value: float | None = None
    steps_per_s: float | None = None
    start: str | None = None  # ISO 8601, UTC
    size_bytes: int | None = None
    error: str | None = None
    trials: list["Entry"] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["trials"] = [t.to_dict() for t in self.trials]
        return d


def start_time(path: Path) -> str | None:
    """The run's UTC start from its directory name (``20240102T030405Z-...``), else its mtime."""
    m = STAMP_RE.match(path.name)
    if m:
        return datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).isoformat()
    try:
        return datetime.fromtimestamp(path.lstat().st_mtime, timezone.utc).replace(microsecond=0).isoformat()
    except OSError:
        return None


def disk_usage(path: Path, limit: int = MAX_WALK_ENTRIES) -> int:
    """Bytes allocated on disk under ``path`` (links counted as themselves, never followed)."""
    total, seen, stack = 0, 0, [path]
    while stack and seen < limit:
        try:
            with os.scandir(stack.pop()) as it:
                for e in it:
                    seen += 1
                    try:
                        st = e.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    total += getattr(st, "st_blocks", 0) * 512 or st.st_size
                    if e.is_dir(follow_symlinks=False):
                        stack.append(Path(e.path))
        except OSError:
            continue
    return total


def writer_alive(path: Path) -> bool:
    """Whether a process still writes the run: its lock file (``.autotrain.lock``, removed on a normal end)
    names a live process.  On this machine only; a run on shared storage written elsewhere looks killed."""
    try:
        data, _ = read_bounded(path / ".autotrain.lock", 64)
    except UnreadableError:
        return False
    text = data.decode("ascii", "replace").strip()
    if not text.isdigit():
        return False
    try:
        os.kill(int(text), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _num(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _text(mapping: dict, key: str) -> str | None:
    """``mapping[key]`` when it is a string (a damaged file may hold anything there), else None."""
    value = mapping.get(key)
    return value if isinstance(value, str) else None


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _best_val(summary: dict, metrics: Metrics | None) -> tuple[str | None, float | None]:
    """The best validation figure as fit defines it (the lowest validation loss, with the accuracy at that
    step): from summary.json, else from metrics.csv.  Returns (text, validation loss) for sorting."""
    loss, acc, step = _num(summary.get("best_val_loss")), _num(summary.get("best_val_accuracy")), \
        _int(summary.get("best_step"))
    if loss is None and metrics is not None:
        rows = [r for r in metrics.rows() if r.get("val_loss") is not None and math.isfinite(r["val_loss"])]
        if rows:
            best = min(rows, key=lambda r: r["val_loss"])
            loss, acc = best["val_loss"], best.get("val_accuracy")
            step = int(best["step"]) if best.get("step") is not None else None
    if loss is None:
        return None, None
    text = f"val_loss {loss:.4g}" + (f", accuracy {acc:.4g}" if acc is not None else "")
    return text + (f" @ {step}" if step is not None else ""), loss


def read_run(path: Path, with_size: bool = True) -> Entry:
    """One run directory as an Entry; a damaged one has ``error`` set and whatever could be read."""
    e = Entry(str(path), "run", start=start_time(path))
    if with_size:
        e.size_bytes = disk_usage(path)
    try:
        cfg = read_yaml(path / "config.yaml")
    except UnreadableError as exc:
        e.kind, e.error, cfg = "unreadable", str(exc), {}
    e.name = _text(cfg, "name")
    e.mode = _text(cfg, "mode")
    e.steps = _int(cfg.get("steps"))
    summary: dict = {}
    try:
        summary = read_json(path / "summary.json")
    except UnreadableError as exc:
        if "missing" not in str(exc) and e.error is None:
            e.kind, e.error = "unreadable", str(exc)
    status = summary.get("status")
    e.status = status if isinstance(status, str) else ("unknown" if summary else "no summary")
    if e.status == "running" and not writer_alive(path):
        e.status = "killed"  # summary.json says running, but no process holds the run's lock
        e.extra["hint"] = f"continue with: autotrain fit --resume {path}"
    e.step, e.final_loss = _int(summary.get("step")), _num(summary.get("final_loss"))
    if e.status == "killed":  # its summary.json still holds the start step; the checkpoints say how far it got
        steps = [c["step"] for c in _checkpoints(path / "checkpoints") if c["step"] is not None]
        e.step = max(steps + ([e.step] if e.step is not None else []), default=None)
    e.steps = _int(summary.get("steps")) if _int(summary.get("steps")) is not None else e.steps
    e.steps_per_s = _num(summary.get("steps_per_s"))
    e.mode = mode if (mode := _text(summary, "mode")) is not None else e.mode
    metrics = None
    needs_metrics = e.final_loss is None or not any(k in summary for k in ("best_val_loss", "best_val_accuracy"))
    if needs_metrics:
        try:
            metrics = read_metrics(path / "metrics.csv")
        except UnreadableError as exc:
            e.error = e.error or str(exc)
            e.kind = "unreadable"
    if e.final_loss is None and metrics is not None:
        e.final_loss = metrics.last("loss")
        last_step = metrics.last("step")
        if e.step is None and last_step is not None:
            e.step = int(last_step) + 1
    e.best_val, e.best_val_value = _best_val(summary, metrics)
    return e


def read_compare(path: Path, with_size: bool = True) -> Entry:
    """A compare-modes directory: one entry, the mode column listing the modes, status agree/DISAGREE."""
    e = Entry(str(path), "compare", start=start_time(path), size_bytes=disk_usage(path) if with_size else None)
    try:
        cfg = read_yaml(path / "config.yaml")
        e.name = _text(cfg, "name")
    except UnreadableError as exc:
        e.error = str(exc)
    try:
        rows = read_csv_rows(path / "comparison.csv")
    except UnreadableError as exc:
        rows = []
        e.status = "incomplete"
        e.error = e.error or (None if "missing" in str(exc) else str(exc))
    modes = [r.get("mode", "?") for r in rows] or [m for m in COMPARISON_DIRS if (path / m / "metrics.csv").is_file()]
    e.mode = ",".join(modes)
    if rows:
        e.status = "agree" if all(r.get("agrees") == "True" for r in rows) else "DISAGREE"
        manual = rows[0]
        try:
            e.final_loss = float(manual.get("final_loss") or "nan")
            e.final_loss = e.final_loss if math.isfinite(e.final_loss) else None
            ms = float(manual.get("median_ms_per_step") or "nan")
            e.steps_per_s = 1e3 / ms if ms > 0 else None
        except ValueError:
            e.error = e.error or "comparison.csv has non-numeric values"
    try:
        m = read_metrics(path / "manual" / "metrics.csv")
        e.step = e.steps = len(m) or None
    except UnreadableError:
        pass
    if e.error and not rows:
        e.kind = "unreadable"
    return e


def read_sweep(path: Path, with_size: bool = True) -> Entry:
    """A sweep directory: an entry for the sweep and one per trial directory, from sweep.csv when present."""
    e = Entry(str(path), "sweep", start=start_time(path), size_bytes=disk_usage(path) if with_size else None)
    try:
        spec = read_yaml(path / "sweep.yaml")
        e.name = _text(spec, "name")
        e.extra["metric"], e.extra["goal"] = spec.get("metric"), spec.get("goal")
    except UnreadableError as exc:
        e.kind, e.error = "unreadable", str(exc)
    try:
        rows = read_csv_rows(path / "sweep.csv")
    except UnreadableError:
        rows = []
    for child in sorted(children(path)):
        if kind_of(child) == "run":
            e.trials.append(read_run(child, with_size=False))
    counts: dict[str, int] = {}
    for t in e.trials:
        counts[t.status or "?"] = counts.get(t.status or "?", 0) + 1
    total = len(rows) or len(e.trials)
    e.status = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no trials"
    e.step, e.steps = sum(1 for t in e.trials if t.status in ("completed", "diverged", "pruned")), total
    e.mode = ",".join(dict.fromkeys(t.mode for t in e.trials if t.mode)) or None
    metric, goal = e.extra.get("metric"), e.extra.get("goal")
    values = [(float(r["value"]), r) for r in rows if _is_number(r.get("value"))]
    if values and goal in ("min", "max"):
        best = (min if goal == "min" else max)(values, key=lambda v: v[0])
        e.best_val, e.best_val_value = f"{metric} {best[0]:.4g} ({best[1].get('run', '?')})", best[0]
    return e


def _is_number(text) -> bool:
    try:
        return math.isfinite(float(text))
    except (TypeError, ValueError):
        return False


def children(path: Path) -> list[Path]:
    """The entries of the directory ``path``, hidden names left out; none when it cannot be listed."""
    try:
        return [Path(c.path) for c in os.scandir(path) if not c.name.startswith(".")]
    except OSError:
        return []


def read_entry(path: Path, with_size: bool = True) -> Entry:
    """Whatever ``path`` is, as an Entry; never raises for a bad directory."""
    kind = kind_of(path)
    try:
        if kind == "run":
            return read_run(path, with_size)
        if kind == "compare":
            return read_compare(path, with_size)
        if kind == "sweep":
            return read_sweep(path, with_size)
    except (UnreadableError, OSError, ValueError, RecursionError) as exc:  # belt and braces: a row, not a crash
        return Entry(str(path), "unreadable", start=start_time(path), error=f"{type(exc).__name__}: {exc}")
    if path.is_symlink():
        why = "a symbolic link (not followed)"
    elif not path.is_dir():
        why = "not a directory"
    else:
        why = "not an autotrain run (no config.yaml with summary.json, metrics.csv or checkpoints/)"
    return Entry(str(path), "unreadable", name=path.name, start=start_time(path), error=why,
                 size_bytes=None if path.is_symlink() or not with_size else disk_usage(path) if path.is_dir()
                 else path.lstat().st_size)


DEFAULT_RUNS_DIR = Path("runs")


@dataclass
class RunList:
    """The entries of a runs folder, as ``autotrain runs`` lists them."""

    runs_dir: Path
    entries: list[Entry]

    def to_dict(self) -> dict:
        return {"runs_dir": str(self.runs_dir), "runs": [e.to_dict() for e in self.entries]}


def runs_in(runs_dir: str | os.PathLike | None = None, status: str | None = None, sort: str = "start") -> RunList:
    """``autotrain runs``: the entries of ``runs_dir`` (default ``runs``, empty while it does not exist yet:
    no fit has made it), refusing (UsageError) a status or sort key it does not know and a folder given
    that does not exist."""
    from autotrain.training.usage import UsageError

    if status is not None and status not in STATUSES:
        raise UsageError(f"--status {status!r}: choose from {', '.join(STATUSES)}")
    if sort not in SORT_KEYS:
        raise UsageError(f"--sort {sort!r}: choose from {', '.join(SORT_KEYS)}")
    if runs_dir is not None and not Path(os.fspath(runs_dir)).is_dir():
        what = "not a directory" if Path(os.fspath(runs_dir)).exists() else "no such directory"
        raise UsageError(f"--runs-dir {runs_dir}: {what} (runs are created by autotrain fit)")
    root = DEFAULT_RUNS_DIR if runs_dir is None else Path(os.fspath(runs_dir))
    return RunList(root, list_runs(root, status=status, sort=sort) if root.is_dir() else [])


def list_runs(runs_dir: str | os.PathLike = "runs", status: str | None = None, sort: str = "start") -> list[Entry]:
    """Every entry of ``runs_dir`` (hidden names skipped), filtered by ``status`` and sorted by ``sort``.

    ``status`` matches a run's status, a comparison's agree/DISAGREE, ``unreadable``, or a sweep holding
    a trial with that status (the sweep then lists only those trials).
    """
    root = Path(os.fspath(runs_dir))
    if sort not in SORT_KEYS:
        raise ValueError(f"--sort {sort!r}: choose from {', '.join(SORT_KEYS)}")
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory")
    entries = [read_entry(p) for p in children(root)]
    if status is not None:
        entries = [_filtered(e, status) for e in entries]
        entries = [e for e in entries if e is not None]
    return sort_entries(entries, sort)


def _filtered(e: Entry, status: str) -> Entry | None:
    if status == "unreadable":
        return e if e.kind == "unreadable" else None
    if e.kind == "sweep":
        trials = [t for t in e.trials if t.status == status]
        if not trials:
            return None
        e.trials = trials
        return e
    return e if e.status == status else None


def sort_entries(entries: list[Entry], key: str) -> list[Entry]:
    """Sort by ``key``; entries without that value go last.  Numbers sort best first (loss/val by goal)."""
    def value(e: Entry):
        v = {"start": e.start, "name": e.name, "status": e.status, "loss": e.final_loss, "val": e.best_val_value,
             "steps_per_s": e.steps_per_s, "size": e.size_bytes, "dir": e.dir}[key]
        return v

    descending = key in ("start", "steps_per_s", "size")
    present = [e for e in entries if value(e) is not None]
    missing = [e for e in entries if value(e) is None]
    present.sort(key=value, reverse=descending)
    for e in present + missing:
        if e.trials and key != "start":
            e.trials = sort_entries(e.trials, key)
    return present + sorted(missing, key=lambda e: e.dir)


# ----------------------------------------------------------------------------- show: everything about one run
@dataclass
class RunDetail:
    """What ``autotrain show`` prints: the entry, the config, the summary, checkpoints and the curves."""

    entry: Entry
    config: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    checkpoints: list[dict] = field(default_factory=list)
    metrics: dict[str, Metrics] = field(default_factory=dict)  # "" for a run; the mode for a comparison
    table: list[dict] = field(default_factory=list)  # comparison.csv or sweep.csv rows
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"entry": self.entry.to_dict(), "config": self.config, "summary": self.summary,
                "checkpoints": self.checkpoints, "table": self.table, "problems": self.problems,
                "metrics": {k: {"columns": m.columns, "truncated": m.truncated, "skipped_rows": m.skipped}
                            for k, m in self.metrics.items()}}


def detail(path: str | os.PathLike) -> RunDetail:
    """Read everything ``show`` needs from a run, comparison or sweep directory; UnreadableError if none."""
    p = Path(os.fspath(path))
    if p.is_symlink():
        raise UnreadableError(f"{p} is a symbolic link; give the directory it points to")
    if not p.is_dir():
        raise UnreadableError(f"{p} is not a directory")
    entry = read_entry(p)
    if entry.kind == "unreadable" and kind_of(p) == "unreadable":
        raise UnreadableError(f"{p}: {entry.error}")
    d = RunDetail(entry)
    for name, target in (("config.yaml", "config"), ("sweep.yaml", "config")):
        if (p / name).exists() and not d.config:
            try:
                setattr(d, target, read_yaml(p / name))
            except UnreadableError as exc:
                d.problems.append(str(exc))
    if entry.kind == "run" or kind_of(p) == "run":
        try:
            d.summary = read_json(p / "summary.json")
        except UnreadableError as exc:
            d.problems.append(str(exc))
        d.checkpoints = _checkpoints(p / "checkpoints")
        _add_metrics(d, "", p / "metrics.csv")
    elif kind_of(p) == "compare":
        for m in COMPARISON_DIRS:
            if (p / m / "metrics.csv").is_file():
                _add_metrics(d, m, p / m / "metrics.csv")
        d.table = _table(d, p / "comparison.csv")
    else:
        d.table = _table(d, p / "sweep.csv")
    return d


def _add_metrics(d: RunDetail, key: str, path: Path) -> None:
    try:
        d.metrics[key] = read_metrics(path)
        if d.metrics[key].truncated:
            limit = metrics_file.MAX_METRICS_FILE >> 20
            d.problems.append(f"{path.name} is larger than {limit} MiB; its first rows are shown")
    except UnreadableError as exc:
        d.problems.append(str(exc))


def _table(d: RunDetail, path: Path) -> list[dict]:
    try:
        return read_csv_rows(path)
    except UnreadableError as exc:
        d.problems.append(str(exc))
        return []


def _checkpoints(folder: Path) -> list[dict]:
    """The checkpoint files kept (name, step, bytes), oldest first; read from the listing, not opened."""
    from autotrain.store.runs import CHECKPOINT_RE

    out = []
    for p in children(folder) if folder.is_dir() and not folder.is_symlink() else []:
        try:
            st = p.lstat()
        except OSError:
            continue
        m = CHECKPOINT_RE.match(p.name)
        if stat.S_ISREG(st.st_mode) and p.suffix == ".npz":
            out.append({"file": p.name, "step": int(m.group(1)) if m else None, "bytes": st.st_size})
    return sorted(out, key=lambda c: (c["step"] is None, c["step"] or 0, c["file"]))


__all__ = ["Entry", "Metrics", "RunDetail", "UnreadableError", "list_runs", "read_entry", "read_run", "detail",
           "read_metrics", "parse_metrics", "read_bounded", "read_text", "read_json", "read_yaml",
           "read_csv_rows", "children", "COMPARISON_DIRS", "MAX_SMALL_FILE", "kind_of", "sort_entries", "SORT_KEYS", "KINDS"]
