"""The corpus of issue 10: each program written ONCE, run on real PyTorch and on ``autotrain.engine``.

A program is ``def prog(torch): ... return {name: value}``; ``torch`` is whichever module runs it.
Inputs are numpy arrays from fixed seeds passed through ``torch.tensor``; random draws inside a program
(``randn``, ``nn.Linear``, ``nn.init``) follow the engine's RNG rule (README: "Proof against PyTorch and
TensorFlow"), which ``vectorlib.contract_rng`` replays inside real PyTorch.  Values, gradients, dtypes,
shapes and errors are all outputs.

Areas: ``ops`` (the tensor ops of issue 10 §2), ``dtypes`` (promotion), ``broadcast`` (every binary op
on random broadcasting shapes), ``inplace`` (assignment, in-place ops, ``.grad`` aliasing: issue 10 §1),
``autograd`` (Function, autograd.grad, backward arguments, errors), ``nn``, ``optim`` (every optimizer,
100 steps), ``static`` (TF1 programs: ``def prog(tf)``).
"""
from __future__ import annotations

import copy
import math
import sys
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from vectorlib import raises


@dataclass
class Case:
    """One corpus program and how to run it."""
    name: str
    area: str
    fn: Callable
    rtol: float | None = None          # None: the dtype's default (float64: 1e-9)
    default_dtype: str | None = None   # run under torch.set_default_dtype(...)
    seed: int = 0                      # manual_seed before the program
    doc: str = ""


CASES: dict[str, Case] = {}


def case(area: str, name: str | None = None, **options):
    """Register ``fn`` as a corpus program of ``area``."""
    def register(fn):
        key = name or fn.__name__
        if key in CASES:
            raise ValueError(f"duplicate corpus case {key!r}")
        CASES[key] = Case(key, area, fn, doc=(fn.__doc__ or "").strip(), **options)
        return fn
    return register


def arr(seed: int, *shape, low=-2.0, high=2.0) -> np.ndarray:
    """A fixed float64 array in [low, high)."""
    return np.random.default_rng(1000 + seed).uniform(low, high, shape)


def f64(torch, array, grad=False):
    return torch.tensor(np.asarray(array, dtype=np.float64), dtype=torch.float64, requires_grad=grad)


def backward_weighted(y, seed: int):
    """``(y * w).sum().backward()`` with fixed weights w, so every output entry matters."""
    w = np.random.default_rng(2000 + seed).uniform(0.5, 1.5, tuple(y.shape))
    framework = sys.modules["torch" if type(y).__module__.startswith("torch") else "autotrain.engine"]
    (y * framework.tensor(w, dtype=y.dtype)).sum().backward()


# ================================================================= ops: elementwise functions
UNARY = {
    # name: (function form, method form, positive inputs only)
    "sin": (lambda t, x: t.sin(x), lambda x: x.sin(), False),
    "cos": (lambda t, x: t.cos(x), lambda x: x.cos(), False),
    "sqrt": (lambda t, x: t.sqrt(x), lambda x: x.sqrt(), True),
    "abs": (lambda t, x: t.abs(x), lambda x: x.abs(), False),
    "exp": (lambda t, x: t.exp(x), lambda x: x.exp(), False),
    "log": (lambda t, x: t.log(x), lambda x: x.log(), True),
    "tanh": (lambda t, x: t.tanh(x), lambda x: x.tanh(), False),
    "sigmoid": (lambda t, x: t.sigmoid(x), lambda x: x.sigmoid(), False),
    "relu": (lambda t, x: t.relu(x), lambda x: x.relu(), False),
    "neg": (lambda t, x: t.neg(x), lambda x: -x, False),
    "square": (lambda t, x: t.square(x), lambda x: x.square(), False),
    "clamp_min": (lambda t, x: t.clamp(x, min=-0.5), lambda x: x.clamp(min=-0.5), False),
    "clamp_max": (lambda t, x: t.clamp(x, max=0.3), lambda x: x.clamp(max=0.3), False),
    "clamp_both": (lambda t, x: t.clamp(x, -0.5, 0.3), lambda x: x.clamp(min=-0.5, max=0.3), False),
    "pow_2": (lambda t, x: t.pow(x, 2), lambda x: x ** 2, False),
    "pow_3": (lambda t, x: t.pow(x, 3), lambda x: x.pow(3), False),
    "pow_half": (lambda t, x: t.pow(x, 0.5), lambda x: x ** 0.5, True),
    "pow_minus1": (lambda t, x: t.pow(x, -1), lambda x: x ** -1, True),
    "rpow": (lambda t, x: t.pow(2.0, x), lambda x: 2 ** x, False),
    "reciprocal_div": (lambda t, x: t.div(1.0, x), lambda x: 1 / x, True),
}


def _unary_case(op_name, fn_form, method_form, positive):
    def prog(torch):
        a = arr(len(op_name), 3, 4, low=0.2 if positive else -2.0, high=2.0)
        x1, x2 = f64(torch, a, True), f64(torch, a, True)
        y1, y2 = fn_form(torch, x1), method_form(x2)
        backward_weighted(y1, 1)
        backward_weighted(y2, 1)
        return {"function": y1, "method": y2, "function x.grad": x1.grad, "method x.grad": x2.grad}
    prog.__doc__ = f"{op_name}: values and gradients, function and method forms"
    return prog


for _name, (_f, _m, _pos) in UNARY.items():
    case("ops", f"unary_{_name}")(_unary_case(_name, _f, _m, _pos))


@case("ops")
def zero_dim_results(torch):
    """0-d results of ops are ordinary tensors: .numpy(), .item(), .shape, .dtype."""
    a, b = f64(torch, 1.5), f64(torch, 2.0)
    s = a + b
    m = f64(torch, [1.0, 2.0]).sum()
    leaf = f64(torch, 0.7, True)
    (leaf * 2 + leaf * 3).backward()   # a 0-d leaf reached twice: its gradient accumulates
    return {"(a + b).numpy()": s.numpy(), "sum().numpy()": m.numpy(), "item": s.item(), "shape": tuple(s.shape),
            "0-d * 0-d": a * b, "exp(0-d)": a.exp(), "0-d leaf used twice grad": leaf.grad}


@case("ops")
def unary_ops_of_zero_dim(torch):
    """Elementwise functions of 0-d tensors (a reduction's result, a 0-d leaf), with gradients."""
    x = f64(torch, arr(7, 4), True)
    m = x.sum()
    ys = tuple(getattr(m, name)() for name in ("exp", "tanh", "sigmoid", "relu", "abs", "sin"))
    sum(y for y in ys).backward()
    a = f64(torch, 0.3, True)
    s = torch.sigmoid(a)
    s.backward()
    return {"of a 0-d sum": ys, "x.grad": x.grad, "torch.sigmoid(0-d leaf)": s, "a.grad": a.grad}


@case("ops")
def rounding_and_sign(torch):
    """floor ceil trunc round (half to even) sign on halves and negatives; their gradients are 0."""
    values = [-2.5, -1.5, -0.7, -0.5, 0.0, 0.5, 0.7, 1.5, 2.5]
    out = {}
    for name in ("floor", "ceil", "trunc", "round", "sign"):
        x = f64(torch, values, True)
        y = getattr(x, name)()
        y.sum().backward()
        out[name], out[name + " grad"] = y, x.grad
    out["round of int64"] = torch.tensor([3, -2]).round()
    return out


@case("ops")
def pow_at_zero(torch):
    """x ** 0 at x = 0 has gradient 0 (not NaN); d(a ** b)/db at a = 0 is 0 for b >= 0."""
    x = f64(torch, [0.0, 1.5, -2.0], True)
    y = x ** 0
    y.sum().backward()
    a = f64(torch, [0.0, 0.0, 2.0], True)
    b = f64(torch, [2.0, 0.0, 1.5], True)
    z = a ** b
    z.sum().backward()
    c = f64(torch, [0.0, 1.0], True)
    (c ** 2.0).sum().backward()
    return {"x**0": y, "x.grad": x.grad, "a**b": z, "a.grad": a.grad, "b.grad": b.grad, "c.grad": c.grad}


@case("ops")
def softmax_and_log_softmax(torch):
    """softmax / log_softmax over each dim, function and method, with gradients."""
    out = {}
    for dim in (0, 1, -1):
        x = f64(torch, arr(3, 3, 4) * 3, True)
        s = torch.softmax(x, dim=dim)
        backward_weighted(s, dim + 5)
        out[f"softmax dim={dim}"], out[f"softmax dim={dim} x.grad"] = s, x.grad
        x = f64(torch, arr(3, 3, 4) * 3, True)
        ls = x.log_softmax(dim)
        backward_weighted(ls, dim + 7)
        out[f"log_softmax dim={dim}"], out[f"log_softmax dim={dim} x.grad"] = ls, x.grad
    big = f64(torch, [[1000.0, 0.0, -1000.0]])
    out["softmax of large logits"] = torch.softmax(big, dim=1)
    out["log_softmax of large logits"] = torch.log_softmax(big, dim=1)
    out["method softmax"] = f64(torch, arr(4, 2, 3)).softmax(dim=-1)
    return out


