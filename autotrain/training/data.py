"""The data and initial weights: the seed's synthetic arrays, or a user's CSV / .npz / .npy files.

Everything is drawn or read here, once, so every mode starts from identical arrays.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import stat
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
import numpy as np

from autotrain.modes.problem import Problem, load_problem, make_problem, save_problem  # noqa: F401 (re-exported)


# =============================================================================== your own data
# A data file becomes a Dataset (float64 features, float64 targets or int64 class indices), then a seeded
# train/validation split, optional standardisation with the training split's statistics, and batches in
# an order drawn from a generator whose state goes into every checkpoint.

MAX_DATA_BYTES = 64 * 2**20  # a small-model trainer: larger files are refused before reading (parsing takes ~20x in memory)
MAX_CSV_COLUMNS = 100_000
MAX_CLASSES = 10_000


class DataError(Exception):
    """A data file that cannot be used; the message names the file, the place and what was expected."""


@dataclass
class Dataset:
    """Rows of features ``x`` (n, D_in) and targets ``y``: (n, D_out) floats, or (n,) class indices."""

    x: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target_names: list[str]
    classes: list[str] | None = None  # class index -> label, for cross_entropy
    source: str = "synthetic"

    @property
    def n(self) -> int:
        return len(self.x)


def check_size(path: Path) -> None:
    """DataError unless ``path`` is a regular, non-empty file of at most ``MAX_DATA_BYTES`` (checked before reading)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise DataError(f"{path}: data file not found") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the data file ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise DataError(f"{path}: not a regular file, expected a data file")
    if st.st_size == 0:
        raise DataError(f"{path}: the file is empty, expected a header row and data rows")
    if st.st_size > MAX_DATA_BYTES:
        raise DataError(f"{path}: {st.st_size} bytes is over the limit of {MAX_DATA_BYTES} bytes "
                        f"({MAX_DATA_BYTES / 2**20:g} MiB) for a data file")


@dataclass
class Table:
    """A CSV file as Python's ``csv`` module reads it: the header (names stripped), the data rows as text and
    the line each row starts on (for messages)."""

    path: Path
    header: list[str]
    rows: list[list[str]]
    lines: list[int]

    def column(self, name: str) -> int:
        return self.header.index(name)


def _blank(row: list[str]) -> bool:
    return not any(c.strip() for c in row)


def read_table(path: str | os.PathLike) -> Table:
    """Read a CSV with a header row, refusing what would silently misalign rows.

    Blank lines before the header and after the last data row are ignored; a blank (or all-empty) row
    *between* data rows is refused with its file:line, because skipping it would move every later row
    (a prediction file written row for row would then be off by one) and keeping it would invent a row
    of missing values.  Duplicate or empty column names are refused.
    """
    path = Path(path)
    check_size(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}), expected a CSV file") from None
    if "\0" in text:
        raise DataError(f"{path}: a binary file, expected a CSV file")
    reader = csv.reader(io.StringIO(text, newline=""))
    rows, lines, blank_at = [], [], None
    try:
        header = next(reader, None)
        while header is not None and _blank(header):
            header = next(reader, None)
        if header is None:
            raise DataError(f"{path}: the file is empty, expected a header row and data rows")
        header_line = reader.line_num
        header = [c.strip() for c in header]
        if len(header) > MAX_CSV_COLUMNS:
            raise DataError(f"{path}:{header_line}: {len(header)} columns is over the limit of {MAX_CSV_COLUMNS}")
        _check_names(path, header_line, header)
        for row in reader:
            if _blank(row):
                blank_at = blank_at or reader.line_num
                continue
            if blank_at is not None:
                raise DataError(f"{path}:{blank_at}: an empty row between data rows (expected {len(header)} "
                                "fields); delete it, or fill in its values")
            if len(row) != len(header):
                raise DataError(f"{path}:{reader.line_num}: {len(row)} fields, expected {len(header)} (as in the "
                                "header)")
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: CSV error: {exc}") from None
    return Table(path, header, rows, lines)


