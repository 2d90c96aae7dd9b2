"""Finite-difference gradient checks: PyTorch's ``gradcheck`` and a per-op sweep over ``OPS``.

Rule (as PyTorch): an analytical entry ``a`` agrees with its numerical
counterpart ``n`` when ``|a - n| <= atol + rtol * |n|``.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import backend, backprop
from .graph import no_grad
from .ops import OPS
from .tensor import Tensor, apply_op, new_tensor, root_grads

PASS_RULE = "|analytical - numerical| <= atol + rtol * |numerical|"


class GradcheckError(RuntimeError):
    """Analytical and numerical gradients disagree."""


@dataclass(frozen=True)
class GradientComparison:
    """How one analytical gradient (or Jacobian) compares with its finite-difference estimate."""

    max_abs_err: float
    max_rel_err: float
    worst_index: tuple
    analytical: float
    numerical: float
    passed: bool
    entries: int


def compare(analytical: np.ndarray, numerical: np.ndarray, atol: float, rtol: float) -> GradientComparison:
    """Apply the pass rule entrywise and describe the worst entry (largest excess over its tolerance)."""
    analytical, numerical = np.asarray(analytical, np.float64), np.asarray(numerical, np.float64)
    abs_err = np.abs(analytical - numerical)
    allowed = atol + rtol * np.abs(numerical)
    if abs_err.size == 0:
        return GradientComparison(0.0, 0.0, (), 0.0, 0.0, True, 0)
    passed = bool(np.all(abs_err <= allowed))
    # the entry to show: the one furthest past its tolerance, or (all passing) the largest error
    worst = np.unravel_index(int(np.argmax(abs_err if passed else abs_err - allowed)), abs_err.shape)
    rel = abs_err / np.maximum(np.abs(numerical), np.finfo(np.float64).tiny)
    return GradientComparison(float(abs_err.max()), float(rel.max()), tuple(int(i) for i in worst),
                      float(analytical[worst]), float(numerical[worst]), passed,
                      int(abs_err.size))


def _outputs(fn, inputs) -> tuple:
    out = fn(*inputs)
    return out if isinstance(out, tuple) else (out,)


def numerical_jacobian(fn: Callable, inputs: tuple, index: int, eps: float, entries=None) -> list[np.ndarray]:
    """d outputs / d inputs[index] by central differences, one (out.size, in.size) matrix per output.

    ``entries`` limits the perturbed input entries (flat indices); the other columns stay NaN.
    """
    target = inputs[index]._data
    flat = target.reshape(-1)
    columns = range(flat.size) if entries is None else entries
    with no_grad():
        sizes = [o._data.size for o in _outputs(fn, inputs)]
        jac = [np.full((n, flat.size), np.nan) for n in sizes]
        for col in columns:
            original = flat[col].item()
            flat[col] = original + eps
            plus = [backend.to_numpy(o._data).astype(np.float64).ravel() for o in _outputs(fn, inputs)]
            flat[col] = original - eps
            minus = [backend.to_numpy(o._data).astype(np.float64).ravel() for o in _outputs(fn, inputs)]
            flat[col] = original
            for j, (p, m) in enumerate(zip(plus, minus)):
                jac[j][:, col] = (p - m) / (2 * eps)
    return jac


def analytical_jacobian(fn: Callable, inputs: tuple, index: int) -> list[np.ndarray]:
    """d outputs / d inputs[index] by backward passes, one unit vector per output entry."""
    outs = _outputs(fn, inputs)
    target = inputs[index]
    jacs = []
    for out in outs:
        jac = np.zeros((out._data.size, target._data.size))
        if out._requires_grad:
            for row in range(out._data.size):
                seed = np.zeros(out._data.size, dtype=out._data.dtype)
                seed[row] = 1
                capture = backprop.Capture((target,))
                backprop.run_backward((out,), root_grads((out,), (seed.reshape(out._data.shape),)), True, capture)
                if capture.grads[0] is not None:
                    jac[row] = backend.to_numpy(capture.grads[0]).ravel()
        jacs.append(jac)
    return jacs


def _warn_precision(inputs) -> None:
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t.dtype != np.float64:
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating point. "
                          "Finite differences in single precision need far looser tolerances; gradcheck is "
                          "only reliable in float64.", UserWarning, stacklevel=3)


def gradcheck(fn: Callable, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True) -> bool:
    """Compare ``fn``'s backward with central finite differences for every input that requires grad.

    Returns True when all Jacobian entries satisfy ``|a - n| <= atol + rtol*|n|``; otherwise
    raises :class:`GradcheckError` listing the entries that differ (or returns False when
    ``raise_exception=False``).
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    _warn_precision(inputs)
    for i, t in enumerate(inputs):
        if not (isinstance(t, Tensor) and t.requires_grad):
            continue
        for j, (ana, num) in enumerate(zip(analytical_jacobian(fn, inputs, i), numerical_jacobian(fn, inputs, i,
                                                                                                   eps))):
            result = compare(ana, num, atol, rtol)
            if not result.passed:
                if raise_exception:
                    raise GradcheckError(_mismatch_message(i, j, ana, num, atol, rtol))
                return False
    return True


def gradgradcheck(fn: Callable, inputs, grad_outputs=None, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True, seed: int = 0) -> bool:
    """Check second derivatives: :func:`gradcheck` of the vector-Jacobian product ``fn``'s backward makes.

    The backward runs with ``create_graph=True`` and its results are compared with central differences
    with respect to the inputs and to ``grad_outputs`` (random tensors of the outputs' dtypes when not
    given), as PyTorch's ``gradgradcheck``.
    """
    vjp, all_inputs = vjp_function(fn, inputs, grad_outputs, seed)
    return gradcheck(vjp, all_inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception)