# ================================================================= ops: reductions
@case("ops")
def sum_and_mean(torch):
    """sum / mean: all, one dim, negative dim, keepdim, a tuple of dims; gradients."""
    out = {}
    forms = {
        "sum()": lambda x: x.sum(), "sum(0)": lambda x: x.sum(0), "sum(dim=-1, keepdim)": lambda x: x.sum(dim=-1, keepdim=True),
        "sum((0, 2))": lambda x: x.sum(dim=(0, 2)), "mean()": lambda x: x.mean(), "mean(1)": lambda x: x.mean(1),
        "mean(dim=(1, 2), keepdim)": lambda x: x.mean(dim=(1, 2), keepdim=True), "torch.sum": lambda x: torch.sum(x, 1),
        "torch.mean": lambda x: torch.mean(x),
    }
    for i, (label, fn) in enumerate(forms.items()):
        x = f64(torch, arr(10 + i, 2, 3, 4), True)
        y = fn(x)
        backward_weighted(y, i)
        out[label], out[label + " x.grad"] = y, x.grad
    return out


@case("ops")
def max_min_argmax(torch):
    """max/min: full, with dim (values, indices), keepdim, elementwise; argmax/argmin; ties."""
    out = {}
    a = arr(20, 3, 4)
    for name in ("max", "min"):
        x = f64(torch, a, True)
        y = getattr(x, name)()
        y.backward()
        out[f"{name}()"], out[f"{name}() x.grad"] = y, x.grad
        x = f64(torch, a, True)
        values, indices = getattr(x, name)(dim=1)
        backward_weighted(values, 3)
        out[f"{name}(dim=1) values"], out[f"{name}(dim=1) indices"], out[f"{name}(dim=1) x.grad"] = values, indices, x.grad
        x = f64(torch, a, True)
        result = getattr(torch, name)(x, 0, keepdim=True)
        backward_weighted(result[0], 4)
        out[f"torch.{name}(x, 0, keepdim)"], out[f"torch.{name}(x, 0, keepdim) x.grad"] = tuple(result), x.grad
        x, y = f64(torch, a, True), f64(torch, arr(21, 3, 4), True)
        m = getattr(torch, name)(x, y)
        backward_weighted(m, 5)
        out[f"torch.{name}(x, y)"], out[f"torch.{name}(x, y) grads"] = m, (x.grad, y.grad)
    ties = f64(torch, [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], True)
    ties.max().backward()
    out["max() with ties x.grad"] = ties.grad
    ties2 = f64(torch, [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], True)
    v, i = ties2.max(dim=1)
    v.sum().backward()
    out["max(dim) with ties"], out["max(dim) with ties x.grad"] = (v, i), ties2.grad
    x = f64(torch, a)
    out["argmax()"], out["argmax(dim=1)"], out["argmin(0)"] = x.argmax(), x.argmax(dim=1), x.argmin(0)
    out["torch.argmax keepdim"] = torch.argmax(x, dim=1, keepdim=True)
    out["argmax ties"] = f64(torch, [1.0, 3.0, 3.0]).argmax()
    return out


@case("ops")
def std_and_var(torch):
    """std/var: unbiased by default, unbiased=False, over a dim with keepdim; gradients."""
    out = {}
    forms = {"std()": lambda x: x.std(), "var()": lambda x: x.var(), "std(dim=1)": lambda x: x.std(dim=1),
             "var(0, keepdim)": lambda x: x.var(0, keepdim=True), "var(unbiased=False)": lambda x: x.var(unbiased=False),
             "std(1, unbiased=False)": lambda x: x.std(1, unbiased=False), "torch.std": lambda x: torch.std(x),
             "torch.var dim": lambda x: torch.var(x, dim=0)}
    for i, (label, fn) in enumerate(forms.items()):
        x = f64(torch, arr(30 + i, 4, 5), True)
        y = fn(x)
        backward_weighted(y, i)
        out[label], out[label + " x.grad"] = y, x.grad
    return out


# ================================================================= ops: shapes
@case("ops")
def shape_ops(torch):
    """unsqueeze squeeze flatten reshape view t .T transpose permute; gradients flow back."""
    forms = {
        "unsqueeze(0)": lambda x: x.unsqueeze(0), "unsqueeze(-1)": lambda x: x.unsqueeze(-1),
        "torch.unsqueeze(x, 1)": lambda x: torch.unsqueeze(x, 1),
        "squeeze()": lambda x: x.reshape(1, 3, 1, 4).squeeze(), "squeeze(0)": lambda x: x.reshape(1, 3, 1, 4).squeeze(0),
        "squeeze(1) no-op": lambda x: x.squeeze(1), "squeeze(-2)": lambda x: x.reshape(3, 1, 4).squeeze(-2),
        "flatten()": lambda x: x.reshape(3, 2, 2).flatten(), "flatten(1)": lambda x: x.reshape(3, 2, 2).flatten(1),
        "torch.flatten(x, 0, 1)": lambda x: torch.flatten(x.reshape(3, 2, 2), 0, 1),
        "reshape(-1, 6)": lambda x: x.reshape(-1, 6), "reshape((2, 6))": lambda x: x.reshape((2, 6)),
        "view(4, 3)": lambda x: x.view(4, 3), "t()": lambda x: x.t(), ".T": lambda x: x.T,
        "transpose(0, 1)": lambda x: x.transpose(0, 1), "permute(2, 0, 1)": lambda x: x.reshape(3, 2, 2).permute(2, 0, 1),
    }
    out = {}
    for i, (label, fn) in enumerate(forms.items()):
        x = f64(torch, arr(40, 3, 4), True)
        y = fn(x)
        backward_weighted(y, i)
        out[label], out[label + " x.grad"] = y, x.grad
    return out


@case("ops")
def cat_and_stack(torch):
    """cat along dims 0/1/-1 (also of 3 tensors), stack along 0/1/-1; gradients to every input."""
    out = {}
    forms = {"cat dim 0": lambda a, b, c: torch.cat([a, b, c], dim=0),
             "cat dim 1": lambda a, b, c: torch.cat((a, b), 1), "cat dim -1": lambda a, b, c: torch.cat([a, c], dim=-1),
             "stack dim 0": lambda a, b, c: torch.stack([a, b, c]), "stack dim 1": lambda a, b, c: torch.stack((a, b), dim=1),
             "stack dim -1": lambda a, b, c: torch.stack([a, c], -1)}
    for i, (label, fn) in enumerate(forms.items()):
        a, b, c = (f64(torch, arr(50 + k, 2, 3), True) for k in range(3))
        y = fn(a, b, c)
        backward_weighted(y, i)
        out[label], out[label + " grads"] = y, (a.grad, b.grad, c.grad)
    return out


@case("ops")
def indexing(torch):
    """Reading by int, slice, step, mask, int list, int tensor with repeats, None and ...; gradients."""
    forms = {"x[1]": lambda x: x[1], "x[:, 1:3]": lambda x: x[:, 1:3], "x[::2, 1:]": lambda x: x[::2, 1:],
             "x[x > 0]": lambda x: x[x > 0], "x[[0, 2]]": lambda x: x[[0, 2]],
             "x[tensor([2, 0, 2])]": lambda x: x[torch.tensor([2, 0, 2])], "x[None]": lambda x: x[None],
             "x[..., 0]": lambda x: x[..., 0], "x[1, 2]": lambda x: x[1, 2], "x[-1, :]": lambda x: x[-1, :]}
    out = {}
    for i, (label, fn) in enumerate(forms.items()):
        x = f64(torch, arr(60, 3, 4), True)
        y = fn(x)
        backward_weighted(y, i)
        out[label], out[label + " x.grad"] = y, x.grad
    return out


@case("ops")
def matmul_forms(torch):
    """mm, matmul and @ for 1-D, 2-D and batched (broadcast) operands; gradients."""
    shapes = {"mm (3,4)(4,2)": ((3, 4), (4, 2), "mm"), "matmul 1-D 1-D": ((4,), (4,), "matmul"),
              "matmul 2-D 1-D": ((3, 4), (4,), "matmul"), "matmul 1-D 2-D": ((4,), (4, 2), "matmul"),
              "@ batched": ((2, 3, 4), (4, 5), "@"), "@ batch broadcast": ((2, 1, 3, 4), (3, 4, 2), "@"),
              "matmul 3-D 1-D": ((2, 3, 4), (4,), "matmul"), "matmul 1-D 3-D": ((3,), (2, 3, 4), "matmul")}
    out = {}
    for i, (label, (sa, sb, form)) in enumerate(shapes.items()):
        a, b = f64(torch, arr(70 + i, *sa), True), f64(torch, arr(80 + i, *sb), True)
        y = a.mm(b) if form == "mm" else torch.matmul(a, b) if form == "matmul" else a @ b
        backward_weighted(y, i)
        out[label], out[label + " grads"] = y, (a.grad, b.grad)
    return out


@case("ops")
def where_and_comparisons(torch):
    """where(cond, a, b) with tensors and scalars and gradients; comparison results are bool."""
    a, b = f64(torch, arr(90, 3, 4), True), f64(torch, arr(91, 4), True)
    y = torch.where(a > 0, a, b)
    backward_weighted(y, 1)
    c = f64(torch, arr(92, 3, 4), True)
    z = torch.where(c < 0.5, c * 2, 0.0)
    backward_weighted(z, 2)
    x = f64(torch, arr(93, 5))
    return {"where": y, "where grads": (a.grad, b.grad), "where scalar": z, "where scalar grad": c.grad,
            "x > 0": x > 0, "x <= 0.5": x <= 0.5, "x == x": x == x, "x != 1": x != 1, "x < tensor": x < f64(torch, arr(94, 5)),
            "x >= 0 dtype": (x >= 0).dtype}


