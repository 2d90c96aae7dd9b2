"""The `fit` configuration: one flat YAML mapping, validated once by a strict pydantic model.

Decisions (documented in docs/config.md):

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
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Iterable, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MODE_NAMES = ("manual", "autograd", "custom-relu", "static", "compiled")
MAX_LAYERS = 64
DTYPE_NAMES = ("float32", "float64")
DEVICE_RE = re.compile(r"cpu|cuda(:\d{1,4})?")  # used with fullmatch: "cpu\n" is not a device
DEVICE_SYNONYMS = {"gpu": "cuda", "nvidia": "cuda", "cuda0": "cuda:0", "gpu0": "cuda:0", "gpu:0": "cuda:0",
                   "mps": "cpu", "host": "cpu"}
DEVICE_EXAMPLES = ("cpu", "cuda", "cuda:0")

Source = Literal["default", "file", "--set"]
INT64_MAX = 2**63 - 1


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
    mode: Literal["manual", "autograd", "custom-relu", "static", "compiled"] = Field(
        "autograd", description="how the network is trained")
    dtype: Literal["float32", "float64"] = Field("float32", description="floating-point type")
    seed: int = Field(0, ge=0, description="seed of numpy.random.default_rng for data and weights")
    name: str = Field("two_layer", min_length=1, description="run name (sanitised for the run directory)")
    log_every: int = Field(1, gt=0, description="log a metrics row every this many steps")
    checkpoint_every: int = Field(100, gt=0, description="write a checkpoint every this many steps")
    # ---- your own data and model. Every default reproduces the seed.
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
    threads: Annotated[int, Field(ge=1, le=1024)] | Literal["auto"] = Field(
        "auto", description="BLAS threads; auto: 1 for small networks (the seed), every core for large ones")

    @field_validator("name", mode="before")
    @classmethod
    def _name_from_number(cls, value: Any) -> Any:
        # `name: 2024` or `--set name=7` reads as a number; a name is only a label, so accept it.
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value

    @field_validator("*")
    @classmethod
    def _fits_int64(cls, value: Any) -> Any:
        # Counters and sizes land in int64 arrays (checkpoints, numpy shapes): a 4000-digit steps or seed is
        # refused here rather than overflowing mid-run.
        if isinstance(value, int) and not isinstance(value, bool) and not -INT64_MAX <= value <= INT64_MAX:
            raise ValueError("too large")
        return value

    @field_validator("device")
    @classmethod
    def _device_syntax(cls, value: str) -> str:
        if not DEVICE_RE.fullmatch(value):
            raise ValueError("not a device name")
        return value

    def config_hash(self) -> str:
        """sha256 of the canonical JSON of the fields that shape the training trajectory.

        A checkpoint belongs to exactly one trajectory.  ``steps``/``epochs`` (how long it runs) and
        ``keep_checkpoints`` and ``threads`` (how it runs) are left out, so ``--resume RUN --set steps=N`` can extend a run; the
        issue-11 keys are left out while at their defaults, so adding keys never changes old hashes.
        """
        dump = {k: v for k, v in self.model_dump().items()
                if k not in LENGTH_KEYS and not (k in NEW_KEYS and v == FitConfig.model_fields[k].default)}
        text = json.dumps(dump, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def hash_matches(self, stored: str) -> bool:
        """Whether a checkpoint's (or summary's) ``config_hash`` is this config's: today's hash, or -- for a
        run made before the issue-11 keys, whose hash covered every seed field including ``steps`` --
        that older hash."""
        if stored == self.config_hash():
            return True
        dump = self.model_dump()
        if any(dump[k] != FitConfig.model_fields[k].default for k in NEW_KEYS):
            return False
        legacy = {k: v for k, v in dump.items() if k not in NEW_KEYS}
        return stored == hashlib.sha256(json.dumps(legacy, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

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
NEW_KEYS = FIELDS[FIELDS.index("data"):]  # the keys for your own data and model (see config_hash)
LENGTH_KEYS = ("steps", "epochs", "keep_checkpoints", "threads")  # may change on --resume
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
    "target": "a CSV column name or a list of names, for a data file (default: its last column)",
    "activation": "one of relu, tanh, sigmoid", "bias": "true or false", "init": "one of randn, default",
    "loss": "one of sum_squares, mse, cross_entropy",
    "optimizer": "one of sgd, momentum, rmsprop, adam, adamw",
    "momentum": "a finite number >= 0", "alpha": "a number in [0, 1]",
    "betas": "a list of two numbers in [0, 1), e.g. [0.9, 0.999]", "eps": "a finite number > 0",
    "weight_decay": "a finite number >= 0", "epochs": "a positive integer (instead of steps)",
    "val_fraction": "a number in [0, 1)", "shuffle": "true or false", "standardize": "true or false",
    "keep_checkpoints": "an integer >= 0 (0 = keep every checkpoint)",
    "threads": "auto or an integer from 1 to 1024",
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
        super().__init__("\n".join([str(p) for p in self.problems] + self.footer()))

    def footer(self) -> list[str]:
        """Lines said once after the problems: the allowed keys, when a key was unknown."""
        unknown = any(p.message.startswith("unknown key") for p in self.problems)
        return [f"allowed keys: {', '.join(FIELDS)}"] if unknown else []


# ---------------------------------------------------------------- YAML loading

MAX_CONFIG_BYTES = 1 << 20  # a config is a few hundred bytes; a bigger file is refused before it is read
MAX_NODES = 10_000  # YAML nodes in one document, aliases counted as what they expand to
MAX_DEPTH = 32  # nesting of lists/mappings
MAX_SHOWN = 80  # characters of a value an error message prints


class _Loader(yaml.SafeLoader):
    """SafeLoader reading the YAML 1.2 core schema, with duplicate-key errors, key line numbers and limits.

    Limits, so no document can hang or exhaust memory: at most ``MAX_NODES`` nodes, where an alias
    counts as the whole subtree it repeats (a "billion laughs" bomb is refused while it is composed,
    long before anything is expanded), and at most ``MAX_DEPTH`` levels of nesting.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self.key_lines: dict = {}
        self._nodes = 0
        self._depth = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            self._count(self._size(node), event.start_mark, "aliases")
            return node
        self._count(1, event.start_mark, "nodes")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep",
                                                  event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _count(self, n: int, mark, what: str) -> None:
        self._nodes += n
        if self._nodes > MAX_NODES:
            raise yaml.composer.ComposerError(
                None, None, f"the document is too large: more than {MAX_NODES} values"
                + (" once its aliases are expanded (refused: an alias bomb?)" if what == "aliases" else ""), mark)

    def _size(self, node) -> int:
        """Nodes in ``node``'s subtree, shared subtrees counted every time they appear (memoised)."""
        key = id(node)
        if key not in self._sizes:
            self._sizes[key] = 1  # a recursive alias counts once instead of looping
            if isinstance(node, yaml.SequenceNode):
                children = node.value
            elif isinstance(node, yaml.MappingNode):
                children = [n for pair in node.value for n in pair]
            else:
                children = []
            self._sizes[key] = 1 + sum(self._size(c) for c in children)
        return self._sizes[key]


