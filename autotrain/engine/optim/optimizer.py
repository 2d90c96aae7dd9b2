"""``Optimizer``: parameter groups, per-parameter state, ``zero_grad``, ``state_dict`` — PyTorch's structure.

Each algorithm (``SGD``, ``RMSprop``, ``Adam``, ``AdamW``) is a short ``_update_group`` that hands every
parameter's arrays to its rule in :mod:`.formulas` (PyTorch 2.x's single-tensor formula) with
:class:`~.formulas.ArrayOps`, which updates them in place: nothing is recorded in the graph and no
Tensor objects are made, so a step costs what the numpy costs.
"""
from __future__ import annotations

import copy
import numbers
import warnings
from collections import defaultdict
from typing import Any, Callable, Iterable

import numpy as np

from .. import backend
from ..graph import enable_grad
from ..dtypes import get_default_dtype
from ..tensor import Tensor, increment_version, new_tensor
from .formulas import ArrayOps

#: a hyper-parameter a subclass must be given (PyTorch's ``optim.optimizer.required``)
required = object()


def _typename(value) -> str:
    return f"torch.{type(value).__name__}" if isinstance(value, Tensor) else type(value).__name__


def mark_updated(param: Tensor) -> None:
    """Record an in-place change of ``param``'s values (graphs that saved it will refuse to backward)."""
    increment_version(param)


