"""The small interface every training mode implements; the loop, logging and checkpoints live in train.py."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from autotrain.modes.problem import Problem


@runtime_checkable
class Mode(Protocol):
    """One way of training the seed's ``y_pred = relu(x @ w1) @ w2``, ``loss = sum((y_pred - y)**2)``, SGD
    (``make_mode``).  Every mode also implements :class:`TrainMode` for any :class:`ModelSpec` (``build_mode``).

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


# =============================================================================== the model spec
ACTIVATIONS = ("relu", "tanh", "sigmoid")
LOSSES = ("sum_squares", "mse", "cross_entropy")
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam", "adamw")


@dataclass(frozen=True)
class OptimizerSpec:
    """An update rule and its settings, with PyTorch's meaning (``torch.optim`` 2.x, single-tensor)."""

    name: str = "sgd"
    lr: float = 1e-6
    momentum: float = 0.9  # momentum (SGD with momentum, dampening 0, not nesterov)
    alpha: float = 0.99  # rmsprop
    betas: tuple[float, float] = (0.9, 0.999)  # adam, adamw
    eps: float = 1e-8  # rmsprop, adam, adamw
    weight_decay: float = 0.0  # L2 added to the gradient; adamw: decoupled (p *= 1 - lr * wd)

    def slots(self) -> tuple[str, ...]:
        """The per-parameter state arrays this rule keeps (names used in checkpoints)."""
        return {"sgd": (), "momentum": ("momentum_buffer",), "rmsprop": ("square_avg",),
                "adam": ("exp_avg", "exp_avg_sq"), "adamw": ("exp_avg", "exp_avg_sq")}[self.name]


@dataclass(frozen=True)
class ModelSpec:
    """An MLP: ``sizes`` = [D_in, hidden..., D_out], an activation between layers, optional biases, a loss
    and an optimizer.  Parameters are ``w1, b1, w2, b2, ...`` with ``w_i`` of shape (in, out), so a layer is
    ``a @ w_i + b_i`` (the seed's ``x.mm(w1)``)."""

    sizes: tuple[int, ...]
    activation: str = "relu"
    bias: bool = False
    loss: str = "sum_squares"
    optimizer: OptimizerSpec = field(default_factory=OptimizerSpec)

    @property
    def layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def classify(self) -> bool:
        return self.loss == "cross_entropy"

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """{name: shape} in layer order: w1, (b1), w2, (b2), ..."""
        shapes = {}
        for i, (a, b) in enumerate(zip(self.sizes, self.sizes[1:]), start=1):
            shapes[f"w{i}"] = (a, b)
            if self.bias:
                shapes[f"b{i}"] = (b,)
        return shapes

    @classmethod
    def seed(cls, D_in: int, H: int, D_out: int, lr: float) -> "ModelSpec":
        """The seed's network: relu(x @ w1) @ w2, sum of squares, plain SGD."""
        return cls((D_in, H, D_out), optimizer=OptimizerSpec("sgd", lr))


def spec_from_config(cfg, D_in: int | None = None, D_out: int | None = None) -> ModelSpec:
    """The ModelSpec a FitConfig describes (``D_in``/``D_out`` from the data when given)."""
    opt = OptimizerSpec(cfg.optimizer, cfg.lr, cfg.momentum, cfg.alpha, tuple(cfg.betas), cfg.eps,
                        cfg.resolved_weight_decay)
    sizes = (D_in or cfg.D_in, *cfg.hidden, D_out or cfg.D_out)
    return ModelSpec(sizes, cfg.activation, cfg.bias, cfg.loss, opt)


class TrainMode(Protocol):
    """The interface every mode implements for any ModelSpec (the seed's Mode is the special case).

    ``step(x, y)`` is one optimizer step on a batch and returns its loss before the update; ``evaluate``
    computes the loss and the network's outputs without updating; ``state``/``optimizer_state`` are plain
    numpy arrays by parameter name (``w1``, ``b1``...; optimizer slots as ``<slot>.<param>`` and ``step``).
    """

    name: ClassVar[str]

    def prepare(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]: ...

    def step(self, x: Any, y: Any) -> float: ...

    def evaluate(self, x: Any, y: Any) -> tuple[float, np.ndarray]: ...

    def predict(self, x: np.ndarray) -> np.ndarray: ...

    def state(self) -> dict[str, np.ndarray]: ...

    def optimizer_state(self) -> dict[str, np.ndarray]: ...

    def load_state(self, state: dict[str, np.ndarray], optimizer_state: dict[str, np.ndarray] | None = None) -> None:
        ...
