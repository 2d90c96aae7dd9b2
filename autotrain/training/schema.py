"""The `fit` configuration's schema: the keys, their types and defaults, and the words every error uses.

One flat mapping, validated once by a strict pydantic model (:class:`FitConfig`).  Numbers are strict:
``lr: "1e-6"`` (quoted) is an error that says to write a number.  The choices of ``mode``,
``activation``, ``loss`` and ``optimizer`` are the tuples of :mod:`autotrain.modes.names`.
Reading files and ``--set`` is :mod:`autotrain.training.yaml12`'s job, the messages are
:mod:`autotrain.training.issues`', merging and checking is :mod:`autotrain.training.config`'s.
"""
from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from autotrain.modes.names import ACTIVATIONS, DTYPE_NAMES, LOSSES, MODE_NAMES, OPTIMIZER_SETTINGS, OPTIMIZERS

MAX_LAYERS = 64
INIT_NAMES = ("randn", "default")
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
    mode: Literal[MODE_NAMES] = Field(
        "autograd", description="how the network is trained")
    dtype: Literal[DTYPE_NAMES] = Field("float32", description="floating-point type")
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
    activation: Literal[ACTIVATIONS] = Field("relu", description="hidden-layer activation")
    bias: bool = Field(False, description="add a bias to every layer")
    init: Literal[INIT_NAMES] = Field(
        "randn", description="randn: standard normal weights (the seed); default: PyTorch's nn.Linear init")
    loss: Literal[LOSSES] = Field("sum_squares", description="training loss")
    optimizer: Literal[OPTIMIZERS] = Field("sgd", description="update rule")
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
        ``keep_checkpoints`` and ``threads`` (how it runs) are left out, so ``--resume RUN --set steps=N`` can
        extend a run; the data-and-model keys (``NEW_KEYS``) are left out while at their defaults, so a seed
        config's hash does not depend on keys it never sets.
        """
        dump = {k: v for k, v in self.model_dump().items()
                if k not in LENGTH_KEYS and not (k in NEW_KEYS and v == FitConfig.model_fields[k].default)}
        text = json.dumps(dump, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def hash_matches(self, stored: str) -> bool:
        """Whether a checkpoint's (or summary's) ``config_hash`` is this config's: today's hash, or -- for a
        run whose config has only the seed's keys, whose hash covered every one of them including ``steps`` --
        that seed-keys hash."""
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
# Optimizer keys and the optimizers that use them, in field order; giving one to another optimizer is an error.
OPTIMIZER_KEYS = {key: users for key in FIELDS
                  if (users := tuple(o for o in OPTIMIZERS if key in OPTIMIZER_SETTINGS[o]))}

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
    "activation": "one of " + ", ".join(ACTIVATIONS), "bias": "true or false",
    "init": "one of " + ", ".join(INIT_NAMES), "loss": "one of " + ", ".join(LOSSES),
    "optimizer": "one of " + ", ".join(OPTIMIZERS),
    "momentum": "a finite number >= 0", "alpha": "a number in [0, 1]",
    "betas": "a list of two numbers in [0, 1), e.g. [0.9, 0.999]", "eps": "a finite number > 0",
    "weight_decay": "a finite number >= 0", "epochs": "a positive integer (instead of steps)",
    "val_fraction": "a number in [0, 1)", "shuffle": "true or false", "standardize": "true or false",
    "keep_checkpoints": "an integer >= 0 (0 = keep every checkpoint)",
    "threads": "auto or an integer from 1 to 1024",
}
ALLOWED["N"] = "a positive integer (or null for the full batch of a data file)"
ALLOWED["H"] = "a positive integer or a non-empty list of them, e.g. [128, 64]"
#: The choices of each key that has a fixed set, for "did you mean" suggestions.
CHOICES = {"mode": MODE_NAMES, "dtype": DTYPE_NAMES, "device": DEVICE_EXAMPLES, "activation": ACTIVATIONS,
           "init": INIT_NAMES, "loss": LOSSES, "optimizer": OPTIMIZERS}


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


__all__ = ["FitConfig", "FIELDS", "NEW_KEYS", "LENGTH_KEYS", "LIST_KEYS", "OPTIMIZER_KEYS", "ALLOWED", "CHOICES",
           "DTYPE_NAMES", "INIT_NAMES", "DEVICE_RE", "DEVICE_SYNONYMS", "DEVICE_EXAMPLES", "MAX_LAYERS", "INT64_MAX",
           "Source", "to_yaml"]
