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


@pytest.mark.parametrize("value", [0.1, 1e-30, -1e30, 1.0 / 3.0])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_equal_entries_whose_mean_rounds_have_exactly_zero_spread(value, dtype):
    """sum/n of three equal 0.1s is an ulp off 0.1: PyTorch's (Welford) var and std are exactly 0 there,
    and std's gradient is 0 -- not ~1e-17 and an O(1) gradient from the ulp-sized deviations."""
    x = torch.tensor([[value] * 3, [value, 0.5, -0.5]], dtype=getattr(torch, dtype), requires_grad=True)
    assert x.var(dim=1)[0].item() == 0.0 and x.std(dim=1)[0].item() == 0.0 and x[0].var().item() == 0.0
    x.std(dim=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0], [0.0, 0.0, 0.0])


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


# ---------------------------------------------------------------- optimizers on 0-d parameters
OPTIMIZERS = [("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.1)),
              ("SGD", dict(lr=0.1, momentum=0.9, maximize=True)), ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
              ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5, weight_decay=0.01, maximize=True)),
              ("Adam", dict(lr=0.1)), ("Adam", dict(lr=0.1, weight_decay=0.1, amsgrad=True, maximize=True)),
              ("AdamW", dict(lr=0.1, amsgrad=True)), ("RMSprop", dict(lr=0.01)),
              ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1, maximize=True))]


def _trained(name, kwargs, shape, steps=5):
    w = torch.tensor(np.full(shape, 1.5), dtype=torch.float64, requires_grad=True)
    opt = getattr(torch.optim, name)([w], **kwargs)
    for _ in range(steps):
        opt.zero_grad()
        (w * w * w).sum().backward()
        opt.step()
    return w.detach().numpy(), opt.state[w]


@pytest.mark.parametrize("name,kwargs", OPTIMIZERS, ids=[f"{n}-{sorted(k)}" for n, k in OPTIMIZERS])
def test_every_optimizer_updates_a_0d_parameter_as_a_one_element_one(name, kwargs):
    """The (1,)-shaped run is the reference (the vectors check it against PyTorch): a 0-d parameter must
    follow it step for step, its state buffers included (they must be updated in place, not rebound)."""
    scalar, scalar_state = _trained(name, kwargs, ())
    vector, vector_state = _trained(name, kwargs, (1,))
    assert scalar.shape == () and scalar == vector[0]
    for key, value in vector_state.items():
        assert np.asarray(scalar_state[key].numpy()).reshape(-1).tolist() == value.numpy().reshape(-1).tolist(), key


def test_sgd_momentum_buffer_of_a_0d_parameter_accumulates():
    w = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=0.5)
    for _ in range(2):
        opt.zero_grad()
        (w * 2.0).backward()
        opt.step()
    # step 1: g = 2 + 0.5 * 1 = 2.5, b = 2.5, w = 0.75; step 2: g = 2 + 0.375 = 2.375, b = 0.9*2.5 + 2.375
    assert opt.state[w]["momentum_buffer"].item() == pytest.approx(4.625, rel=1e-15)
    assert w.item() == pytest.approx(0.75 - 0.1 * 4.625, rel=1e-15)


# ---------------------------------------------------------------- the Adam whole-group plan's preconditions
def _adam_reference(start, gradient, steps=5, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1):
    """PyTorch's single-tensor Adam written out in numpy for one parameter."""
    p, m, v = np.array(start, dtype=np.float64), 0.0, 0.0
    for step in range(steps):
        g = gradient(p) + weight_decay * p
        m = m + (g - m) * (1 - betas[0])
        v = v * betas[1] + (1 - betas[1]) * g * g
        denom = np.sqrt(v) / math.sqrt(1 - betas[1] ** (step + 1)) + eps
        p = p - lr / (1 - betas[0] ** (step + 1)) * m / denom
    return p


