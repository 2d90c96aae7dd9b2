"""``autograd``: the network as a PyTorch user writes it, on engine tensors; the engine computes the backward pass.

The seed's network runs the seed's program exactly (``x.mm(w1).clamp(min=0).mm(w2)``, ``loss.backward()``,
``w -= lr * w.grad`` under ``no_grad``), so its loss table is unchanged bit for bit.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from autotrain.data import Problem
from autotrain.modes.base import ModelSpec, copied


class AutogradMode:
    """Parameters are leaf tensors with ``requires_grad``; ``loss.backward()`` fills their ``.grad``."""

    name: ClassVar[str] = "autograd"

    def __init__(self, spec: ModelSpec | Problem, params: dict | float, device: str = "cpu") -> None:
        import autotrain.engine as torch  # lazy: `autotrain --help` must not load the engine

        if isinstance(spec, Problem):  # the seed's (problem, lr) form
            spec, params = ModelSpec.seed(*spec.w1.shape, spec.w2.shape[1], params), {"w1": spec.w1, "w2": spec.w2}
        self.torch = torch
        self.spec = spec
        self.lr = spec.optimizer.lr
        self.device = torch.device(device)
        self.load_state(params)

    # ------------------------------------------------------------ data and state
    def prepare(self, x, y):
        return self._tensor(x), self._tensor(y)

    def _tensor(self, array, requires_grad: bool = False):
        tensor = self.torch.tensor(copied(array)).to(self.device)
        return tensor.requires_grad_(True) if requires_grad else tensor

    def state(self) -> dict[str, np.ndarray]:
        return {k: copied(p.detach().cpu().numpy()) for k, p in self.params.items()}

    def optimizer_state(self) -> dict[str, np.ndarray]:
        return self.optimizer.state_arrays()

    def load_state(self, state: dict[str, np.ndarray], optimizer_state: dict[str, np.ndarray] | None = None) -> None:
        self.params = {k: self._tensor(state[k], requires_grad=True) for k in self.spec.param_shapes()}
        self.optimizer = make_optimizer(self.torch, self.spec.optimizer, self.params)
        if optimizer_state:
            self.optimizer.load_state_arrays(optimizer_state, self._tensor)

    # ------------------------------------------------------------ the network
    def activation(self, h):
        """The hidden activation; ReLU as the seed writes it (custom-relu replaces it with its own Function)."""
        if self.spec.activation == "relu":
            return self.relu(h)
        return h.tanh() if self.spec.activation == "tanh" else h.sigmoid()

    def relu(self, h):
        return h.clamp(min=0)

    def forward(self, x):
        n, p = self.spec.layers, self.params
        a = x
        for i in range(1, n + 1):
            a = a.mm(p[f"w{i}"])
            if self.spec.bias:
                a = a + p[f"b{i}"]
            if i < n:
                a = self.activation(a)
        return a

    def loss_fn(self, out, y):
        kind = self.spec.loss
        if kind == "sum_squares":
            return (out - y).pow(2).sum()
        if kind == "mse":
            return (out - y).pow(2).mean()
        return cross_entropy(self.torch, out, y)

    # ------------------------------------------------------------ training
    def step(self, x, y) -> float:
        if isinstance(x, np.ndarray):  # accept plain arrays too, at the cost of a conversion
            x, y = self.prepare(x, y)
        loss = self.loss_fn(self.forward(x), y)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()
        return loss.item()

    def evaluate(self, x, y) -> tuple[float, np.ndarray]:
        if isinstance(x, np.ndarray):
            x, y = self.prepare(x, y)
        with self.torch.no_grad():
            out = self.forward(x)
            loss = self.loss_fn(out, y)
        return loss.item(), copied(out.cpu().numpy())

    def predict(self, x) -> np.ndarray:
        with self.torch.no_grad():
            return copied(self.forward(self._tensor(x)).cpu().numpy())


def cross_entropy(torch, logits, target):
    """Mean over rows of -log softmax(logits)[target], as ``nn.CrossEntropyLoss()``.

    The row maxima are subtracted as constants (detached): the log-softmax does not depend on them, so
    the gradient is unchanged and exp never overflows.
    """
    shift = torch.tensor(logits.detach().cpu().numpy().max(axis=1, keepdims=True)).to(logits.device)
    shifted = logits - shift
    log_p = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    n = logits.shape[0]
    rows = np.arange(n)
    target = target.cpu().numpy() if hasattr(target, "cpu") else np.asarray(target)
    return -log_p[rows, target].sum() / n


# ================================================================================= the optimizer
class _Optimizer:
    """The update rules of ``torch.optim`` (PyTorch 2.x single-tensor formulas) over a dict of leaf tensors.

    ``state_arrays`` / ``load_state_arrays`` exchange the per-parameter state with checkpoints under the
    names every mode uses (``step``, ``exp_avg.w1``...).
    """

    def __init__(self, torch, spec, params: dict):
        self.torch, self.o, self.params = torch, spec, params
        self.t = 0
        self.slots = {slot: {} for slot in spec.slots()}

    def zero_grad(self) -> None:
        for p in self.params.values():
            if p.grad is not None:
                p.grad.zero_()

    def step(self) -> None:
        torch, o = self.torch, self.o
        self.t += 1
        t, lr, wd = self.t, o.lr, o.weight_decay
        with torch.no_grad():
            for k, w in self.params.items():
                g = w.grad
                if wd and o.name != "adamw":
                    g = g + wd * w
                if o.name == "sgd":
                    w -= lr * g
                elif o.name == "momentum":
                    buf = self.slots["momentum_buffer"].get(k)
                    if buf is None:
                        buf = self.slots["momentum_buffer"][k] = g.clone()
                    else:
                        buf.mul_(o.momentum)
                        buf += g
                    w -= lr * buf
                elif o.name == "rmsprop":
                    sq = self.slots["square_avg"].setdefault(k, torch.zeros_like(w))
                    sq.mul_(o.alpha)
                    sq += (1 - o.alpha) * g * g
                    w -= lr * g / (sq.pow(0.5) + o.eps)
                else:
                    if o.name == "adamw":
                        w.mul_(1 - lr * wd)
                    m = self.slots["exp_avg"].setdefault(k, torch.zeros_like(w))
                    v = self.slots["exp_avg_sq"].setdefault(k, torch.zeros_like(w))
                    b1, b2 = o.betas
                    m += (1 - b1) * (g - m)
                    v.mul_(b2)
                    v += (1 - b2) * g * g
                    step_size = lr / (1 - b1 ** t)
                    denom = v.pow(0.5) / (1 - b2 ** t) ** 0.5 + o.eps
                    w -= step_size * m / denom

    def state_arrays(self) -> dict[str, np.ndarray]:
        out = {"step": np.array(self.t, dtype=np.int64)}
        for slot, tensors in self.slots.items():
            for k, p in self.params.items():
                tensor = tensors.get(k)
                out[f"{slot}.{k}"] = (np.zeros(tuple(p.shape), dtype=p.detach().cpu().numpy().dtype) if tensor is None
                                      else copied(tensor.detach().cpu().numpy()))
        return out

    def load_state_arrays(self, arrays: dict[str, np.ndarray], to_tensor) -> None:
        self.t = int(arrays["step"])
        for slot, tensors in self.slots.items():
            if slot == "momentum_buffer" and self.t == 0:
                continue  # PyTorch: no buffer before the first step
            for k in self.params:
                tensors[k] = to_tensor(arrays[f"{slot}.{k}"])


def make_optimizer(torch, spec, params: dict) -> _Optimizer:
    return _Optimizer(torch, spec, params)