@case("ops")
def floor_division_and_remainder(torch):
    """// and % on ints and floats with negative operands (floor / Python-sign semantics)."""
    i = torch.tensor([7, -7, 7, -7, 0])
    j = torch.tensor([2, 2, -2, -2, 3])
    x = f64(torch, [7.5, -7.5, 7.5, -7.5, 0.25])
    y = f64(torch, [2.0, 2.0, -2.0, -2.0, 0.5])
    g = f64(torch, [7.5, -3.25], True)
    return {"int // int": i // j, "int % int": i % j, "int // 2": i // 2, "int % 3": i % 3, "float // float": x // y,
            "float % float": x % y, "float // 2": x // 2, "float % 2.5": x % 2.5, "7 // tensor": 7 // j,
            "requires_grad of x // 2": (g // 2).requires_grad, "x % 2 value": (g % 2).detach()}


@case("ops")
def conversions(torch):
    """long() float() double() to(dtype) type_as; truncation toward zero; item() and tolist()."""
    x = f64(torch, [-1.7, -0.5, 0.5, 2.9])
    i = torch.tensor([1, 2, 3])
    return {"long()": x.long(), "float()": x.float(), "double()": x.float().double(), "int to float()": i.float(),
            "to(float64)": i.to(torch.float64), "to(dtype=int32)": x.to(dtype=torch.int32), "type_as": i.type_as(x),
            "item() of float64": x[0].item(), "item() of int64": i[1].item(), "tolist()": x.tolist(),
            "bool tensor long()": (x > 0).long(), "requires_grad through float()": f64(torch, [1.0], True).float().requires_grad}


@case("ops")
def creation_functions(torch):
    """linspace arange full eye empty zeros ones *_like tensor from_numpy: values, dtypes, shapes."""
    return {
        "linspace(-pi, pi, 7)": torch.linspace(-math.pi, math.pi, 7),
        "linspace float64": torch.linspace(0, 1, 5, dtype=torch.float64), "linspace steps=1": torch.linspace(2, 3, 1),
        "arange(5)": torch.arange(5), "arange(1, 4, 0.5)": torch.arange(1, 4, 0.5), "arange(0, 1, 0.1)": torch.arange(0, 1, 0.1),
        "arange(3.0)": torch.arange(3.0), "arange(5, dtype=float64)": torch.arange(5, dtype=torch.float64),
        "arange(10, 0, -3)": torch.arange(10, 0, -3),
        "full((2, 3), 1.5)": torch.full((2, 3), 1.5), "full((2,), 3)": torch.full((2,), 3),
        "full((2,), True)": torch.full((2,), True), "full dtype": torch.full((1, 2), 7, dtype=torch.float64),
        "eye(3)": torch.eye(3), "eye(2, 3)": torch.eye(2, 3), "eye int": torch.eye(2, dtype=torch.int64),
        "empty(2, 3) shape": tuple(torch.empty(2, 3).shape), "empty dtype": torch.empty(2, dtype=torch.float64).dtype,
        "zeros(2, 3)": torch.zeros(2, 3), "ones((2,))": torch.ones((2,)), "zeros int": torch.zeros(2, dtype=torch.int64),
        "zeros_like": torch.zeros_like(torch.tensor([1, 2])), "ones_like float64": torch.ones_like(f64(torch, [1.0, 2.0])),
        "tensor([1, 2])": torch.tensor([1, 2]), "tensor(1.5)": torch.tensor(1.5), "tensor(True)": torch.tensor(True),
        "tensor([[1., 2.]])": torch.tensor([[1.0, 2.0]]), "tensor mixed int float": torch.tensor([1, 2.5]),
        "from_numpy float64": torch.from_numpy(np.array([1.0, 2.0])), "from_numpy int32": torch.from_numpy(np.array([1, 2], dtype=np.int32)),
        "tensor of numpy float32": torch.tensor(np.array([0.1], dtype=np.float32)),
        "size()": tuple(torch.zeros(2, 3).size()), "size(1)": torch.zeros(2, 3).size(1), "numel": torch.zeros(2, 3).numel(),
        "dim()": torch.zeros(2, 3).dim(),
    }


@case("ops", seed=7)
def random_functions(torch):
    """randn rand randint under manual_seed (the RNG contract): values, dtypes, shapes."""
    torch.manual_seed(7)
    return {"randn(2, 3)": torch.randn(2, 3), "rand((3,))": torch.rand((3,)), "randn float64": torch.randn(4, dtype=torch.float64),
            "randint(0, 10, (5,))": torch.randint(0, 10, (5,)), "randint(5, (2, 2))": torch.randint(5, (2, 2)),
            "randn(()) requires_grad": torch.randn((), requires_grad=True)}


@case("ops")
def grad_mode(torch):
    """no_grad as a context, a decorator with and without parentheses; set_grad_enabled; cuda check."""
    x = f64(torch, [1.0, 2.0], True)

    @torch.no_grad
    def bare(t):
        return t * 2

    @torch.no_grad()
    def called(t):
        return t * 2

    with torch.no_grad():
        inside = x * 2
        enabled_inside = torch.is_grad_enabled()
    with torch.set_grad_enabled(False):
        disabled = x * 2
    return {"bare decorator": bare(x).requires_grad, "called decorator": called(x).requires_grad,
            "context": inside.requires_grad, "is_grad_enabled inside": enabled_inside,
            "set_grad_enabled(False)": disabled.requires_grad, "after": (x * 2).requires_grad,
            "is_grad_enabled after": torch.is_grad_enabled(), "cuda.is_available()": torch.cuda.is_available(),
            "detach": x.detach().requires_grad, "is_leaf": (x.is_leaf, (x * 2).is_leaf)}


@case("ops")
def default_dtype_float64(torch):
    """set_default_dtype(float64): python floats, int/int division, factories and scalars follow it."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        out = {"get_default_dtype": torch.get_default_dtype(), "tensor(1.5)": torch.tensor(1.5).dtype,
               "tensor([1, 2]) / 2": (torch.tensor([1, 2]) / 2), "arange(3) * 0.5": torch.arange(3) * 0.5,
               "ones(2)": torch.ones(2).dtype, "zeros(1)": torch.zeros(1).dtype, "linspace": torch.linspace(0, 1, 3).dtype,
               "arange(3.0)": torch.arange(3.0).dtype, "full 1.5": torch.full((1,), 1.5).dtype,
               "float32 * 2.5": (torch.ones(1, dtype=torch.float32) * 2.5).dtype, "randn": torch.randn(1).dtype,
               "int tensor + 1.5": (torch.tensor([1]) + 1.5).dtype}
    finally:
        torch.set_default_dtype(before)
    out["restored"] = torch.tensor(1.5).dtype
    return out


# ================================================================= dtypes: the promotion matrix
DTYPES = ("bool", "int32", "int64", "float32", "float64")
SCALARS = {"True": True, "2": 2, "2.5": 2.5}


def _operands(torch, positive=False):
    """label -> operand: 1-D tensors, 0-d tensors and Python scalars of every category."""
    values = {"bool": [True, True], "int32": [3, -4], "int64": [3, -4], "float32": [1.5, -2.25], "float64": [1.5, -2.25]}
    if positive:   # pow: negative integer exponents are a separate corner (numpy refuses them)
        values.update(int32=[3, 2], int64=[3, 2], float32=[1.5, 2.25], float64=[1.5, 2.25])
    ops = {}
    for dt in DTYPES:
        ops[f"{dt}[2]"] = torch.tensor(values[dt], dtype=getattr(torch, dt))
        ops[f"{dt}[]"] = torch.tensor(values[dt][1], dtype=getattr(torch, dt))  # no zero divisors: int // 0 raises
    ops.update(SCALARS)
    return ops


def _promotion_case(symbol, fn, record_values, tensors_only=False):
    def prog(torch):
        operands = _operands(torch, positive=symbol == "**")
        out = {}
        for la, a in operands.items():
            for lb, b in operands.items():
                if la in SCALARS and lb in SCALARS or tensors_only and (la in SCALARS or lb in SCALARS):
                    continue
                label = f"{la} {symbol} {lb}"
                try:
                    r = fn(a, b)
                except Exception:  # noqa: BLE001 - record the error class and the phrase
                    out[label] = raises(lambda: fn(a, b), "not supported")
                    continue
                out[label] = r if record_values else r.dtype
        return out
    prog.__doc__ = f"result dtypes of {symbol} over tensors, 0-d tensors and Python scalars of every category"
    return prog


PROMOTED = {  # key: (symbol, function, record values too, tensor operands only)
    "add": ("+", lambda a, b: a + b, False, False), "sub": ("-", lambda a, b: a - b, False, False),
    "mul": ("*", lambda a, b: a * b, False, False), "truediv": ("/", lambda a, b: a / b, True, False),
    "floordiv": ("//", lambda a, b: a // b, False, False), "lt": ("<", lambda a, b: a < b, False, False),
    "pow": ("**", lambda a, b: a ** b, False, False), "remainder": ("%", lambda a, b: a % b, False, False),
    "maximum": ("max", lambda a, b: sys.modules[type(a).__module__.split(".")[0] if type(a).__module__.startswith(
        "torch") else "autotrain.engine"].maximum(a, b), False, True),
}

for _key, (_sym, _fn, _vals, _tensors) in PROMOTED.items():
    case("dtypes", f"promotion_{_key}")(_promotion_case(_sym, _fn, _vals, _tensors))


@case("dtypes")
def issue_examples(torch):
    """Issue 10 §1's dtype list: int/2, arange*0.5, float32+int64, 0-d float64 * float32."""
    i = torch.tensor([1, 2, 3])
    f32 = torch.tensor([1.0, 2.0, 3.0])
    return {"int_tensor / 2": i / 2, "arange(3) * 0.5": torch.arange(3) * 0.5, "float32 + int64": f32 + i,
            "0-d float64 * float32": torch.tensor(2.0, dtype=torch.float64) * f32, "int / int": i / i,
            "int * 2.5": i * 2.5, "sum of int": i.sum(), "mean of float32": f32.mean(),
            "int ** 2": i ** 2, "int ** 0.5": i ** 0.5, "float32 ** int tensor": f32 ** i,
            "exp(int)": torch.exp(i), "sqrt(bool)": torch.sqrt(torch.tensor([True, False])),
            "bool + bool": torch.tensor([True]) + torch.tensor([True]), "bool * 2": torch.tensor([True, False]) * 2}


@case("dtypes")
def inplace_promotion(torch):
    """In-place results keep the destination dtype; an impossible cast is an error."""
    out = {}
    f = torch.tensor([1.0, 2.0])
    f += torch.tensor([1, 2])
    out["float32 += int64"] = f
    g = torch.tensor([1.0, 2.0])
    g *= torch.tensor([2.0, 3.0], dtype=torch.float64)
    out["float32 *= float64"] = g
    i = torch.tensor([1, 2])
    i *= 2
    out["int64 *= 2"] = i
    out["int64 += 1.5"] = raises(lambda: torch.tensor([1, 2]).add_(1.5), "can't be cast")
    out["int64 /= 2"] = raises(lambda: torch.tensor([1, 2]).div_(2), "can't be cast")
    h = torch.tensor([1.0, 2.0])
    h[0] = 7
    out["float32[0] = 7"] = h
    k = torch.tensor([1, 2])
    k[1] = 2.7
    out["int64[1] = 2.7"] = k
    return out


# ================================================================= broadcast: every binary op
def broadcast_pairs(seed: int, n: int = 6) -> list[tuple[tuple, tuple]]:
    """n random pairs of broadcastable shapes (0 to 3 dims, sizes 1 to 4)."""
    rng = np.random.default_rng(seed)
    pairs = []
    while len(pairs) < n:
        full = tuple(int(s) for s in rng.integers(1, 5, size=rng.integers(0, 4)))
        shapes = []
        for _ in range(2):
            drop = int(rng.integers(0, len(full) + 1))
            shape = [1 if rng.random() < 0.3 else s for s in full[drop:]]
            shapes.append(tuple(shape))
        pairs.append(tuple(shapes))
    return pairs


BINARY = {
    # name: (function, lhs range, rhs range)
    "add": (lambda t, a, b: a + b, (-2, 2), (-2, 2)),
    "sub": (lambda t, a, b: a - b, (-2, 2), (-2, 2)),
    "mul": (lambda t, a, b: a * b, (-2, 2), (-2, 2)),
    "div": (lambda t, a, b: a / b, (-2, 2), (0.5, 2)),
    "pow": (lambda t, a, b: a ** b, (0.5, 2), (-2, 2)),
    "maximum": (lambda t, a, b: t.maximum(a, b), (-2, 2), (-2, 2)),
    "minimum": (lambda t, a, b: t.minimum(a, b), (-2, 2), (-2, 2)),
    "where": (lambda t, a, b: t.where(a > b, a, b * 2), (-2, 2), (-2, 2)),
    "torch.add": (lambda t, a, b: t.add(a, b), (-2, 2), (-2, 2)),
    "torch.mul": (lambda t, a, b: t.mul(a, b), (-2, 2), (-2, 2)),
    "torch.sub": (lambda t, a, b: t.sub(a, b), (-2, 2), (-2, 2)),
    "torch.div": (lambda t, a, b: t.div(a, b), (-2, 2), (0.5, 2)),
    "remainder": (lambda t, a, b: a % b, (-2, 2), (0.5, 2)),
}


def _binary_case(index, op_name, fn, lhs, rhs):
    def prog(torch):
        out = {}
        for k, (sa, sb) in enumerate(broadcast_pairs(100 + index)):
            an = arr(300 + k, *sa, low=lhs[0], high=lhs[1])
            bn = arr(400 + k, *sb, low=rhs[0], high=rhs[1])
            if op_name.endswith("div"):
                bn = bn * np.where(np.random.default_rng(k).random(bn.shape) < 0.5, -1, 1)
            a, b = f64(torch, an, True), f64(torch, bn, True)
            y = fn(torch, a, b)
            backward_weighted(y, k)
            label = f"{tuple(sa)} {op_name} {tuple(sb)}"
            out[label], out[label + " grads"] = y, (a.grad, b.grad)
        for k, scalar in enumerate((1.5, 2) if "max" not in op_name and "min" not in op_name else ()):
            a = f64(torch, arr(500 + k, 2, 3, low=lhs[0], high=lhs[1]), True)
            y = fn(torch, a, scalar)
            backward_weighted(y, 10 + k)
            out[f"tensor {op_name} {scalar!r}"], out[f"tensor {op_name} {scalar!r} grad"] = y, a.grad
        return out
    prog.__doc__ = f"{op_name} on random broadcasting shapes (and with Python scalars where PyTorch takes them)"
    return prog


for _i, (_name, (_fn, _lhs, _rhs)) in enumerate(BINARY.items()):
    case("broadcast", f"broadcast_{_name}")(_binary_case(_i, _name, _fn, _lhs, _rhs))


@case("broadcast")
def broadcast_values_only_ops(torch):
    """Comparisons and // on random broadcasting shapes: values and dtypes (they have no gradient)."""
    out = {}
    forms = {"<": lambda a, b: a < b, ">=": lambda a, b: a >= b, "==": lambda a, b: a == b,
             "!=": lambda a, b: a != b, "//": lambda a, b: a // b}
    for k, (sa, sb) in enumerate(broadcast_pairs(150)):
        a = f64(torch, np.round(arr(700 + k, *sa), 1))   # rounded, so == and != see equal entries
        b = f64(torch, np.round(arr(720 + k, *sb, low=0.5, high=2), 1))
        for sym, fn in forms.items():
            out[f"{tuple(sa)} {sym} {tuple(sb)}"] = fn(a, b)
    return out


@case("broadcast")
def reflected_scalar_ops(torch):
    """scalar OP tensor (radd rsub rmul rtruediv rpow) values and gradients."""
    out = {}
    forms = {"2 + x": lambda x: 2 + x, "2 - x": lambda x: 2 - x, "2 * x": lambda x: 2 * x, "2 / x": lambda x: 2 / x,
             "2 ** x": lambda x: 2 ** x, "1.5 - x": lambda x: 1.5 - x}
    for i, (label, fn) in enumerate(forms.items()):
        x = f64(torch, arr(600 + i, 3, low=0.5, high=2), True)
        y = fn(x)
        backward_weighted(y, i)
        out[label], out[label + " grad"] = y, x.grad
    return out


# ================================================================= inplace: assignment and in-place ops (§1)
def _leaf(torch, values):
    return f64(torch, values, True)


@case("inplace")
def setitem_mask_relu_in_forward(torch):
    """h_relu = h.clone(); h_relu[h < 0] = 0 in the forward pass (the tutorial's ReLU): recorded."""
    x = f64(torch, arr(700, 4, 5))
    w = _leaf(torch, arr(701, 5, 3))
    h = x.mm(w)
    h_relu = h.clone()
    h_relu[h < 0] = 0
    loss = (h_relu * f64(torch, arr(702, 4, 3))).sum()
    loss.backward()
    return {"h_relu": h_relu, "loss": loss, "w.grad": w.grad}


@case("inplace")
def setitem_first_row_after_mul(torch):
    """y = x * 2; y[0] = 0; y.sum().backward() gives x.grad = [0, 2, 2]."""
    x = _leaf(torch, [1.0, 2.0, 3.0])
    y = x * 2
    y[0] = 0
    y.sum().backward()
    return {"y": y, "x.grad": x.grad}


@case("inplace")
def setitem_slice_with_graph_value(torch):
    """y[1:3] = z * 2: the slice gets z's gradient, the rest passes through to x."""
    x, z = _leaf(torch, arr(710, 5)), _leaf(torch, arr(711, 2))
    y = x * 1
    y[1:3] = z * 2
    backward_weighted(y, 3)
    return {"y": y, "x.grad": x.grad, "z.grad": z.grad}


@case("inplace")
def setitem_int_row_broadcast(torch):
    """y[1] = z (a row broadcast into a 2-D tensor) and y[:, 0] = 0."""
    x, z = _leaf(torch, arr(720, 3, 4)), _leaf(torch, arr(721, 4))
    y = x * 1.5
    y[1] = z
    y[:, 0] = 0
    backward_weighted(y, 4)
    return {"y": y, "x.grad": x.grad, "z.grad": z.grad}


@case("inplace")
def setitem_value_with_leading_unit_dims(torch):
    """c[i] = v where v has extra leading 1-dims ((1,) into a 0-d slot, (1, 3) into a row): PyTorch drops them."""
    x, v, r = _leaf(torch, arr(725, 2, 3)), _leaf(torch, [0.5]), _leaf(torch, arr(726, 1, 3))
    y = x * 1
    y[0, 1] = v * 3
    y[1] = r * 2
    backward_weighted(y, 6)
    return {"y": y, "x.grad": x.grad, "v.grad": v.grad, "r.grad": r.grad}


@case("inplace")
def setitem_mask_with_tensor_values(torch):
    """y[mask] = v (a 1-D tensor of the selected count) and y[[0, 2]] = 5.0."""
    x = _leaf(torch, arr(730, 3, 4))
    v = _leaf(torch, arr(731, 6))
    y = x * 1
    mask = f64(torch, arr(732, 3, 4)) > 0
    count = int(mask.sum().item())
    y[mask] = v[:count] * 3
    y2 = x * 2
    y2[[0, 2]] = 5.0
    (y.sum() + (y2 * y2).sum()).backward()
    return {"count": count, "y": y, "y2": y2, "x.grad": x.grad, "v.grad": v.grad}


@case("inplace")
def setitem_into_constant_with_graph_value(torch):
    """Assigning a value that requires grad into a plain tensor makes it require grad."""
    x = _leaf(torch, [1.0, -2.0])
    y = torch.zeros(3, dtype=torch.float64)
    y[1] = x[0] * 3
    y[2:] = x[1:] ** 2
    y.sum().backward()
    return {"y": y, "y.requires_grad": y.requires_grad, "x.grad": x.grad}


@case("inplace")
def inplace_on_non_leaf_after_use(torch):
    """h = a * 1; l = (h + 1).sum(); h.mul_(2); l.backward() gives a.grad = [1, 1, 1]."""
    a = _leaf(torch, [1.0, 2.0, 3.0])
    h = a * 1
    loss = (h + 1).sum()
    h.mul_(2)
    loss.backward()
    return {"h": h, "loss": loss, "a.grad": a.grad}


@case("inplace")
def inplace_after_use_through_view(torch):
    """An in-place op through a view after the base was used; then backward through both."""
    a = _leaf(torch, [1.0, 2.0, 3.0])
    h = a * 1
    first = (h + 1).sum()
    v = h[1:]
    v.mul_(2)
    second = (h * 3).sum()
    (first + second).backward()
    return {"h": h, "v": v, "a.grad": a.grad}


@case("inplace")
def inplace_on_base_seen_through_view(torch):
    """v = h[:2]; h.mul_(2) — the view sees the new values and its gradient goes through mul_."""
    a = _leaf(torch, [1.0, 2.0, 3.0])
    h = a * 1
    v = h[:2]
    h.mul_(2)
    (v * f64(torch, [1.0, 10.0])).sum().backward()
    return {"v": v, "a.grad": a.grad}


@case("inplace")
def inplace_slice_mul_then_sum(torch):
    """h[1:].mul_(2); h.sum().backward() gives [1, 2, 2]."""
    a = _leaf(torch, [1.0, 2.0, 3.0])
    h = a * 1
    h[1:].mul_(2)
    h.sum().backward()
    return {"h": h, "a.grad": a.grad}


@case("inplace")
def inplace_modifies_saved_tensor(torch):
    """Errors PyTorch raises: a saved tensor modified in place (direct, by setitem, via a view, under no_grad)."""
    phrase = "modified by an inplace operation"

    def direct():
        a = _leaf(torch, [1.0, 2.0])
        h = a * 1
        loss = (h * h).sum()
        h.mul_(2)
        loss.backward()

    def by_setitem():
        x = _leaf(torch, [1.0, 2.0])
        y = x * 1
        z = y * y
        y[0] = 0
        z.sum().backward()

    def via_view():
        a = _leaf(torch, [1.0, 2.0, 3.0])
        h = a * 1
        loss = (h * h).sum()
        h[0:2].add_(1)
        loss.backward()

    def sigmoid_output():
        x = _leaf(torch, [0.5, -0.5])
        b = x.sigmoid()
        b.add_(1)
        b.sum().backward()

    def leaf_under_no_grad():
        w = _leaf(torch, [1.0, 2.0])
        loss = (w * w).sum()
        with torch.no_grad():
            w.mul_(2)
        loss.backward()

    return {"direct": raises(direct, phrase), "setitem": raises(by_setitem, phrase), "view": raises(via_view, phrase),
            "sigmoid output": raises(sigmoid_output, phrase), "leaf under no_grad": raises(leaf_under_no_grad, phrase)}


@case("inplace")
def inplace_on_leaf_requiring_grad(torch):
    """A leaf that requires grad cannot be changed in place outside no_grad (nor through a view)."""
    phrase = "leaf variable that requires grad"

    def add_():
        _leaf(torch, [1.0]).add_(1)

    def setitem():
        w = _leaf(torch, [1.0, 2.0])
        w[0] = 3

    def iadd():
        w = _leaf(torch, [1.0, 2.0])
        w -= 0.1

    w = _leaf(torch, [1.0, 2.0])
    with torch.no_grad():
        w -= 0.5
        w[1] = 7
    return {"add_": raises(add_, phrase), "setitem": raises(setitem, phrase), "-=": raises(iadd, phrase),
            "under no_grad": w, "still a leaf": w.is_leaf, "still requires grad": w.requires_grad}


@case("inplace")
def inplace_chains_with_grad(torch):
    """y += z; y *= 2; y -= x; y /= 3; exp_(); relu_(): recorded, gradients to x and z."""
    x, z = _leaf(torch, arr(740, 4)), _leaf(torch, arr(741, 4))
    y = x * 1
    y += z
    y *= 2
    y -= x
    y /= 3
    e = x * 0.5
    e.exp_()
    r = z * 1
    r.relu_()
    c = x * 1
    c.clamp_(min=-0.5, max=0.5)
    (y.sum() + (e * y).sum() + r.sum() + c.sum()).backward()
    return {"y": y, "e": e, "r": r, "c": c, "x.grad": x.grad, "z.grad": z.grad}


@case("inplace")
def inplace_without_grad(torch):
    """In-place ops on tensors that need no grad: add_/sub_ with alpha, mul_, div_, zero_, fill_."""
    t = f64(torch, [1.0, 2.0, 3.0])
    t.add_(f64(torch, [1.0, 1.0, 1.0]), alpha=2)
    t.sub_(f64(torch, [0.5, 0.5, 0.5]), alpha=3)
    t.mul_(3)
    t.div_(2)
    u = t.clone()
    u.zero_()
    v = t.clone()
    v.fill_(4.5)
    return {"t": t, "u": u, "v": v}


@case("inplace")
def grad_is_an_ordinary_tensor(torch):
    """.grad aliasing: references and numpy views of .grad follow accumulation and zero_()."""
    w = _leaf(torch, [1.0, 2.0, 3.0])
    (w * 2).sum().backward()
    g = w.grad
    view = w.grad.numpy()
    snapshots = {"after first backward": view.copy()}
    (w * 3).sum().backward()
    snapshots["view after second backward"] = view.copy()
    snapshots["reference after second backward"] = g.clone()
    snapshots["same object"] = g is w.grad
    w.grad.zero_()
    snapshots["view after zero_"] = view.copy()
    (w * w).sum().backward()
    snapshots["view after third backward"] = view.copy()
    w.grad = None
    (w * 5).sum().backward()
    snapshots["old reference after grad = None"] = g.clone()
    snapshots["new grad"] = w.grad
    return snapshots


@case("inplace")
def numpy_and_detach_share_memory(torch):
    """t.numpy(), from_numpy and detach() share memory with the tensor, as in PyTorch."""
    a = torch.ones(3, dtype=torch.float64)
    n = a.numpy()
    a.add_(1)
    arr_ = np.zeros(3)
    t = torch.from_numpy(arr_)
    arr_[0] = 5
    t.add_(1)
    x = _leaf(torch, [1.0, 2.0])
    y = x * 2
    d = y.detach()
    d[0] = 10
    return {"numpy view after add_": n.copy(), "from_numpy sees numpy write": t.clone(), "numpy sees add_": arr_.copy(),
            "y after detach write": y.detach().clone(), "detach requires_grad": d.requires_grad}


@case("inplace")
def grad_of_non_leaf_and_retain_grad(torch):
    """A non-leaf's .grad is None unless retain_grad(); leaves accumulate over two backward calls."""
    x = _leaf(torch, [1.0, -2.0])
    y = x * 3
    y.retain_grad()
    z = (y * y).sum()
    z.backward()
    y2 = x * 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        no_grad = y2.grad
    (x * x).sum().backward()
    return {"y.grad": y.grad, "non-leaf grad": no_grad, "x.grad accumulated": x.grad, "grad before backward": _leaf(torch, [1.0]).grad}


# ================================================================= autograd: the API around backward
@case("autograd")
def custom_function_two_outputs(torch):
    """A Function with two outputs, a non-tensor argument, needs_input_grad and save_for_backward."""
    class ScaleAndSquare(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, y, factor):
            ctx.save_for_backward(x, y)
            ctx.factor = factor
            return x * factor, x * y

        @staticmethod
        def backward(ctx, g_scaled, g_prod):
            x, y = ctx.saved_tensors
            needs = ctx.needs_input_grad
            gx = g_scaled * ctx.factor + g_prod * y if needs[0] else None
            gy = g_prod * x if needs[1] else None
            return gx, gy, None

    x, y = f64(torch, arr(1100, 3), True), f64(torch, arr(1101, 3))
    a, b = ScaleAndSquare.apply(x, y, 2.5)
    (a.sum() + (b * b).sum()).backward()
    return {"a": a, "b": b, "x.grad": x.grad, "y.grad": y.grad, "requires_grad": (a.requires_grad, b.requires_grad)}


@case("autograd")
def autograd_grad_and_backward_arguments(torch):
    """autograd.grad, backward(gradient), retain_graph accumulation, grads of unused inputs."""
    x, z = f64(torch, arr(1110, 4), True), f64(torch, arr(1111, 4), True)
    y = (x * x).tanh()
    (gx,) = torch.autograd.grad(y.sum(), [x])
    gxz = torch.autograd.grad((x * 3).sum(), [x, z], allow_unused=True)
    untouched = x.grad is None   # autograd.grad does not accumulate into .grad
    w = x * z
    w.backward(f64(torch, [1.0, -1.0, 0.5, 2.0]), retain_graph=True)
    first = x.grad.clone()
    w.backward(f64(torch, [1.0, 1.0, 1.0, 1.0]))
    return {"autograd.grad": gx, "grad is not accumulated": untouched, "unused input": gxz,
            "backward(gradient)": first, "after a second backward": x.grad, "z.grad": z.grad}


@case("autograd")
def autograd_errors(torch):
    """PyTorch's errors for the common mistakes: second backward, non-scalar backward, numpy of a
    tensor that requires grad, shape mismatches, backward of a tensor that needs no grad."""
    def twice():
        x = f64(torch, [1.0, 2.0], True)
        y = (x * x).sum()
        y.backward()
        y.backward()

    def non_scalar():
        (f64(torch, [1.0, 2.0], True) * 2).backward()

    def numpy_with_grad():
        f64(torch, [1.0], True).numpy()

    def mm_mismatch():
        f64(torch, arr(1, 2, 3)).mm(f64(torch, arr(2, 2, 3)))

    def add_mismatch():
        return f64(torch, arr(1, 2, 3)) + f64(torch, arr(2, 4))

    def no_grad_backward():
        f64(torch, [1.0]).sum().backward()

    return {"backward twice": raises(twice, "backward through the graph a second time"),
            "non-scalar backward": raises(non_scalar, "only for scalar outputs"),
            "numpy() with grad": raises(numpy_with_grad, "Can't call numpy() on Tensor that requires grad"),
            "mm shapes": raises(mm_mismatch, "cannot be multiplied"),
            "broadcast shapes": raises(add_mismatch, "must match the size of tensor b"),
            "backward without grad": raises(no_grad_backward, "does not require grad")}


@case("autograd")
def detach_clone_and_data(torch):
    """clone() keeps the graph, detach() cuts it, .data shares memory without history."""
    x = f64(torch, [1.0, 2.0, 3.0], True)
    c = x.clone()
    d = x.detach()
    (c * c).sum().backward()
    w = f64(torch, [1.0, 2.0], True)
    w.data.mul_(3)
    return {"clone": c, "clone grad": x.grad, "detach": d, "detach requires_grad": d.requires_grad,
            "w after .data.mul_": w, "w is leaf": w.is_leaf}


# ================================================================= nn
def _module_data(torch, n=6, d_in=4):
    return f64(torch, arr(800, n, d_in))


@case("nn", seed=3, default_dtype="float64")
def linear_module(torch):
    """nn.Linear: the contract's initialisation, forward, gradients; bias=False; shapes."""
    torch.manual_seed(3)
    lin = torch.nn.Linear(4, 3)
    init_w, init_b = lin.weight.detach().clone(), lin.bias.detach().clone()
    x = _module_data(torch)
    y = lin(x)
    backward_weighted(y, 1)
    nobias = torch.nn.Linear(4, 2, bias=False)
    return {"initial weight": init_w, "initial bias": init_b, "y": y, "weight.grad": lin.weight.grad,
            "bias.grad": lin.bias.grad, "weight shape": tuple(lin.weight.shape), "no bias": nobias.bias,
            "no bias y": nobias(x), "in/out features": (lin.in_features, lin.out_features),
            "weight requires_grad": lin.weight.requires_grad}


@case("nn", default_dtype="float64")
def activation_modules(torch):
    """ReLU, Tanh, Sigmoid, Flatten (default and start/end dims): forward and gradients."""
    out = {}
    mods = {"ReLU": torch.nn.ReLU(), "Tanh": torch.nn.Tanh(), "Sigmoid": torch.nn.Sigmoid(),
            "Flatten()": torch.nn.Flatten(), "Flatten(0, 1)": torch.nn.Flatten(0, 1), "Flatten(1, 2)": torch.nn.Flatten(1, 2)}
    for i, (label, mod) in enumerate(mods.items()):
        x = f64(torch, arr(810 + i, 2, 3, 2), True)
        y = mod(x)
        backward_weighted(y, i)
        out[label], out[label + " x.grad"] = y, x.grad
    return out


@case("nn", seed=4, default_dtype="float64")
def sequential_and_module_api(torch):
    """Sequential: indexing, len, parameters, named_parameters, children, modules, state_dict keys."""
    torch.manual_seed(4)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2))
    x = _module_data(torch)
    y = model(x)
    backward_weighted(y, 2)
    grads = [p.grad for p in model.parameters()]
    names = [n for n, _ in model.named_parameters()]
    model.zero_grad()
    after_zero = [p.grad for p in model.parameters()]
    sd = model.state_dict()
    return {"y": y, "len": len(model), "model[0] out_features": model[0].out_features, "names": ",".join(names),
            "grads": tuple(grads), "after zero_grad": tuple(after_zero), "children": len(list(model.children())),
            "modules": len(list(model.modules())), "state_dict keys": ",".join(sd.keys()),
            "state_dict values": tuple(sd.values()), "state_dict requires_grad": any(v.requires_grad for v in sd.values()),
            "iteration": ",".join(type(m).__name__ for m in model)}


@case("nn", seed=5, default_dtype="float64")
def custom_module(torch):
    """A user Module: Parameter and sub-module registration by attribute, train/eval, apply, to, load_state_dict."""
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(1))
            self.body = nn.Sequential(nn.Linear(4, 3), nn.Tanh())
            self.head = nn.Linear(3, 1)
            self.plain = torch.zeros(2)   # a plain tensor attribute is not a parameter

        def forward(self, x):
            return self.head(self.body(x)) * self.scale

    torch.manual_seed(5)
    net = Net()
    x = _module_data(torch)
    y = net(x)
    backward_weighted(y, 5)
    out = {"y": y, "names": ",".join(n for n, _ in net.named_parameters()),
           "grads": tuple(p.grad for p in net.parameters()), "children": ",".join(type(m).__name__ for m in net.children()),
           "modules": len(list(net.modules())), "training": net.training}
    net.eval()
    out["eval flags"] = (net.training, net.body.training, net.body[0].training)
    out["train returns self"] = net.train() is net
    out["train flags"] = (net.training, net.head.training)

    def init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.1)
            nn.init.zeros_(m.bias)

    torch.manual_seed(6)
    out["apply returns self"] = net.apply(init) is net
    out["after apply"] = tuple(p.detach().clone() for p in net.parameters())
    torch.manual_seed(7)
    other = Net()
    other.load_state_dict(net.state_dict())
    out["loaded"] = tuple(p for p in other.parameters())
    out["to float32"] = tuple(p.dtype for p in other.to(torch.float32).parameters())
    p = nn.Parameter(torch.zeros(2))
    q = nn.Parameter(torch.zeros(2), requires_grad=False)
    out["Parameter requires_grad"] = (p.requires_grad, q.requires_grad)
    out["Parameter is leaf"] = p.is_leaf
    return out


