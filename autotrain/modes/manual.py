"""``manual``: numpy, forward and hand-written backward, no engine -- the readable reference.

For the seed's network (``ModelSpec.seed``) every array operation is the seed program's, in its order
(``h = x.dot(w1)``, ``grad_h[h < 0] = 0``, ``w1 -= lr * grad_w1``), so its loss table is unchanged bit for bit;
the same code handles any depth, activation, loss and optimizer.  This is also the hand-written numpy
reference the benchmarks time the engine against.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from autotrain.modes.problem import Problem
from autotrain.modes.base import ModelSpec, copied


class ManualMode:
    """An MLP with numpy arrays (CuPy arrays on a CUDA device), explicit gradients and optimizer updates."""

    name: ClassVar[str] = "manual"

    def __init__(self, spec: ModelSpec | Problem, params: dict | float, device: str = "cpu") -> None:
        if isinstance(spec, Problem):  # the seed's (problem, lr) form
            spec, params = ModelSpec.seed(*spec.w1.shape, spec.w2.shape[1], params), {"w1": spec.w1, "w2": spec.w2}
        self.spec, self.opt = spec, spec.optimizer
        self.lr = self.opt.lr
        self.xp = np
        if device != "cpu":  # the same code runs on CuPy arrays; only the backend knows how to get it
            from autotrain.engine.backend import check_device, xp_for
            self.xp = xp_for(check_device(device))
        self.load_state(params)

    def __getattr__(self, name: str):
        """``mode.w1``, ``mode.b2``...: the parameter arrays by name (as the seed's modes had them)."""
        params = self.__dict__.get("params")
        if params is not None and name in params:
            return params[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # ------------------------------------------------------------ data and state
    def prepare(self, x, y):
        return self.xp.asarray(x), self.xp.asarray(y)

    def state(self) -> dict[str, np.ndarray]:
        return {k: copied(self._host(v)) for k, v in self.params.items()}

    def optimizer_state(self) -> dict[str, np.ndarray]:
        if not self.slots:
            return {}  # plain sgd keeps no state
        out = {"step": np.array(self.t, dtype=np.int64)}
        for slot, arrays in self.slots.items():
            out.update({f"{slot}.{k}": copied(self._host(v)) for k, v in arrays.items()})
        return out

    def load_state(self, state: dict[str, np.ndarray], optimizer_state: dict[str, np.ndarray] | None = None) -> None:
        self.params = {k: self.xp.array(state[k], copy=True) for k in self.spec.param_shapes()}
        self.t = 0
        self.slots = {slot: {k: self.xp.zeros_like(p) for k, p in self.params.items()} for slot in self.opt.slots()}
        if optimizer_state and "step" in optimizer_state:
            self.t = int(optimizer_state["step"])
            for slot, arrays in self.slots.items():
                for k in arrays:
                    arrays[k] = self.xp.array(optimizer_state[f"{slot}.{k}"], copy=True)

    def _host(self, a):
        return np.asarray(a) if self.xp is np else self.xp.asnumpy(a)

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
        return float(loss), self._host(out)

    def predict(self, x) -> np.ndarray:
        return self._host(self._forward(self.xp.asarray(x))[0])

    def _update(self, grads: dict) -> None:
        """One step of the optimizer, with PyTorch's formulas (torch/optim/*.py, single-tensor path)."""
        o, xp = self.opt, self.xp
        self.t += 1
        t, lr, wd = self.t, o.lr, o.weight_decay
        for k, w in self.params.items():
            g = grads[k]
            if wd and o.name != "adamw":
                g = g + wd * w
            if o.name == "sgd":
                w -= lr * g  # the seed's update, in place
            elif o.name == "momentum":
                buf = self.slots["momentum_buffer"][k]
                if t == 1:
                    buf[...] = g  # PyTorch: the first buffer is a copy of the gradient
                else:
                    buf *= o.momentum
                    buf += g
                w -= lr * buf
            elif o.name == "rmsprop":
                sq = self.slots["square_avg"][k]
                sq *= o.alpha
                sq += (1 - o.alpha) * g * g
                w -= lr * g / (xp.sqrt(sq) + o.eps)
            else:  # adam, adamw
                if o.name == "adamw":
                    w *= 1 - lr * wd
                m, v = self.slots["exp_avg"][k], self.slots["exp_avg_sq"][k]
                b1, b2 = o.betas
                m += (1 - b1) * (g - m)  # lerp(m, g, 1 - b1)
                v *= b2
                v += (1 - b2) * g * g
                step_size = lr / (1 - b1 ** t)
                denom = xp.sqrt(v) / (1 - b2 ** t) ** 0.5 + o.eps
                w -= step_size * m / denom
