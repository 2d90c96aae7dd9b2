"""TensorBoard event files for runs: live during ``fit --tensorboard``, or afterwards with ``export-tensorboard``.

The writer is tensorboardX (``pip install 'autotrain[tensorboard]'``): it writes the same event files
as TensorBoard's own ``SummaryWriter`` with nothing but protobuf and numpy, where ``torch.utils.tensorboard``
needs PyTorch and ``tf.summary`` needs TensorFlow, each far larger than autotrain.  Viewing the files
needs ``tensorboard`` itself (``tensorboard --logdir runs``), which the extra installs too.

The events come from the metrics stream, never from inside the training loop: a background thread
tails ``metrics.csv`` as ``fit`` appends to it (one read per ``interval`` seconds, of the new bytes only),
so training, its numbers and its files are exactly those of a run without TensorBoard.  Scalars are
named after the metrics.csv columns (``loss``, ``val_loss``, ``val_accuracy``, ``epoch``...), plus
``steps_per_s`` between consecutive logged rows; every config key is an HParams hyper-parameter, with
the final metrics for the HParams table.  A resumed run's new event file holds every row of its
metrics.csv and starts with ``purge_step`` 0, so TensorBoard shows exactly the rows an uninterrupted run
has, even those a killed writer never flushed.
"""
from __future__ import annotations

import math
import os
import threading
import time
from datetime import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autotrain.store.metrics import parse_metrics, read_metrics

HINT = "TensorBoard output needs tensorboardX: pip install 'autotrain[tensorboard]'"
EVENTS_GLOB = "events.out.tfevents.*"
SKIP_COLUMNS = ("step", "elapsed_s")


class TensorBoardUnavailable(Exception):
    """The ``tensorboard`` extra is not installed; the message is the install hint."""


def available() -> bool:
    """Whether tensorboardX can be imported (checked without importing it)."""
    import importlib.util

    return importlib.util.find_spec("tensorboardX") is not None


def require() -> None:
    if not available():
        raise TensorBoardUnavailable(HINT)


def _tensorboardx():
    """``(SummaryWriter, hparams)`` from tensorboardX, imported without PyTorch.

    tensorboardX imports torch when it is installed, only to accept torch tensors (autotrain passes
    floats): that import costs seconds (4.3 s against 0.18 s measured here).  Marking torch as absent
    for the duration of the import makes tensorboardX take its numpy-only path; a torch the process
    already imported is left alone.
    """
    import sys

    block = "torch" not in sys.modules
    if block:
        sys.modules["torch"] = None  # `import torch` raises ImportError while this is set
    try:
        from tensorboardX import SummaryWriter
        from tensorboardX.summary import hparams
    finally:
        if block and sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return SummaryWriter, hparams


def _writer(logdir: Path, purge_step: int | None = None):
    SummaryWriter, _ = _tensorboardx()

    # The default file name has whole seconds only: a resume within the same second would overwrite the file.
    return SummaryWriter(logdir=str(logdir), purge_step=purge_step, flush_secs=5,
                         filename_suffix=f".{time.time_ns() % 10**9:09d}.{os.getpid()}")


def hparam_values(config: dict) -> dict[str, Any]:
    """Config values as HParams accepts them: numbers, strings, bools; anything else (lists) as text."""
    out = {}
    for k, v in config.items():
        out[str(k)] = v if isinstance(v, (bool, int, float, str)) else str(v)
    return out


def _write_hparams(writer, config: dict, metrics: list[str], end: bool) -> None:
    _, hparams = _tensorboardx()
    exp, ssi, sei = hparams(hparam_values(config), {m: 0.0 for m in metrics})
    fw = writer._get_file_writer()
    if end:
        fw.add_summary(sei)
    else:
        fw.add_summary(exp)
        fw.add_summary(ssi)