@pytest.mark.parametrize("change", ["replace", "append", "reassign_data"])
def test_adam_group_plan_follows_changes_to_the_group(change):
    a = torch.tensor([[1.0, -0.5, 2.0]], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([0.5, -2.0], dtype=torch.float64, requires_grad=True)
    c = torch.tensor([3.0, 0.25], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([a, b], lr=0.1, weight_decay=0.1)
    c_start = c.detach().numpy().copy()
    for i in range(7):
        if i == 2 and change == "replace":
            opt.param_groups[0]["params"] = [a, c]
        elif i == 2 and change == "append":
            opt.param_groups[0]["params"].append(c)
        elif i == 2:
            with torch.no_grad():
                b.data = c.detach().clone()      # a new array under the same parameter
            c_start = b.detach().numpy().copy()
        opt.zero_grad()
        ((a * a * a).sum() + (b * b).sum() + (c * c * c).sum()).backward()
        opt.step()
    if change == "reassign_data":
        # b's moments carry on from steps 0-1 (PyTorch keeps state per parameter, not per array): compare
        # with the per-parameter path, which the plan must equal bit for bit
        ref_b = torch.tensor([0.5, -2.0], dtype=torch.float64, requires_grad=True)
        ref = torch.optim.Adam([ref_b], lr=0.1, weight_decay=0.1)
        for i in range(7):
            if i == 2:
                with torch.no_grad():
                    ref_b.data = torch.tensor(c_start, dtype=torch.float64)
            ref.zero_grad()
            (ref_b * ref_b).sum().backward()
            ref.step()
        assert b.detach().numpy().tolist() == ref_b.detach().numpy().tolist()
        return
    # c joins at step 2 and takes 5 steps of its own, starting its moments at 0
    want = _adam_reference(c_start, lambda p: 3 * p * p)
    np.testing.assert_allclose(c.detach().numpy(), want, rtol=1e-12)


def test_adam_refuses_to_continue_after_the_model_changes_dtype():
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 2)).sum().backward()
    opt.step()
    model.double()
    opt.zero_grad()
    model(torch.ones(1, 2, dtype=torch.float64)).sum().backward()
    with pytest.raises(RuntimeError, match="expected dtype float for `end` but got dtype double"):
        opt.step()


# ---------------------------------------------------------------- losses at the edges
F = torch.nn.functional


def test_cross_entropy_with_a_minus_inf_logit_at_another_class_is_finite():
    x = torch.tensor([[0.0, -INF, 1.0], [2.0, 0.5, -INF]], dtype=torch.float64, requires_grad=True)
    loss = F.cross_entropy(x, torch.tensor([0, 1]))
    loss.backward()
    lse0, lse1 = math.log(1 + math.e), math.log(math.exp(2.0) + math.exp(0.5))
    assert loss.item() == pytest.approx(((lse0 - 0.0) + (lse1 - 0.5)) / 2, rel=1e-14)
    assert x.grad[0, 1].item() == 0.0 and x.grad[1, 2].item() == 0.0
    total = F.cross_entropy(x, torch.tensor([2, 0]), reduction="sum")
    assert math.isfinite(total.item())


def test_nll_loss_with_a_minus_inf_log_probability_at_another_class_is_finite():
    x = torch.tensor([[0.0, -INF, -1.0]], dtype=torch.float64, requires_grad=True)
    loss = F.nll_loss(x, torch.tensor([2]))
    loss.backward()
    assert loss.item() == 1.0 and x.grad.numpy().tolist() == [[0.0, 0.0, -1.0]]


@pytest.mark.parametrize("loss_fn", [F.cross_entropy, F.nll_loss])
def test_a_mean_over_only_ignored_rows_is_nan_with_a_zero_gradient(loss_fn):
    x = torch.tensor([[0.0, 1.0], [2.0, 3.0]], dtype=torch.float64, requires_grad=True)
    loss = loss_fn(x, torch.tensor([-100, -100]))
    loss.backward()
    assert math.isnan(loss.item()) and x.grad.numpy().tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_cross_entropy_over_an_empty_batch():
    x = torch.zeros((0, 3), dtype=torch.float64, requires_grad=True)
    mean = F.cross_entropy(x, torch.zeros(0, dtype=torch.int64))
    mean.backward()
    assert math.isnan(mean.item()) and x.grad.shape == (0, 3)               # PyTorch: 0/0
    assert F.cross_entropy(x, torch.zeros(0, dtype=torch.int64), reduction="sum").item() == 0.0