@case("nn", seed=8, default_dtype="float64")
def init_functions(torch):
    """nn.init: uniform_ normal_ zeros_ ones_ constant_ xavier_* kaiming_* (contract draws)."""
    init = torch.nn.init
    torch.manual_seed(8)
    out = {}
    forms = {"uniform_(-0.5, 2)": lambda t: init.uniform_(t, -0.5, 2.0), "uniform_()": lambda t: init.uniform_(t),
             "normal_(1, 0.5)": lambda t: init.normal_(t, 1.0, 0.5), "zeros_": init.zeros_, "ones_": init.ones_,
             "constant_(0.3)": lambda t: init.constant_(t, 0.3), "xavier_uniform_": init.xavier_uniform_,
             "xavier_normal_": init.xavier_normal_, "kaiming_uniform_": init.kaiming_uniform_,
             "kaiming_normal_": init.kaiming_normal_, "xavier_uniform_ gain": lambda t: init.xavier_uniform_(t, gain=2.0),
             "kaiming_uniform_ a=sqrt(5)": lambda t: init.kaiming_uniform_(t, a=math.sqrt(5))}
    for label, fn in forms.items():
        t = torch.empty(3, 5)
        r = fn(t)
        out[label] = t
        out[label + " returns its argument"] = r is t
    p = torch.nn.Parameter(torch.zeros(2, 2))
    init.uniform_(p)
    out["on a Parameter"] = (p, p.requires_grad, p.is_leaf)
    return out