# YAML 1.2 core schema, not PyYAML's YAML 1.1: `017` is 17 (not 15), `1:30`, `0b1`, `1_000`, `yes`, `on` and
# `2020-01-01` are strings, `1e-6` is a float.  Null stays `~`/`null`/empty (the same in both).
_INT_12 = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT_12 = re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                       r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
_BOOL_12 = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_TAG = "tag:yaml.org,2002:"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_TAG + "int", _TAG + "float", _TAG + "bool",
                                                               _TAG + "timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver(_TAG + "bool", _BOOL_12, list("tTfF"))
_Loader.add_implicit_resolver(_TAG + "int", _INT_12, list("-+0123456789"))
_Loader.add_implicit_resolver(_TAG + "float", _FLOAT_12, list("-+0123456789."))


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    if not _INT_12.match(text):
        raise yaml.constructor.ConstructorError(None, None, f"{_shown(text)} is not an integer", node.start_mark)
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text, 10)  # a number too long for Python (> 4300 digits) raises ValueError: reported as such


def _construct_float(loader: _Loader, node: yaml.ScalarNode) -> float:
    text = loader.construct_scalar(node)
    if not _FLOAT_12.match(text):
        raise yaml.constructor.ConstructorError(None, None, f"{_shown(text)} is not a number", node.start_mark)
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    return float("nan") if lowered == ".nan" else float(text)


