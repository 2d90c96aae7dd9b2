"""Finite-difference gradient checks: PyTorch's ``gradcheck`` and a per-op sweep over ``OPS``.

Rule (as PyTorch): an analytical entry ``a`` agrees with its numerical
counterpart ``n`` when ``|a - n| <= atol + rtol * |n|``.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import backend
from .function import no_grad
from .ops import OPS
from .tensor import Tensor, apply_op

PASS_RULE = "|analytical - numerical| <= atol + rtol * |numerical|"


class GradcheckError(RuntimeError):
    """Analytical and numerical gradients disagree."""


@dataclass(frozen=True)
class Comparison:
    """How one analytical gradient (or Jacobian) compares with its finite-difference estimate."""

    max_abs_err: float
    max_rel_err: float
    worst_index: tuple
    analytical: float
    numerical: float
    passed: bool
    entries: int


def compare(analytical: np.ndarray, numerical: np.ndarray, atol: float, rtol: float) -> Comparison:
    """Apply the pass rule entrywise and describe the worst entry (largest excess over its tolerance)."""
    analytical, numerical = np.asarray(analytical, np.float64), np.asarray(numerical, np.float64)
    abs_err = np.abs(analytical - numerical)
    allowed = atol + rtol * np.abs(numerical)
    if abs_err.size == 0:
        return Comparison(0.0, 0.0, (), 0.0, 0.0, True, 0)
    passed = bool(np.all(abs_err <= allowed))
    # the entry to show: the one furthest past its tolerance, or (all passing) the largest error
    worst = np.unravel_index(int(np.argmax(abs_err if passed else abs_err - allowed)), abs_err.shape)
    rel = abs_err / np.maximum(np.abs(numerical), np.finfo(np.float64).tiny)
    return Comparison(float(abs_err.max()), float(rel.max()), tuple(int(i) for i in worst),
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
    from .autograd import grad
    outs = _outputs(fn, inputs)
    target = inputs[index]
    jacs = []
    for out in outs:
        jac = np.zeros((out._data.size, target._data.size))
        if out._requires_grad:
            for row in range(out._data.size):
                seed = np.zeros(out._data.size, dtype=out._data.dtype)
                seed[row] = 1
                (g,) = grad(out, target, grad_outputs=seed.reshape(out._data.shape), retain_graph=True,
                            allow_unused=True)
                if g is not None:
                    jac[row] = backend.to_numpy(g._data).ravel()
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


def _make_input(spec, op, rng, dtype):
    if isinstance(spec, (int, float)):
        return spec
    if isinstance(spec, str) and spec.startswith("bool"):
        shape = tuple(int(n) for n in spec[5:-1].split(","))
        return Tensor._wrap(rng.random(shape) > 0.5)
    values = rng.standard_normal(spec)
    if op.domain == "pos":
        values = np.abs(values) + 0.5
    elif op.domain == "nonzero":
        values = np.sign(values) * (np.abs(values) + 0.5)
    elif op.name in ("relu", "clamp", "maximum", "minimum"):
        values = _away_from_kinks(values)
    return Tensor(values.astype(dtype), requires_grad=True)


def _away_from_kinks(values: np.ndarray) -> np.ndarray:
    """Keep samples at least 0.05 from 0, the kink of relu/clamp(min=0), so no central difference straddles
    it; the gradient exactly at a kink is a convention, checked by the tie-convention tests instead."""
    return np.sign(values) * (0.05 + np.abs(values))


def _resolve_key(key, rng, shape):
    if key == "mask":
        return rng.random(shape) > 0.5
    if key == "ints":
        return np.array([0, 2, 2, shape[0] - 1])
    return key


def op_cases() -> list[OpCase]:
    """Every differentiable op's gradcheck cases, from the ``cases`` each op declares in ``ops.py``."""
    cases = []
    for name, op in OPS.items():
        if not op.differentiable:
            continue
        for shapes, attrs in op.cases:
            def make(rng, dtype, shapes=shapes, op=op):
                return tuple(_make_input(s, op, rng, dtype) for s in shapes)
            label = ", ".join("scalar" if isinstance(s, (int, float)) else str(s).replace(" ", "") for s in shapes)
            shape0 = shapes[0] if isinstance(shapes[0], tuple) else None
            fixed = {k: (_resolve_key(v, np.random.default_rng(1), shape0) if k == "key" else v)
                     for k, v in attrs.items()}
            cases.append(OpCase(name, label + (f" {attrs}" if attrs else ""), make, fixed))
    return cases
