"""Run directories: unique creation, config.yaml, metrics.csv, atomic checksummed checkpoints, summary.json.

Layout of one run (``runs/<UTC timestamp>-<name>-<mode>/``)::

    config.yaml                 the resolved config (autotrain/numpy versions in its header comment)
    metrics.csv                 step,loss,elapsed_s  -- one row per logged step, flushed as written
    data.npz                    x, y, w1, w2: the data and initial weights
    checkpoints/step-NNNNNN.npz state.w1, state.w2 after NNNNNN updates, step, elapsed_s, config_hash,
                                rng_state, checksum
    summary.json                status (running|completed|interrupted|diverged), final loss, steps/s, ...

Nothing here writes outside the run directory: names are sanitised and every write goes to a temp
file in the same directory, is flushed and fsynced, then renamed over the target (``os.replace``).
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import numpy as np

import autotrain
from autotrain.config import FitConfig, load_config, to_yaml

CHECKPOINT_RE = re.compile(r"^step-(\d+)\.npz$")
TEMP_MARK = ".tmp"
MAX_NAME = 64


class RunError(Exception):
    """A run directory that cannot be created, opened or resumed; the message says why."""


class CheckpointError(Exception):
    """One checkpoint file that cannot be used (damaged, foreign, or holding a pickle)."""


@dataclass
class Checkpoint:
    """A verified checkpoint: weights after ``step`` updates, and where it came from."""

    step: int
    state: dict[str, np.ndarray]
    config_hash: str
    elapsed_s: float
    path: Path
    rng_state: str = ""
    optimizer_state: dict[str, np.ndarray] = field(default_factory=dict)


def versions() -> dict[str, str]:
    """The versions a run was made with, recorded in its files."""
    return {"autotrain": autotrain.__version__, "numpy": np.__version__, "python": platform.python_version()}


def sanitize_name(name: str) -> str:
    """A run name safe as one path component: ``[A-Za-z0-9._-]``, no leading dot, at most 64 chars.

    >>> sanitize_name("../../etc/passwd"), sanitize_name("/abs/path"), sanitize_name("")
    ('etc-passwd', 'abs-path', 'run')
    """
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-_")
    return cleaned[:MAX_NAME].rstrip(".-_") or "run"


def _fsync_dir(path: Path) -> None:
    # Makes the rename itself durable; not every platform can open a directory, which is fine.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, write) -> None:
    """Call ``write(file)`` on a temp file next to ``path``, fsync it, then rename it over ``path``.

    On any failure (including KeyboardInterrupt) the temp file is removed and ``path`` is untouched.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}{TEMP_MARK}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def checksum(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over every array's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


METRICS_COLUMNS = ("step", "epoch", "loss", "val_loss", "val_accuracy", "elapsed_s")
METRICS_HEADER = ",".join(METRICS_COLUMNS) + "\n"


def _cell(value) -> str:
    # repr(float) round-trips exactly, so tables compare bit for bit; None is an empty cell.
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)


def metrics_line(step: int, loss: float, elapsed_s: float, epoch: int | None = None, val_loss: float | None = None,
                 val_accuracy: float | None = None) -> str:
    return f"{step},{_cell(epoch)},{loss!r},{_cell(val_loss)},{_cell(val_accuracy)},{elapsed_s:.6f}\n"


class MetricsWriter:
    """Appends ``step,epoch,loss,val_loss,val_accuracy,elapsed_s`` rows, flushing each so a crash keeps every row."""

    def __init__(self, path: Path):
        self._file = open(path, "a", encoding="utf-8")

    def write(self, step: int, loss: float, elapsed_s: float, epoch: int | None = None,
              val_loss: float | None = None, val_accuracy: float | None = None) -> None:
        self._file.write(metrics_line(step, loss, elapsed_s, epoch, val_loss, val_accuracy))
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "MetricsWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _parse_metric_rows(text: str) -> list[dict]:
    """Rows of a metrics.csv as dicts, by header name (old runs have ``step,loss,elapsed_s``); a torn last
    line (no newline) or any unparsable line is skipped; empty cells are None."""
    lines = text.splitlines(keepends=True)
    if not lines:
        return []
    header = lines[0].strip().split(",")
    rows = []
    for line in lines[1:]:
        if not line.endswith("\n"):
            continue
        cells = line.rstrip("\n").split(",")
        if len(cells) != len(header):
            continue
        try:
            row = {k: (None if v == "" else int(v) if k in ("step", "epoch") else float(v))
                   for k, v in zip(header, cells)}
        except ValueError:
            continue
        if row.get("step") is None or row.get("loss") is None:
            continue
        rows.append({k: row.get(k) for k in METRICS_COLUMNS})
    return rows