class _RowWriter:
    """Turns metrics rows (dicts by column name) into scalars; remembers the last step and elapsed time."""

    def __init__(self, writer, last_step: int = -1):
        self.writer, self.last_step, self.prev = writer, last_step, None
        self.tags: set[str] = set()

    def write(self, row: dict, walltime: float | None = None) -> None:
        step, elapsed = row.get("step"), row.get("elapsed_s")
        if step is None:
            return
        step = int(step)
        if step <= self.last_step:  # already in an earlier event file; still the base of the next rate
            self.prev = (step, elapsed) if elapsed is not None else None
            return
        for name, value in row.items():
            if name in SKIP_COLUMNS or value is None or not math.isfinite(value):
                continue
            self.writer.add_scalar(name, value, step, walltime=walltime)
            self.tags.add(name)
        if self.prev is not None and elapsed is not None:
            d_step, d_time = step - self.prev[0], elapsed - self.prev[1]
            if d_step > 0 and d_time > 0:
                self.writer.add_scalar("steps_per_s", d_step / d_time, step, walltime=walltime)
                self.tags.add("steps_per_s")
        self.prev = (step, elapsed) if elapsed is not None else None
        self.last_step = step


class _Tail:
    """Reads the complete lines appended to a CSV since the last call; starts over if the file was replaced."""

    def __init__(self, path: Path, skip_current: bool = False):
        self.path, self.inode, self.offset, self.header = path, None, 0, None
        self.stale = _inode(path) if skip_current else None  # a file about to be replaced: not read at all

    def new_rows(self) -> list[dict]:
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return []
        try:
            st = os.fstat(fd)
            if st.st_ino == self.stale:
                return []
            if st.st_ino != self.inode or st.st_size < self.offset:  # fit --resume rewrites it atomically
                self.inode, self.offset, self.header = st.st_ino, 0, None
            os.lseek(fd, self.offset, os.SEEK_SET)
            data = os.read(fd, max(st.st_size - self.offset, 0))
        finally:
            os.close(fd)
        end = data.rfind(b"\n") + 1
        if end == 0:
            return []
        self.offset += end
        text = data[:end].decode("utf-8", errors="replace")
        if self.header is None:
            self.header, _, text = text.partition("\n")
            self.header += "\n"
        try:
            return parse_metrics(self.header + text).rows()
        except Exception:  # a foreign file: nothing to show
            return []


class LiveWriter:
    """Writes a running ``fit``'s metrics.csv to TensorBoard from a background thread (see the module doc).

    >>> with LiveWriter(run_dir, config_dict, resumed_from=None):   # doctest: +SKIP
    ...     summary = train.fit(cfg, run)
    """

    def __init__(self, run_path: str | os.PathLike, config: dict, resumed_from: int | None = None,
                 interval: float = 1.0):
        require()
        _tensorboardx()  # imported here, in the caller's thread, before training starts
        self.run_path, self.config, self.interval = Path(run_path), config, interval
        # A resumed run writes every row of its metrics.csv again into a new event file that purges all
        # earlier steps: the old file may lack rows that a killed writer never flushed, and rows after the
        # checkpoint are logged again.  The old metrics.csv is not read: fit replaces it (dropping the rows
        # after the checkpoint) before it trains, and a refused resume leaves it, and the events, as they were.
        self.purge_step = 0 if resumed_from else None
        self.writer = None  # opened with the first new row: a fit refused before training writes nothing
        self.rows = _RowWriter(None)
        self.tail = _Tail(self.run_path / "metrics.csv", skip_current=bool(resumed_from))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="autotrain-tensorboard", daemon=True)

    def _open(self) -> None:
        self.writer = self.rows.writer = _writer(self.run_path, purge_step=self.purge_step)
        _write_hparams(self.writer, self.config, _metric_tags(self.config), end=False)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def poll(self) -> None:
        for row in self.tail.new_rows():
            if self.writer is None and row.get("step") is not None and row["step"] > self.rows.last_step:
                self._open()
            self.rows.write(row)

    def __enter__(self) -> "LiveWriter":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.poll()
        if self.writer is not None:  # nothing logged (a refused or already completed run): nothing written
            _write_hparams(self.writer, self.config, _metric_tags(self.config), end=True)
            self.writer.close()


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path, follow_symlinks=False).st_ino
    except OSError:
        return None


def _metric_tags(config: dict) -> list[str]:
    tags = ["loss", "steps_per_s"]
    if config.get("val_fraction"):
        tags += ["val_loss", "val_accuracy"]
    return tags


def resume_step(run_path: Path) -> int | None:
    """The step a ``fit --resume`` of ``run_path`` will start from: its newest checkpoint's (None: from scratch)."""
    from autotrain.store.runs import RunDir

    found = RunDir(Path(run_path)).checkpoints()
    return found[-1][0] if found and found[-1][0] > 0 else None