@case("nn", default_dtype="float64")
def losses(torch):
    """MSELoss, L1Loss, CrossEntropyLoss with every reduction; the functional forms; gradients."""
    nn, F = torch.nn, torch.nn.functional
    out = {}
    target = f64(torch, arr(820, 5, 3))
    classes = torch.tensor([0, 2, 1, 2, 0])
    for red in ("mean", "sum", "none"):
        for label, mod in (("MSELoss", nn.MSELoss(reduction=red)), ("L1Loss", nn.L1Loss(reduction=red))):
            x = f64(torch, arr(821, 5, 3), True)
            loss = mod(x, target)
            backward_weighted(loss, 1)
            out[f"{label}({red})"], out[f"{label}({red}) x.grad"] = loss, x.grad
        logits = f64(torch, arr(822, 5, 3) * 2, True)
        loss = nn.CrossEntropyLoss(reduction=red)(logits, classes)
        backward_weighted(loss, 2)
        out[f"CrossEntropyLoss({red})"], out[f"CrossEntropyLoss({red}) grad"] = loss, logits.grad
    x = f64(torch, arr(823, 5, 3), True)
    loss = F.mse_loss(x, target) + F.cross_entropy(x, classes) + F.mse_loss(x, target, reduction="sum")
    loss.backward()
    out["functional mse + cross_entropy"], out["functional grad"] = loss, x.grad
    out["default reductions"] = (nn.MSELoss()(x, target), nn.L1Loss()(x, target), nn.CrossEntropyLoss()(x, classes))
    return out


