"""RMSprop (Hinton's lecture 6e), with PyTorch's centered, momentum and weight-decay variants."""
from __future__ import annotations

from . import formulas
from .optimizer import Optimizer, check_flags, check_numbers, step_tensor, zeros_like_param


class RMSprop(Optimizer):
    r"""``RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, ...)``.

    PyTorch 2.x's single-tensor update, :func:`.formulas.rmsprop`.

    State per parameter: ``step``, ``square_avg``, and ``momentum_buffer`` / ``grad_avg`` when used.
    """

    rule = staticmethod(formulas.rmsprop)
    hyper_names = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize")

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
                 momentum: float = 0, centered: bool = False, capturable: bool = False, foreach=None,
                 maximize: bool = False, differentiable: bool = False) -> None:
        check_numbers("RMSprop", lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum)
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if alpha < 0.0:
            raise ValueError(f"Invalid alpha value: {alpha}")
        check_flags("RMSprop", foreach, None, differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach, maximize=maximize,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, param, group) -> dict:
        state = self.state[param]
        if not state:
            state["step"] = step_tensor()
            state["square_avg"] = zeros_like_param(param)
            if group["momentum"] > 0:
                state["momentum_buffer"] = zeros_like_param(param)
            if group["centered"]:
                state["grad_avg"] = zeros_like_param(param)
        return state
