"""Adam and AdamW (Kingma & Ba, 2014; Loshchilov & Hutter, 2019), as PyTorch 2.x computes them."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..dtypes import torch_name
from ..tensor import new_tensor
from . import formulas
from .formulas import ArrayOps
from .optimizer import Optimizer, check_flags, check_numbers, mark_updated, step_tensor, zeros_like_param


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

    def _update_group(self, group) -> None:
        if not update_whole_group(self, group):
            super()._update_group(group)

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
    return torch_name(dtype).lower()   # "float", "double", "half": the moments are always floating


def _check_state_dtype(param, state) -> None:
    """PyTorch refuses a step whose moments have another dtype than the parameter (``model.double()``
    after some steps): the update would silently cast one or the other."""
    moments = state.get("exp_avg")
    if moments is not None and moments._data.dtype != param._data.dtype:
        raise RuntimeError(f"expected dtype {_torch_dtype(moments._data.dtype)} for `end` but got dtype "
                           f"{_torch_dtype(param._data.dtype)}: the Adam state of this parameter was made for "
                           f"{moments._data.dtype}, the parameter is now {param._data.dtype} (make a new "
                           f"optimizer after changing the model's dtype)")


# ===================================================================================== the whole group at once
def update_whole_group(optimizer: Adam, group) -> bool:
    """Fast path: :func:`.formulas.adam` run once on the group's arrays laid end to end; False (nothing
    done) when its preconditions do not hold, and the per-parameter loop runs instead.

    The rule is elementwise, so one run on the concatenation gives every element exactly (bit for bit)
    what one run per parameter gives, in ~11 array operations instead of ~11 per parameter (a NaN may
    come out with the other sign bit: numpy's long and short loops make different NaNs).  The moments
    and step counters live in contiguous buffers whose views are the parameters' state tensors, so the
    two paths share one state.  Checked on every call (:meth:`WholeGroup.applies`): the group's parameter
    list and each parameter's array are the ones the buffers were laid out for, every parameter has a
    gradient of its shape, dtype and array type, the state tensors are the buffers' own views, the step
    counters agree, and no parameter or gradient shares memory with another (a loop would let a later
    parameter see an earlier one's update).
    """
    plans = optimizer.__dict__.setdefault("_whole_groups", {})   # not pickled: __getstate__ leaves it out
    plan = plans.get(id(group))
    if plan is None or not plan.applies(group, optimizer.state):
        plan = WholeGroup.build(group, optimizer.state)
        if plan is None:
            plans.pop(id(group), None)
            return False
        plans[id(group)] = plan
    plan.update(optimizer.hyper(group))
    return True


class WholeGroup:
    """One group's Adam state as contiguous buffers (each parameter's ``exp_avg``... a view of them)."""

    def __init__(self, group, state) -> None:
        params = self.params = list(group["params"])
        self.group, self.arrays = group, [p._data for p in params]
        first = self.arrays[0]
        xp, dtype = self.xp, self.dtype = backend.xp_of(first), first.dtype
        self.kind, self.shapes = type(first), [a.shape for a in self.arrays]
        self.amsgrad = bool(group["amsgrad"])
        sizes = [a.size for a in self.arrays]
        offsets = [sum(sizes[:i]) for i in range(len(sizes) + 1)]
        total = offsets[-1]
        names = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if self.amsgrad else ())
        self.flat = {name: xp.zeros(total, dtype) for name in names}
        self.param_flat, self.grad_flat = xp.empty(total, dtype), xp.empty(total, dtype)
        old = [state.get(p) or {} for p in params]
        counter = old[0]["step"]._data if old[0] else step_tensor()._data
        self.steps = np.full(len(params), counter, dtype=counter.dtype)   # one counter per parameter
        self.ops = GroupOps(xp, self.param_flat, self.arrays, offsets)
        self.entries = []
        for i, (param, start, stop, shape) in enumerate(zip(params, offsets, offsets[1:], self.shapes)):
            entries = {"step": new_tensor(self.steps[i:i + 1].reshape(()))}
            for name in names:
                view = self.flat[name][start:stop].reshape(shape)
                if name in old[i]:
                    view[...] = old[i][name]._data
                entries[name] = new_tensor(view)
            state[param] = entries
            self.entries.append((entries, [(k, t, t._data) for k, t in entries.items()]))

    @classmethod
    def build(cls, group, state):
        """The layout for ``group``, or None where the fast path cannot stand for the loop."""
        params = group["params"]
        if not params or len({id(p) for p in params}) != len(params):
            return None
        first = params[0]._data
        if any(type(p._data) is not type(first) or p._data.dtype != first.dtype for p in params):
            return None
        if not _gradients_fit(params, first.dtype, type(first)) or _overlapping(params):
            return None
        existing = [state.get(p) for p in params]
        if any(existing):
            needed = {"step", "exp_avg", "exp_avg_sq"} | ({"max_exp_avg_sq"} if group["amsgrad"] else set())
            if not all(s and needed <= s.keys() for s in existing):
                return None
            for param, s in zip(params, existing):   # a mismatch is the loop's to report, at its parameter
                if any(s[k]._data.dtype != first.dtype or s[k]._data.shape != param._data.shape
                       for k in needed - {"step"}):
                    return None
            steps = {(s["step"]._data.dtype, float(s["step"])) for s in existing}
            if len(steps) != 1:
                return None
        return cls(group, state)

    def applies(self, group, state) -> bool:
        """Whether the layout still stands for the group (see :func:`update_whole_group`).  The parameters'
        arrays are the ones :meth:`build` found apart; the gradients are new each step, so checked here."""
        params = group["params"]
        if group is not self.group or len(params) != len(self.params) or bool(group["amsgrad"]) != self.amsgrad:
            return False
        kind, dtype, views = self.kind, self.dtype, False
        for param, mine, array, (entries, held) in zip(params, self.params, self.arrays, self.entries):
            grad = param.grad
            if param is not mine or param._data is not array or state.get(param) is not entries or grad is None:
                return False
            g = grad._data
            if type(g) is not kind or g.dtype != dtype or g.shape != array.shape:
                return False
            views = views or g.base is not None
            for key, tensor, data in held:
                if entries.get(key) is not tensor or tensor._data is not data:
                    return False
        steps = self.steps.tolist()
        return steps.count(steps[0]) == len(steps) and not (views and _overlapping(params))

    def update(self, hyper) -> None:
        """One Adam step of every parameter: the gradients gathered, the rule once, each parameter updated."""
        params = self.params
        self.xp.concatenate([p.grad._data.reshape(-1) for p in params], out=self.grad_flat)
        self.steps += 1
        ops = self.ops
        formulas.adam(ops.pieces, self.grad_flat, dict(self.flat), float(self.steps[0]), **hyper, ops=ops)
        for param in params:
            mark_updated(param)


class GroupOps(ArrayOps):
    """:class:`~.formulas.ArrayOps` on a group's arrays laid end to end, except the parameter: the rule is
    handed ``pieces`` (the parameters' own arrays), and the methods that take the parameter apply to each
    piece the slice of the end-to-end operand that is its own, so nothing is copied back."""

    __slots__ = ("pieces", "gathered", "offsets", "tmp_parts")

    def __init__(self, xp, like, pieces, offsets) -> None:
        super().__init__(xp, like)
        self.pieces, self.gathered, self.offsets = Pieces(pieces), like, offsets
        self.tmp_parts = [self.tmp[a:b].reshape(p.shape) for a, b, p in zip(offsets, offsets[1:], pieces)]

    def add(self, a, b, alpha=1):
        if b is self.pieces:   # weight decay reads the parameter: gather it once
            self.xp.concatenate([p.reshape(-1) for p in b.arrays], out=self.gathered)
            b = self.gathered
        return super().add(a, b, alpha)

    def mul_(self, a, s):
        if a is not self.pieces:
            return super().mul_(a, s)
        for p in a.arrays:
            p *= s
        return a

    def add_in_place(self, a, t):
        if a is not self.pieces:
            return super().add_in_place(a, t)
        parts = self.tmp_parts if t is self._tmp else [
            t[start:stop].reshape(p.shape) for start, stop, p in zip(self.offsets, self.offsets[1:], a.arrays)]
        for p, part in zip(a.arrays, parts):
            p += part
        return a


class Pieces:
    """The parameters of a group, handed to a rule in the place of one end-to-end parameter array."""

    __slots__ = ("arrays",)

    def __init__(self, arrays) -> None:
        self.arrays = arrays


def _gradients_fit(params, dtype, kind) -> bool:
    for param in params:
        grad = param.grad
        if grad is None:
            return False
        g = grad._data
        if type(g) is not kind or g.dtype != dtype or g.shape != param._data.shape:
            return False
    return True


def _overlapping(params) -> bool:
    """Whether two of the parameters' or gradients' arrays share memory (only views can)."""
    arrays = [p._data for p in params] + [p.grad._data for p in params]
    views = [a for a in arrays if a.base is not None]
    if not views:
        return False
    xp = backend.xp_of(arrays[0])
    return any(xp.may_share_memory(v, a) for v in views for a in arrays if a is not v)


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