def _parse_rows(text: str) -> list[tuple[int, float, float]]:
    """``(step, loss, elapsed_s)`` of every row (see :func:`_parse_metric_rows`)."""
    return [(r["step"], r["loss"], r["elapsed_s"] or 0.0) for r in _parse_metric_rows(text)]


@dataclass
class RunDir:
    """One run directory and the files in it."""

    path: Path
    notes: list[str] = field(default_factory=list)

    config_path = property(lambda self: self.path / "config.yaml")
    metrics_path = property(lambda self: self.path / "metrics.csv")
    data_path = property(lambda self: self.path / "data.npz")
    summary_path = property(lambda self: self.path / "summary.json")
    checkpoints_dir = property(lambda self: self.path / "checkpoints")

    # ------------------------------------------------------------ config, data, summary

    def write_config(self, cfg: FitConfig) -> None:
        v = versions()
        header = (f"# autotrain {v['autotrain']}, numpy {v['numpy']}, python {v['python']}\n"
                  f"# config_hash: {cfg.config_hash()}\n"
                  f"# re-run with: autotrain fit <this file>   continue with: autotrain fit --resume <run dir>\n")
        atomic_write(self.config_path, lambda f: f.write((header + to_yaml(cfg)).encode()))

    def read_config(self) -> FitConfig:
        """The run's own config (validated like any config file)."""
        return load_config(self.config_path, check=False)

    def save_data(self, problem) -> None:
        """data.npz: x, y, w1, w2 (read it back with ``autotrain.data.load_problem``)."""
        atomic_write(self.data_path, lambda f: np.savez(f, **problem._asdict()))

    def save_fit_data(self, data) -> None:
        """data.npz of a fit: ``x``, ``y`` (the training split, as the model sees it), the initial ``w1``, ``b1``...,
        and where they apply ``x_val``, ``y_val``, ``mean``, ``std`` (standardisation), ``classes`` (label of
        each class index), ``feature_names``, ``target_names``, ``train_index``, ``val_index``."""
        arrays = data.arrays()
        atomic_write(self.data_path, lambda f: np.savez(f, **arrays))

    def write_summary(self, summary: dict[str, Any]) -> None:
        text = json.dumps({**summary, "versions": versions()}, indent=2, allow_nan=False) + "\n"
        atomic_write(self.summary_path, lambda f: f.write(text.encode()))

    def read_summary(self) -> dict[str, Any]:
        return json.loads(self.summary_path.read_text())

    # ------------------------------------------------------------ metrics

    def open_metrics(self, keep_before: int = 0) -> MetricsWriter:
        """Open metrics.csv for appending, first dropping rows of steps >= ``keep_before`` (and torn lines).

        On resume from a checkpoint at step k, rows k, k+1, ... were logged after that checkpoint and
        will be logged again, so the continued table matches an uninterrupted run's.
        """
        rows = [r for r in self.read_metric_rows() if r["step"] < keep_before]
        text = METRICS_HEADER + "".join(
            metrics_line(r["step"], r["loss"], r["elapsed_s"] or 0.0, r["epoch"], r["val_loss"], r["val_accuracy"])
            for r in rows)
        atomic_write(self.metrics_path, lambda f: f.write(text.encode()))
        return MetricsWriter(self.metrics_path)

    def read_metrics(self) -> list[tuple[int, float, float]]:
        """``(step, loss, elapsed_s)`` rows; empty when there is no metrics.csv yet."""
        return [(r["step"], r["loss"], r["elapsed_s"] or 0.0) for r in self.read_metric_rows()]

    def read_metric_rows(self) -> list[dict]:
        """Every column of metrics.csv by name (``METRICS_COLUMNS``; None where a cell is empty)."""
        try:
            return _parse_metric_rows(self.metrics_path.read_text(encoding="utf-8", errors="replace"))
        except FileNotFoundError:
            return []

    # ------------------------------------------------------------ checkpoints

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoints_dir / f"step-{step:06d}.npz"

    def save_checkpoint(self, step: int, state: dict[str, np.ndarray], config_hash: str,
                        elapsed_s: float = 0.0, rng_state: str = "",
                        optimizer_state: dict[str, np.ndarray] | None = None) -> Path:
        """Write ``state`` (and the optimizer's, as ``optim.<name>``) after ``step`` updates atomically;
        a kill leaves the old file or the new one."""
        arrays = {f"state.{k}": np.asarray(v) for k, v in state.items()}
        arrays.update({f"optim.{k}": np.asarray(v) for k, v in (optimizer_state or {}).items()})
        arrays.update(step=np.array(step, dtype=np.int64), elapsed_s=np.array(elapsed_s, dtype=np.float64),
                      config_hash=np.array(config_hash), rng_state=np.array(rng_state))
        arrays["checksum"] = np.array(checksum(arrays))
        path = self.checkpoint_path(step)
        atomic_write(path, lambda f: np.savez(f, **arrays))
        return path

    def checkpoints(self) -> list[tuple[int, Path]]:
        """(step, path) of every checkpoint file, oldest first."""
        found = []
        if self.checkpoints_dir.is_dir():
            for p in self.checkpoints_dir.iterdir():
                m = CHECKPOINT_RE.match(p.name)
                if m and p.is_file():
                    found.append((int(m.group(1)), p))
        return sorted(found)

    def prune_checkpoints(self, keep: int, protect: Iterable[int] = ()) -> list[Path]:
        """Delete step checkpoints older than the newest ``keep`` (0: keep all), except the steps in ``protect``
        (the best).  Call it only after the newest checkpoint is on disk: at least that one always remains."""
        if keep <= 0:
            return []
        found = self.checkpoints()
        protected = set(protect)
        removed = []
        for step, path in found[:-keep]:
            if step not in protected:
                path.unlink(missing_ok=True)
                removed.append(path)
        if removed:
            _fsync_dir(self.checkpoints_dir)
        return removed

    def clean_temp_files(self) -> list[str]:
        """Remove temp files left by a killed write; returns a note per file removed."""
        removed = []
        for folder in (self.path, self.checkpoints_dir):
            if folder.is_dir():
                for p in folder.glob(f".*{TEMP_MARK}"):
                    p.unlink(missing_ok=True)
                    removed.append(f"removed a stale temporary file {p.relative_to(self.path)}")
        return removed

    def latest_checkpoint(self, cfg: FitConfig, expected: dict | None = None) -> Checkpoint | None:
        """The newest checkpoint that verifies against ``cfg``; damaged newer ones are skipped with a note.

        Returns None when the run has no checkpoint at all; raises RunError when none is usable.
        """
        found, reasons = self.checkpoints(), []
        for step, path in reversed(found):
            try:
                ckpt = load_checkpoint(path, cfg, expected)
            except CheckpointError as exc:
                reasons.append(f"{path.name}: {exc}")
                continue
            self.notes += [f"{r}; falling back to an earlier checkpoint" for r in reasons]
            return ckpt
        if found:
            raise RunError(f"no usable checkpoint in {self.checkpoints_dir}:\n  " + "\n  ".join(reasons))
        return None