_Loader.add_constructor(_TAG + "int", _construct_int)
_Loader.add_constructor(_TAG + "float", _construct_float)


def _shown(value: Any) -> str:
    """``repr(value)``, bounded: an error message never prints (or builds) more than ~MAX_SHOWN characters."""
    import reprlib

    r = reprlib.Repr()
    r.maxstring = r.maxother = r.maxlong = MAX_SHOWN
    r.maxlevel, r.maxlist, r.maxdict, r.maxtuple = 3, 4, 4, 4
    text = r.repr(value)
    return text if len(text) <= MAX_SHOWN + 10 else text[:MAX_SHOWN] + "..."


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, yaml.Node] = {}
    own = range(node.start_mark.index, node.end_mark.index + 1)
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` is resolved by SafeLoader below
            continue
        if key_node.start_mark.index not in own:  # a pair merged in from elsewhere: its own key may override it
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
        raise ConfigError([Problem(source, f"YAML error: {_bounded(what)}", line=mark.line + 1 if mark else None,
                                   column=mark.column + 1 if mark else None)]) from None
    except yaml.YAMLError as exc:  # e.g. a reader error on control characters
        raise ConfigError([Problem(source, f"YAML error: {_bounded(str(exc))}")]) from None
    except (ValueError, TypeError, OverflowError, RecursionError, MemoryError) as exc:
        # raised while a value is built: `!!int abc`, `!!timestamp 2020-13-45`, a 5000-digit integer...
        mark = loader.get_mark() if loader is not None else None
        raise ConfigError([Problem(source, f"YAML error: cannot build a value ({_bounded(str(exc)) or type(exc).__name__})",
                                   line=mark.line + 1 if mark else None)]) from None
    finally:
        if loader is not None:
            loader.dispose()


def _bounded(text: str, limit: int = 3 * MAX_SHOWN) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _read_regular_file(path: str | os.PathLike, source: str) -> bytes:
    """The bytes of ``path``: a regular file of at most MAX_CONFIG_BYTES, or ConfigError.

    Special files are refused before they are opened (``/dev/zero`` would never end, a FIFO would block
    forever); the open itself is non-blocking and re-checked, in case the file was swapped meanwhile.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ConfigError([Problem(source, "config file not found")]) from None
    except OSError as exc:
        raise ConfigError([Problem(source, f"cannot read the config file ({exc.strerror})")]) from None
    if stat.S_ISDIR(st.st_mode):
        raise ConfigError([Problem(source, "is a directory, expected a YAML config file")])
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError([Problem(source, f"is {_file_kind(st.st_mode)}, not a regular file; expected a YAML "
                                           "config file")])
    if st.st_size > MAX_CONFIG_BYTES:
        raise ConfigError([Problem(source, f"is {st.st_size} bytes; a config file may have at most "
                                           f"{MAX_CONFIG_BYTES} bytes")])
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ConfigError([Problem(source, f"cannot read the config file ({exc.strerror})")]) from None
    with open(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigError([Problem(source, "was replaced by a special file while being opened")])
        try:
            raw = f.read(MAX_CONFIG_BYTES + 1)
        except OSError as exc:
            raise ConfigError([Problem(source, f"cannot read the config file ({exc.strerror})")]) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError([Problem(source, f"has more than {MAX_CONFIG_BYTES} bytes (the most a config may have)")])
    return raw


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "a special file")


def read_config_file(path: str | os.PathLike) -> tuple[dict, dict]:
    """The mapping in ``path`` and the line/column of each key; ConfigError for anything unusable.

    An empty file (or one of only comments) is an empty mapping: every key takes its default.
    """
    source = str(path)
    raw = _read_regular_file(path, source)
    if b"\0" in raw:
        raise ConfigError([Problem(source, "is a binary file, expected a YAML config file")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(source, f"is not UTF-8 text (byte {exc.start})")]) from None
    data, lines = _parse_yaml(text, source)
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError([Problem(source, f"expected a mapping of keys to values, got {type(data).__name__}")])
    return data, lines


def parse_override(text: str) -> tuple[str, Any]:
    """``"lr=1e-5"`` -> ("lr", 1e-05): the value is read as a YAML scalar, like in a file."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError([Problem("--set", f"expected key=value, got {_shown(text)}")])
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError([Problem("--set", f"the value has more than {MAX_CONFIG_BYTES} characters", key=_bounded(key))])
    value, _ = _parse_yaml(raw, f"--set {_bounded(key)}") if raw.strip() else (None, {})
    if isinstance(value, dict) or (isinstance(value, list) and key not in LIST_KEYS):
        raise ConfigError([Problem("--set", f"expected a single value, got {_shown(raw)}", key=_bounded(key))])
    return key, value


# ---------------------------------------------------------------- resolving and validating

@dataclass
class Resolved:
    """A validated config plus where each value came from (for ``--print-config``)."""

    config: FitConfig
    sources: dict[str, Source] = field(default_factory=dict)
    path: str | None = None


def _did_you_mean(word: Any, choices: Iterable[str], synonyms: dict[str, str] | None = None) -> str:
    text = str(word)[:MAX_SHOWN].strip().lower()
    if synonyms and text in synonyms:
        return f"; did you mean {synonyms[text]!r}?"
    close = difflib.get_close_matches(text, [c.lower() for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _problem_for(err: dict, where: dict[str, tuple[str, tuple | None]]) -> Problem:
    """Turn one pydantic error into a Problem naming file, line, key, value and what is allowed."""
    key = str(err["loc"][0]) if err["loc"] else None
    source, pos = where.get(key, ("config", None))
    shown_key = None if key is None else _bounded(key, MAX_SHOWN)
    line, col = pos if pos else (None, None)
    value = err.get("input")
    if err["type"] == "extra_forbidden":
        msg = f"unknown key{_did_you_mean(key, FIELDS)}"  # the allowed keys follow once, after every problem
    else:
        synonyms = DEVICE_SYNONYMS if key == "device" else None
        hint = _did_you_mean(value, _CHOICES[key], synonyms) if key in _CHOICES and isinstance(value, str) else ""
        too_large = isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT64_MAX
        limit = f"; too large: at most {INT64_MAX}" if too_large else ""
        msg = f"bad value {_shown(value)}{hint}{limit} (allowed: {ALLOWED.get(key, err['msg'])})"
    return Problem(source, msg, key=shown_key, line=line, column=col)


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
            problems.append(_problem_for(err, where))
        cfg = None
    if cfg is not None:
        problems += cross_check(cfg, where, raw)
    problems = _allowed_keys_once(problems)
    if problems:  # in file order, then the --set ones
        problems.sort(key=lambda p: (p.source == "--set", p.line or 0))
        raise ConfigError(problems)
    sources = {k: sources.get(k, "default") for k in FIELDS}
    return Resolved(cfg, sources, None if path is None else str(path))


def _allowed_keys_once(problems: list[Problem]) -> list[Problem]:
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


def cross_check(cfg: FitConfig, where: dict, raw: dict | None = None) -> list[Problem]:
    """Problems between keys (each key alone was valid): every one is reported at the key to change.
    ``raw``: values as the user wrote them (``data`` before it was made absolute), for the messages."""
    found = []
    shown = (raw or {}).get("data") or cfg.data

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
        if "target" in given and cfg.target is not None:
            problem("target", f"bad value {cfg.target!r} with data: synthetic (allowed: {ALLOWED['target']})")
        if cfg.loss == "cross_entropy":
            problem("loss", "bad value 'cross_entropy' with data: synthetic (allowed: sum_squares, mse; "
                            "cross_entropy needs class labels from a data file)")
    elif isinstance(cfg.data, list) and not all(p.endswith(".npy") for p in cfg.data):
        problem("data", f"bad value {shown!r} (allowed: {ALLOWED['data']}; a list means two .npy files, "
                        "features then targets)")
    elif isinstance(cfg.data, str) and not cfg.data.lower().endswith((".csv", ".npz")):
        hint = "; give [x.npy, y.npy] for a pair of .npy files" if cfg.data.endswith(".npy") else ""
        problem("data", f"bad value {shown!r} (allowed: {ALLOWED['data']}){hint}")
    if "epochs" in given and "steps" in given and cfg.epochs is not None:
        problem("epochs", f"give steps or epochs, not both (steps: {cfg.steps}, epochs: {cfg.epochs})")
    for key, users in OPTIMIZER_KEYS.items():
        if key in given and cfg.optimizer not in users:
            problem(key, f"does not apply to optimizer {cfg.optimizer!r} (it is used by {', '.join(users)})")
    if "target" in given and cfg.target is not None and not isinstance(cfg.data, str):
        problem("target", "applies to a .csv file only")
    return found


def estimate_bytes(cfg: FitConfig, command: str = "fit", runners: int = 1) -> int:
    """Peak bytes a command needs, roughly: ``fit``, or ``compare-modes``/``gradcheck`` with ``runners`` modes.

    ``fit``: data, weights with grads and updates, activations, a checkpoint copy.  A comparison also
    keeps, per mode, a warm-up copy and a timed copy of its weights, gradients and buffers, and a copy
    of its final weights.  Measured (peak RSS above start-up, N=2000 D_in=3000 H=1500 D_out=500
    float64): fit 406 MiB (estimate 421), compare-modes with 4 modes 1055 MiB (estimate 1282) --
    2.6x fit's peak, which fit's estimate used to be checked against.
    """
    item = 4 if cfg.dtype == "float32" else 8
    sizes = [cfg.D_in, *cfg.hidden, cfg.D_out]
    weights = sum(a * b + (b if cfg.bias else 0) for a, b in zip(sizes, sizes[1:]))
    slots = {"sgd": 0, "momentum": 1, "rmsprop": 1, "adam": 2, "adamw": 2}[cfg.optimizer]
    rows = cfg.N or 0
    data = rows * (cfg.D_in + cfg.D_out) if cfg.synthetic else 0
    activations = 4 * rows * sum(cfg.hidden) + 3 * rows * cfg.D_out
    widest = max(a * b for a, b in zip(sizes, sizes[1:]))
    # data is drawn in float64 then cast (so float32 and float64 runs share their numbers): +8 bytes/element.
    fit = item * (data + (4 + slots) * weights + activations) + 8 * max(rows * cfg.D_in, widest)
    fit += fit // 8  # what the sum leaves out (temporaries of the update, the checkpoint's checksum pass)
    if command == "fit":
        return fit
    per_runner = item * weights * 5 // 2
    return fit + (2 * runners - 1) * per_runner + runners * item * weights


def process_headroom() -> int | None:
    """Bytes this process may still map under its own limits (``ulimit -v`` / ``-d``); None when unlimited."""
    try:
        import resource
    except ImportError:  # not on this platform
        return None
    room = None
    for limit, vm_field in ((resource.RLIMIT_AS, "VmSize"), (getattr(resource, "RLIMIT_DATA", None), "VmData")):
        if limit is None:
            continue
        soft, _ = resource.getrlimit(limit)
        if soft == resource.RLIM_INFINITY:
            continue
        left = max(soft - _vm_bytes(vm_field), 0)
        room = left if room is None else min(room, left)
    return room


def _vm_bytes(field: str) -> int:
    """This process's current VmSize/VmData from /proc (0 when unknown, i.e. the whole limit is counted)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _machine_available() -> int | None:
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


def available_bytes() -> int | None:
    """Memory this process can still use: the machine's available memory or its own limits, the lower."""
    machine = _machine_available()
    room = process_headroom()
    known = [n for n in (machine, room) if n is not None]
    return min(known) if known else None


def _size_text(n: int) -> str:
    text = str(n)
    return text if len(text) <= 24 else f"<a {len(text)}-digit number>"


def _human(n: float) -> str:
    if n >= 1024 ** 6:  # also keeps a 4000-digit size from overflowing float()
        return "more than 1024 PiB"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"


def check_resources(cfg: FitConfig, source: str = "config", command: str = "fit", runners: int = 1) -> None:
    """Refuse up front what would fail mid-run: arrays that do not fit in memory (the machine's available
    memory or this process's limits, see ``ulimit -v``), a missing GPU.  ``command``/``runners``: see
    :func:`estimate_bytes`."""
    problems = []
    need, have = estimate_bytes(cfg, command, runners), available_bytes()
    if have is not None and need > have:
        sizes = ", ".join(f"{k}={_size_text(getattr(cfg, k))}" for k in ("N", "D_in", "H", "D_out"))
        what = "" if command == "fit" else f" for {command} ({runners} modes)"
        problems.append(Problem(source, f"{sizes} ({cfg.dtype}) need about {_human(need)} of memory{what}, and only "
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

