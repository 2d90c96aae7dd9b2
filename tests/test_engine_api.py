"""The PyTorch surface a user expects from autotrain.engine, checked against hand-computed values."""
import ast
import pathlib

import numpy as np
import pytest

import autotrain.engine as torch
from autotrain.engine import backend


def f64(*shape, requires_grad=True, seed=0):
    return torch.tensor(np.random.default_rng(seed).standard_normal(shape), dtype=torch.float64,
                        requires_grad=requires_grad)


# ----------------------------------------------------------------- creation, dtypes, devices
def test_creation_functions_take_dtype_device_requires_grad():
    for make in (torch.randn, torch.rand, torch.zeros, torch.ones):
        t = make(2, 3, dtype=torch.double, device=torch.device("cpu"), requires_grad=True)
        assert t.shape == (2, 3) and t.dtype == torch.float64 and t.requires_grad and t.is_leaf
        assert t.device == torch.device("cpu")
    assert torch.randn((4,)).dtype == torch.float32 == torch.float
    assert torch.tensor([1.0, 2.0]).dtype == torch.float32
    assert torch.zeros_like(torch.ones(2, dtype=torch.float64)).dtype == torch.float64
    assert torch.ones_like(torch.zeros(3)).numpy().tolist() == [1.0, 1.0, 1.0]


def test_manual_seed_makes_random_tensors_reproducible():
    torch.manual_seed(7)
    a = torch.randn(3, 3).numpy().copy()
    torch.manual_seed(7)
    assert np.array_equal(a, torch.randn(3, 3).numpy())


def test_from_numpy_shares_memory():
    arr = np.zeros(3)
    t = torch.from_numpy(arr)
    arr[0] = 5
    assert t[0].item() == 5


def test_device_parsing():
    assert str(torch.device("cuda:0")) == "cuda:0" and torch.device("cuda").type == "cuda"
    assert torch.device("cuda:1").index == 1
    with pytest.raises(ValueError, match="device"):
        torch.device("tpu")


def test_cuda_without_cupy_or_gpu_is_one_clear_sentence():
    try:
        backend.check_device("cuda")
    except torch.DeviceUnavailableError as exc:
        assert "pip install 'autotrain[cuda]'" in str(exc)
    else:
        pytest.skip("a GPU with CuPy is present")


@pytest.mark.cuda
def test_cuda_training_matches_cpu():
    try:
        backend.check_device("cuda")
    except torch.DeviceUnavailableError:
        pytest.skip("no CuPy/GPU here")
    x, w = f64(8, 5, requires_grad=False), f64(5, 3, seed=1)
    wc = w.detach().to("cuda").requires_grad_()
    xc = x.to("cuda")
    (x.mm(w).clamp(min=0) ** 2).sum().backward()
    (xc.mm(wc).clamp(min=0) ** 2).sum().backward()
    assert wc.grad.device.type == "cuda"
    np.testing.assert_allclose(backend.to_numpy(wc.grad._data), w.grad.numpy(), rtol=1e-10)


# ----------------------------------------------------------------- tensor attributes
def test_tensor_attributes():
    w = f64(2, 3)
    assert w.ndim == 2 and w.T.shape == (3, 2) and w.t().shape == (3, 2) and w.grad is None
    assert w.grad_fn is None and w.is_leaf
    y = w * 2
    assert not y.is_leaf and y.grad_fn is not None and "MulBackward" in repr(y.grad_fn)
    assert y.detach().grad_fn is None and not y.detach().requires_grad
    assert y.data.requires_grad is False and np.shares_memory(y.data.numpy(), y.detach().numpy())
    assert w.to(torch.float32).dtype == torch.float32
    assert w.clone().grad_fn is not None
    with pytest.raises(RuntimeError, match="requires grad"):
        w.numpy()
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        w.item()


def test_comparisons_return_bool_tensors_without_grad():
    x = f64(4)
    mask = x < 0
    assert mask.dtype == np.bool_ and not mask.requires_grad
    assert (x >= 0).numpy().tolist() == (x.detach().numpy() >= 0).tolist()


# ----------------------------------------------------------------- gradients
def test_gradients_accumulate_until_zeroed():
    w = f64(3)
    (w * 2).sum().backward()
    (w * 3).sum().backward()
    assert np.allclose(w.grad.numpy(), 5.0)
    w.grad.zero_()
    (w * 4).sum().backward()
    assert np.allclose(w.grad.numpy(), 4.0)


def test_zeroed_grad_tensor_keeps_identity_and_is_updated():
    w = f64(3)
    (w * 2).sum().backward()
    g = w.grad
    g.zero_()
    (w * 7).sum().backward()
    assert w.grad is g and np.allclose(g.numpy(), 7.0)


def test_broadcasting_gradients_are_reduced_to_input_shapes():
    a, b = f64(4, 3), f64(3, seed=1)
    (a * b + 1.0 - b / 2.0).sum().backward()
    assert b.grad.shape == (3,)
    np.testing.assert_allclose(b.grad.numpy(), a.detach().numpy().sum(0) - 4 * 0.5)
    np.testing.assert_allclose(a.grad.numpy(), np.broadcast_to(b.detach().numpy(), (4, 3)))


def test_python_scalars_on_either_side():
    x = f64(3)
    y = 2.0 - x * 3 + 1 / (x + 10) + 2 ** x + x ** 2
    y.sum().backward()
    xv = x.detach().numpy()
    expected = -3 - 1 / (xv + 10) ** 2 + np.log(2) * 2 ** xv + 2 * xv
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


def test_diamond_graph_sums_both_paths():
    x = f64(3)
    h = x * 3
    (h * h + h).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * (2 * 3 * x.detach().numpy() + 1))


