"""Higher-order gradients: create_graph=True, gradgradcheck, autograd.functional, against PyTorch and finite
differences.

Stored vectors (tests/vectors/higher_order.npz, made by tools/gen_higher_vectors.py from real PyTorch)
are checked always; the same cases run live on PyTorch when it is installed.
"""
from __future__ import annotations

import gc
import json
import hashlib
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import autotrain.engine as E
from autotrain.engine.gradcheck import gradgradcheck, op_cases
from autotrain.engine.ops import OPS

sys.path.insert(0, str(Path(__file__).parent))
import higher_cases  # noqa: E402

VECTORS = Path(__file__).parent / "vectors"
try:
    import torch
except ImportError:  # CI without the oracle: the stored vectors still check every case
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")


def _close(expected, actual, rtol=1e-9):
    expected, actual = np.asarray(expected), np.asarray(actual)
    assert expected.shape == actual.shape
    scale = np.abs(expected) + (np.abs(expected).max() if expected.size else 0.0) + 1e-300
    assert np.all(np.abs(expected - actual) <= rtol * scale), np.abs(expected - actual).max()


def test_stored_vectors_are_current():
    meta = json.loads((VECTORS / "higher_order.json").read_text())
    digest = hashlib.sha256((Path(__file__).parent / "higher_cases.py").read_bytes()).hexdigest()
    assert meta["cases_sha256"] == digest, "tests/higher_cases.py changed: run tools/gen_higher_vectors.py"
    assert meta["cases"] == sorted(higher_cases.CASES)


@pytest.mark.parametrize("name", sorted(higher_cases.CASES))
def test_second_derivatives_match_stored_pytorch(name):
    stored = np.load(VECTORS / "higher_order.npz", allow_pickle=False)
    mine = higher_cases.second_order(E, name)
    keys = sorted(k for k in stored.files if k.startswith(name + "::"))
    assert keys == sorted(mine)
    for key in keys:
        _close(stored[key], mine[key])


@needs_torch
@pytest.mark.parametrize("name", sorted(higher_cases.CASES))
def test_second_derivatives_match_live_pytorch(name):
    reference = higher_cases.second_order(torch, name)
    mine = higher_cases.second_order(E, name)
    # BCE's gradient is PyTorch's (p - y) / max(p (1 - p), eps), differentiated in another order of rounding
    rtol = 1e-9 if name == "binary_cross_entropy" else 1e-12
    for key, value in reference.items():
        _close(value, mine[key], rtol=rtol)


def test_every_differentiable_op_has_a_second_order_case():
    """Each op whose backward is differentiable appears in some case's recorded graph."""
    seen, alive = set(), []  # nodes kept alive, so no id is reused by a later case's node
    for name in higher_cases.CASES:
        fn, shapes = higher_cases.CASES[name][:2]
        inputs = [E.tensor(a, requires_grad=True) for a in higher_cases.make_inputs(name)]
        stack = [fn(E, *inputs).grad_fn]
        while stack:
            node = stack.pop()
            if node is None or isinstance(node, E.Tensor) or id(node) in seen:
                continue
            seen.add(id(node))
            alive.append(node)
            op = getattr(node, "op", None)
            if op is not None:
                seen.add(op.name)
            stack.extend(e for e, _ in node.next_functions)
    differentiable = {n for n, op in OPS.items() if op.differentiable and not op.no_derivative}
    assert differentiable - seen == set()


@pytest.mark.parametrize("case", op_cases(), ids=lambda c: f"{c.op_name}[{c.label}]")
def test_gradgradcheck_every_op_case(case):
    inputs = case.make_inputs(np.random.default_rng(0), np.float64)
    assert gradgradcheck(case.fn, inputs)


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class WrongSquare(E.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * 2 * x.detach() * 1.0 + g * 0.0 * x  # first derivative right, second wrong (x detached)

    x = E.tensor(np.array([0.3, -1.2, 2.0]), requires_grad=True)
    assert E.autograd.gradcheck(WrongSquare.apply, (x,))
    assert not gradgradcheck(WrongSquare.apply, (x,), raise_exception=False)


def test_create_graph_grad_is_differentiable_and_first_order_path_unchanged():
    x = E.tensor([1.0, 2.0, 3.0], dtype=E.float64, requires_grad=True)
    g, = E.autograd.grad((x ** 3).sum(), x, create_graph=True)
    assert g.requires_grad and g.grad_fn is not None
    h, = E.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * x.detach().numpy())
    y = (x ** 3).sum()
    y.backward()
    assert x.grad.grad_fn is None and not x.grad.requires_grad