def vjp_function(fn: Callable, inputs, grad_outputs=None, seed: int = 0) -> tuple[Callable, tuple]:
    """``(vjp, inputs + grad_outputs)``: ``vjp(*inputs, *grad_outputs)`` is ``fn``'s backward, recorded.

    Its Jacobian holds ``fn``'s second derivatives (with respect to the inputs) and the first ones again
    (with respect to ``grad_outputs``, in which the product is linear).
    """
    from . import autograd  # autograd imports this module
    from .graph import enable_grad

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    wrt = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        grad_outputs = tuple(Tensor(rng.standard_normal(o.shape).astype(o.dtype), requires_grad=o.dtype.kind == "f")
                             for o in _outputs(fn, inputs))
    grad_outputs = tuple(grad_outputs) if isinstance(grad_outputs, (tuple, list)) else (grad_outputs,)
    n = len(inputs)

    def vector_jacobian_product(*args):
        with enable_grad():
            ins, seeds = args[:n], args[n:]
            pairs = [(o, v) for o, v in zip(_outputs(fn, ins), seeds) if o.requires_grad]
            grads = autograd.grad([o for o, _ in pairs], [ins[i] for i in wrt], [v for _, v in pairs],
                                  create_graph=True, allow_unused=True)
        return tuple(new_tensor(np.zeros(ins[i].shape, ins[i].dtype)) if g is None else g
                     for i, g in zip(wrt, grads))

    return vector_jacobian_product, inputs + grad_outputs


def _mismatch_message(i: int, j: int, ana, num, atol, rtol) -> str:
    bad = np.argwhere(np.abs(ana - num) > atol + rtol * np.abs(num))
    lines = [f"Jacobian mismatch for output {j} with respect to input {i} "
             f"({len(bad)} of {ana.size} entries differ; rule {PASS_RULE}, atol={atol}, rtol={rtol}):"]
    for row, col in bad[:10]:
        lines.append(f"  d out[{row}] / d in[{col}]: analytical {ana[row, col]:.8g}, numerical {num[row, col]:.8g}")
    if len(bad) > 10:
        lines.append(f"  ... and {len(bad) - 10} more")
    return "\n".join(lines)


# --------------------------------------------------------------------- the op sweep
@dataclass(frozen=True)
class OpCase:
    """One gradcheck case of a primitive: the op, its inputs and attributes."""

    op_name: str
    label: str
    make_inputs: Callable[[np.random.Generator, np.dtype], tuple]
    attrs: dict

    def fn(self, *inputs):
        return apply_op(OPS[self.op_name], inputs, self.attrs)


KINK_MARGIN = 0.05  # samples stay this far from an op's kinks (>> eps), so no central difference straddles one


def _make_input(spec, op, rng, dtype, attrs, first=None):
    if isinstance(spec, (int, float)):
        return spec
    if isinstance(spec, str) and spec.startswith("bool"):
        shape = tuple(int(n) for n in spec[5:-1].split(","))
        return new_tensor(rng.random(shape) > 0.5)
    if isinstance(spec, str) and spec.startswith("argmax"):  # the index input of pick: argmax of input 0
        return new_tensor(np.argmax(first._data, axis=attrs["axis"], keepdims=attrs.get("keepdims", False)))
    values = rng.standard_normal(spec)
    if op.domain == "pos":
        values = np.abs(values) + 0.5
    elif op.domain == "nonzero":
        values = np.sign(values) * (np.abs(values) + 0.5)
    elif op.domain == "unit":   # probabilities, away from 0 and 1
        values = 0.2 + 0.6 / (1.0 + np.exp(-values))
    for kink in op.kinks(attrs):
        values = _away_from(values, kink)
    return Tensor(values.astype(dtype), requires_grad=True)


def _away_from(values: np.ndarray, kink: float) -> np.ndarray:
    """Samples moved at least KINK_MARGIN from ``kink`` (an op's declared non-differentiable point); the
    gradient exactly at a kink is a convention, checked by the tie-convention tests instead."""
    offset = values - kink
    return kink + np.where(offset >= 0, 1.0, -1.0) * (KINK_MARGIN + np.abs(offset))


def _resolve_key(key, rng, shape):
    if key == "mask":
        return rng.random(shape) > 0.5
    if key == "mask_rows":
        return np.arange(shape[0]) % 2 == 0
    if key == "ints":
        return np.array([0, 2, 2, shape[0] - 1])
    return key


def _resolve_view(view):
    if view == "rows 1:3":
        return ((OPS["index"], {"key": (slice(1, 3),)}),)
    if view == "transpose":
        return ((OPS["transpose"], {"axes": None}),)
    return view


def op_cases() -> list[OpCase]:
    """Every differentiable op's gradcheck cases, from the ``cases`` each op declares in ``ops.py``."""
    cases = []
    for name, op in OPS.items():
        if not op.differentiable or op.no_derivative:
            continue
        for shapes, attrs in op.cases:
            shape0 = shapes[0] if isinstance(shapes[0], tuple) else None
            fixed = {k: (_resolve_key(v, np.random.default_rng(1), shape0) if k == "key" else
                         _resolve_view(v) if k == "view" else v) for k, v in attrs.items()}

            def make(rng, dtype, shapes=shapes, op=op, fixed=fixed):
                made = []
                for s in shapes:
                    made.append(_make_input(s, op, rng, dtype, fixed, made[0] if made else None))
                return tuple(made)
            label = ", ".join("scalar" if isinstance(s, (int, float)) else str(s).replace(" ", "") for s in shapes)
            cases.append(OpCase(name, label + (f" {attrs}" if attrs else ""), make, fixed))
    return cases