def load_checkpoint(path: Path, cfg: FitConfig | None = None, expected: dict | None = None) -> Checkpoint:
    """Read and verify one checkpoint (``allow_pickle=False``); CheckpointError says what is wrong.

    ``expected``: {array name: (shape, dtype)} for every ``state.*`` and ``optim.*`` array the caller needs
    (default: the seed's ``w1``, ``w2`` at ``cfg``'s sizes).

    Plain numpy can read it too::

        z = np.load("runs/<run>/checkpoints/step-000500.npz")   # allow_pickle is False by default
        w1, w2 = z["state.w1"], z["state.w2"]
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: np.array(z[k]) for k in z.files}
    except ValueError as exc:
        # numpy refuses before unpickling anything, in both cases
        if "Object arrays" in str(exc):
            raise CheckpointError("holds a pickled Python object, which is refused (nothing was loaded)") from None
        if "pickle" in str(exc):
            raise CheckpointError("is not an .npz archive; reading it would need pickle, which is refused "
                                  "(nothing was loaded)") from None
        raise CheckpointError(f"unreadable ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise CheckpointError(f"truncated or corrupt ({type(exc).__name__}: {exc})") from None
    except AttributeError:  # np.load returned a bare array, not an .npz archive
        raise CheckpointError("is not an .npz archive") from None
    required = {"step", "elapsed_s", "config_hash", "checksum"} | (
        {"state.w1", "state.w2"} if expected is None else set(expected))
    if missing := required - arrays.keys():
        raise CheckpointError(f"is missing {', '.join(sorted(missing))}")
    stored = str(arrays.pop("checksum"))
    if checksum(arrays) != stored:
        raise CheckpointError("checksum mismatch (the file was damaged or edited)")
    state = {k.removeprefix("state."): v for k, v in arrays.items() if k.startswith("state.")}
    optim = {k.removeprefix("optim."): v for k, v in arrays.items() if k.startswith("optim.")}
    ckpt = Checkpoint(int(arrays["step"]), state, str(arrays["config_hash"]), float(arrays["elapsed_s"]),
                      Path(path), str(arrays.get("rng_state", "")), optim)
    if expected is not None:
        _check_expected(arrays, expected)
    if cfg is not None:
        _check_against(ckpt, cfg, check_shapes=expected is None)
    return ckpt


def _check_expected(arrays: dict, expected: dict) -> None:
    for key, (shape, dtype) in expected.items():
        a = arrays.get(key)
        if a is None or a.shape != tuple(shape) or a.dtype != np.dtype(dtype):
            got = "missing" if a is None else f"{a.dtype}{list(a.shape)}"
            raise CheckpointError(f"{key} is {got}, expected {np.dtype(dtype)}{list(shape)}")


def _check_against(ckpt: Checkpoint, cfg: FitConfig, check_shapes: bool = True) -> None:
    if ckpt.config_hash != cfg.config_hash():
        raise CheckpointError("was written by a run of a different config (config_hash differs)")
    want = {"w1": (cfg.D_in, cfg.H), "w2": (cfg.H, cfg.D_out)} if check_shapes else {}
    for key, shape in want.items():
        a = ckpt.state.get(key)
        if a is None or a.shape != shape or a.dtype != np.dtype(cfg.dtype):
            got = "missing" if a is None else f"{a.dtype}{list(a.shape)}"
            raise CheckpointError(f"{key} is {got}, expected {cfg.dtype}{list(shape)}")
    if ckpt.step < 0 or (cfg.epochs is None and ckpt.step > cfg.steps):
        raise CheckpointError(f"step {ckpt.step} is outside 0..{cfg.steps}")


def create_unique_dir(root: str | os.PathLike, stem: str, now: datetime | None = None) -> Path:
    """Create a new, empty ``<root>/<UTC timestamp>-<stem>/`` and return it.

    ``os.mkdir`` is atomic, so two processes started in the same second get distinct directories
    (the later one gets a ``-2`` suffix, and so on). ``stem`` must already be sanitised.
    """
    root_text = os.fspath(root)
    if "\0" in root_text:
        raise RunError("--runs-dir contains a NUL character")
    root = Path(root_text)
    try:
        if root.exists() and not root.is_dir():
            raise RunError(f"the runs directory {root} is not a directory (it is a file); choose another --runs-dir")
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # e.g. a name too long, a file in the way, no permission
        raise RunError(f"cannot create the runs directory {root}: {exc.strerror or exc}") from None
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    base = f"{stamp}-{stem}"
    for attempt in range(1, 10_000):
        path = root / (base if attempt == 1 else f"{base}-{attempt}")
        try:
            os.mkdir(path)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise RunError(f"cannot create a run directory in {root}: {exc.strerror or exc}") from None
    else:
        raise RunError(f"too many runs named {base} in {root}")
    if path.resolve().parent != root.resolve():  # cannot happen with a sanitised name; belt and braces
        raise RunError(f"refusing to write outside {root}")
    return path


def create_run(cfg: FitConfig, root: str | os.PathLike = "runs", now: datetime | None = None) -> RunDir:
    """Create a new, empty ``<root>/<UTC timestamp>-<name>-<mode>/`` and write its config.yaml."""
    path = create_unique_dir(root, f"{sanitize_name(cfg.name)}-{cfg.mode}", now)
    (path / "checkpoints").mkdir()
    run = RunDir(path)
    run.write_config(cfg)
    return run


def open_run(path: str | os.PathLike) -> RunDir:
    """An existing run directory (for ``--resume``); RunError if ``path`` is not one."""
    text = os.fspath(path)
    if "\0" in text:
        raise RunError("the run path contains a NUL character")
    run = RunDir(Path(text))
    if not run.path.is_dir():
        raise RunError(f"{text} is not a directory, so it cannot be a run to resume")
    if not run.config_path.is_file() or not run.checkpoints_dir.is_dir():
        raise RunError(f"{text} is not an autotrain run directory (it needs config.yaml and checkpoints/)")
    return run


__all__ = ["RunDir", "RunError", "CheckpointError", "Checkpoint", "create_run", "open_run", "load_checkpoint",
           "sanitize_name", "atomic_write", "checksum", "versions"]