def test_backward_create_graph_leaves_a_differentiable_grad():
    x = E.tensor([0.5, -1.5], dtype=E.float64, requires_grad=True)
    (E.sin(x) * x).sum().backward(create_graph=True)
    first = x.grad
    assert first.requires_grad
    x.grad = None
    first.sum().backward()
    xs = np.array([0.5, -1.5])
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos(xs) - xs * np.sin(xs), rtol=1e-14)


def test_backward_inputs_accumulates_only_there():
    a = E.tensor([1.0, 2.0], requires_grad=True)
    b = E.tensor([3.0, 4.0], requires_grad=True)
    h = a * b
    (h * h).sum().backward(inputs=[a])
    np.testing.assert_allclose(a.grad.numpy(), 2 * np.array([1.0, 2.0]) * np.array([9.0, 16.0]))
    assert b.grad is None
    h2 = a * b
    (h2 * 2).sum().backward(inputs=[h2, b])
    np.testing.assert_allclose(h2.grad.numpy(), [2.0, 2.0])
    np.testing.assert_allclose(b.grad.numpy(), [2.0, 4.0])
    with pytest.raises(RuntimeError, match="cannot be empty"):
        (a * 2).sum().backward(inputs=[])


def test_retain_grad_under_create_graph():
    x = E.tensor([1.0, 2.0], dtype=E.float64, requires_grad=True)
    y = x * x
    y.retain_grad()
    (y * y).sum().backward(create_graph=True)
    np.testing.assert_allclose(y.grad.detach().numpy(), [2.0, 8.0])
    assert y.grad.requires_grad


def test_grad_outputs_that_require_grad_stay_in_the_graph():
    """The double-backward identity: d/dv (v^T J) w = J w (what jvp is built on)."""
    x = E.tensor([0.3, 0.7], dtype=E.float64, requires_grad=True)
    v = E.zeros(2, dtype=E.float64, requires_grad=True)
    g, = E.autograd.grad(E.sin(x) * x, x, v, create_graph=True)
    jw, = E.autograd.grad(g, v, E.tensor([1.0, 2.0], dtype=E.float64))
    xs = np.array([0.3, 0.7])
    np.testing.assert_allclose(jw.numpy(), (np.cos(xs) * xs + np.sin(xs)) * [1.0, 2.0], rtol=1e-14)


def _mlp(t, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(8, 4), (8,), (1, 8), (1,)]
    return [t.tensor(rng.standard_normal(s) * 0.5, dtype=t.float64, requires_grad=True) for s in shapes]


def _forward(t, params, x):
    w1, b1, w2, b2 = params
    return t.nn.functional.linear(t.tanh(t.nn.functional.linear(x, w1, b1)), w2, b2)


def _wgan_gp(t, steps=20):
    params = _mlp(t)
    opt = t.optim.Adam(params, lr=1e-2)
    rng = np.random.default_rng(3)
    losses = []
    for _ in range(steps):
        real = t.tensor(rng.standard_normal((6, 4)) + 1.0, dtype=t.float64)
        fake = t.tensor(rng.standard_normal((6, 4)), dtype=t.float64)
        eps = t.tensor(rng.random((6, 1)), dtype=t.float64)
        mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
        score = _forward(t, params, mixed)
        grad, = t.autograd.grad(score.sum(), mixed, create_graph=True)
        penalty = ((grad.pow(2).sum(dim=1).sqrt() - 1) ** 2).mean()
        loss = _forward(t, params, fake).mean() - _forward(t, params, real).mean() + 10 * penalty
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [p.detach().numpy().copy() for p in params]


def _hvp(t):
    params = _mlp(t, 1)
    rng = np.random.default_rng(5)
    x = t.tensor(rng.standard_normal((10, 4)), dtype=t.float64)
    y = t.tensor(rng.standard_normal((10, 1)), dtype=t.float64)
    loss = t.nn.functional.mse_loss(_forward(t, params, x), y)
    grads = t.autograd.grad(loss, params, create_graph=True)
    vs = [t.tensor(rng.standard_normal(tuple(p.shape)), dtype=t.float64) for p in params]
    dot = sum((g * v).sum() for g, v in zip(grads, vs))
    return [h.numpy() for h in t.autograd.grad(dot, params)]


