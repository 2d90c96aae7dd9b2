"""``autotrain evaluate`` and ``autotrain predict``: a finished (or interrupted) run's weights on data.

Nothing here prints.  Both read only the run directory (config.yaml, data.npz, a checkpoint) and the
files the user names; the saved standardisation and class names are applied, so raw rows in the
training file's format go in and labels come out.
"""
from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from autotrain.training.data import (DataError, FitData, Table, columns_list, class_indices, load_fit_data, loads_json,
                            read_arrays, read_table, table_labels, table_numbers)
from autotrain.store.runs import CheckpointError, RunDir, RunError, atomic_write, checkpoint_spec, load_checkpoint, open_run


@dataclass
class Evaluation:
    """Loss (and accuracy for classification) of one checkpoint on one set of rows."""

    run_dir: str
    checkpoint_step: int
    data: str  # "validation split", "training split", or the file
    rows: int
    loss_name: str
    loss: float
    accuracy: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _mode_for(run: RunDir, checkpoint: str | int | None = "last"):
    """(config, FitData, a mode holding the chosen checkpoint's weights, the checkpoint's step)."""
    from autotrain.modes import build_mode
    from autotrain.modes.base import spec_from_config
    cfg = run.read_config()
    if not run.data_path.is_file():
        raise RunError(f"{run.path} has no data.npz (the run never started training)")
    data = load_fit_data(run.data_path)
    spec = spec_from_config(cfg, data.D_in, data.D_out)
    ckpt = _checkpoint(run, cfg, checkpoint_spec(cfg), checkpoint)
    mode = build_mode(cfg.mode if cfg.device == "cpu" else "manual", spec, ckpt.weights, "cpu")
    return cfg, data, mode, ckpt.step


def _checkpoint(run: RunDir, cfg, expected: dict, which: str | int | None):
    which = "last" if which is None else which
    if which == "last":
        ckpt = run.latest_checkpoint(cfg, spec=expected)
        if ckpt is None:
            raise RunError(f"{run.path} has no checkpoint")
        return ckpt
    if which == "best":
        step = best_step(run)
        if step is None:
            raise RunError(f"{run.path} has no best checkpoint: it was trained without a validation split "
                           "(val_fraction: 0); use --checkpoint last")
    else:
        try:
            step = int(which)
        except ValueError:
            raise RunError(f"--checkpoint {which!r}: expected best, last or a step number") from None
    path = run.checkpoint_path(step)
    if not path.is_file():
        have = ", ".join(str(s) for s, _ in run.checkpoints()) or "none"
        raise RunError(f"{run.path} has no checkpoint at step {step} (kept: {have})")
    try:
        return load_checkpoint(path, cfg, expected)
    except CheckpointError as exc:
        raise RunError(f"{path}: {exc}") from None


def _open(path) -> RunDir:
    if not Path(path).is_dir():
        raise RunError(f"{path} is not a run directory (expected one made by autotrain fit, e.g. runs/<...>)")
    return open_run(path)


def best_step(run: RunDir) -> int | None:
    """The checkpoint with the lowest validation loss: summary.json's ``best_step``, else from metrics.csv."""
    try:
        step = loads_json(run.summary_path.read_text()).get("best_step")
        if isinstance(step, int) and not isinstance(step, bool):
            return step
    except (OSError, ValueError, AttributeError):
        pass
    from autotrain.training.record import best_validation
    return best_validation(run.read_metrics().rows())[2]


def evaluation_threads(path, threads: str | int | None) -> int:
    """The BLAS threads for evaluating the run in ``path``: ``threads`` (a number, or ``"auto"``: the rule
    applied to the run's own config; a run that cannot be read gets 1 and evaluate_run says what is wrong)."""
    from autotrain.store.runs import open_run
    from autotrain.training.threads import blas_threads, parse_threads
    from autotrain.training.usage import UsageError

    try:
        n = parse_threads(str(threads))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if n != "auto":
        return n
    try:
        return blas_threads(open_run(path).read_config())
    except Exception:  # noqa: BLE001 -- any unreadable run: evaluate_run reports it properly
        return 1


def evaluate_run(path, data_file: str | None = None, checkpoint: str | int | None = "last", *,
                 threads: str | int | None = None) -> Evaluation:
    """Loss and accuracy of a run's checkpoint on its validation split (else its training split) or on
    ``data_file`` (same format and columns as the training data; the saved standardisation is applied).

    ``threads``: BLAS threads while evaluating (a number or ``"auto"``, see :func:`evaluation_threads`;
    None leaves them as they are)."""
    if threads is not None:
        from autotrain.training.threads import limit_blas

        with limit_blas(evaluation_threads(path, threads)):
            return evaluate_run(path, data_file, checkpoint)
    run = _open(path)
    cfg, data, mode, step = _mode_for(run, checkpoint)
    if data_file is not None:
        x, y = _labelled_rows(cfg, data, data_file)
        what = str(data_file)
    elif data.x_val is not None:
        x, y, what = data.x_val, data.y_val, "validation split"
    else:
        x, y, what = data.x_train, data.y_train, "training split (the run has no validation split)"
    with np.errstate(all="ignore"):
        loss, out = mode.evaluate(*mode.prepare(x, y))
    acc = float(np.mean(np.argmax(out, axis=1) == y)) if data.classes is not None else None
    return Evaluation(str(run.path), step, what, len(x), cfg.loss, loss, acc)


