"""The `fit` configuration: defaults < file < ``--set`` overrides, validated once, every problem reported at once.

Decisions (documented in docs/config.md):

* The schema (:mod:`autotrain.training.schema`) is strict: ``lr: "1e-6"`` (quoted) is an error that says
  to write a number; YAML is read the YAML 1.2 way (:mod:`autotrain.training.yaml12`), so ``lr: 1e-6``
  is the number 1e-6 in a file and in ``--set``.
* ``steps: 0`` is a valid no-op run: it writes the initial checkpoint and the data, and no losses.
* Every problem of a file (and of the ``--set`` overrides) is reported at once
  (:class:`~autotrain.training.issues.ConfigError`), each naming the file (and line), the key, the bad
  value and what is allowed, with "did you mean" suggestions.
* With ``check``, :func:`load_config` also refuses what this machine lacks (memory, a GPU:
  :mod:`autotrain.training.resources`).

This module is the front door: the names used across autotrain (``FitConfig``, ``load_config``,
``ConfigError``...) are importable from here.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from pydantic import ValidationError

from autotrain.modes.names import LOSSES, MODE_NAMES
from autotrain.training.files import MAX_CONFIG_BYTES
from autotrain.training.issues import MAX_SHOWN, ConfigError, ConfigIssue, bounded, did_you_mean, shown
from autotrain.training.resources import available_bytes, check_resources, estimate_bytes
from autotrain.training.schema import (ALLOWED, CHOICES, DEVICE_SYNONYMS, DTYPE_NAMES, FIELDS, INT64_MAX,
                                       LENGTH_KEYS, LIST_KEYS, NEW_KEYS, OPTIMIZER_KEYS, FitConfig, Source, to_yaml)
from autotrain.training.yaml12 import ConfigLoader, parse_override, parse_yaml, read_config_file


@dataclass
class Resolved:
    """A validated config plus where each value came from (for ``--print-config``)."""

    config: FitConfig
    sources: dict[str, Source] = field(default_factory=dict)
    path: str | None = None


def issue_for(err: dict, where: dict[str, tuple[str, tuple | None]]) -> ConfigIssue:
    """Turn one pydantic error into a ConfigIssue naming file, line, key, value and what is allowed."""
    key = str(err["loc"][0]) if err["loc"] else None
    source, pos = where.get(key, ("config", None))
    shown_key = None if key is None else bounded(key, MAX_SHOWN)
    line, col = pos if pos else (None, None)
    value = err.get("input")
    if err["type"] == "extra_forbidden":
        msg = f"unknown key{did_you_mean(key, FIELDS)}"  # the allowed keys follow once, after every problem
    else:
        synonyms = DEVICE_SYNONYMS if key == "device" else None
        hint = did_you_mean(value, CHOICES[key], synonyms) if key in CHOICES and isinstance(value, str) else ""
        too_large = isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT64_MAX
        limit = f"; too large: at most {INT64_MAX}" if too_large else ""
        msg = f"bad value {shown(value)}{hint}{limit} (allowed: {ALLOWED.get(key, err['msg'])})"
    return ConfigIssue(source, msg, key=shown_key, line=line, column=col)


def resolve(path: str | os.PathLike | None, overrides: Iterable[str] = ()) -> Resolved:
    """Merge defaults < file < ``--set`` overrides, then validate once; ConfigError lists every problem."""
    values: dict[str, Any] = {}
    where: dict[str, tuple[str, tuple | None]] = {}
    problems: list[ConfigIssue] = []
    sources: dict[str, Source] = {}
    if path is not None:
        data, lines = read_config_file(path)
        for key, value in data.items():
            values[str(key)] = value
            where[str(key)], sources[str(key)] = (str(path), lines.get(key)), "file"
    for text in overrides:
        try:
            key, value = parse_override(text)
        except ConfigError as exc:
            problems += exc.problems
            continue
        values[key] = value
        where[key], sources[key] = ("--set", None), "--set"
    raw = {"data": values.get("data")}
    if "data" in values:
        values["data"] = _data_path(values.get("data"), where.get("data", ("", None))[0], path)
    try:
        cfg = FitConfig.model_validate(values)
    except ValidationError as exc:
        seen: set = set()
        for err in exc.errors():  # a union (H: int | list) reports once per member: one problem per key
            key = err["loc"][0] if err["loc"] else None
            if key in seen:
                continue
            seen.add(key)
            if key in values and err["type"] != "extra_forbidden":
                err = {**err, "input": values[key]}
            problems.append(issue_for(err, where))
        cfg = None
    if cfg is not None:
        problems += cross_check(cfg, where, raw)
    problems = _allowed_keys_once(problems)
    if problems:  # in file order, then the --set ones
        problems.sort(key=lambda p: (p.source == "--set", p.line or 0))
        raise ConfigError(problems)
    sources = {k: sources.get(k, "default") for k in FIELDS}
    return Resolved(cfg, sources, None if path is None else str(path))


def _allowed_keys_once(problems: list[ConfigIssue]) -> list[ConfigIssue]:
    """The list of allowed keys is printed with the first unknown key only (30 keys on every line of a file
    full of unknown keys would bury the messages)."""
    import dataclasses

    out, listed = [], False
    for p in problems:
        if " (allowed keys: " in p.message:
            if listed:
                p = dataclasses.replace(p, message=p.message.split(" (allowed keys: ")[0] + " (allowed keys: as above)")
            listed = True
        out.append(p)
    return out


def _data_path(value: Any, source: str, config_path) -> Any:
    """A data path from a file is relative to that file's folder, one from ``--set`` to the working
    directory (the one rule: :func:`autotrain.training.data.resolve_data_path`)."""
    from autotrain.training.data import resolve_data_path

    from_file = source not in ("--set", "") and config_path
    return resolve_data_path(value, Path(config_path).resolve().parent if from_file else None)


def cross_check(cfg: FitConfig, where: dict, raw: dict | None = None) -> list[ConfigIssue]:
    """Problems between keys (each key alone was valid): every one is reported at the key to change.
    ``raw``: values as the user wrote them (``data`` before it was made absolute), for the messages."""
    found = []
    data_shown = (raw or {}).get("data") or cfg.data

    def problem(key: str, message: str) -> None:
        source, pos = where.get(key, ("config", None))
        line, col = pos if pos else (None, None)
        found.append(ConfigIssue(source, message, key=key, line=line, column=col))

    given = cfg.model_fields_set
    if cfg.mode == "custom-relu" and cfg.activation != "relu":
        problem("activation", f"bad value {cfg.activation!r} with mode 'custom-relu' (allowed: relu; custom-relu "
                              "trains the network with ReLU written as a user-defined autograd.Function)")
    if cfg.synthetic:
        if cfg.N is None:
            problem("N", f"bad value None with data: synthetic (allowed: {ALLOWED['N']})")
        if "target" in given and cfg.target is not None:
            problem("target", f"bad value {cfg.target!r} with data: synthetic (allowed: {ALLOWED['target']})")
        if cfg.loss == "cross_entropy":
            regression = ", ".join(name for name in LOSSES if name != "cross_entropy")
            problem("loss", f"bad value 'cross_entropy' with data: synthetic (allowed: {regression}; "
                            "cross_entropy needs class labels from a data file)")
    elif isinstance(cfg.data, list) and not all(p.endswith(".npy") for p in cfg.data):
        problem("data", f"bad value {data_shown!r} (allowed: {ALLOWED['data']}; a list means two .npy files, "
                        "features then targets)")
    elif isinstance(cfg.data, str) and not cfg.data.lower().endswith((".csv", ".npz")):
        hint = "; give [x.npy, y.npy] for a pair of .npy files" if cfg.data.endswith(".npy") else ""
        problem("data", f"bad value {data_shown!r} (allowed: {ALLOWED['data']}){hint}")
    if "epochs" in given and "steps" in given and cfg.epochs is not None:
        problem("epochs", f"give steps or epochs, not both (steps: {cfg.steps}, epochs: {cfg.epochs})")
    for key, users in OPTIMIZER_KEYS.items():
        if key in given and cfg.optimizer not in users:
            problem(key, f"does not apply to optimizer {cfg.optimizer!r} (it is used by {', '.join(users)})")
    if "target" in given and cfg.target is not None and not isinstance(cfg.data, str):
        problem("target", "applies to a .csv file only")
    return found


def load_config(path: str | os.PathLike | None, overrides: Iterable[str] = (), *, check: bool = True) -> FitConfig:
    """Read, merge and validate a config; with ``check``, also refuse sizes/devices this machine lacks.

    >>> cfg = load_config("configs/two_layer.yaml", ["lr=1e-5", "mode=static"])  # doctest: +SKIP
    """
    resolved = resolve(path, overrides)
    if check:
        check_resources(resolved.config, resolved.path or "config")
    return resolved.config


__all__ = ["FitConfig", "Resolved", "resolve", "load_config", "cross_check", "issue_for", "to_yaml",
           "ConfigError", "ConfigIssue", "ConfigLoader", "parse_yaml", "parse_override", "read_config_file",
           "check_resources", "estimate_bytes", "available_bytes", "FIELDS", "NEW_KEYS", "LENGTH_KEYS", "LIST_KEYS",
           "OPTIMIZER_KEYS", "ALLOWED", "MODE_NAMES", "DTYPE_NAMES", "MAX_CONFIG_BYTES", "MAX_SHOWN"]