class Optimizer:
    """Base class of the optimizers: ``Optimizer(params, defaults)``.

    ``params`` is an iterable of tensors, or of dicts (parameter groups) each with a ``"params"``
    list and optional per-group hyper-parameters that override ``defaults``.
    """

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {_typename(params)}")
        if not hasattr(params, "__iter__"):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {type(params).__name__}")
        param_groups = list(params)
        if not param_groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters (the others from ``defaults``)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering of "
                            "tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params)
        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {_typename(param)}")
            if not param.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group, params=params)
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if existing & {id(p) for p in params}:
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the ``.grad`` of every parameter: to ``None`` (default) or to zeros."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if set_to_none:
                    param.grad = None
                else:
                    param.grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None):
        """One update of every parameter that has a ``.grad``; ``closure`` (re-evaluating the loss) is run first,
        with grad enabled, and its result returned."""
        loss = None
        if closure is not None and not callable(closure):
            raise TypeError(f"{type(self).__name__}.step(): closure must be callable (re-evaluating the loss), got "
                            f"{type(closure).__name__} {closure!r}")
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update_group(group)
        return loss

    #: the update rule, a function of :mod:`.formulas` (set by each algorithm)
    rule: Callable = None
    #: the group's hyper-parameters the rule takes, by name
    hyper_names: tuple[str, ...] = ()

    def hyper(self, group: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments of :attr:`rule` for ``group``: what a caller needs to run the same rule on
        other arrays (or on graph nodes, with :class:`~.formulas.FunctionalOps`)."""
        return {name: group[name] for name in self.hyper_names}

    def _update_group(self, group: dict[str, Any]) -> None:
        """Each parameter with a gradient: its state made on first use, then :attr:`rule` on its arrays in place."""
        hyper, rule = self.hyper(group), self.rule
        ops_of = self.__dict__.setdefault("_array_ops", {})   # not pickled: __getstate__ leaves it out
        for param in group["params"]:
            grad = param.grad
            if grad is None:
                continue
            state = self._init_state(param, group)
            step = next_step(state) if "step" in state else None
            arrays = {k: t._data for k, t in state.items() if k != "step" and isinstance(t, Tensor)}
            _, new = rule(param._data, grad._data, arrays, step, **hyper, ops=_ops(ops_of, param))
            for name, array in new.items():   # in-place updates are already there; new entries get a Tensor
                held = state.get(name)
                if held is None or held._data is not array:
                    state[name] = new_tensor(array)
            mark_updated(param)

    def _init_state(self, param: Tensor, group: dict[str, Any]) -> dict:
        """``param``'s state dict, with the entries the rule starts from (``step``, zeros) on first use."""
        raise NotImplementedError

    # ----------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {name: value}}, "param_groups": [{hyper-parameters..., "params": [indices]}]}``.

        Parameters are numbered in order across groups; the state tensors are this optimizer's own
        (not copies), as PyTorch.
        """
        mapping: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for param in group["params"]:
                mapping.setdefault(id(param), len(mapping))
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and state from ``state_dict()`` output (deep-copied; floating state is cast
        to each parameter's dtype and device, ``step`` is kept as saved)."""
        state_dict = _deepcopy(state_dict)
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(self.param_groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        id_map = {saved: param for group, saved_group in zip(self.param_groups, saved_groups)
                  for saved, param in zip(saved_group["params"], group["params"])}
        state: defaultdict = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in id_map:
                param = id_map[key]
                state[param] = {name: _cast_state(param, name, v) for name, v in value.items()}
            else:
                state[key] = value
        self.state = state
        self.param_groups = [dict(saved, params=group["params"])
                             for group, saved in zip(self.param_groups, saved_groups)]

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        lines.append(")")
        return "\n".join(lines)


def _ops(cache: dict, param: Tensor) -> ArrayOps:
    """In-place ops for ``param``'s update, kept in ``cache`` between steps with their scratch arrays."""
    p = param._data
    ops = cache.get(id(param))
    if ops is None or not ops.fits(p):
        ops = cache[id(param)] = ArrayOps(backend.xp_of(p), p)
    return ops


def _deepcopy(state_dict):
    """A copy of ``state_dict`` whose tensors own their arrays (the caller's dict stays untouched)."""
    def copy_value(value):
        if isinstance(value, Tensor):
            return new_tensor(value._data.copy())
        if isinstance(value, dict):
            return {k: copy_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [copy_value(v) for v in value]
        return copy.deepcopy(value)
    return copy_value(state_dict)


def _cast_state(param: Tensor, name: str, value):
    """A loaded state entry as this engine keeps it: tensors on the parameter's device and float dtype."""
    if name == "step":  # PyTorch keeps the step counter's dtype as saved (a number from older versions too)
        if isinstance(value, Tensor):
            return value
        counter = step_tensor()
        counter._data[...] = value
        return counter
    if isinstance(value, np.ndarray):
        value = new_tensor(value)
    if not isinstance(value, Tensor):
        return value
    data = value._data
    if data.dtype.kind == "f" and data.dtype != param.dtype:
        data = data.astype(param.dtype)
    return new_tensor(backend.to_device(data, param.device))


def check_numbers(optimizer: str, **values) -> None:
    """Each hyperparameter a real number (or a 0-d Tensor, as PyTorch allows for lr); ``betas`` a pair of them:
    a TypeError naming the optimizer, the argument and the value otherwise (before any comparison of it)."""
    for name, value in values.items():
        if name == "betas" and isinstance(value, (tuple, list)) and len(value) == 2:
            check_numbers(optimizer, **{f"betas[{i}]": v for i, v in enumerate(value)})
        elif name == "betas" or isinstance(value, bool) or not isinstance(value, (numbers.Real, Tensor)):
            expected = "a pair of numbers" if name == "betas" else "a number"
            raise TypeError(f"{optimizer}: {name} must be {expected}, got {type(value).__name__} {value!r}")


def step_tensor() -> Tensor:
    """A new step counter: a 0-d tensor of the default float dtype (float32 unless changed), as PyTorch."""
    dtype = np.float64 if get_default_dtype() == np.float64 else np.float32
    return new_tensor(np.zeros((), dtype=dtype))


def zeros_like_param(param: Tensor) -> Tensor:
    data = param._data
    return new_tensor(backend.xp_of(data).zeros_like(data))


def next_step(state: dict) -> float:
    """Increment the state's step counter in place and return its new value."""
    counter = state["step"]._data
    counter += 1
    return float(counter)


def check_flags(name: str, foreach, fused, differentiable) -> None:
    """The options that choose another implementation of the same formula are accepted only in their plain form."""
    if fused:
        raise RuntimeError(f"{name}: fused=True is not supported by this engine (the single-tensor formula is "
                           "computed on whole arrays, which is what fused kernels buy on a CPU)")
    if differentiable:
        raise RuntimeError(f"{name}: differentiable=True (gradients through the optimizer step) is not supported")

