"""The engine at the edges, where PyTorch gives a definite answer: non-finite values, 0-d and degenerate
sizes, numerically hard ranges.  Expected values are PyTorch 2.13's (derived by hand where stated)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import autotrain.engine as torch
from autotrain.engine.static.passes import simplify  # noqa: F401 - the static side of the same class

NAN, INF = float("nan"), float("inf")


def _grad(fn, *values, dtype=torch.float64):
    xs = [torch.tensor(v, dtype=dtype, requires_grad=True) for v in values]
    y = fn(*xs)
    (y.sum() if y.ndim else y).backward()
    return y.detach().numpy(), [x.grad.numpy() for x in xs]


# ---------------------------------------------------------------- stable formulas
@pytest.mark.parametrize("dtype,x", [(torch.float64, -40.0), (torch.float64, -700.0), (torch.float32, -40.0),
                                     (torch.float32, -87.0)])
def test_sigmoid_keeps_relative_precision_for_large_negative_inputs(dtype, x):
    y, (g,) = _grad(lambda t: t.sigmoid(), [x, -x], dtype=dtype)
    want = math.exp(x) / (1 + math.exp(x))          # e/(1+e), PyTorch's form below 0
    assert y[0] == pytest.approx(want, rel=1e-6, abs=0) and y[1] == 1.0
    assert g[0] == pytest.approx(want * (1 - want), rel=1e-6, abs=0)


def test_sigmoid_of_a_0d_tensor_is_a_0d_tensor():
    y = torch.tensor(-3.0, dtype=torch.float64).sigmoid()
    assert y.shape == () and y.item() == pytest.approx(1 / (1 + math.exp(3.0)), rel=1e-14)


@pytest.mark.parametrize("b", [1e-300, -1e-300, 1e300, 1e-170])
def test_division_gradient_when_b_squared_under_or_overflows(b):
    _, (ga, gb) = _grad(lambda a, c: a / c, [1e-300], [b])
    assert ga[0] == pytest.approx(1 / b)
    want = -(1e-300 / b / b)                        # PyTorch: -g * (a / b / b); b*b would be 0 or inf
    assert gb[0] == pytest.approx(want) and np.isfinite(gb[0]) or want in (INF, -INF)


def test_division_gradient_of_zero_numerator_is_a_signed_zero_not_nan():
    _, (_, gb) = _grad(lambda a, c: a / c, [0.0], [1e-300])
    assert gb[0] == 0.0 and np.signbit(gb[0])


@pytest.mark.parametrize("requires_grad", [True, False])
def test_clone_keeps_negative_zero(requires_grad):
    x = torch.tensor([-0.0, 1.0], requires_grad=requires_grad)
    assert np.signbit(x.clone().detach().numpy()[0])


# ---------------------------------------------------------------- non-finite values
def test_maximum_minimum_gradient_at_nan_goes_to_both_inputs():
    for fn in (torch.maximum, torch.minimum):
        y, (ga, gb) = _grad(fn, [0.0, NAN, 1.0, 2.0], [NAN, 0.0, 1.0, 0.0])
        np.testing.assert_array_equal(ga, [1.0, 1.0, 0.5, 1.0 if fn is torch.maximum else 0.0])
        np.testing.assert_array_equal(gb, [1.0, 1.0, 0.5, 0.0 if fn is torch.maximum else 1.0])


def test_relu_gradient_at_nan_passes_the_gradient():
    _, (g,) = _grad(lambda t: t.relu(), [NAN, -1.0, 0.0, 2.0])
    np.testing.assert_array_equal(g, [1.0, 0.0, 0.0, 1.0])


def test_fmax_fmin_ignore_nan_forward_and_backward():
    a, b = [1.0, NAN, NAN, 3.0, 2.0], [NAN, 2.0, NAN, 1.0, 2.0]
    y, (ga, gb) = _grad(torch.fmax, a, b)
    np.testing.assert_array_equal(y, [1.0, 2.0, NAN, 3.0, 2.0])
    np.testing.assert_array_equal(ga, [1.0, 0.0, 1.0, 1.0, 1.0])      # ties and NaN-vs-NaN go to a
    np.testing.assert_array_equal(gb, [0.0, 1.0, 0.0, 0.0, 0.0])
    y, (ga, gb) = _grad(torch.fmin, a, b)
    np.testing.assert_array_equal(y, [1.0, 2.0, NAN, 1.0, 2.0])
    np.testing.assert_array_equal(ga, [1.0, 0.0, 1.0, 0.0, 1.0])
    assert torch.fmax(torch.tensor([1, 5]), torch.tensor([3, 2])).tolist() == [3, 5]


def test_std_gradient_is_zero_where_the_deviation_is_zero():
    _, (g,) = _grad(lambda t: t.std(), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0])
    _, (g,) = _grad(lambda t: t.std(dim=1), [[1.0, 1.0], [0.0, 2.0]])
    np.testing.assert_allclose(g, [[0.0, 0.0], [-1 / math.sqrt(2), 1 / math.sqrt(2)]])


def test_static_simplifier_keeps_masked_gradients_zero_under_inf():
    """TF's maximum gradient is where(x >= 0, g, 0): an inf upstream gradient stays 0 where masked
    (a multiply by a 0/1 mask would make it inf * 0 = nan)."""
    import autotrain.engine.static as tf
    x, upstream = tf.placeholder(tf.float64, (3,)), tf.placeholder(tf.float64, (3,))
    grad = tf.gradients(tf.reduce_sum(tf.maximum(x, 0.0) * upstream), [x])[0]
    with tf.Session() as sess:
        g = sess.run(grad, {x: np.array([0.0, 2.0, -4.0]), upstream: np.full(3, np.inf)})
    np.testing.assert_array_equal(g, [INF, INF, 0.0])


# ---------------------------------------------------------------- degenerate sizes
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, -1])
def test_softmax_of_a_0d_tensor(op, dim):
    x = torch.tensor(3.0, requires_grad=True)
    y = getattr(x, op)(dim)
    y.backward()
    assert y.shape == () and y.item() == (1.0 if op == "softmax" else 0.0) and x.grad.item() == 0.0


@pytest.mark.parametrize("values,correction", [([5.0], 1), ([1.0, 2.0], 2), ([1.0, 2.0], 3)])
def test_var_std_with_no_degrees_of_freedom_are_values_not_errors(values, correction):
    x = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    v = x.var(correction=correction)
    v.backward()
    dof = len(values) - correction
    want = np.sum((np.array(values) - np.mean(values)) ** 2) / max(dof, 0) if dof > 0 else (
        NAN if len(values) == 1 else INF)
    np.testing.assert_array_equal(v.item(), want)
    centred = np.array(values) - np.mean(values)
    scale = 2.0 / dof if dof else INF                                   # C's 2.0/0 = inf, as PyTorch
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(x.grad.numpy(), scale * centred)
    y = torch.tensor(values, requires_grad=True).std(correction=correction)
    y.backward()                                                        # no ZeroDivisionError