@case("nn", seed=9, default_dtype="float64")
def functional(torch):
    """nn.functional: relu linear softmax log_softmax, with gradients."""
    F = torch.nn.functional
    x = f64(torch, arr(830, 4, 3), True)
    w, b = f64(torch, arr(831, 2, 3), True), f64(torch, arr(832, 2), True)
    y = F.linear(x, w, b)
    z = F.relu(y) + F.softmax(y, dim=1) * 2 + F.log_softmax(y, dim=0) + F.linear(x, w)
    backward_weighted(z, 3)
    return {"linear": y, "z": z, "grads": (x.grad, w.grad, b.grad), "relu": F.relu(f64(torch, [-1.0, 0.5]))}


# ================================================================= optim: every optimizer, 100 steps
#: each setting was checked to be well conditioned on this problem (a 1e-15 change of the inputs moves
#: the final weights by < 1e-13; lr 0.01 with alpha 0.9 moved them by 1e-8, which no 1e-9 test can use)
OPTIMIZERS = {
    "sgd": ("SGD", {"lr": 0.1}),
    "sgd_momentum": ("SGD", {"lr": 0.05, "momentum": 0.9}),
    "sgd_dampening": ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.5}),
    "sgd_nesterov": ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    "sgd_weight_decay": ("SGD", {"lr": 0.1, "weight_decay": 0.01}),
    "sgd_all": ("SGD", {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.05, "nesterov": True}),
    "rmsprop": ("RMSprop", {"lr": 0.01}),
    "rmsprop_alpha": ("RMSprop", {"lr": 0.003, "alpha": 0.9, "eps": 1e-6}),
    "rmsprop_centered": ("RMSprop", {"lr": 0.01, "centered": True}),
    "rmsprop_momentum": ("RMSprop", {"lr": 0.005, "momentum": 0.9}),
    "rmsprop_all": ("RMSprop", {"lr": 0.005, "momentum": 0.5, "centered": True, "weight_decay": 0.01}),
    "adam": ("Adam", {"lr": 0.01}),
    "adam_betas": ("Adam", {"lr": 0.01, "betas": (0.8, 0.95), "eps": 1e-6}),
    "adam_weight_decay": ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    "adam_amsgrad": ("Adam", {"lr": 0.01, "amsgrad": True}),
    "adamw": ("AdamW", {"lr": 0.01}),
    "adamw_amsgrad": ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
}


