"""What the fit loop needs of the run it writes to, as a protocol: the store implements it.

Training sits below the run store (``autotrain.store``): the fit loop, resume and evaluation name only
:class:`RunRecord` and the errors here, and ``autotrain.store.runs.RunDir`` is the implementation.  What a
checkpoint of a config holds (:func:`checkpoint_spec`) is the model's and optimizer's business, so it is
defined here and the store's loader checks files against it.
"""
from __future__ import annotations

import math
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Iterable, Protocol

from autotrain.modes.names import OPTIMIZER_SLOTS
from autotrain.training.config import FitConfig


class RunError(Exception):
    """A run directory that cannot be created, opened or resumed; the message says why."""


class CheckpointError(Exception):
    """One checkpoint file that cannot be used (damaged, foreign, or holding a pickle)."""


#: What the caller expects of one array: (shape, dtype).  dtype "str" is any unicode string.
Spec = dict[str, tuple[tuple[int, ...], Any]]


def checkpoint_spec(cfg: FitConfig) -> Spec:
    """The ``state`` arrays a checkpoint of ``cfg`` holds: {name: (shape, dtype)}.

    The network's ``w1``, ``b1``, ``w2``... (``w_i`` of shape (in, out)) and the optimizer's state as
    ``optim.step`` and ``optim.<slot>.<param>`` (none for plain sgd).  The loader accepts exactly these (plus
    the metadata fields), so whoever changes what a checkpoint holds changes this function (or passes its
    own spec to :func:`load_checkpoint`).  A data file's D_in/D_out are in the run's config.yaml.
    """
    sizes = [cfg.D_in, *cfg.hidden, cfg.D_out]
    params: Spec = {}
    for i, (a, b) in enumerate(zip(sizes, sizes[1:]), start=1):
        params[f"w{i}"] = ((a, b), cfg.dtype)
        if cfg.bias:
            params[f"b{i}"] = ((b,), cfg.dtype)
    slots = OPTIMIZER_SLOTS[cfg.optimizer]
    spec = dict(params)
    if slots:
        spec["optim.step"] = ((), "int64")
    for slot in slots:
        spec.update({f"optim.{slot}.{k}": v for k, v in params.items()})
    return spec


def best_validation(rows: list[dict]) -> tuple:
    """(best val_loss, its val_accuracy, the checkpoint step) over metrics rows; row t is validated after
    update t, so its weights are checkpoint t + 1's."""
    scored = [r for r in rows if r["val_loss"] is not None and math.isfinite(r["val_loss"])]
    if not scored:
        return None, None, None
    best = min(scored, key=lambda r: r["val_loss"])
    return best["val_loss"], best["val_accuracy"], best["step"] + 1


class RunRecord(Protocol):
    """A run's files as the fit loop reads and writes them (``autotrain.store.runs.RunDir``)."""

    path: Path
    config_path: Path
    data_path: Path
    summary_path: Path
    notes: list[str]

    def lock(self) -> AbstractContextManager[None]: ...
    def refuse_links(self) -> None: ...
    def clean_temp_files(self) -> list[str]: ...
    def read_config(self) -> FitConfig: ...
    def write_config(self, cfg: FitConfig) -> None: ...
    def save_fit_data(self, data) -> None: ...
    def read_summary(self) -> dict[str, Any]: ...
    def write_summary(self, summary: dict[str, Any]) -> None: ...
    def open_metrics(self, keep_before: int = 0, logged=None) -> Any: ...
    def read_metrics(self) -> Any: ...  # the table's rows(), tuples("step", "loss"...) (autotrain.store.metrics)
    def checkpoint_path(self, step: int) -> Path: ...
    def checkpoints(self) -> list[tuple[int, Path]]: ...
    def save_checkpoint(self, step: int, state: dict, config_hash: str, elapsed_s: float, rng_state: str = "",
                        optimizer_state: dict | None = None) -> Path: ...
    def prune_checkpoints(self, keep: int, protect: Iterable[int] = ()) -> list[Path]: ...
    def latest_checkpoint(self, cfg: FitConfig, spec: Spec | None = None) -> Any: ...
    def load_checkpoint(self, path: Path, cfg: FitConfig | None = None, spec: Spec | None = None) -> Any: ...