# ----------------------------------------------------------------------------- export after the fact
def _start_epoch(path: Path) -> float:
    from autotrain.store.catalog import start_time

    text = start_time(path)
    return datetime.fromisoformat(text).timestamp() if text else time.time()


def export_run(path: str | os.PathLike, overwrite: bool = False) -> list[Path]:
    """Write event files for a run (or each mode of a comparison, or each trial of a sweep) from metrics.csv.

    Returns the folders written.  Refuses (ValueError) a folder that already has event files unless
    ``overwrite``, which replaces only those ``events.out.tfevents.*`` files, after the new ones are written.
    """
    from autotrain.store import catalog

    require()
    p = Path(os.fspath(path))
    kind = catalog.kind_of(p)
    if kind == "unreadable":
        raise ValueError(f"{p} is not a run, comparison or sweep directory")
    if kind == "sweep":
        return [w for child in sorted(catalog.children(p)) if catalog.kind_of(child) == "run"
                for w in export_run(child, overwrite)]
    targets = [(p, p / "metrics.csv")] if kind == "run" else [
        (p / m, p / m / "metrics.csv") for m in catalog.COMPARISON_DIRS if (p / m / "metrics.csv").is_file()]
    try:
        config = catalog.read_yaml(p / "config.yaml") if (p / "config.yaml").is_file() else {}
        for _, metrics_path in targets:
            read_metrics(metrics_path)
    except catalog.UnreadableError as exc:
        raise ValueError(f"{p}: {exc}; nothing was written") from None
    for folder, _ in targets:
        old = list(folder.glob(EVENTS_GLOB))
        if old and not overwrite:
            raise ValueError(f"{folder} already has TensorBoard event files ({old[0].name}); "
                             "use --overwrite to replace them")
    t0 = _start_epoch(p)
    for folder, metrics_path in targets:
        metrics = read_metrics(metrics_path)  # read before anything is written: a bad file changes nothing
        _replace_events(folder, lambda logdir: _export_events(logdir, metrics, config, t0))
    return [folder for folder, _ in targets]


@dataclass
class Export:
    """What ``export_runs`` wrote: the folders that got event files, and the ``--logdir`` that shows them."""

    folders: list[Path]
    logdir: str


def export_runs(paths: list, overwrite: bool = False, on_written=None) -> Export:
    """``autotrain export-tensorboard``: :func:`export_run` for each of ``paths`` in turn (``on_written(folder)``
    as each one is written); UsageError when the extra is missing or a path cannot be exported (nothing of
    that path is written; the paths before it are)."""
    from autotrain.training.usage import UsageError

    if not available():
        raise UsageError(HINT)
    folders = []
    for path in paths:
        try:
            written = export_run(path, overwrite=overwrite)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        for folder in written:
            if on_written is not None:
                on_written(folder)
        folders += written
    logdir = str(Path(os.fspath(paths[0])).parent) if len(paths) == 1 else "runs"
    return Export(folders, logdir)


def _export_events(logdir: Path, metrics, config: dict, t0: float) -> None:
    writer = _writer(logdir)
    try:
        rows = _RowWriter(writer)
        _write_hparams(writer, config, _metric_tags(config), end=False)
        for row in metrics.rows():
            elapsed = row.get("elapsed_s")
            rows.write(row, walltime=t0 + elapsed if elapsed is not None else t0)
        _write_hparams(writer, config, _metric_tags(config), end=True)
    finally:
        writer.close()


def _replace_events(folder: Path, write) -> None:
    """Write new event files into a fresh folder beside the old ones, then move them in, and only then remove
    the old files: an error or a signal (SIGTERM ends as KeyboardInterrupt) while writing leaves the old
    events as they were, and never a half-written file among them."""
    import shutil
    import tempfile

    staging = Path(tempfile.mkdtemp(prefix=".tensorboard-new-", dir=folder))
    try:
        write(staging)
        old = [f for f in folder.glob(EVENTS_GLOB) if f.is_file() and not f.is_symlink()]
        for new in sorted(staging.glob(EVENTS_GLOB)):
            os.replace(new, folder / new.name)
        for f in old:
            f.unlink()
    finally:
        shutil.rmtree(staging, ignore_errors=True)


__all__ = ["LiveWriter", "export_run", "available", "require", "resume_step", "HINT", "TensorBoardUnavailable"]