def _newton(t):
    x = t.tensor(2.0, dtype=t.float64, requires_grad=True)
    path = []
    for _ in range(8):
        f = x ** 4 - 3 * x ** 2 + t.exp(0.1 * x)
        g, = t.autograd.grad(f, x, create_graph=True)
        h, = t.autograd.grad(g, x)
        with t.no_grad():
            x -= g / h
        path.append(x.item())
    return path


def test_newton_matches_a_hand_derived_second_derivative():
    path = _newton(E)
    x = 2.0
    for step in path:
        g = 4 * x ** 3 - 6 * x + 0.1 * np.exp(0.1 * x)
        h = 12 * x ** 2 - 6 + 0.01 * np.exp(0.1 * x)
        x -= g / h
        assert abs(step - x) <= 1e-12 * max(1.0, abs(x))


@needs_torch
def test_wgan_gradient_penalty_matches_pytorch():
    losses, params = _wgan_gp(E)
    ref_losses, ref_params = _wgan_gp(torch)
    _close(ref_losses, losses)
    for p, q in zip(ref_params, params):
        _close(p, q)


@needs_torch
def test_hessian_vector_product_matches_pytorch():
    for p, q in zip(_hvp(torch), _hvp(E)):
        _close(p, q)


@needs_torch
def test_newton_matches_pytorch():
    _close(_newton(torch), _newton(E))


def test_hvp_matches_finite_differences_of_the_gradient():
    rng = np.random.default_rng(5)
    x = E.tensor(rng.standard_normal((10, 4)), dtype=E.float64)
    y = E.tensor(rng.standard_normal((10, 1)), dtype=E.float64)

    def grad_at(flat):
        params = _unflatten(flat)
        loss = E.nn.functional.mse_loss(_forward(E, params, x), y)
        return np.concatenate([g.numpy().ravel() for g in E.autograd.grad(loss, params)])

    flat = np.concatenate([p.detach().numpy().ravel() for p in _mlp(E, 1)])
    v = rng.standard_normal(flat.size)
    eps = 1e-6
    numerical = (grad_at(flat + eps * v) - grad_at(flat - eps * v)) / (2 * eps)
    params = _unflatten(flat)
    loss = E.nn.functional.mse_loss(_forward(E, params, x), y)
    grads = E.autograd.grad(loss, params, create_graph=True)
    vs = np.split(v, np.cumsum([p.numel() for p in params])[:-1])
    dot = sum((g * E.tensor(vi.reshape(g.shape))).sum() for g, vi in zip(grads, vs))
    analytical = np.concatenate([h.numpy().ravel() for h in E.autograd.grad(dot, params)])
    np.testing.assert_allclose(analytical, numerical, rtol=1e-6, atol=1e-8)


def _unflatten(flat):
    shapes = [(8, 4), (8,), (1, 8), (1,)]
    out, start = [], 0
    for s in shapes:
        n = int(np.prod(s))
        out.append(E.tensor(flat[start:start + n].reshape(s), requires_grad=True))
        start += n
    return out


def _functional_fn(t):
    def fn(x, w):
        return t.tanh(w @ x) ** 2
    return fn


def _scalar_fn(t):
    def fn(x, w):
        return (t.tanh(w @ x) ** 2).sum() + (x * x * x).sum()
    return fn


@needs_torch
@pytest.mark.parametrize("name", ["jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"])
def test_autograd_functional_matches_pytorch(name):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(3), rng.standard_normal((2, 3))]

    def run(t):
        inputs = tuple(t.tensor(a, dtype=t.float64) for a in arrays)
        fn = (_functional_fn if name in ("jacobian", "vjp", "jvp") else _scalar_fn)(t)
        call = getattr(t.autograd.functional, name)
        if name in ("jacobian", "hessian"):
            result = call(fn, inputs)
        else:
            v = t.tensor(np.ones(2) * 0.5, dtype=t.float64) if name == "vjp" else tuple(
                t.tensor(np.full(a.shape, 0.3), dtype=t.float64) for a in arrays)
            result = call(fn, inputs, v)
        return _leaves(result)

    for p, q in zip(run(torch), run(E)):
        _close(p.detach().numpy(), q.detach().numpy())


def _leaves(value):
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def test_hessian_of_a_quadratic_is_its_matrix():
    a = np.array([[2.0, 1.0], [1.0, 3.0]])
    h = E.autograd.functional.hessian(lambda x: x @ E.tensor(a) @ x / 2, E.tensor([0.4, -0.2], dtype=E.float64))
    np.testing.assert_allclose(h.numpy(), a, rtol=1e-15)


