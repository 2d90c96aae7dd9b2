"""The `fit` configuration: one flat YAML mapping, validated once by a strict pydantic model.

Decisions (documented in the README's "config" section):

* Numbers are strict: ``lr: "1e-6"`` (quoted) is an error that says to write a number.  YAML 1.1
  (PyYAML) reads an unquoted ``1e-6`` as a *string* because it has no dot; our loader resolves
  floats the YAML 1.2 way, so ``lr: 1e-6`` is the number 1e-6 in a file and in ``--set``.
* ``steps: 0`` is a valid no-op run: it writes the initial checkpoint and the data, and no losses.
* Loading is ``yaml.SafeLoader``-level only: tags such as ``!!python/object`` are refused and
  nothing is constructed; duplicate keys are an error.
* Every problem of a file (and of the ``--set`` overrides) is reported at once, each naming the
  file (and line), the key, the bad value and what is allowed, with "did you mean" suggestions.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Iterable, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MODE_NAMES = ("manual", "autograd", "custom-relu", "static")
MAX_LAYERS = 64
DTYPE_NAMES = ("float32", "float64")
DEVICE_RE = re.compile(r"^(cpu|cuda(:\d+)?)$")
DEVICE_EXAMPLES = ("cpu", "cuda", "cuda:0")

Source = Literal["default", "file", "--set"]


class FitConfig(BaseModel):
    """Everything `autotrain fit` needs; the defaults reproduce the seed program."""

    # strict: no silent "1" -> 1 coercion; frozen: a config is a value that can be hashed.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    N: int | None = Field(64, gt=0, description="synthetic data: rows (= the batch); a data file: the minibatch "
                                                 "size (null: the whole training split)")
    D_in: int = Field(1000, gt=0, description="input dimension (inferred from a data file)")
    H: Annotated[int, Field(gt=0)] | Annotated[list[Annotated[int, Field(gt=0)]],
                                               Field(min_length=1, max_length=MAX_LAYERS)] = Field(
        100, description="hidden size, or a list of hidden sizes ([128, 64]); [] is not allowed")
    D_out: int = Field(10, gt=0, description="output dimension (inferred from a data file: targets or classes)")
    lr: float = Field(1e-6, gt=0, allow_inf_nan=False, description="learning rate")
    steps: int = Field(500, ge=0, description="optimizer steps; 0 writes the initial checkpoint only")
    device: str = Field("cpu", description="cpu, cuda or cuda:N")
    mode: Literal["manual", "autograd", "custom-relu", "static"] = Field(
        "autograd", description="how the network is trained")
    dtype: Literal["float32", "float64"] = Field("float32", description="floating-point type")
    seed: int = Field(0, ge=0, description="seed of numpy.random.default_rng for data and weights")
    name: str = Field("two_layer", min_length=1, description="run name (sanitised for the run directory)")
    log_every: int = Field(1, gt=0, description="log a metrics row every this many steps")
    checkpoint_every: int = Field(100, gt=0, description="write a checkpoint every this many steps")
    # ---- issue 11: your own data and model. Every default reproduces the seed.
    data: str | Annotated[list[str], Field(min_length=2, max_length=2)] = Field(
        "synthetic", min_length=1, description="synthetic, or a .csv / .npz file, or [x.npy, y.npy]; paths are "
                                               "relative to the config file")
    target: str | Annotated[list[str], Field(min_length=1)] | None = Field(
        None, description="CSV target column name(s); default: the last column")
    activation: Literal["relu", "tanh", "sigmoid"] = Field("relu", description="hidden-layer activation")
    bias: bool = Field(False, description="add a bias to every layer")
    init: Literal["randn", "default"] = Field(
        "randn", description="randn: standard normal weights (the seed); default: PyTorch's nn.Linear init")
    loss: Literal["sum_squares", "mse", "cross_entropy"] = Field("sum_squares", description="training loss")
    optimizer: Literal["sgd", "momentum", "rmsprop", "adam", "adamw"] = Field("sgd", description="update rule")
    momentum: float = Field(0.9, ge=0, allow_inf_nan=False, description="optimizer: momentum")
    alpha: float = Field(0.99, ge=0, le=1, allow_inf_nan=False, description="optimizer: rmsprop's smoothing")
    betas: Annotated[list[Annotated[float, Field(ge=0, lt=1)]], Field(min_length=2, max_length=2)] = Field(
        [0.9, 0.999], description="optimizer: adam/adamw's (beta1, beta2)")
    eps: float = Field(1e-8, gt=0, allow_inf_nan=False, description="optimizer: rmsprop/adam/adamw's epsilon")
    weight_decay: float | None = Field(None, ge=0, allow_inf_nan=False,
                                       description="L2 penalty (adamw: decoupled); default 0, adamw 0.01")
    epochs: int | None = Field(None, gt=0, description="passes over the training split (instead of steps)")
    val_fraction: float = Field(0.0, ge=0, lt=1, allow_inf_nan=False,
                                description="fraction of the rows held out for validation (a seeded split)")
    shuffle: bool | None = Field(None, description="reshuffle the training rows every epoch; default: true for "
                                                   "minibatches, false for the full batch")
    standardize: bool = Field(False, description="z-score features with the training split's mean and std")
    keep_checkpoints: int = Field(5, ge=0, description="keep the newest K step checkpoints (+ the best); 0: all")

    @field_validator("name", mode="before")
    @classmethod
    def _name_from_number(cls, value: Any) -> Any:
        # `name: 2024` or `--set name=7` reads as a number; a name is only a label, so accept it.
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value

    @field_validator("device")
    @classmethod
    def _device_syntax(cls, value: str) -> str:
        if not DEVICE_RE.match(value):
            raise ValueError("not a device name")
        return value

    def config_hash(self) -> str:
        """sha256 of the canonical JSON of the fields that shape the training trajectory.

        A checkpoint belongs to exactly one trajectory.  ``steps``/``epochs`` (how long it runs) and
        ``keep_checkpoints`` are left out, so ``--resume RUN --set steps=N`` can extend a run; the
        issue-11 keys are left out while at their defaults, so adding keys never changes old hashes.
        """
        dump = {k: v for k, v in self.model_dump().items()
                if k not in LENGTH_KEYS and not (k in NEW_KEYS and v == FitConfig.model_fields[k].default)}
        text = json.dumps(dump, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def hidden(self) -> list[int]:
        """The hidden sizes as a list (``H: 100`` is ``[100]``)."""
        return [self.H] if isinstance(self.H, int) else list(self.H)

    @property
    def synthetic(self) -> bool:
        return self.data == "synthetic"

    @property
    def resolved_weight_decay(self) -> float:
        """``weight_decay``, or the optimizer's PyTorch default (AdamW 0.01, others 0)."""
        if self.weight_decay is not None:
            return self.weight_decay
        return 0.01 if self.optimizer == "adamw" else 0.0