def _check_names(path: Path, line: int, header: list[str]) -> None:
    """Every column has a name, and only one column has it (one pass: a wide header stays fast)."""
    seen: set[str] = set()
    for i, name in enumerate(header):
        if not name:
            raise DataError(f"{path}:{line}:{i + 1}: column {i + 1} has no name; every column needs a name in "
                            "the header")
        if name in seen:
            raise DataError(f"{path}:{line}: the column name {name!r} appears twice")
        seen.add(name)


def columns_list(header: list[str], limit: int = 20) -> str:
    """The first ``limit`` column names, comma-separated (``...`` when there are more), for a message."""
    return ", ".join(header[:limit]) + (", ..." if len(header) > limit else "")


def read_csv(path: str | os.PathLike, target: str | list[str] | None = None, classify: bool = False) -> Dataset:
    """A CSV with a header row: every column numeric except a class-label target; no missing values.

    ``target``: a column name or list of names (default: the last column).  With ``classify`` the target
    (one column) may hold integers or strings; they are mapped to classes 0..K-1 (see :func:`encode_labels`).
    """
    table = read_table(path)
    path, header = table.path, table.header
    if len(header) < 2:
        raise DataError(f"{path}:1: the header has {len(header)} column; expected features and a target "
                        "(at least 2 columns)")
    targets = [header[-1]] if target is None else [target] if isinstance(target, str) else list(target)
    for name in targets:
        if name not in header:
            raise DataError(f"{path}:1: target column {name!r} is not in the header "
                            f"(columns: {columns_list(header)})")
    if classify and len(targets) != 1:
        raise DataError(f"{path}: cross_entropy needs one target column of class labels, got {targets}")
    t_set = set(targets)
    names = [n for n in header if n not in t_set]
    if not names:
        raise DataError(f"{path}:1: every column is a target; expected at least one feature column")
    if not table.rows:
        raise DataError(f"{path}: a header but no data rows")
    x = table_numbers(table, names)
    if classify:
        labels = table_labels(table, targets[0])
        y, classes = encode_labels(labels, f"{path}: column {targets[0]!r}")
        return Dataset(x, y, names, targets, classes, str(path))
    return Dataset(x, table_numbers(table, targets), names, targets, None, str(path))


def table_numbers(table: Table, names: list[str]) -> np.ndarray:
    """The float64 values of the columns ``names`` (in that order), by name: numpy's parser first (fast);
    on any bad cell, the first one in file order is reported by line and column."""
    columns = [table.column(n) for n in names]
    cells = np.array(table.rows, dtype=str).reshape(len(table.rows), len(table.header))
    part = cells[:, columns]
    try:
        values = part.astype(np.float64)
        if np.isfinite(values).all():
            return values
    except ValueError:
        pass
    for r, line in enumerate(table.lines):
        for c in columns:
            _number(table.path, line, c, table.header, cells[r, c])
    raise DataError(f"{table.path}: unreadable numbers")  # not reached: _number raised on the bad cell


def table_labels(table: Table, name: str) -> list[str]:
    """The class labels of column ``name`` as text (stripped); a missing one is refused with its file:line."""
    c = table.column(name)
    labels = [row[c].strip() for row in table.rows]
    for label, line in zip(labels, table.lines):
        if not label:
            raise DataError(f"{table.path}:{line}:{c + 1}: missing value in column {name!r}, expected a class label")
    return labels


def _number(path, line: int, i: int, header: list[str], cell: str) -> float:
    text = cell.strip()
    where = f"{path}:{line}:{i + 1}"
    if not text:
        raise DataError(f"{where}: missing value in column {header[i]!r}, expected a number")
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{where}: {text[:40]!r} in column {header[i]!r} is not a number (expected a number; "
                        "only a cross_entropy target may hold labels)") from None
    if not math.isfinite(value):
        raise DataError(f"{where}: {text!r} in column {header[i]!r}, expected a finite number")
    return value


_DECIMAL_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,4})?")


def integer_label(label) -> int | None:
    """The integer a label names exactly ("7", "+7", "7.0", "7e0" -> 7), or None for any other text.

    Exact decimal arithmetic, never float: 9007199254740993 stays distinct from 9007199254740992.
    """
    if isinstance(label, (int, np.integer)) and not isinstance(label, (bool, np.bool_)):
        return int(label)
    text = str(label).strip()
    if not _DECIMAL_RE.fullmatch(text):
        return None
    value = Decimal(text)
    if value != value.to_integral_value() or value.adjusted() > 400:  # 1e9999 is a name, not a class number
        return None
    return int(value)


