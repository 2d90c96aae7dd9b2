"""Adam and AdamW (Kingma & Ba, 2014; Loshchilov & Hutter, 2019), as PyTorch 2.x computes them."""
from __future__ import annotations

from . import formulas
from .optimizer import Optimizer, check_flags, check_numbers, step_tensor, zeros_like_param


class Adam(Optimizer):
    r"""``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *, maximize=False,
    decoupled_weight_decay=False)``.

    PyTorch 2.x's single-tensor update, :func:`.formulas.adam`.

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq``, and ``max_exp_avg_sq`` with amsgrad.
    """

    rule = staticmethod(formulas.adam)
    hyper_names = ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize")

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach=None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False, fused=None,
                 decoupled_weight_decay: bool = False) -> None:
        check_numbers(type(self).__name__, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        check_flags(type(self).__name__, foreach, fused, differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def hyper(self, group) -> dict:
        return {**super().hyper(group), "decoupled_weight_decay": group.get("decoupled_weight_decay", False)}

    def _init_state(self, param, group) -> dict:
        state = self.state[param]
        if not state:
            state["step"] = step_tensor()
            state["exp_avg"] = zeros_like_param(param)
            state["exp_avg_sq"] = zeros_like_param(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = zeros_like_param(param)
        _check_state_dtype(param, state)
        return state


def _torch_dtype(dtype) -> str:
    return {"float32": "float", "float64": "double", "float16": "half"}.get(str(dtype), str(dtype))


def _check_state_dtype(param, state) -> None:
    """PyTorch refuses a step whose moments have another dtype than the parameter (``model.double()``
    after some steps): the update would silently cast one or the other."""
    moments = state.get("exp_avg")
    if moments is not None and moments._data.dtype != param._data.dtype:
        raise RuntimeError(f"expected dtype {_torch_dtype(moments._data.dtype)} for `end` but got dtype "
                           f"{_torch_dtype(param._data.dtype)}: the Adam state of this parameter was made for "
                           f"{moments._data.dtype}, the parameter is now {param._data.dtype} (make a new "
                           f"optimizer after changing the model's dtype)")


class AdamW(Adam):
    r"""Adam with decoupled weight decay: ``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
    amsgrad=False, *, maximize=False)``.

    As :class:`Adam`, except that weight decay shrinks the parameter before the update,
    ``p = p * (1 - lr * weight_decay)``, instead of being added to the gradient.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False, foreach=None,
                 capturable: bool = False, differentiable: bool = False, fused=None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:  # as PyTorch: AdamW always decouples, whatever was saved
            group["decoupled_weight_decay"] = True
