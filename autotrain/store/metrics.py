"""metrics.csv: its columns, the one writer and the one reader of every metrics table autotrain keeps.

A fit's run and each mode of a comparison have one::

    step,epoch,loss,val_loss,val_accuracy,elapsed_s
    0,,2.5,,,0.000412

One row per logged step; an empty cell where a column does not apply (``epoch`` of a run counted in
steps, the validation columns without a validation split).  Losses are written with ``repr``, which
round-trips a float exactly, so a table read back equals the losses that were computed, bit for bit;
``elapsed_s`` is written to the microsecond.

The reader goes by the header's names, so a table of the first layout (``step,loss,elapsed_s``) reads
too, and unknown columns are kept.  A torn last line (no newline: the writer was killed mid-row) and a
row that does not parse (or has no step) are skipped and counted, never an error.
"""
from __future__ import annotations

import csv
import io
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from autotrain.store.files import UnreadableError, read_bounded

#: The columns of a metrics.csv, in file order.
COLUMNS = ("step", "epoch", "loss", "val_loss", "val_accuracy", "elapsed_s")
HEADER = ",".join(COLUMNS) + "\n"
#: Columns holding counts; every other column holds floats.
INTEGER_COLUMNS = ("step", "epoch")
MAX_METRICS_FILE = 256 << 20  # a 10M-row metrics.csv; larger ones are read up to here, noted as truncated
#: ``limit`` for a reader that must see every row (a run's writer, before it rewrites the file on resume).
WHOLE_FILE = sys.maxsize

# ----------------------------------------------------------------------------- writing
def cells(row: Mapping) -> list[str]:
    """One row's cells in :data:`COLUMNS` order: counts as integers, ``elapsed_s`` to the microsecond,
    other floats as ``repr`` (exact), missing values as empty cells."""
    out = []
    for name in COLUMNS:
        value = row.get(name)
        if value is None:
            out.append("")
        elif name in INTEGER_COLUMNS:
            out.append(str(int(value)))
        elif name == "elapsed_s":
            out.append(f"{float(value):.6f}")
        else:
            out.append(repr(float(value)))
    return out


def metrics_text(rows: Iterable[Mapping]) -> str:
    """A whole metrics.csv: the header and ``rows`` (dicts by column name)."""
    buffer = io.StringIO()
    buffer.write(HEADER)
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(cells(r) for r in rows)
    return buffer.getvalue()


class MetricsWriter:
    """Appends rows to a metrics.csv, flushing each, so a crash keeps every row written before it."""

    def __init__(self, path: Path):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        self._file = open(fd, "a", encoding="utf-8", newline="")
        self._csv = csv.writer(self._file, lineterminator="\n")
        self.path = path

    def write(self, step: int, loss: float, elapsed_s: float, epoch: int | None = None,
              val_loss: float | None = None, val_accuracy: float | None = None) -> None:
        """Append one row and flush it."""
        self.write_row({"step": step, "epoch": epoch, "loss": loss, "val_loss": val_loss,
                        "val_accuracy": val_accuracy, "elapsed_s": elapsed_s})

    def write_row(self, row: Mapping) -> None:
        """Append one row given as a dict by column name, and flush it."""
        try:
            self._csv.writerow(cells(row))
            self._file.flush()
        except OSError as exc:
            if exc.filename is None:  # the disk-full message names the file, as docs/errors.md promises
                exc.filename = str(self.path)
            raise

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "MetricsWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ----------------------------------------------------------------------------- reading
@dataclass
class Metrics:
    """A metrics.csv as columns: ``columns["loss"][i]`` is row i's loss (None in an empty cell).

    ``columns`` holds the file's own columns; ``step`` and ``epoch`` are ints, the rest floats.
    """

    columns: dict[str, list] = field(default_factory=dict)
    truncated: bool = False  # the file was larger than the read limit; the rows read are the first ones
    skipped: int = 0  # unparsable rows (a torn last line, a foreign line)

    def __len__(self) -> int:
        return len(self.columns.get("step", []))

    def column(self, name: str) -> list:
        """Column ``name``, all None when the file has no such column."""
        return self.columns.get(name, [None] * len(self))

    def series(self, name: str) -> tuple[list[int], list[float]]:
        """(steps, values) of column ``name``, leaving out empty and non-finite cells."""
        pairs = [(s, v) for s, v in zip(self.column("step"), self.column(name))
                 if s is not None and v is not None and math.isfinite(v)]
        return [p[0] for p in pairs], [p[1] for p in pairs]

    def last(self, name: str) -> float | None:
        """The last non-empty value of column ``name``."""
        return next((v for v in reversed(self.columns.get(name, [])) if v is not None), None)

    def rows(self) -> list[dict]:
        """Every row as a dict: each of :data:`COLUMNS` (None where the file lacks it) and the file's others."""
        names = list(dict.fromkeys([*COLUMNS, *self.columns]))
        return [dict(zip(names, values)) for values in zip(*(self.column(n) for n in names))]

    def tuples(self, *names: str) -> list[tuple]:
        """Every row as a tuple of the columns ``names``: ``m.tuples("step", "loss")``."""
        return list(zip(*(self.column(n) for n in names)))


def _value(name: str, cell: str):
    cell = cell.strip()
    if not cell:
        return None
    return int(cell) if name in INTEGER_COLUMNS else float(cell)


def parse_metrics(text: str) -> Metrics:
    """Parse a metrics.csv by header name; a torn last line (no newline) or a bad row is skipped and counted.

    UnreadableError when the header has no ``step`` column (not a metrics table at all).
    """
    lines = text.splitlines(keepends=True)
    if not lines:
        return Metrics()
    header = [h.strip() for h in next(csv.reader(lines[:1], quoting=csv.QUOTE_NONE), [])]
    if "step" not in header or not all(header):
        raise UnreadableError(f"metrics.csv has no 'step' column (header: {lines[0].strip()[:80]!r})")
    out = Metrics({h: [] for h in header})
    complete = [line for line in lines[1:] if line.endswith("\n")]
    out.skipped = len(lines) - 1 - len(complete)
    reader = csv.reader(complete, quoting=csv.QUOTE_NONE)
    while True:
        try:
            row = next(reader)
            if len(row) != len(header):
                raise ValueError("wrong number of cells")
            values = [_value(name, cell) for name, cell in zip(header, row)]
            if values[header.index("step")] is None:
                raise ValueError("no step")
        except StopIteration:
            break
        except (ValueError, csv.Error):
            out.skipped += 1
            continue
        for name, v in zip(header, values):
            out.columns[name].append(v)
    return out


def read_metrics(path: Path, limit: int | None = None) -> Metrics:
    """The metrics.csv at ``path``, at most ``limit`` bytes (default ``MAX_METRICS_FILE``; a larger file's
    first rows, marked ``truncated``); empty when there is none.  Links and special files are refused."""
    limit = MAX_METRICS_FILE if limit is None else limit
    try:
        data, truncated = read_bounded(path, limit)
    except UnreadableError as exc:
        if "missing" in str(exc):
            return Metrics()
        raise
    if b"\0" in data:
        raise UnreadableError(f"{path.name} is a binary file")
    if truncated:  # keep whole lines only; the cut one would count as torn
        data = data[: data.rfind(b"\n") + 1]
    metrics = parse_metrics(data.decode("utf-8", errors="replace"))
    metrics.truncated = truncated
    return metrics


__all__ = ["COLUMNS", "HEADER", "INTEGER_COLUMNS", "MAX_METRICS_FILE", "WHOLE_FILE", "Metrics", "MetricsWriter",
           "cells", "metrics_text", "parse_metrics", "read_metrics"]