FIELDS = tuple(FitConfig.model_fields)
NEW_KEYS = FIELDS[FIELDS.index("data"):]  # issue 11's keys (see config_hash)
LENGTH_KEYS = ("steps", "epochs", "keep_checkpoints")
LIST_KEYS = ("H", "betas", "target", "data")  # keys that take a YAML list (also in --set: H=[128,64])
# Optimizer keys and the optimizers that use them; giving one to another optimizer is an error.
OPTIMIZER_KEYS = {"momentum": ("momentum",), "alpha": ("rmsprop",), "betas": ("adam", "adamw"),
                  "eps": ("rmsprop", "adam", "adamw")}

# What each key accepts, in words; every error message ends with it.
ALLOWED = {
    "N": "a positive integer", "D_in": "a positive integer", "H": "a positive integer",
    "D_out": "a positive integer",
    "lr": "a finite number > 0, written without quotes (e.g. 1.0e-6)",
    "steps": "an integer >= 0 (0 = write the initial checkpoint only)",
    "device": "one of cpu, cuda, cuda:N", "mode": "one of " + ", ".join(MODE_NAMES),
    "dtype": "one of " + ", ".join(DTYPE_NAMES), "seed": "an integer >= 0",
    "name": "a non-empty string", "log_every": "a positive integer",
    "checkpoint_every": "a positive integer",
    "data": "synthetic, a path to a .csv or .npz file, or a list [x.npy, y.npy]",
    "target": "a CSV column name or a list of names (default: the last column)",
    "activation": "one of relu, tanh, sigmoid", "bias": "true or false", "init": "one of randn, default",
    "loss": "one of sum_squares, mse, cross_entropy",
    "optimizer": "one of sgd, momentum, rmsprop, adam, adamw",
    "momentum": "a finite number >= 0", "alpha": "a number in [0, 1]",
    "betas": "a list of two numbers in [0, 1), e.g. [0.9, 0.999]", "eps": "a finite number > 0",
    "weight_decay": "a finite number >= 0", "epochs": "a positive integer (instead of steps)",
    "val_fraction": "a number in [0, 1)", "shuffle": "true or false", "standardize": "true or false",
    "keep_checkpoints": "an integer >= 0 (0 = keep every checkpoint)",
}
ALLOWED["N"] = "a positive integer (or null for the full batch of a data file)"
ALLOWED["H"] = "a positive integer or a non-empty list of them, e.g. [128, 64]"
_CHOICES = {"mode": MODE_NAMES, "dtype": DTYPE_NAMES, "device": DEVICE_EXAMPLES,
            "activation": ("relu", "tanh", "sigmoid"), "init": ("randn", "default"),
            "loss": ("sum_squares", "mse", "cross_entropy"),
            "optimizer": ("sgd", "momentum", "rmsprop", "adam", "adamw")}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config: where, which key, which value, and what is allowed."""

    source: str
    message: str
    key: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(Exception):
    """A config that cannot be used; ``problems`` lists every reason at once."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# ---------------------------------------------------------------- YAML loading