def encode_labels(labels, what: str) -> tuple[np.ndarray, list[str]]:
    """Class labels -> indices 0..K-1 and the label of each class.

    When every label names an integer the classes are those integers in numeric order ("1" and "1.0" are
    one class, named "1"); otherwise the labels are text, sorted as text.  Later files are mapped with
    :func:`class_indices` against the run's saved classes, whatever labels they hold.
    """
    labels = [str(v).strip() for v in labels]
    uniq = set(labels)
    if len(uniq) > MAX_CLASSES:
        raise DataError(f"{what}: {len(uniq)} distinct labels is over the limit of {MAX_CLASSES} classes")
    as_int = {u: integer_label(u) for u in uniq}
    if all(v is not None for v in as_int.values()):
        merged = sorted(set(as_int.values()))
        index = {v: k for k, v in enumerate(merged)}
        return np.array([index[as_int[v]] for v in labels], np.int64), [str(v) for v in merged]
    classes = sorted(uniq)
    index = {u: k for k, u in enumerate(classes)}
    return np.array([index[v] for v in labels], np.int64), classes


def class_indices(classes: list[str], labels, source) -> np.ndarray:
    """Labels of a later file -> the run's class indices: the exact label first, else (when the run's classes
    are integers) the integer it names; a label the run never saw is refused."""
    index = {name: k for k, name in enumerate(classes)}
    numeric = all(integer_label(c) is not None for c in classes)
    by_int = {integer_label(c): k for k, c in enumerate(classes)} if numeric else {}
    out = np.empty(len(labels), np.int64)
    for i, label in enumerate(labels):
        key = str(label).strip()
        k = index.get(key)
        if k is None and numeric:
            k = by_int.get(integer_label(key))
        if k is None:
            raise DataError(f"{source}: label {key!r} is not one of the run's classes ({columns_list(classes)})")
        out[i] = k
    return out


MAX_JSON_DEPTH = 64


def loads_json(text: str):
    """``json.loads`` that turns every failure into ValueError: a nesting deeper than ``MAX_JSON_DEPTH`` is
    refused before parsing (the parser would raise RecursionError, which is not a ValueError)."""
    depth = deepest = 0
    for ch in text:  # brackets inside strings count too: only makes the check stricter on odd files
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
        elif ch in "]}":
            depth -= 1
    return json.loads(text)