def test_binary_cross_entropy_gradient_is_pytorchs_near_0_and_1():
    p = torch.tensor([1e-13, 1 - 1e-13, 0.0, 1.0, 0.5, 0.25], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0.0, 1.0, 0.0, 1.0, 1.0, 0.0], dtype=torch.float64)
    loss = F.binary_cross_entropy(p, y, reduction="sum")
    loss.backward()
    pv, yv = p.detach().numpy(), y.numpy()
    want = (pv - yv) / np.maximum(pv * (1 - pv), 1e-12)                    # PyTorch's formula, by hand
    np.testing.assert_allclose(p.grad.numpy(), want, rtol=1e-15)
    assert p.grad[2].item() == 0.0 and p.grad[3].item() == 0.0              # p == y at 0 and 1: not nan
    assert loss.item() == pytest.approx(-math.log(1 - 1e-13) * 2 - math.log(0.5) - math.log(0.75), rel=1e-12)
    extreme = F.binary_cross_entropy(torch.tensor([0.0, 1.0], dtype=torch.float64),
                                     torch.tensor([1.0, 0.0], dtype=torch.float64), reduction="none")
    assert extreme.numpy().tolist() == [100.0, 100.0]                      # each log clamped at -100


# ---------------------------------------------------------------- degenerate arguments
@pytest.mark.parametrize("op", ["sum", "mean", "amax", "var"])
@pytest.mark.parametrize("dim", [(), []])
def test_an_empty_dim_list_reduces_over_every_dimension(op, dim):
    x = torch.tensor([[1.0, 2.0], [3.0, 5.0]], dtype=torch.float64)
    assert getattr(x, op)(dim=dim).item() == pytest.approx(getattr(x, op)().item(), rel=1e-15)


def test_mean_with_dtype_casts_before_reducing():
    assert torch.tensor([1, 2, 4]).mean(dtype=torch.float64).dtype == torch.float64
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    m = x.mean(dtype=torch.float64)
    m.backward()
    assert m.dtype == torch.float64 and x.grad.dtype == torch.float32 and x.grad.tolist() == [0.5, 0.5]


def test_uint8_and_bool_sums_are_int64():
    assert torch.tensor([200, 100], dtype=torch.uint8).sum().item() == 300
    assert torch.tensor([[200, 100]], dtype=torch.uint8).sum(dim=0).dtype == torch.int64
    assert torch.tensor([True, True]).sum().dtype == torch.int64


def test_numpy_float64_scalars_in_a_list_make_a_float64_tensor():
    assert torch.tensor([np.float64(1.5)]).dtype == torch.float64
    assert torch.tensor([[1.0, np.float64(2.0)]]).dtype == torch.float64
    assert torch.tensor([1.5]).dtype == torch.float32 and torch.tensor([np.float32(1.5)]).dtype == torch.float32


def test_linear_with_a_1d_weight():
    x = torch.tensor([[1.0, 2.0, 3.0], [0.0, 1.0, -1.0]], requires_grad=True)
    w = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = F.linear(x, w, torch.tensor(0.25))
    y.sum().backward()
    assert y.shape == (2,) and y.tolist() == [4.75, -2.75]
    assert x.grad.tolist() == [[0.5, -1.0, 2.0]] * 2 and w.grad.tolist() == [1.0, 3.0, 2.0]


def test_equal_is_one_python_bool_as_torch_equal():
    """torch.equal answers whether two tensors have the same size and elements (one bool), unlike the
    elementwise eq; NaN equals nothing, dtypes may differ, broadcastable shapes are not equal."""
    a = torch.tensor([1.0, 2.0])
    assert torch.equal(a, a) is True and a.equal(torch.tensor([1.0, 3.0])) is False
    assert torch.equal(torch.tensor([1, 2]), torch.tensor([1.0, 2.0])) is True
    assert torch.equal(torch.tensor([float("nan")]), torch.tensor([float("nan")])) is False
    assert torch.equal(torch.ones(2, 1), torch.ones(2)) is False and torch.equal(torch.zeros(0), torch.zeros(0))
    assert torch.eq(a, a).tolist() == [True, True]
    with pytest.raises(TypeError, match="argument 'other'"):
        torch.equal(a, 1.0)


@pytest.mark.parametrize("alpha, want", [(2, [True, True]), (0, [True, False]), (True, [True, True]), (1, [True, True])])
def test_bool_add_with_an_integer_alpha_stays_bool_as_torch(alpha, want):
    """A bool result takes alpha as a bool (torch: tensor([True, False]).add(tensor([True, True]), alpha=2) is
    tensor([True, True])); computing other * 2 first made it int64 [2, 2]."""
    got = torch.tensor([True, False]).add(torch.tensor([True, True]), alpha=alpha)
    assert got.dtype == torch.bool and got.tolist() == want
