"""``manual``: the seed's numpy program, forward and hand-written backward, no engine.

This is the hand-written numpy reference the benchmarks time the engine against, so it stays
written exactly like the seed (``h = x.dot(w1)`` ...).
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from autotrain.data import Problem
from autotrain.modes.base import copied


class ManualMode:
    """Two-layer net with numpy arrays (CuPy arrays on a CUDA device) and explicit gradients."""

    name: ClassVar[str] = "manual"

    def __init__(self, problem: Problem, lr: float, device: str = "cpu") -> None:
        self.lr = lr
        self.xp = np
        if device != "cpu":  # the same code runs on CuPy arrays; only the backend knows how to get it
            from autotrain.engine.backend import check_device, xp_for
            self.xp = xp_for(check_device(device))
        self.load_state({"w1": problem.w1, "w2": problem.w2})

    def prepare(self, x, y):
        return self.xp.asarray(x), self.xp.asarray(y)

    def step(self, x, y) -> float:
        xp, w1, w2 = self.xp, self.w1, self.w2
        # Forward pass: compute predicted y
        h = x.dot(w1)
        h_relu = xp.maximum(h, 0)
        y_pred = h_relu.dot(w2)
        loss = xp.square(y_pred - y).sum()
        # Backprop to compute gradients of w1 and w2 with respect to loss
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.T.dot(grad_y_pred)
        grad_h_relu = grad_y_pred.dot(w2.T)
        grad_h = grad_h_relu  # a fresh array we own; the seed's .copy() is not needed
        grad_h[h < 0] = 0  # the clamp convention: the gradient passes where h == 0
        grad_w1 = x.T.dot(grad_h)
        # Update weights (in place: no new arrays per step)
        w1 -= self.lr * grad_w1
        w2 -= self.lr * grad_w2
        return float(loss)

    def state(self) -> dict[str, np.ndarray]:
        to_host = np.asarray if self.xp is np else self.xp.asnumpy
        return {"w1": copied(to_host(self.w1)), "w2": copied(to_host(self.w2))}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.w1 = self.xp.array(state["w1"], copy=True)
        self.w2 = self.xp.array(state["w2"], copy=True)
