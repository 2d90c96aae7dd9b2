"""``autograd``: the seed's PyTorch program on engine tensors; the engine computes the backward pass."""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from autotrain.data import Problem
from autotrain.modes.base import copied


class AutogradMode:
    """Weights are leaf tensors with ``requires_grad``; ``loss.backward()`` fills their ``.grad``."""

    name: ClassVar[str] = "autograd"

    def __init__(self, problem: Problem, lr: float, device: str = "cpu") -> None:
        import autotrain.engine as torch  # lazy: `autotrain --help` must not load the engine

        self.torch = torch
        self.device = torch.device(device)
        self.lr = lr
        self.load_state({"w1": problem.w1, "w2": problem.w2})

    def prepare(self, x, y):
        return self._tensor(x), self._tensor(y)

    def _tensor(self, array, requires_grad: bool = False):
        tensor = self.torch.tensor(copied(array)).to(self.device)
        return tensor.requires_grad_(True) if requires_grad else tensor

    def relu(self, h):
        """ReLU as the seed writes it; custom-relu replaces this with its own autograd.Function."""
        return h.clamp(min=0)

    def step(self, x, y) -> float:
        if isinstance(x, np.ndarray):  # accept plain arrays too, at the cost of a conversion
            x, y = self.prepare(x, y)
        w1, w2 = self.w1, self.w2
        y_pred = self.relu(x.mm(w1)).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with self.torch.no_grad():
            w1 -= self.lr * w1.grad
            w2 -= self.lr * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
        return loss.item()

    def state(self) -> dict[str, np.ndarray]:
        return {"w1": copied(self.w1.detach().cpu().numpy()), "w2": copied(self.w2.detach().cpu().numpy())}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.w1 = self._tensor(state["w1"], requires_grad=True)
        self.w2 = self._tensor(state["w2"], requires_grad=True)
