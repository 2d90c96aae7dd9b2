"""The names a config, the CLI and the modes share: each list is written here once and derived everywhere else.

The config schema builds its ``Literal`` choices and its error messages from these tuples, the
checkpoint spec its optimizer arrays, compare-modes and gradcheck their mode order, the catalog the
folders of a comparison; ``tests/test_names.py`` fails when a module lists them again.
"""
from __future__ import annotations

#: The five ways of training the network, in the order compare-modes and gradcheck report them.
MODE_NAMES = ("manual", "autograd", "custom-relu", "static", "compiled")

#: The real frameworks compare-modes also runs the seed's network in, when they are installed.
REFERENCE_FRAMEWORKS = ("torch", "jax")

#: The floating-point types a network trains in (``dtype:`` in a config).
DTYPE_NAMES = ("float32", "float64")

#: Hidden-layer activations (``activation:`` in a config).
ACTIVATIONS = ("relu", "tanh", "sigmoid")

#: Training losses (``loss:`` in a config).
LOSSES = ("sum_squares", "mse", "cross_entropy")

#: The per-parameter state arrays each update rule keeps (PyTorch's ``optimizer.state`` names), which
#: a checkpoint stores as ``optim.<slot>.<param>``; the keys are the optimizers, in the order shown to users.
OPTIMIZER_SLOTS: dict[str, tuple[str, ...]] = {
    "sgd": (),
    "momentum": ("momentum_buffer",),
    "rmsprop": ("square_avg",),
    "adam": ("exp_avg", "exp_avg_sq"),
    "adamw": ("exp_avg", "exp_avg_sq"),
}

#: Update rules (``optimizer:`` in a config).
OPTIMIZERS = tuple(OPTIMIZER_SLOTS)

#: The config keys each update rule reads besides ``lr`` and ``weight_decay``; a key given to an
#: optimizer that does not read it is a config error.
OPTIMIZER_SETTINGS: dict[str, tuple[str, ...]] = {
    "sgd": (),
    "momentum": ("momentum",),
    "rmsprop": ("alpha", "eps"),
    "adam": ("betas", "eps"),
    "adamw": ("betas", "eps"),
}

__all__ = ["MODE_NAMES", "DTYPE_NAMES", "REFERENCE_FRAMEWORKS", "ACTIVATIONS", "LOSSES", "OPTIMIZERS", "OPTIMIZER_SLOTS",
           "OPTIMIZER_SETTINGS"]