def _small_model(torch, seed):
    torch.manual_seed(seed)
    nn = torch.nn
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))


def _train(torch, model, optimizer, steps, x, y):
    losses = []
    loss_fn = torch.nn.MSELoss()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return np.array(losses)


def _optimizer_case(cls_name, kwargs):
    def prog(torch):
        model = _small_model(torch, 11)
        x, y = f64(torch, arr(900, 16, 4)), f64(torch, arr(901, 16, 3))
        opt = getattr(torch.optim, cls_name)(model.parameters(), **kwargs)
        losses = _train(torch, model, opt, 100, x, y)
        out = {"losses": losses}
        out.update({f"final {n}": p for n, p in model.named_parameters()})
        return out
    prog.__doc__ = f"{cls_name}({kwargs}) for 100 steps on a small Tanh MLP with MSELoss"
    return prog


for _key, (_cls, _kw) in OPTIMIZERS.items():
    case("optim", f"optim_{_key}", default_dtype="float64")(_optimizer_case(_cls, _kw))


@case("optim", default_dtype="float64")
def optimizer_api(torch):
    """zero_grad(set_to_none), param_groups lr changes, state_dict/load_state_dict resume."""
    x, y = f64(torch, arr(900, 16, 4)), f64(torch, arr(901, 16, 3))
    model = _small_model(torch, 12)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    _train(torch, model, opt, 20, x, y)
    out = {"grads before zero_grad": tuple(p.grad is None for p in model.parameters())}
    opt.zero_grad(set_to_none=False)
    out["zero_grad(set_to_none=False)"] = tuple(p.grad for p in model.parameters())
    opt.zero_grad()
    out["zero_grad()"] = tuple(p.grad is None for p in model.parameters())
    sd = copy.deepcopy(opt.state_dict())   # as if saved to a file: PyTorch's state_dict() aliases live state
    out["state keys"] = ",".join(sorted(sd["state"][0].keys()))
    out["param_groups lr"] = sd["param_groups"][0]["lr"]
    out["param_groups params"] = tuple(sd["param_groups"][0]["params"])
    twin = _small_model(torch, 13)
    twin.load_state_dict(model.state_dict())
    twin_opt = torch.optim.Adam(twin.parameters(), lr=0.5)
    twin_opt.load_state_dict(sd)
    out["loaded lr"] = twin_opt.param_groups[0]["lr"]
    a = _train(torch, model, opt, 20, x, y)
    b = _train(torch, twin, twin_opt, 20, x, y)
    out["resumed losses"], out["straight losses"] = b, a
    for group in opt.param_groups:
        group["lr"] = 0.001
    out["after lr change"] = _train(torch, model, opt, 5, x, y)
    sgd_model = _small_model(torch, 14)
    sgd = torch.optim.SGD(sgd_model.parameters(), lr=0.1, momentum=0.9)
    _train(torch, sgd_model, sgd, 10, x, y)
    out["sgd momentum_buffer keys"] = ",".join(sorted(sgd.state_dict()["state"][0].keys()))
    out["sgd final"] = tuple(sgd_model.parameters())
    return out


@case("optim", default_dtype="float64")
def parameter_groups(torch):
    """Two parameter groups with their own lr / momentum; params without grad are skipped."""
    model = _small_model(torch, 15)
    x, y = f64(torch, arr(900, 16, 4)), f64(torch, arr(901, 16, 3))
    frozen = torch.nn.Parameter(torch.ones(2))
    opt = torch.optim.SGD([{"params": model[0].parameters(), "lr": 0.2},
                           {"params": list(model[2].parameters()) + [frozen], "momentum": 0.9}], lr=0.05)
    losses = _train(torch, model, opt, 30, x, y)
    return {"losses": losses, "final": tuple(model.parameters()), "frozen": frozen,
            "lrs": tuple(g["lr"] for g in opt.param_groups)}


# ================================================================= static: TF1 programs, def prog(tf)
# ``tf`` is ``tensorflow.compat.v1`` (graph mode) or ``autotrain.engine.static``.  Variables start from
# fixed numpy arrays, so no random op is involved; every fetched value is an output.
def _mlp_graph(tf, d_in=4, hidden=6, d_out=3, classify=False):
    tf.reset_default_graph()
    x = tf.placeholder(tf.float64, shape=(None, d_in))
    y = tf.placeholder(tf.float64, shape=(None, d_out))
    w1 = tf.Variable(arr(950, d_in, hidden, low=-0.5, high=0.5))
    w2 = tf.Variable(arr(951, hidden, d_out, low=-0.5, high=0.5))
    h = tf.nn.relu(tf.matmul(x, w1)) if not classify else tf.tanh(tf.matmul(x, w1))
    out = tf.matmul(h, w2)
    if classify:
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=out))
    else:
        loss = tf.reduce_sum((y - out) ** 2.0)
    feeds = {x: arr(952, 16, d_in), y: arr(953, 16, d_out)}
    if classify:
        feeds[y] = np.eye(d_out)[np.random.default_rng(954).integers(0, d_out, 16)]
    return x, y, (w1, w2), loss, feeds