class _Loader(yaml.SafeLoader):
    """SafeLoader + YAML 1.2 floats (``1e-6``), duplicate-key errors and key line numbers."""

    def __init__(self, stream):
        super().__init__(stream)
        self.key_lines: dict = {}


# YAML 1.1 needs a dot in a float; YAML 1.2 (and every user) does not: accept 1e-6, 5E3, -2e+1.
_FLOAT_12 = re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789"))


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` is resolved by SafeLoader below
            continue
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain scalar", key_node.start_mark)
        if key in seen:
            first = seen[key].start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first defined on line {first})", key_node.start_mark)
        seen[key] = key_node
        loader.key_lines.setdefault(key, (key_node.start_mark.line + 1, key_node.start_mark.column + 1))
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _parse_yaml(text: str, source: str) -> tuple[Any, dict]:
    """Parse ``text`` safely; returns (data, {key: (line, column)}) or raises ConfigError."""
    loader = None
    try:
        loader = _Loader(text)  # the reader already rejects control characters here
        return loader.get_single_data(), loader.key_lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "invalid YAML"
        if "could not determine a constructor" in str(what):
            what = f"YAML tag refused ({what.split('for the tag')[-1].strip()}): only plain values are allowed"
        raise ConfigError([Problem(source, f"YAML error: {what}", line=mark.line + 1 if mark else None,
                                   column=mark.column + 1 if mark else None)]) from None
    except yaml.YAMLError as exc:  # e.g. a reader error on control characters
        raise ConfigError([Problem(source, f"YAML error: {exc}")]) from None
    finally:
        if loader is not None:
            loader.dispose()


def read_config_file(path: str | os.PathLike) -> tuple[dict, dict]:
    """The mapping in ``path`` and the line/column of each key; ConfigError for anything unusable."""
    source = str(path)
    p = Path(path)
    if not p.exists():
        raise ConfigError([Problem(source, "config file not found")])
    if p.is_dir():
        raise ConfigError([Problem(source, "is a directory, expected a YAML config file")])
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError([Problem(source, f"cannot read the config file ({exc.strerror})")]) from None
    if b"\0" in raw:
        raise ConfigError([Problem(source, "is a binary file, expected a YAML config file")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(source, f"is not UTF-8 text (byte {exc.start})")]) from None
    data, lines = _parse_yaml(text, source)
    if data is None:
        raise ConfigError([Problem(source, "the config file is empty; expected a mapping such as 'N: 64'")])
    if not isinstance(data, dict):
        raise ConfigError([Problem(source, f"expected a mapping of keys to values, got {type(data).__name__}")])
    return data, lines


def parse_override(text: str) -> tuple[str, Any]:
    """``"lr=1e-5"`` -> ("lr", 1e-05): the value is read as a YAML scalar, like in a file."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError([Problem("--set", f"expected key=value, got {text!r}")])
    value, _ = _parse_yaml(raw, f"--set {key}") if raw.strip() else (None, {})
    if isinstance(value, dict) or (isinstance(value, list) and key not in LIST_KEYS):
        raise ConfigError([Problem("--set", f"expected a single value, got {raw!r}", key=key)])
    return key, value


# ---------------------------------------------------------------- resolving and validating

@dataclass
class Resolved:
    """A validated config plus where each value came from (for ``--print-config``)."""

    config: FitConfig
    sources: dict[str, Source] = field(default_factory=dict)
    path: str | None = None


def _did_you_mean(word: Any, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _problem_for(err: dict, where: dict[str, tuple[str, tuple | None]]) -> Problem:
    """Turn one pydantic error into a Problem naming file, line, key, value and what is allowed."""
    key = str(err["loc"][0]) if err["loc"] else None
    source, pos = where.get(key, ("config", None))
    line, col = pos if pos else (None, None)
    value = err.get("input")
    if err["type"] == "extra_forbidden":
        msg = f"unknown key{_did_you_mean(key, FIELDS)} (allowed keys: {', '.join(FIELDS)})"
    else:
        hint = _did_you_mean(value, _CHOICES[key]) if key in _CHOICES and isinstance(value, str) else ""
        msg = f"bad value {value!r}{hint} (allowed: {ALLOWED.get(key, err['msg'])})"
    return Problem(source, msg, key=key, line=line, column=col)


def resolve(path: str | os.PathLike | None, overrides: Iterable[str] = ()) -> Resolved:
    """Merge defaults < file < ``--set`` overrides, then validate once; ConfigError lists every problem."""
    values: dict[str, Any] = {}
    where: dict[str, tuple[str, tuple | None]] = {}
    problems: list[Problem] = []
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
            problems.append(_problem_for(err, where))
        cfg = None
    if cfg is not None:
        problems += cross_check(cfg, where)
    if problems:  # in file order, then the --set ones
        problems.sort(key=lambda p: (p.source == "--set", p.line or 0))
        raise ConfigError(problems)
    sources = {k: sources.get(k, "default") for k in FIELDS}
    return Resolved(cfg, sources, None if path is None else str(path))


def _data_path(value: Any, source: str, config_path) -> Any:
    """A data path from a file is relative to that file's folder, one from ``--set`` to the working
    directory; both become absolute, so the run's own config.yaml still finds the data."""
    if value == "synthetic" or not isinstance(value, (str, list)) or not value:
        return value
    base = Path(config_path).resolve().parent if source not in ("--set", "") and config_path else Path.cwd()

    def absolute(v):
        return str((base / Path(v).expanduser()).resolve()) if isinstance(v, str) and v else v

    return absolute(value) if isinstance(value, str) else [absolute(v) for v in value]


def cross_check(cfg: FitConfig, where: dict) -> list[Problem]:
    """Problems between keys (each key alone was valid): every one is reported at the key to change."""
    found = []

    def problem(key: str, message: str) -> None:
        source, pos = where.get(key, ("config", None))
        line, col = pos if pos else (None, None)
        found.append(Problem(source, message, key=key, line=line, column=col))

    given = cfg.model_fields_set
    if cfg.mode == "custom-relu" and cfg.activation != "relu":
        problem("activation", f"bad value {cfg.activation!r} with mode 'custom-relu' (allowed: relu; custom-relu "
                              "trains the network with ReLU written as a user-defined autograd.Function)")
    if cfg.synthetic:
        if cfg.N is None:
            problem("N", f"bad value None with data: synthetic (allowed: {ALLOWED['N']})")
        for key in ("target",):
            if key in given and getattr(cfg, key) is not None:
                problem(key, "applies to a data file only, not to data: synthetic")
        if cfg.loss == "cross_entropy":
            problem("loss", "bad value 'cross_entropy' with data: synthetic (allowed: sum_squares, mse; "
                            "cross_entropy needs class labels from a data file)")
    elif isinstance(cfg.data, list) and not all(p.endswith(".npy") for p in cfg.data):
        problem("data", f"bad value {cfg.data!r} (allowed: a list means two .npy files, features then targets)")
    elif isinstance(cfg.data, str) and not cfg.data.lower().endswith((".csv", ".npz")):
        hint = "; give [x.npy, y.npy] for a pair of .npy files" if cfg.data.endswith(".npy") else ""
        problem("data", f"bad value {cfg.data!r} (allowed: {ALLOWED['data']}){hint}")
    if "epochs" in given and "steps" in given and cfg.epochs is not None:
        problem("epochs", f"give steps or epochs, not both (steps: {cfg.steps}, epochs: {cfg.epochs})")
    for key, users in OPTIMIZER_KEYS.items():
        if key in given and cfg.optimizer not in users:
            problem(key, f"does not apply to optimizer {cfg.optimizer!r} (it is used by {', '.join(users)})")
    if "target" in given and cfg.target is not None and not isinstance(cfg.data, str):
        problem("target", "applies to a .csv file only")
    return found


def estimate_bytes(cfg: FitConfig) -> int:
    """Peak bytes a fit needs, roughly: data, weights with grads, updates and optimizer state, activations,
    a checkpoint copy.  For a data file the rows are not known here (the loader caps the file's size)."""
    item = 4 if cfg.dtype == "float32" else 8
    sizes = [cfg.D_in, *cfg.hidden, cfg.D_out]
    weights = sum(a * b + (b if cfg.bias else 0) for a, b in zip(sizes, sizes[1:]))
    slots = {"sgd": 0, "momentum": 1, "rmsprop": 1, "adam": 2, "adamw": 2}[cfg.optimizer]
    rows = cfg.N or 0
    data = rows * (cfg.D_in + cfg.D_out) if cfg.synthetic else 0
    activations = 4 * rows * sum(cfg.hidden) + 3 * rows * cfg.D_out
    widest = max(a * b for a, b in zip(sizes, sizes[1:]))
    # data is drawn in float64 then cast (so float32 and float64 runs share their numbers): +8 bytes/element.
    return item * (data + (4 + slots) * weights + activations) + 8 * max(rows * cfg.D_in, widest)


def available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (Linux), else free physical pages; None when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"


def check_resources(cfg: FitConfig, source: str = "config") -> None:
    """Refuse up front what would fail mid-run: arrays that do not fit in memory, a missing GPU."""
    problems = []
    need, have = estimate_bytes(cfg), available_bytes()
    if have is not None and need > have:
        problems.append(Problem(source, f"N={cfg.N}, D_in={cfg.D_in}, H={cfg.H}, D_out={cfg.D_out} "
                                        f"({cfg.dtype}) need about {_human(need)} of memory, and only "
                                        f"{_human(have)} is available; use smaller sizes", key="N"))
    if cfg.mode == "static" and cfg.device != "cpu":
        problems.append(Problem(source, f"bad value {cfg.device!r} with mode 'static' (allowed: cpu; the "
                                        "static-graph Session runs on the cpu only)", key="device"))
    elif cfg.device != "cpu":
        from autotrain.engine.backend import DeviceUnavailableError, check_device  # lazy: may import cupy
        try:
            check_device(cfg.device)
        except DeviceUnavailableError as exc:
            problems.append(Problem(source, f"{cfg.device!r}: {exc}", key="device"))
    if problems:
        raise ConfigError(problems)


def load_config(path: str | os.PathLike | None, overrides: Iterable[str] = (), *, check: bool = True) -> FitConfig:
    """Read, merge and validate a config; with ``check``, also refuse sizes/devices this machine lacks.

    >>> cfg = load_config("configs/two_layer.yaml", ["lr=1e-5", "mode=static"])  # doctest: +SKIP
    """
    resolved = resolve(path, overrides)
    if check:
        check_resources(resolved.config, resolved.path or "config")
    return resolved.config


def _omitted(cfg: FitConfig, key: str, value: Any) -> bool:
    """Keys a written config leaves out because giving them would mean something else or be refused:
    an unset optional key, ``steps`` of an epochs run, an optimizer key another optimizer uses."""
    if key in NEW_KEYS and value is None:
        return True
    if key == "steps" and cfg.epochs is not None:
        return True
    return key in OPTIMIZER_KEYS and cfg.optimizer not in OPTIMIZER_KEYS[key]


def to_yaml(cfg: FitConfig) -> str:
    """The config as YAML that ``load_config`` reads back to an equal config (floats round-trip)."""
    lines = []
    for key, value in cfg.model_dump().items():
        if _omitted(cfg, key, value):
            continue
        lines.append(f"{key}: {repr(value) if isinstance(value, float) else json.dumps(value)}")
    return "\n".join(lines) + "\n"

