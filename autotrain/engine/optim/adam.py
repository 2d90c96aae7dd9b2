"""Adam and AdamW (Kingma & Ba, 2014; Loshchilov & Hutter, 2019), as PyTorch 2.x computes them."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_flags, mark_updated, next_step, step_tensor, xp_of, zeros_like_param


class Adam(Optimizer):
    r"""``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *, maximize=False,
    decoupled_weight_decay=False)``.

    PyTorch 2.x's single-tensor update, at step t for each parameter p with gradient g::

        g = -g                                       if maximize
        p = p * (1 - lr * weight_decay)              if weight_decay != 0 and decoupled (AdamW)
        g = g + weight_decay * p                     if weight_decay != 0 and not decoupled
        m = m + (1 - beta1) * (g - m)                (exp_avg, starts at 0)
        v = beta2 * v + (1 - beta2) * g * g          (exp_avg_sq, starts at 0)
        v_max = max(v_max, v)                        (max_exp_avg_sq) if amsgrad; then v_max is used for v
        denom = sqrt(v) / sqrt(1 - beta2 ** t) + eps
        p = p - (lr / (1 - beta1 ** t)) * m / denom

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq``, and ``max_exp_avg_sq`` with amsgrad.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach=None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False, fused=None,
                 decoupled_weight_decay: bool = False) -> None:
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
        self._scratch: dict[int, np.ndarray] = {}

    def _init_state(self, param, amsgrad: bool) -> dict:
        state = self.state[param]
        if not state:
            state["step"] = step_tensor()
            state["exp_avg"] = zeros_like_param(param)
            state["exp_avg_sq"] = zeros_like_param(param)
            if amsgrad:
                state["max_exp_avg_sq"] = zeros_like_param(param)
        return state

    def _buffer(self, p):
        """A scratch array shaped like ``p`` (kept between steps: the update then allocates nothing)."""
        buf = self._scratch.get(id(p))
        if buf is None or buf.shape != p.shape or buf.dtype != p.dtype or type(buf) is not type(p):
            buf = self._scratch[id(p)] = xp_of(p).empty_like(p)
        return buf

    def _update_group(self, group) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay, amsgrad, maximize = group["weight_decay"], group["amsgrad"], group["maximize"]
        decoupled = group.get("decoupled_weight_decay", False)
        for param in group["params"]:
            if param.grad is None:
                continue
            state = self._init_state(param, amsgrad)
            p, g = param._data, param.grad._data
            xp = xp_of(p)
            tmp = self._buffer(p)
            step = next_step(state)
            if maximize:
                g = -g
            if weight_decay != 0:
                if decoupled:
                    p *= 1 - lr * weight_decay
                else:
                    g = g + weight_decay * p
            exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
            xp.subtract(g, exp_avg, out=tmp)           # m.lerp_(g, 1 - beta1)
            tmp *= 1 - beta1
            exp_avg += tmp
            exp_avg_sq *= beta2                        # v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            xp.multiply(g, 1 - beta2, out=tmp)
            tmp *= g
            exp_avg_sq += tmp
            bias_correction1 = 1 - beta1 ** step
            bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
            second = exp_avg_sq
            if amsgrad:
                second = state["max_exp_avg_sq"]._data
                xp.maximum(second, exp_avg_sq, out=second)
            xp.sqrt(second, out=tmp)                   # denom = sqrt(v) / sqrt(bc2) + eps
            tmp /= bias_correction2_sqrt
            tmp += eps
            xp.divide(exp_avg, tmp, out=tmp)           # p.addcdiv_(m, denom, value=-lr / bc1)
            tmp *= -(lr / bias_correction1)
            p += tmp
            mark_updated(param)


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