def _array_header(fp, what: str, available: int):
    """(shape, fortran_order, dtype) of the .npy stream at ``fp``, checked before anything is allocated:
    no Python objects, a plain dtype, and no more bytes than the stream holds."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fp)
        start = fp.tell()
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fp)
        else:
            raise DataError(f"{what}: .npy format version {version} is not supported (expected 1.0 or 2.0)")
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - numpy raises ValueError, SyntaxError, ... on a damaged header
        raise DataError(f"{what}: not a readable numpy array ({type(exc).__name__}: {str(exc)[:200]})") from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise DataError(f"{what}: dtype {dtype} (Python objects or a structured record) is refused; expected "
                        "numbers or strings")
    count = math.prod(shape)
    if count * dtype.itemsize > available - (fp.tell() - start):
        raise DataError(f"{what}: the header declares shape {shape} of {dtype} ({count * dtype.itemsize} bytes), "
                        "more than the file holds (a truncated or forged file)")
    return shape, fortran, dtype


def _read_npy(fp, what: str, available: int) -> np.ndarray:
    _array_header(fp, what, available)
    fp.seek(0)
    try:
        return np.lib.format.read_array(fp, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - a damaged body (short read, bad CRC)
        raise DataError(f"{what}: not a readable numpy array ({type(exc).__name__}: {str(exc)[:200]})") from None


def load_npy(path: Path) -> np.ndarray:
    """One array from an .npy file, limits checked before allocation, never unpickled."""
    check_size(path)
    try:
        with open(path, "rb") as fp:
            return _read_npy(fp, str(path), path.stat().st_size)
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc.strerror or exc})") from None


def load_npz(path: Path, limit: int = MAX_DATA_BYTES) -> dict[str, np.ndarray]:
    """Every array of an .npz archive by name, limits checked before allocation (a zip bomb's declared
    sizes, each member's header), never unpickled."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.infolist() if m.filename.endswith(".npy")]
            total = sum(m.file_size for m in members)
            if total > 4 * limit:
                raise DataError(f"{path}: the archive unpacks to {total} bytes, over the limit of {4 * limit}")
            out = {}
            for m in members:
                name = m.filename[:-4]
                with zf.open(m) as raw:
                    fp = io.BytesIO(raw.read(m.file_size + 1))  # the declared size (bounded above) at most
                out[name] = _read_npy(fp, f"{path}: {name}", len(fp.getvalue()))
            return out
    except DataError:
        raise
    except (OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, NotImplementedError,
            RuntimeError) as exc:  # RuntimeError: an encrypted member
        raise DataError(f"{path}: not a readable .npz archive ({type(exc).__name__}: {str(exc)[:200]})") from None


def load_array(path: Path, name: str, z=None) -> np.ndarray:
    """Array ``name`` of the open .npz ``z``, else the single array of the .npy at ``path`` (DataError for an .npz)."""
    if z is not None:
        return z[name]
    if zipfile.is_zipfile(path):
        raise DataError(f"{path}: expected one array, found an .npz archive")
    return load_npy(path)


def read_arrays(paths, classify: bool = False) -> Dataset:
    """``x.npz`` with arrays ``x`` and ``y``, or ``[x.npy, y.npy]``; never unpickles (allow_pickle=False)."""
    if isinstance(paths, (str, os.PathLike)):
        path = Path(paths)
        check_size(path)
        z = load_npz(path)
        missing = [k for k in ("x", "y") if k not in z]
        if missing:
            raise DataError(f"{path}: no array {missing[0]!r} (found: {', '.join(z) or 'none'}); "
                            "expected arrays x (features) and y (targets)")
        x, y = z["x"], z["y"]
        where = (f"{path}: x", f"{path}: y")
    else:
        px, py = (Path(p) for p in paths)
        for p in (px, py):
            check_size(p)
        x, y = load_array(px, "x"), load_array(py, "y")
        where = (f"{px}", f"{py}")
    if x.ndim != 2:
        raise DataError(f"{where[0]}: shape {x.shape}, expected a 2-D array (rows, features)")
    if x.dtype.kind not in "iuf" or not np.isfinite(x.astype(np.float64)).all():
        raise DataError(f"{where[0]}: expected finite numbers, got dtype {x.dtype}"
                        + ("" if x.dtype.kind not in "iuf" else " with NaN/inf"))
    if y.ndim not in (1, 2) or len(y) != len(x):
        raise DataError(f"{where[1]}: shape {y.shape}, expected ({len(x)},) or ({len(x)}, D_out) to match x's "
                        f"{len(x)} rows")
    if len(x) == 0:
        raise DataError(f"{where[0]}: no rows")
    names = [f"x{i}" for i in range(x.shape[1])]
    if classify:
        if y.ndim == 2 and y.shape[1] != 1:
            raise DataError(f"{where[1]}: shape {y.shape}; cross_entropy needs one label per row")
        if y.dtype.kind not in "iuUS":
            raise DataError(f"{where[1]}: dtype {y.dtype}; cross_entropy needs integer or string labels")
        labels, classes = encode_labels(y.reshape(-1).tolist(), where[1])
        return Dataset(x.astype(np.float64), labels, names, ["y"], classes, str(paths))
    if y.dtype.kind not in "iuf" or not np.isfinite(y.astype(np.float64)).all():
        raise DataError(f"{where[1]}: expected finite numbers, got dtype {y.dtype}")
    y = y.reshape(len(y), -1).astype(np.float64)
    return Dataset(x.astype(np.float64), y, names, [f"y{i}" for i in range(y.shape[1])], None, str(paths))


def resolve_data_path(value, relative_to: str | os.PathLike | None):
    """THE rule for a ``data`` value, whichever way it was given: ``synthetic`` stays; a path (or each of an
    [x.npy, y.npy] pair) is made absolute against ``relative_to`` -- the folder of the file that names it (a
    config or sweep file), or None for the working directory (``--set data=FILE``, ``--sweep data=A,B``, a
    command-line argument).  Absolute, so a run's own config.yaml finds the data from anywhere."""
    if value == "synthetic" or not isinstance(value, (str, list)) or not value:
        return value
    base = Path.cwd() if relative_to is None else Path(relative_to)

    def absolute(v):
        return str((base / Path(v).expanduser()).resolve()) if isinstance(v, str) and v else v

    return absolute(value) if isinstance(value, str) else [absolute(v) for v in value]


def load_dataset(data, target=None, classify: bool = False) -> Dataset:
    """The data a config's ``data`` names (a .csv / .npz path or an [x.npy, y.npy] pair)."""
    if isinstance(data, str) and data.lower().endswith(".csv"):
        return read_csv(data, target, classify)
    return read_arrays(data, classify)


def init_params(sizes, bias: bool, init: str, rng: np.random.Generator, dtype: str) -> dict[str, np.ndarray]:
    """Initial weights ``w_i`` (in, out) and biases ``b_i``, drawn in layer order from ``rng`` in float64.

    ``randn``: standard normal (the seed's ``randn``), weight then bias.  ``default``: PyTorch's
    ``nn.Linear(in, out)`` -- weight (out, in) then bias (out,), each uniform(-1/sqrt(in), 1/sqrt(in)) --
    stored transposed as (in, out).
    """
    params = {}
    for i, (a, b) in enumerate(zip(sizes, sizes[1:]), start=1):
        if init == "randn":
            params[f"w{i}"] = rng.standard_normal((a, b)).astype(dtype, copy=False)
            if bias:
                params[f"b{i}"] = rng.standard_normal(b).astype(dtype, copy=False)
        else:
            bound = 1 / math.sqrt(a)
            params[f"w{i}"] = np.ascontiguousarray(rng.uniform(-bound, bound, (b, a)).T).astype(dtype, copy=False)
            if bias:
                params[f"b{i}"] = rng.uniform(-bound, bound, b).astype(dtype, copy=False)
    return params


@dataclass
class FitData:
    """Everything a fit starts from: the split, standardised, cast data and the initial parameters."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    params: dict[str, np.ndarray]
    feature_names: list[str]
    target_names: list[str]
    classes: list[str] | None = None
    mean: np.ndarray | None = None  # standardisation (training split's), applied before the cast
    std: np.ndarray | None = None
    train_index: np.ndarray | None = None
    val_index: np.ndarray | None = None

    @property
    def D_in(self) -> int:
        return self.x_train.shape[1]

    @property
    def D_out(self) -> int:
        return len(self.classes) if self.classes is not None else self.y_train.shape[1]

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays data.npz stores (read back with :func:`load_fit_data`)."""
        # x, y, w1, w2 as the seed's data.npz had them (load_problem still reads a seed run's file)
        out = {"x": self.x_train, "y": self.y_train, **self.params,
               "feature_names": np.array(self.feature_names), "target_names": np.array(self.target_names)}
        for key in ("x_val", "y_val", "mean", "std", "train_index", "val_index"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.classes is not None:
            out["classes"] = np.array(self.classes)
        return out

    def transform(self, x: np.ndarray, dtype) -> np.ndarray:
        """New raw features as the model sees them: the saved standardisation, then the dtype."""
        x = np.asarray(x, dtype=np.float64)
        if self.mean is not None:
            x = (x - self.mean) / self.std
        return x.astype(dtype)


PARAM_RE = re.compile(r"^[wb][0-9]+$")


def split_rng(seed: int) -> np.random.Generator:
    """The generator of the train/validation split (separate from the weights' and the data order's)."""
    return np.random.default_rng([seed, 1])


def order_rng(seed: int) -> np.random.Generator:
    """The generator of the data order (a permutation per epoch); its state goes into checkpoints."""
    return np.random.default_rng([seed, 2])


def prepare_fit_data(cfg, dataset: Dataset | None = None) -> FitData:
    """The data and initial weights ``cfg`` describes.

    Synthetic data draws x, y, then the weights from ``default_rng(seed)`` (the seed's order, so
    ``make_problem``'s arrays come out); a data file's weights are drawn from the same generator.
    """
    dtype = cfg.dtype
    rng = np.random.default_rng(cfg.seed)
    if cfg.synthetic:
        x = rng.standard_normal((cfg.N, cfg.D_in))
        y = rng.standard_normal((cfg.N, cfg.D_out))
        dataset = Dataset(x, y, [f"x{i}" for i in range(cfg.D_in)], [f"y{i}" for i in range(cfg.D_out)])
    elif dataset is None:
        dataset = load_dataset(cfg.data, cfg.target, cfg.loss == "cross_entropy")
    classes = dataset.classes
    D_out = len(classes) if classes is not None else dataset.y.shape[1]
    sizes = (dataset.x.shape[1], *cfg.hidden, D_out)
    params = init_params(sizes, cfg.bias, cfg.init, rng, dtype)
    n = dataset.n
    train_idx, val_idx = None, None
    x_tr, y_tr, x_va, y_va = dataset.x, dataset.y, None, None
    if cfg.val_fraction > 0:
        n_val = int(round(n * cfg.val_fraction))
        if n_val < 1 or n_val >= n:
            raise DataError(f"{dataset.source}: val_fraction {cfg.val_fraction} of {n} rows leaves "
                            f"{n_val} validation and {n - n_val} training rows; both need at least 1")
        perm = split_rng(cfg.seed).permutation(n)
        val_idx, train_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        x_tr, y_tr, x_va, y_va = dataset.x[train_idx], dataset.y[train_idx], dataset.x[val_idx], dataset.y[val_idx]
    mean = std = None
    if cfg.standardize:
        mean = x_tr.mean(axis=0)
        std = x_tr.std(axis=0)
        std[std == 0] = 1.0  # a constant column stays 0 instead of dividing by 0
        x_tr = (x_tr - mean) / std
        x_va = None if x_va is None else (x_va - mean) / std
    ycast = (lambda a: a.astype(np.int64)) if classes is not None else (lambda a: a.astype(dtype))
    return FitData(x_tr.astype(dtype), ycast(y_tr), None if x_va is None else x_va.astype(dtype),
                   None if y_va is None else ycast(y_va), params, dataset.feature_names, dataset.target_names,
                   classes, mean, std, train_idx, val_idx)


def load_fit_data(path) -> FitData:
    """Read what ``FitData.arrays()`` wrote to a run's data.npz (no pickles); a damaged or foreign file is a
    DataError naming the array and what was expected."""
    path = Path(path)
    a = load_npz(path, limit=16 * MAX_DATA_BYTES)
    where = f"{path}: the run's data"

    def numeric(key, ndim, required=False):
        v = a.get(key)
        if v is None:
            if required:
                raise DataError(f"{where} has no array {key!r} (found: {', '.join(a) or 'none'})")
            return None
        if v.dtype.kind not in "iuf" or v.ndim not in ndim:
            raise DataError(f"{where}: {key} is {v.dtype}{list(v.shape)}, expected a {ndim[0]}-D array of numbers")
        return v

    def texts(key, n):
        v = a.get(key)
        if v is None:
            return None
        if v.dtype.kind not in "US" or v.ndim != 1 or (n is not None and len(v) != n):
            raise DataError(f"{where}: {key} is {v.dtype}{list(v.shape)}, expected {n if n is not None else 'a list of'}"
                            " names")
        return [str(s) for s in v.tolist()]

    x, y = numeric("x", (2,), True), numeric("y", (2, 1), True)
    params = {k: numeric(k, (2, 1)) for k in a if PARAM_RE.match(k)}
    names = texts("feature_names", x.shape[1]) or [f"x{i}" for i in range(x.shape[1])]
    targets = texts("target_names", None) or [f"y{i}" for i in range(y.shape[-1])]
    classes = texts("classes", None)
    extra = {k: numeric(k, (2, 1) if k in ("x_val", "y_val") else (1,)) for k in
             ("x_val", "y_val", "mean", "std", "train_index", "val_index")}
    return FitData(x, y, extra["x_val"], extra["y_val"], params, names, targets, classes, extra["mean"],
                   extra["std"], extra["train_index"], extra["val_index"])


def batches_per_epoch(n_train: int, batch: int | None) -> int:
    """Minibatches in one pass (the last one may be smaller, as PyTorch's DataLoader by default)."""
    return 1 if not batch or batch >= n_train else -(-n_train // batch)
