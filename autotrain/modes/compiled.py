"""``compiled``: the autograd mode's program with its training step under ``torch.compile``."""
from __future__ import annotations

from typing import ClassVar

from autotrain.modes.autograd import AutogradMode


class CompiledMode(AutogradMode):
    """The same model, loss and optimizer as ``autograd``; the step (forward, ``loss.backward()``,
    ``optimizer.step()``, ``zero_grad()``) is traced once per batch shape and replayed as a compiled plan."""

    name: ClassVar[str] = "compiled"

    def __init__(self, spec, params, device: str = "cpu") -> None:
        super().__init__(spec, params, device)
        self._step = self.torch.compile(self._train_step)

    def _train_step(self, x, y):
        loss = self.loss_fn(self.model(x), y)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()
        return loss

    def step(self, x, y) -> float:
        if not isinstance(x, self.torch.Tensor):
            x, y = self.prepare(x, y)
        loss = self._step(x, y)
        self.t += 1
        return loss.item()