def test_set_default_device_and_accelerator():
    assert E.get_default_device() == E.device("cpu")
    E.set_default_device("cpu")
    try:
        assert E.linspace(0, 1, 3).device == E.device("cpu")
    finally:
        E.set_default_device(None)
    assert E.accelerator.is_available() == E.cuda.is_available()
    assert (E.accelerator.current_accelerator() is None) == (not E.cuda.is_available())


@pytest.mark.slow
def test_memory_stays_flat_over_1000_create_graph_steps():
    params = _mlp(E)
    opt = E.optim.SGD(params, lr=1e-3)
    x = E.tensor(np.random.default_rng(0).standard_normal((6, 4)), requires_grad=True)

    def step():
        grad, = E.autograd.grad(_forward(E, params, x).sum(), x, create_graph=True)
        loss = (grad * grad).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(50):
        step()
    gc.collect()
    tracemalloc.start()
    for _ in range(100):
        step()
    gc.collect()
    early, _ = tracemalloc.get_traced_memory()
    for _ in range(900):
        step()
    gc.collect()
    late, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert late - early < 200_000, (early, late)


def test_third_derivative():
    x = E.tensor([0.5, -1.0], dtype=E.float64, requires_grad=True)
    g, = E.autograd.grad((x ** 4).sum(), x, create_graph=True)
    h, = E.autograd.grad(g.sum(), x, create_graph=True)
    k, = E.autograd.grad(h.sum(), x)
    np.testing.assert_allclose(k.numpy(), 24 * np.array([0.5, -1.0]), rtol=1e-15)


class _TwoOutputs(E.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x, x * 3

    @staticmethod
    def backward(ctx, ga, gb):
        x, = ctx.saved_tensors
        return ga * 2 * x + gb * 3


def test_function_with_two_outputs_second_derivative_and_an_unused_output():
    x = E.tensor([1.0, 2.0], dtype=E.float64, requires_grad=True)
    a, b = _TwoOutputs.apply(x)
    g, = E.autograd.grad((a * b).sum(), x, create_graph=True)  # d/dx 3x^3 = 9x^2
    np.testing.assert_allclose(E.autograd.grad(g.sum(), x)[0].numpy(), [18.0, 36.0])
    a, _ = _TwoOutputs.apply(x)
    g, = E.autograd.grad(a.sum(), x, create_graph=True)  # the unused output's gradient is zeros
    np.testing.assert_allclose(E.autograd.grad(g.sum(), x)[0].numpy(), [2.0, 2.0])


def test_degenerate_inputs_under_create_graph():
    x = E.tensor(1.5, requires_grad=True)  # 0-d float32
    g, = E.autograd.grad(E.sin(x) * x, x, create_graph=True)
    h, = E.autograd.grad(g, x)
    assert g.dtype == h.dtype == E.float32 and h.shape == ()
    np.testing.assert_allclose(h.item(), 2 * np.cos(1.5) - 1.5 * np.sin(1.5), rtol=1e-6)
    empty = E.zeros(0, 3, dtype=E.float64, requires_grad=True)
    g, = E.autograd.grad((empty * empty).sum(), empty, create_graph=True)
    assert g.shape == (0, 3) and E.autograd.grad(g.sum(), empty)[0].shape == (0, 3)
    a = E.tensor([1.0, 2.0], requires_grad=True)
    b = E.tensor([3.0, 4.0], dtype=E.float64, requires_grad=True)
    ga, gb = E.autograd.grad((a * b * a).sum(), [a, b], create_graph=True)  # promoted inside, own dtypes out
    assert (ga.dtype, gb.dtype) == (E.float32, E.float64)
    ha, hb = E.autograd.grad(ga.sum() + gb.sum(), [a, b])
    np.testing.assert_allclose(ha.numpy(), [8.0, 12.0])
    np.testing.assert_allclose(hb.numpy(), [2.0, 4.0])


def test_function_gradient_of_a_wrong_shape_is_refused_under_create_graph():
    class Bad(E.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return E.ones(5)

    x = E.tensor([1.0, 2.0], requires_grad=True)
    for create_graph in (False, True):
        with pytest.raises(RuntimeError, match=r"invalid gradient at index 0 - got \[5\]"):
            E.autograd.grad(Bad.apply(x).sum(), x, create_graph=create_graph)