def test_deep_graph_does_not_recurse():
    x = f64(2)
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.sum().backward()
    assert np.allclose(x.grad.numpy(), 1.0)


def test_tie_conventions_follow_pytorch():
    x = torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64, requires_grad=True)
    x.clamp(min=0).sum().backward()
    assert x.grad.numpy().tolist() == [0.0, 1.0, 1.0]  # clamp passes the gradient at the bound
    x.grad = None
    x.relu().sum().backward()
    assert x.grad.numpy().tolist() == [0.0, 0.0, 1.0]  # relu does not
    a = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([1.0, 3.0], dtype=torch.float64, requires_grad=True)
    torch.maximum(a, b).sum().backward()
    assert a.grad.numpy().tolist() == [0.5, 0.0] and b.grad.numpy().tolist() == [0.5, 1.0]


def test_indexing_and_masked_assignment():
    x = f64(4, 3)
    x[1:3, 0].sum().backward()
    expected = np.zeros((4, 3))
    expected[1:3, 0] = 1
    assert np.array_equal(x.grad.numpy(), expected)
    x.grad = None
    x[x > 0].sum().backward()
    assert np.array_equal(x.grad.numpy(), (x.detach().numpy() > 0).astype(float))
    g = x.detach().clone()
    g[g < 0] = 0
    assert (g.numpy() >= 0).all()


def test_sum_mean_reshape_transpose_gradients():
    x = f64(2, 3, 4)
    y = x.sum(dim=1, keepdim=True).mean(dim=(0, 2)).reshape(1) + x.transpose(0, 2).reshape(-1).sum()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 / 8 + 1)


def test_no_grad_context_and_decorator():
    w = f64(3)
    with torch.no_grad():
        assert not torch.is_grad_enabled()
        assert (w * 2).grad_fn is None
        with torch.enable_grad():
            assert (w * 2).grad_fn is not None

    @torch.no_grad()
    def doubled(t):
        return t * 2

    assert doubled(w).grad_fn is None and torch.is_grad_enabled()
    with torch.set_grad_enabled(False):
        assert (w * 2).grad_fn is None
    assert torch.is_grad_enabled()


def test_autograd_grad_returns_gradients_without_touching_grad():
    x = f64(3)
    h = x * x
    (gx, gh) = torch.autograd.grad((h * 3).sum(), [x, h])
    np.testing.assert_allclose(gx.numpy(), 6 * x.detach().numpy())
    np.testing.assert_allclose(gh.numpy(), 3.0)
    assert x.grad is None


# ----------------------------------------------------------------- errors a user can act on
def test_backward_errors():
    w = f64(3)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (w * 2).backward()
    loss = (w * w).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(w.grad.numpy(), 3 * 2 * w.detach().numpy())
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.ones(2).sum().backward()


def test_inplace_on_leaf_requiring_grad_needs_no_grad():
    w = f64(3)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad .* in-place"):
        w -= 1.0
    with pytest.raises(RuntimeError, match="in-place"):
        w.zero_()
    with torch.no_grad():
        w -= 1.0
        w.sub_(1.0), w.add_(0.5), w.mul_(2.0)


def test_modifying_a_saved_tensor_is_detected():
    w = f64(3)
    loss = (w * w).sum()
    with torch.no_grad():
        w += 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_inplace_on_non_leaf_is_recorded():
    x = f64(3)
    h = x * 2
    h += x
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3.0)


def test_shape_and_dtype_mismatch_messages_name_both_shapes():
    with pytest.raises(RuntimeError, match=r"\(3, 4\).*\(5,\)"):
        torch.ones(3, 4) + torch.ones(5)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied \\(64x1000 and 100x10\\)"):
        torch.ones(64, 1000).mm(torch.ones(100, 10))
    with pytest.raises(RuntimeError, match="same dtype"):
        torch.ones(2, 2).mm(torch.ones(2, 2, dtype=torch.float64))


# ----------------------------------------------------------------- custom Functions
class ScaleAndShift(torch.autograd.Function):
    """Two outputs and a non-tensor argument."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x * scale, x + 1

    @staticmethod
    def backward(ctx, g_scaled, g_shifted):
        assert ctx.needs_input_grad == (True, False)
        return g_scaled * ctx.scale + g_shifted, None


def test_custom_function_with_two_outputs_and_a_non_tensor_argument():
    x = f64(3)
    scaled, shifted = ScaleAndShift.apply(x, 4.0)
    (scaled.sum() + 2 * shifted.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), 4.0 + 2.0)
    x.grad = None
    scaled, _ = ScaleAndShift.apply(x, 4.0)
    scaled.sum().backward()  # the unused output's gradient arrives as zeros
    np.testing.assert_allclose(x.grad.numpy(), 4.0)


def test_custom_function_backward_mistakes_are_reported():
    class TooMany(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g, g

    class WrongShape(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return torch.ones(7)

    with pytest.raises(RuntimeError, match="incorrect number of gradients \\(expected 1, got 2\\)"):
        TooMany.apply(f64(3)).sum().backward()
    with pytest.raises(RuntimeError, match="invalid gradient at index 0"):
        WrongShape.apply(f64(3)).sum().backward()


def test_custom_function_saved_tensors_are_freed_and_version_checked():
    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = f64(3)
    y = Square.apply(x)
    with torch.no_grad():
        x.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    y = Square.apply(x)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.grad_fn.saved_tensors


# ----------------------------------------------------------------- architecture
def test_engine_imports_nothing_from_the_rest_of_autotrain():
    engine = pathlib.Path(torch.__file__).parent
    for path in engine.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                assert not node.module.startswith("autotrain") or node.module.startswith("autotrain.engine"), path
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                depth = len(path.relative_to(engine).parts) - 1
                assert node.level <= depth + 1, f"{path} imports from outside the engine"
