"""The small interface every training mode implements; the loop, logging and checkpoints live in train.py."""
from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from autotrain.data import Problem


@runtime_checkable
class Mode(Protocol):
    """One way of training ``y_pred = relu(x @ w1) @ w2`` with ``loss = sum((y_pred - y)**2)`` and SGD.

    A mode owns its weights (copied from the ``Problem``, which it never modifies) and keeps them on
    its device in its own form.  Typical use::

        mode = make_mode("autograd", problem, lr=1e-6)
        x, y = mode.prepare(problem.x, problem.y)    # converted once, not every step
        losses = [mode.step(x, y) for _ in range(500)]
    """

    name: ClassVar[str]

    def __init__(self, problem: Problem, lr: float, device: str = "cpu") -> None: ...

    def prepare(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        """x and y in the form ``step`` takes without conversion (numpy, engine tensors, feeds)."""

    def step(self, x: Any, y: Any) -> float:
        """One SGD step; returns the loss computed *before* the update, as a Python float."""

    def state(self) -> dict[str, np.ndarray]:
        """The weights ``{"w1": ..., "w2": ...}`` as numpy arrays (copies), for checkpoints."""

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Replace the weights with ``state`` (as written by ``state()``)."""


def copied(array: np.ndarray) -> np.ndarray:
    """A private copy, so a mode never writes into the shared initial arrays of a Problem."""
    return np.array(array, copy=True)