def _fit(tf, train_op, loss, variables, feeds, steps):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        losses = []
        for _ in range(steps):
            value, _ = sess.run([loss, train_op], feed_dict=feeds)
            losses.append(float(value))
        final = sess.run(list(variables))
    out = {"losses": np.array(losses)}
    out.update({f"final w{i + 1}": v for i, v in enumerate(final)})
    return out


@case("static")
def static_seed_gradient_descent(tf):
    """The seed's TF program (float64, fixed initial weights): tf.gradients + assign, 25 steps."""
    x, y, (w1, w2), loss, feeds = _mlp_graph(tf)
    grad_w1, grad_w2 = tf.gradients(loss, [w1, w2])
    new_w1 = w1.assign(w1 - 1e-3 * grad_w1)
    new_w2 = w2.assign(w2 - 1e-3 * grad_w2)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        losses = [sess.run([loss, new_w1, new_w2], feed_dict=feeds)[0] for _ in range(25)]
        final = sess.run([w1, w2])
    return {"losses": np.array(losses, dtype=np.float64), "final w1": final[0], "final w2": final[1]}


TF_OPTIMIZERS = {
    "gradient_descent": ("GradientDescentOptimizer", {"learning_rate": 1e-3}),
    "momentum": ("MomentumOptimizer", {"learning_rate": 1e-3, "momentum": 0.9}),
    "momentum_nesterov": ("MomentumOptimizer", {"learning_rate": 1e-3, "momentum": 0.9, "use_nesterov": True}),
    "adam": ("AdamOptimizer", {"learning_rate": 0.01}),
    "adam_betas": ("AdamOptimizer", {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6}),
    "rmsprop": ("RMSPropOptimizer", {"learning_rate": 0.01}),
    "rmsprop_centered_momentum": ("RMSPropOptimizer", {"learning_rate": 0.005, "momentum": 0.5, "centered": True}),
}


def _tf_optimizer_case(cls_name, kwargs, classify):
    def prog(tf):
        _, _, variables, loss, feeds = _mlp_graph(tf, classify=classify)
        train_op = getattr(tf.train, cls_name)(**kwargs).minimize(loss)
        return _fit(tf, train_op, loss, variables, feeds, 30)
    prog.__doc__ = f"tf.train.{cls_name}({kwargs}).minimize for 30 steps ({'softmax xent' if classify else 'sum of squares'})"
    return prog


#: the same optimizers with hyperparameters exact in float32: TF1 turns Python floats into float32
#: tensors and casts them to the variable's dtype (lr 1e-3 acts as 0.0010000000474974513 on float64),
#: so these cases test the update formulas apart from that rounding, which the cases above include
TF_OPTIMIZERS_DYADIC = {
    "gradient_descent_dyadic": ("GradientDescentOptimizer", {"learning_rate": 2 ** -10}),
    "momentum_dyadic": ("MomentumOptimizer", {"learning_rate": 2 ** -10, "momentum": 0.875}),
    # TF1 Adam also keeps beta1**t and beta2**t in float32 variables: betas of 0.5 keep them exact
    "adam_dyadic": ("AdamOptimizer", {"learning_rate": 2 ** -7, "beta1": 0.5, "beta2": 0.5, "epsilon": 2 ** -20}),
    "rmsprop_dyadic": ("RMSPropOptimizer", {"learning_rate": 2 ** -7, "decay": 0.875, "epsilon": 2 ** -20}),
}

for _key, (_cls, _kw) in {**TF_OPTIMIZERS, **TF_OPTIMIZERS_DYADIC}.items():
    case("static", f"static_{_key}")(_tf_optimizer_case(_cls, _kw, False))
case("static", "static_adam_softmax_xent")(_tf_optimizer_case("AdamOptimizer", {"learning_rate": 0.05}, True))
case("static", "static_sgd_softmax_xent")(_tf_optimizer_case("GradientDescentOptimizer", {"learning_rate": 0.5}, True))


@case("static")
def static_minimize_var_list(tf):
    """minimize(loss, var_list=[w2]) leaves w1 untouched."""
    _, _, (w1, w2), loss, feeds = _mlp_graph(tf)
    train_op = tf.train.GradientDescentOptimizer(2 ** -10).minimize(loss, var_list=[w2])
    return _fit(tf, train_op, loss, (w1, w2), feeds, 10)


@case("static")
def static_ops_and_gradients(tf):
    """matmul transpose_a/b, reductions over a None batch dim, tf.nn activations: values and gradients."""
    tf.reset_default_graph()
    a = tf.placeholder(tf.float64, shape=(None, 3))
    w = tf.Variable(arr(960, 4, 3))
    v = tf.Variable(arr(961, 5, 4))
    results = {
        "matmul transpose_b": tf.matmul(a, w, transpose_b=True),
        "matmul transpose_a": tf.matmul(tf.matmul(a, w, transpose_b=True), v, transpose_b=True, transpose_a=False),
        "matmul both": tf.matmul(w, v, transpose_a=True, transpose_b=True),
        "reduce_mean all": tf.reduce_mean(a * 2.0), "reduce_mean axis 0": tf.reduce_mean(a, axis=0),
        "reduce_sum axis 1 keepdims": tf.reduce_sum(a, axis=1, keepdims=True), "reduce_sum all": tf.reduce_sum(a),
        "relu": tf.nn.relu(a), "sigmoid": tf.nn.sigmoid(a), "tanh": tf.nn.tanh(a), "softmax": tf.nn.softmax(a),
        "xent": tf.nn.softmax_cross_entropy_with_logits_v2(labels=tf.nn.softmax(a * 0.5), logits=a),
    }
    total = None
    for i, r in enumerate(results.values()):
        term = tf.reduce_sum(r) if i % 2 else tf.reduce_mean(r) * float(i + 1)
        total = term if total is None else total + term
    grads = tf.gradients(total, [a, w, v])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        values = sess.run(list(results.values()) + grads, feed_dict={a: arr(962, 6, 3)})
    names = list(results) + ["d/da", "d/dw", "d/dv"]
    return {name: np.asarray(value) for name, value in zip(names, values)}


@case("static")
def static_fresh_arrays_and_numpy_scalars(tf):
    """Session.run returns the caller's own arrays; numpy scalars work as constants."""
    tf.reset_default_graph()
    w = tf.Variable(np.array([1.0, 2.0]))
    g = tf.constant(np.array([0.5, -0.5]))
    step = w.assign(w - np.float64(1e-1) * g * np.float32(2.0) + np.int64(0))
    scaled = w * np.float64(3.0)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        seen = []
        for _ in range(3):
            seen.append(sess.run(w))
            sess.run(step)
        last = sess.run(scaled)
        again = sess.run(scaled)
        again[0] = -99.0
        third = sess.run(scaled)
    return {"w at steps 0, 1, 2": np.stack(seen), "scaled": last, "fresh after caller edit": third}


STATIC_BINARY = {
    # name: (build, lhs range, rhs range)
    "add": (lambda tf, a, b: tf.add(a, b), (-2, 2), (-2, 2)),
    "subtract": (lambda tf, a, b: a - b, (-2, 2), (-2, 2)),
    "multiply": (lambda tf, a, b: tf.multiply(a, b), (-2, 2), (-2, 2)),
    "divide": (lambda tf, a, b: a / b, (-2, 2), (0.5, 2)),
    "pow": (lambda tf, a, b: tf.pow(a, b), (0.5, 2), (-2, 2)),
    "maximum": (lambda tf, a, b: tf.maximum(a, b), (-2, 2), (-2, 2)),
    "minimum": (lambda tf, a, b: tf.minimum(a, b), (-2, 2), (-2, 2)),
}


def _static_binary_case(index, build, lhs, rhs):
    def prog(tf):
        tf.reset_default_graph()
        fetches, labels = [], []
        for k, (sa, sb) in enumerate(broadcast_pairs(200 + index)):
            a = tf.Variable(arr(1200 + k, *sa, low=lhs[0], high=lhs[1]))
            b = tf.Variable(arr(1300 + k, *sb, low=rhs[0], high=rhs[1]))
            y = build(tf, a, b)
            w = np.random.default_rng(k).uniform(0.5, 1.5, np.broadcast_shapes(sa, sb))
            grads = tf.gradients(tf.reduce_sum(y * w), [a, b])
            fetches += [y, *grads]
            labels += [f"{tuple(sa)}, {tuple(sb)}: {s}" for s in ("value", "d/da", "d/db")]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            values = sess.run(fetches)
        return {label: np.asarray(v) for label, v in zip(labels, values)}
    prog.__doc__ = "TF broadcasting: values and tf.gradients on random broadcastable shapes"
    return prog


for _i, (_name, (_build, _lhs, _rhs)) in enumerate(STATIC_BINARY.items()):
    case("static", f"static_broadcast_{_name}")(_static_binary_case(_i, _build, _lhs, _rhs))
