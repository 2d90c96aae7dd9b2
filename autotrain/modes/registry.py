"""The registry of training modes: their classes by the names a config uses, and how one is built.

>>> from autotrain.modes.problem import make_problem
>>> problem = make_problem(8, 5, 4, 3, "float64", seed=0)
>>> mode = make_mode("manual", problem, lr=1e-3)
>>> x, y = mode.prepare(problem.x, problem.y)
>>> mode.step(x, y) > 0
True
"""
from __future__ import annotations

from autotrain.modes.problem import Problem
from autotrain.modes.autograd import AutogradMode
from autotrain.modes.base import Mode, ModelSpec, OptimizerSpec, spec_from_config
from autotrain.modes.compiled import CompiledMode
from autotrain.modes.custom_relu import CustomReluMode
from autotrain.modes.manual import ManualMode
from autotrain.modes.static import StaticMode

# Importing these classes is cheap: each mode imports its engine only when it is constructed.
MODES: dict[str, type[Mode]] = {cls.name: cls for cls in (ManualMode, AutogradMode, CustomReluMode, StaticMode,
                                                             CompiledMode)}


def _mode_class(name: str) -> type:
    try:
        return MODES[name]
    except KeyError:
        raise ValueError(f"unknown mode {name!r}; choose one of {', '.join(MODES)}") from None


def make_mode(name: str, problem: Problem, lr: float, device: str = "cpu", dtype: str | None = None) -> Mode:
    """The seed's network in mode ``name``, starting from ``problem``'s weights (cast to ``dtype`` if given)."""
    if dtype is not None and problem.x.dtype != dtype:
        problem = Problem(*(a.astype(dtype) for a in problem))
    spec = ModelSpec.seed(*problem.w1.shape, problem.w2.shape[1], lr)
    return _mode_class(name)(spec, {"w1": problem.w1, "w2": problem.w2}, device)


def build_mode(name: str, spec: ModelSpec, params: dict, device: str = "cpu"):
    """Mode ``name`` training the network ``spec`` from the initial ``params`` ({"w1": ..., "b1": ...}).

    >>> import numpy as np
    >>> spec = ModelSpec((3, 4, 2), activation="tanh", bias=True, loss="mse",
    ...                  optimizer=OptimizerSpec("adam", lr=1e-2))
    >>> params = {k: np.full(s, 0.1) for k, s in spec.param_shapes().items()}
    >>> m = build_mode("manual", spec, params)
    >>> m.step(*m.prepare(np.ones((5, 3)), np.zeros((5, 2)))) > 0
    True
    """
    if name == "custom-relu" and spec.activation != "relu":
        raise ValueError(f"mode 'custom-relu' trains ReLU networks only (its ReLU is the user-defined "
                         f"autograd.Function), not activation {spec.activation!r}")
    return _mode_class(name)(spec, params, device)


__all__ = ["MODES", "Mode", "ModelSpec", "OptimizerSpec", "spec_from_config", "build_mode", "make_mode", "ManualMode", "AutogradMode", "CustomReluMode", "StaticMode", "CompiledMode"]
