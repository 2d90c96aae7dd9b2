"""The small interface every training mode implements (:class:`Mode`) and the network it trains (:class:`ModelSpec`);
the loop, logging and checkpoints live in ``autotrain.training``."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from autotrain.modes.names import ACTIVATIONS, LOSSES, OPTIMIZER_SETTINGS, OPTIMIZER_SLOTS, OPTIMIZERS  # noqa: F401 (offered here too)


def copied(array: np.ndarray) -> np.ndarray:
    """A private copy, so a mode never writes into the shared initial arrays of a Problem."""
    return np.array(array, copy=True)


# =============================================================================== the model spec
# ACTIVATIONS, LOSSES and OPTIMIZERS (imported above) are defined in autotrain.modes.names.


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
        return OPTIMIZER_SLOTS[self.name]

    def hyper(self) -> dict[str, Any]:
        """The settings this rule uses, by the keywords of ``torch.optim``'s constructors and of the rules in
        ``autotrain.engine.optim.formulas``."""
        own = {key: getattr(self, key) for key in OPTIMIZER_SETTINGS[self.name]}
        if "betas" in own:
            own["betas"] = tuple(own["betas"])
        return {"lr": self.lr, "weight_decay": self.weight_decay, **own}

    def rule(self):
        """The update rule, ``autotrain.engine.optim.formulas.RULES[name]`` (imported on first use: the engine
        loads lazily)."""
        from autotrain.engine.optim.formulas import RULES

        return RULES[self.name]


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


class Mode(ABC):
    """One way of training a :class:`ModelSpec`: the interface every mode implements.

    ``Mode(spec, params, device)`` starts from the initial ``params`` (``{"w1": ..., "b1": ...}``; copied,
    never modified) and keeps the weights on ``device`` in its own form (numpy arrays, engine tensors,
    graph Variables).  ``make_mode`` builds the seed's network from a Problem, ``build_mode`` any spec::

        mode = make_mode("autograd", problem, lr=1e-6)
        x, y = mode.prepare(problem.x, problem.y)    # converted once, not every step
        losses = [mode.step(x, y) for _ in range(500)]

    ``state``/``optimizer_state`` are plain numpy arrays by parameter name (``w1``, ``b1``...; optimizer
    slots as ``<slot>.<param>``, PyTorch's state names, and ``step``), what checkpoints store.
    """

    name: ClassVar[str]

    def __init__(self, spec: ModelSpec, params: dict[str, np.ndarray], device: str = "cpu") -> None:
        """Each mode builds its network from ``params`` after this."""
        self.spec = spec
        self.lr = spec.optimizer.lr

    @abstractmethod
    def prepare(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        """x and y in the form ``step`` takes without conversion (numpy, engine tensors, feeds)."""

    @abstractmethod
    def step(self, x: Any, y: Any) -> float:
        """One optimizer step on a batch; returns the loss computed *before* the update, as a Python float."""

    @abstractmethod
    def evaluate(self, x: Any, y: Any) -> tuple[float, np.ndarray]:
        """The loss and the network's outputs (numpy), without updating."""

    @abstractmethod
    def predict(self, x: np.ndarray) -> np.ndarray:
        """The network's outputs for numpy inputs."""

    @abstractmethod
    def state(self) -> dict[str, np.ndarray]:
        """The weights ``{"w1": ..., "b1": ...}`` as numpy arrays (copies)."""

    @abstractmethod
    def load_state(self, state: dict[str, np.ndarray], optimizer_state: dict[str, np.ndarray] | None = None) -> None:
        """Replace the weights with ``state`` and, when given with a ``step``, the optimizer's state."""

    def optimizer_state(self) -> dict[str, np.ndarray]:
        """``{"step": ..., "<slot>.<param>": ...}`` (zeros before the first step); empty for plain SGD."""
        if not self.spec.optimizer.slots():
            return {}
        step, slots = self._optimizer_arrays()
        return {"step": np.array(int(step), dtype=np.int64), **slots}

    @abstractmethod
    def _optimizer_arrays(self) -> tuple[int, dict[str, np.ndarray]]:
        """(steps taken, ``{"<slot>.<param>": numpy copy}``) for :meth:`optimizer_state`."""
