"""The four training modes, by the names a config uses.

>>> from autotrain.data import make_problem
>>> problem = make_problem(8, 5, 4, 3, "float64", seed=0)
>>> mode = make_mode("manual", problem, lr=1e-3)
>>> x, y = mode.prepare(problem.x, problem.y)
>>> mode.step(x, y) > 0
True
"""
from __future__ import annotations

from autotrain.data import Problem
from autotrain.modes.autograd import AutogradMode
from autotrain.modes.base import Mode
from autotrain.modes.custom_relu import CustomReluMode
from autotrain.modes.manual import ManualMode
from autotrain.modes.static import StaticMode

# Importing these classes is cheap: each mode imports its engine only when it is constructed.
MODES: dict[str, type[Mode]] = {cls.name: cls for cls in (ManualMode, AutogradMode, CustomReluMode, StaticMode)}


def make_mode(name: str, problem: Problem, lr: float, device: str = "cpu", dtype: str | None = None) -> Mode:
    """A ready-to-step mode ``name`` starting from ``problem``'s weights (cast to ``dtype`` if given)."""
    try:
        cls = MODES[name]
    except KeyError:
        raise ValueError(f"unknown mode {name!r}; choose one of {', '.join(MODES)}") from None
    if dtype is not None and problem.x.dtype != dtype:
        problem = Problem(*(a.astype(dtype) for a in problem))
    return cls(problem, lr, device)


__all__ = ["MODES", "Mode", "make_mode", "ManualMode", "AutogradMode", "CustomReluMode", "StaticMode"]
