"""``manual``: numpy forward and hand-written backward, no autograd -- the readable reference.

For the seed's network (``ModelSpec.seed``) every array operation is the seed program's, in its order
(``h = x.dot(w1)``, ``grad_h[h < 0] = 0``, ``w1 -= lr * grad_w1``), so its loss table is unchanged bit for bit;
the same code handles any depth, activation, loss and optimizer.  The optimizer's update is PyTorch's
formula from ``autotrain/engine/optim/formulas.py`` run on these arrays in place (the engine's
``torch.optim`` runs the same function), so this mode and ``autograd`` take the same steps.  This is
also the hand-written numpy reference the benchmarks time the engine against.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from autotrain.modes.base import Mode, ModelSpec, copied


class ManualMode(Mode):
    """An MLP with numpy arrays (CuPy arrays on a CUDA device), explicit gradients and optimizer updates."""

    name: ClassVar[str] = "manual"

    def __init__(self, spec: ModelSpec, params: dict, device: str = "cpu") -> None:
        # lazy: `autotrain --help` must not load the engine; its backend picks numpy or CuPy (the same code runs
        # on both) and its optim.formulas hold the optimizer's formula
        from autotrain.engine import backend
        from autotrain.engine.optim.formulas import ArrayOps

        super().__init__(spec, params, device)
        self.xp = backend.xp_for(backend.check_device(device))
        self.to_numpy, self.array_ops = backend.to_numpy, ArrayOps
        self.rule, self.hyper = spec.optimizer.rule(), spec.optimizer.hyper()
        self.load_state(params)

    # ------------------------------------------------------------ data and state
    def prepare(self, x, y):
        return self.xp.asarray(x), self.xp.asarray(y)

    def state(self) -> dict[str, np.ndarray]:
        return {k: copied(self.to_numpy(v)) for k, v in self.params.items()}

    def _optimizer_arrays(self):
        return self.t, {f"{slot}.{k}": copied(self.to_numpy(v)) for slot, arrays in self.slots.items()
                        for k, v in arrays.items()}

    def load_state(self, state: dict[str, np.ndarray], optimizer_state: dict[str, np.ndarray] | None = None) -> None:
        self.params = {k: self.xp.array(state[k], copy=True) for k in self.spec.param_shapes()}
        self.t = 0
        self.slots = {slot: {k: self.xp.zeros_like(p) for k, p in self.params.items()}
                      for slot in self.spec.optimizer.slots()}
        if optimizer_state and "step" in optimizer_state:
            self.t = int(optimizer_state["step"])
            for slot, arrays in self.slots.items():
                for k in arrays:
                    arrays[k] = self.xp.array(optimizer_state[f"{slot}.{k}"], copy=True)
        self.ops = {k: self.array_ops(self.xp, p) for k, p in self.params.items()}

    # ------------------------------------------------------------ forward, loss, backward
    def _forward(self, x):
        """The output and, per hidden layer, (pre-activation, activation)."""
        xp, p, n = self.xp, self.params, self.spec.layers
        hidden, a = [], x
        for i in range(1, n + 1):
            z = a.dot(p[f"w{i}"])
            if self.spec.bias:
                z += p[f"b{i}"]
            if i == n:
                return z, hidden
            a = self._activate(xp, z)
            hidden.append((z, a))
        raise AssertionError("unreachable")

    def _activate(self, xp, z):
        kind = self.spec.activation
        if kind == "relu":
            return xp.maximum(z, 0)
        if kind == "tanh":
            return xp.tanh(z)
        # sigmoid without overflow for large |z|: exp of a non-positive number only
        e = xp.exp(-xp.abs(z))
        return xp.where(z >= 0, 1 / (1 + e), e / (1 + e))

    def _activation_grad(self, g, z, a):
        """d loss / d z from d loss / d a (``g``, a fresh array we own and may overwrite)."""
        kind = self.spec.activation
        if kind == "relu":
            g[z < 0] = 0  # the clamp convention: the gradient passes where z == 0
            return g
        if kind == "tanh":
            return g * (1 - a * a)
        return g * (1 - a) * a

    def _loss(self, out, y):
        """(loss as an array scalar, d loss / d out)."""
        xp, kind = self.xp, self.spec.loss
        if kind == "cross_entropy":
            n = out.shape[0]
            shifted = out - out.max(axis=1, keepdims=True)
            log_p = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
            rows = xp.arange(n)
            loss = -log_p[rows, y].sum() / n
            grad = xp.exp(log_p)
            grad[rows, y] -= 1
            return loss, grad / n
        diff = out - y
        if kind == "mse":
            return xp.square(diff).mean(), (2.0 / diff.size) * diff
        return xp.square(diff).sum(), 2.0 * diff

    def _backward(self, x, grad_out, hidden) -> dict:
        p, n, grads = self.params, self.spec.layers, {}
        g = grad_out
        for i in range(n, 0, -1):
            a_in = hidden[i - 2][1] if i > 1 else x
            grads[f"w{i}"] = a_in.T.dot(g)
            if self.spec.bias:
                grads[f"b{i}"] = g.sum(axis=0)
            if i > 1:
                z, a = hidden[i - 2]
                g = self._activation_grad(g.dot(p[f"w{i}"].T), z, a)
        return grads

    # ------------------------------------------------------------ the step
    def step(self, x, y) -> float:
        out, hidden = self._forward(x)
        loss, grad_out = self._loss(out, y)
        grads = self._backward(x, grad_out, hidden)
        self._update(grads)
        return float(loss)

    def evaluate(self, x, y) -> tuple[float, np.ndarray]:
        out, _ = self._forward(x)
        loss, _ = self._loss(out, y)
        return float(loss), self.to_numpy(out)

    def predict(self, x) -> np.ndarray:
        return self.to_numpy(self._forward(self.xp.asarray(x))[0])

    def _update(self, grads: dict) -> None:
        """One optimizer step: PyTorch's formula (``autotrain/engine/optim/formulas.py``, the one the engine's
        ``torch.optim`` runs), on these arrays in place."""
        self.t += 1
        for k, w in self.params.items():
            state = {slot: arrays[k] for slot, arrays in self.slots.items()}
            if self.t == 1:
                state.pop("momentum_buffer", None)  # PyTorch: the first buffer is a copy of the gradient
            self.params[k], state = self.rule(w, grads[k], state, self.t, **self.hyper, ops=self.ops[k])
            for slot, arrays in self.slots.items():
                arrays[k] = state[slot]