def _labelled_rows(cfg, data: FitData, data_file) -> tuple[np.ndarray, np.ndarray]:
    """Features and targets of ``data_file`` as the run sees them.  A CSV is read by column name (the run's
    feature and target columns; other columns and their order do not matter); labels are mapped to the
    run's own classes, whichever labels the file holds."""
    classify = data.classes is not None
    if str(data_file).lower().endswith(".csv"):
        table = read_table(data_file)
        _require_columns(table, data.feature_names + data.target_names, "column")
        if not table.rows:
            raise DataError(f"{data_file}: a header but no data rows")
        raw_x = table_numbers(table, data.feature_names)
        if classify:
            y = class_indices(data.classes, table_labels(table, data.target_names[0]), data_file)
        else:
            y = table_numbers(table, data.target_names)
    else:
        ds = read_arrays(str(data_file), classify=classify)
        raw_x = ds.x
        y = class_indices(data.classes, [ds.classes[i] for i in ds.y], data_file) if classify else ds.y
    if raw_x.shape[1] != data.D_in:
        raise DataError(f"{data_file}: {raw_x.shape[1]} feature columns, the run was trained on {data.D_in}")
    x = data.transform(raw_x, data.x_train.dtype)
    if classify:
        return x, y
    if y.shape[1] != data.D_out:
        raise DataError(f"{data_file}: {y.shape[1]} target columns, the run was trained on {data.D_out}")
    return x, y.astype(data.x_train.dtype)


def _require_columns(table: Table, names: list[str], what: str) -> None:
    missing = [n for n in names if n not in table.header]
    if missing:
        raise DataError(f"{table.path}:1: the header lacks the {what} {missing[0]!r} the run was trained on "
                        f"(expected columns: {columns_list(names)})")


# ------------------------------------------------------------------------------------------ predict
@dataclass
class Prediction:
    run_dir: str
    checkpoint_step: int
    rows: int
    output: str
    columns: list[str]


def read_inputs(path, data: FitData) -> np.ndarray:
    """Raw feature rows from a CSV (a header naming the training features; other columns, such as the
    target, are ignored) or a 2-D .npy array with the training file's feature columns in order."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        x = _npy_features(path)
    elif path.suffix.lower() == ".csv":
        x = _csv_features(path, data.feature_names)
    else:
        raise DataError(f"{path}: expected a .csv or .npy input file")
    if x.shape[1] != data.D_in:
        raise DataError(f"{path}: {x.shape[1]} feature columns, the run was trained on {data.D_in}")
    return x


def _npy_features(path: Path) -> np.ndarray:
    from autotrain.training.data import check_size, load_array
    check_size(path)
    x = load_array(path, "x")
    if x.ndim == 1:
        x = x.reshape(1, -1)
    if x.ndim != 2 or x.dtype.kind not in "iuf" or not np.isfinite(x.astype(np.float64)).all():
        raise DataError(f"{path}: expected a 2-D array of finite numbers, got {x.dtype}{list(x.shape)}")
    return x.astype(np.float64)


def _csv_features(path: Path, names: list[str]) -> np.ndarray:
    table = read_table(path)
    _require_columns(table, names, "feature column")
    if not table.rows:
        raise DataError(f"{path}: a header but no rows to predict")
    return table_numbers(table, names)


def predict_run(path, input_file, output_file, checkpoint: str | int | None = "last") -> Prediction:
    """Predict ``input_file``'s rows with a run's checkpoint; write ``output_file`` (.csv or .npy).

    Classification: the class label of each row (CSV: the target's name, then one probability column
    ``p_<class>`` per class; .npy: the labels).  Regression: the predicted targets.
    """
    run = _open(path)
    output = Path(output_file)
    if output.suffix.lower() not in (".csv", ".npy"):
        raise DataError(f"{output}: expected a .csv or .npy output file")
    if output.exists() and output.is_dir():
        raise DataError(f"{output}: is a directory, expected an output file")
    if not output.parent.is_dir():
        raise DataError(f"{output}: the folder {output.parent} does not exist")
    cfg, data, mode, step = _mode_for(run, checkpoint)
    x = data.transform(read_inputs(input_file, data), data.x_train.dtype)
    with np.errstate(all="ignore"):
        out = mode.predict(x).astype(np.float64)
    if data.classes is not None:
        shifted = out - out.max(axis=1, keepdims=True)
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        labels = [data.classes[k] for k in np.argmax(out, axis=1)]
        columns = [data.target_names[0]] + [f"p_{c}" for c in data.classes]
        table = [[label] + [repr(float(p)) for p in row] for label, row in zip(labels, probs)]
        array = _label_array(labels, data.classes)
    else:
        columns = list(data.target_names)
        table = [[repr(float(v)) for v in row] for row in out]
        array = out
    if output.suffix.lower() == ".npy":
        atomic_write(output, lambda f: np.save(f, array, allow_pickle=False))
    else:
        atomic_write(output, lambda f: f.write(_csv_text(columns, table).encode()))
    return Prediction(str(run.path), step, len(x), str(output), columns)


def _csv_text(columns: list[str], table: list[list[str]]) -> str:
    """The CSV as ``csv.writer`` writes it: a label or name with a comma, quote or newline is quoted, so
    every row keeps its columns (``csv.reader`` and pandas read it back field for field)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(table)
    return out.getvalue()


def _label_array(labels: list[str], classes: list[str]) -> np.ndarray:
    """Predicted labels for a .npy: int64 when every class is an integer that fits, else text (exact)."""
    from autotrain.training.data import integer_label

    values = [integer_label(c) for c in classes]
    if all(v is not None and -2**63 <= v < 2**63 for v in values):
        return np.array([integer_label(lab) for lab in labels], dtype=np.int64)
    return np.array(labels, dtype=str)


__all__ = ["evaluate_run", "predict_run", "Evaluation", "Prediction", "best_step", "read_inputs"]
