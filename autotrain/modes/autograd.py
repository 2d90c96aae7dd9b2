"""``autograd``: the network as a PyTorch user writes it, on engine tensors; the engine computes the backward pass.

The seed's network runs the seed's program exactly (``x.mm(w1).clamp(min=0).mm(w2)``, ``loss.backward()``,
``w -= lr * w.grad`` under ``no_grad``), so its loss table is unchanged bit for bit.
"""
from __future__ import annotations

import functools
from typing import ClassVar

import numpy as np

from autotrain.modes.base import Mode, ModelSpec, copied


class AutogradMode(Mode):
    """An ``nn.Sequential`` of layers, an ``nn`` loss and a ``torch.optim`` optimizer, as a PyTorch user writes
    them; ``loss.backward()`` fills the parameters' ``.grad``.

    The layers are a small ``nn.Module`` (:func:`Dense`) holding the weight as (in, out) and computing
    ``x.mm(weight) + bias``, the seed's ``x.mm(w1)``.  ``nn.Linear`` stores (out, in) and computes
    ``x @ weight.T``: the same numbers in exact arithmetic, but its weight gradient is another matrix
    product (``g.T @ x`` instead of ``x.T @ g``) that rounds differently in float32, and the seed's loss
    table must stay bit for bit.
    """

    name: ClassVar[str] = "autograd"

    def __init__(self, spec: ModelSpec, params: dict, device: str = "cpu") -> None:
        import autotrain.engine as torch  # lazy: `autotrain --help` must not load the engine

        super().__init__(spec, params, device)
        self.torch = torch
        self.device = torch.device(device)
        self.model = self.build_model(params)
        self.loss_fn = self.build_loss()
        self.optimizer = self.build_optimizer()
        self.t = 0  # optimizer steps taken (checkpoints record it for every optimizer)

    # ------------------------------------------------------------ the network, as a PyTorch user writes it
    def build_model(self, params: dict):
        layers = []
        for i in range(1, self.spec.layers + 1):
            if i > 1:
                layers.append(self.activation())
            bias = params[f"b{i}"] if self.spec.bias else None
            layers.append(Dense(self._tensor(params[f"w{i}"]), None if bias is None else self._tensor(bias)))
        return self.torch.nn.Sequential(*layers)

    def activation(self):
        """The hidden activation module; custom-relu replaces ReLU with its own autograd.Function."""
        nn = self.torch.nn
        if self.spec.activation == "relu":
            return ClampReLU()
        return nn.Tanh() if self.spec.activation == "tanh" else nn.Sigmoid()

    def build_loss(self):
        nn = self.torch.nn
        return {"sum_squares": lambda: nn.MSELoss(reduction="sum"), "mse": lambda: nn.MSELoss(),
                "cross_entropy": lambda: nn.CrossEntropyLoss()}[self.spec.loss]()

    def build_optimizer(self):
        optim, o = self.torch.optim, self.spec.optimizer
        cls = {"sgd": optim.SGD, "momentum": optim.SGD, "rmsprop": optim.RMSprop, "adam": optim.Adam,
               "adamw": optim.AdamW}[o.name]
        return cls(self.model.parameters(), **o.hyper())

    def _named(self) -> dict:
        """{"w1": the first layer's weight Parameter, "b1": its bias, ...} in the optimizer's order."""
        out = {}
        for i, layer in enumerate((m for m in self.model if hasattr(m, "weight")), start=1):
            out[f"w{i}"] = layer.weight
            if layer.bias is not None:
                out[f"b{i}"] = layer.bias
        return out

    # ------------------------------------------------------------ data and state
    def prepare(self, x, y):
        return self._tensor(x), self._tensor(y)

    def _tensor(self, array):
        # One copy: ``tensor`` copies already (a numpy array keeps its dtype, as before), and places it on the
        # device directly (a minibatch was copied twice here, then moved).
        return self.torch.tensor(np.asarray(array), device=self.device)

    def state(self) -> dict[str, np.ndarray]:
        return {k: copied(p.detach().cpu().numpy()) for k, p in self._named().items()}

    def _optimizer_arrays(self):
        """The optimizer's ``state_dict()`` as flat arrays (zeros before the first step); the step is counted
        here, as SGD with momentum keeps none of its own."""
        saved = self.optimizer.state_dict()["state"]
        out = {}
        for index, (name, p) in enumerate(self._named().items()):
            entry = saved.get(index, {})
            for slot in self.spec.optimizer.slots():
                value = entry.get(slot)
                out[f"{slot}.{name}"] = (np.zeros(tuple(p.shape), dtype=_array(p).dtype) if value is None
                                         else copied(_array(value)))
        return self.t, out

    def load_state(self, state: dict[str, np.ndarray], optimizer_state: dict[str, np.ndarray] | None = None) -> None:
        self.model.load_state_dict({f"{i}.{attr}": self._tensor(state[f"{attr[0]}{n}"])
                                    for n, i in enumerate(self._layer_indices(), start=1)
                                    for attr in (("weight", "bias") if self.spec.bias else ("weight",))})
        self.optimizer = self.build_optimizer()
        self.t = 0
        if optimizer_state and "step" in optimizer_state and int(optimizer_state["step"]) > 0:
            self.t = int(optimizer_state["step"])
            state_dict = self.optimizer.state_dict()
            step = {} if self.spec.optimizer.name == "momentum" else {"step": self.torch.tensor(float(self.t))}
            state_dict["state"] = {
                index: {**step, **{slot: self._tensor(optimizer_state[f"{slot}.{name}"])
                                   for slot in self.spec.optimizer.slots()}}
                for index, name in enumerate(self._named())}
            self.optimizer.load_state_dict(state_dict)

    def _layer_indices(self) -> list[int]:
        return [i for i, m in enumerate(self.model) if hasattr(m, "weight")]

    # ------------------------------------------------------------ training
    def step(self, x, y) -> float:
        if isinstance(x, np.ndarray):  # accept plain arrays too, at the cost of a conversion
            x, y = self.prepare(x, y)
        loss = self.loss_fn(self.model(x), y)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()
        self.t += 1
        return loss.item()

    def evaluate(self, x, y) -> tuple[float, np.ndarray]:
        if isinstance(x, np.ndarray):
            x, y = self.prepare(x, y)
        with self.torch.no_grad():
            out = self.model(x)
            loss = self.loss_fn(out, y)
        return loss.item(), copied(out.cpu().numpy())

    def predict(self, x) -> np.ndarray:
        with self.torch.no_grad():
            return copied(self.model(self._tensor(x)).cpu().numpy())


def _array(value) -> np.ndarray:
    return value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)


@functools.cache
def _clamp_relu_class():
    import autotrain.engine as torch

    class ClampReLU(torch.nn.Module):
        """ReLU as the seed writes it, ``x.clamp(min=0)``: the gradient passes where x == 0, the convention every
        mode shares (``nn.ReLU`` would zero it there)."""

        def forward(self, x):
            return x.clamp(min=0)

    return ClampReLU


def ClampReLU():  # noqa: N802 - builds a module (the class is made on first use: the engine loads lazily)
    return _clamp_relu_class()()


@functools.cache
def _dense_class():
    import autotrain.engine as torch

    class Dense(torch.nn.Module):
        """A fully connected layer with its weight as (in, out): ``x.mm(weight) + bias`` (see AutogradMode)."""

        def __init__(self, weight, bias=None):
            super().__init__()
            self.weight = torch.nn.Parameter(weight)
            self.bias = None if bias is None else torch.nn.Parameter(bias)

        def forward(self, x):
            out = x.mm(self.weight)
            return out if self.bias is None else out + self.bias

    return Dense


def Dense(weight, bias=None):  # noqa: N802 - builds a module
    return _dense_class()(weight, bias)
