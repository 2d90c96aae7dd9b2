"""Cases where the engine ran and gave wrong numbers, and their classes.

Oracles are hand-derived gradients (each test says how), finite differences (the engine's
gradcheck) and, in test_engine_torch_semantics.py, live PyTorch.  Every test here failed on the
engine before this change (or checks a member of the same class the issue did not list).
"""
import numpy as np
import pytest

import autotrain.engine as torch
from autotrain.engine.autograd import gradcheck


def vec(*values, requires_grad=True, dtype=None):
    return torch.tensor(list(values), dtype=dtype or torch.float64, requires_grad=requires_grad)


def grads(*tensors):
    return [t.grad.numpy().tolist() for t in tensors]


# ----------------------------------------------------------------- assignment into graph tensors (CopySlices)
def test_assignment_into_a_computed_tensor_blocks_the_gradient_of_the_written_region():
    x = vec(1.0, 2.0, 3.0)
    y = x * 2
    y[0] = 0
    y.sum().backward()
    assert grads(x) == [[0.0, 2.0, 2.0]]  # d(2x)/dx = 2, except where the constant 0 was written


def test_tutorial_relu_by_masked_assignment_trains_like_clamp():
    def losses(relu):
        torch.manual_seed(0)
        x, y = torch.randn(8, 5, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)
        w1 = torch.randn(5, 6, dtype=torch.float64, requires_grad=True)
        w2 = torch.randn(6, 2, dtype=torch.float64, requires_grad=True)
        out = []
        for _ in range(5):
            loss = (relu(x.mm(w1)).mm(w2) - y).pow(2).sum()
            out.append(loss.item())
            loss.backward()
            with torch.no_grad():
                w1 -= 1e-3 * w1.grad
                w2 -= 1e-3 * w2.grad
                w1.grad.zero_()
                w2.grad.zero_()
        return out

    def tutorial_relu(h):
        h_relu = h.clone()
        h_relu[h < 0] = 0
        return h_relu

    np.testing.assert_allclose(losses(tutorial_relu), losses(lambda h: h.clamp(min=0)), rtol=1e-12)


@pytest.mark.parametrize("key", [1, slice(1, 3), "mask", "ints", (slice(None), 0)], ids=str)
def test_assigned_tensor_gets_the_gradient_of_the_region_it_wrote(key):
    x = torch.tensor(np.arange(1.0, 7.0).reshape(3, 2), dtype=torch.float64, requires_grad=True)
    h = x * 3
    region = {"mask": np.array([True, False, True]), "ints": np.array([2, 0])}[key] if isinstance(key, str) else key
    shape = np.empty((3, 2))[region].shape
    w = torch.tensor(np.full(shape, 0.5), dtype=torch.float64, requires_grad=True)
    h[torch.tensor(region) if isinstance(region, np.ndarray) else region] = w * w
    weights = torch.tensor(np.arange(6.0).reshape(3, 2), dtype=torch.float64)
    (h * weights).sum().backward()
    expected_x = np.full((3, 2), 3.0) * weights.numpy()
    expected_x[region] = 0  # overwritten entries no longer depend on x
    np.testing.assert_allclose(x.grad.numpy(), expected_x)
    np.testing.assert_allclose(w.grad.numpy(), 2 * 0.5 * weights.numpy()[region])  # d(w^2)/dw * weight


def test_assignment_broadcasts_and_sums_the_value_gradient():
    h = vec(1.0, 2.0, 3.0, 4.0) * 1
    w = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    h[1:] = w
    (h * vec(1.0, 2.0, 3.0, 4.0, requires_grad=False)).sum().backward()
    assert w.grad.item() == 2.0 + 3.0 + 4.0


def test_assignment_with_a_negative_index_reading_the_same_tensor():
    x = vec(1.0, 2.0, 3.0)
    y = x * 1
    y[-1] = y[0] * 10  # the value is read before the write, as in PyTorch
    y.sum().backward()
    assert grads(x) == [[11.0, 1.0, 0.0]]


def test_assignment_into_a_plain_tensor_from_a_tensor_that_requires_grad():
    w = vec(2.0, 3.0)
    buffer = torch.zeros(4, dtype=torch.float64)
    buffer[1:3] = w * 2
    assert buffer.requires_grad and not buffer.is_leaf
    (buffer * vec(1.0, 2.0, 3.0, 4.0, requires_grad=False)).sum().backward()
    assert grads(w) == [[4.0, 6.0]]


# ----------------------------------------------------------------- in-place on non-leaves
def test_in_place_change_after_use_does_not_reroute_the_earlier_use():
    a = vec(1.0, 2.0, 3.0)
    h = a * 1
    loss = (h + 1).sum()
    h.mul_(2)
    loss.backward()
    assert grads(a) == [[1.0, 1.0, 1.0]]  # the loss used h before it was doubled


@pytest.mark.parametrize("change", ["add_", "sub_", "div_", "iadd", "setitem", "zero_"])
def test_each_in_place_form_after_use_leaves_earlier_uses_alone(change):
    a = vec(1.0, 2.0)
    h = a * 3
    loss = (h * 2).sum()  # mul by a constant reads only the constant
    {"add_": lambda: h.add_(1), "sub_": lambda: h.sub_(1), "div_": lambda: h.div_(2),
     "iadd": lambda: h.__iadd__(1), "setitem": lambda: h.__setitem__(0, 5.0), "zero_": h.zero_}[change]()
    loss.backward()
    assert grads(a) == [[6.0, 6.0]]


def test_in_place_on_a_tensor_saved_for_backward_raises_pytorchs_error():
    a = vec(1.0, 2.0, 3.0)
    h = a * 1
    loss = (h * h).sum()  # mul saves both operands
    h.mul_(2)
    with pytest.raises(RuntimeError, match="one of the variables needed for gradient computation has been "
                                           "modified by an inplace operation"):
        loss.backward()


@pytest.mark.parametrize("use", ["exp", "sigmoid", "tanh", "relu", "log", "sqrt"])
def test_saved_input_or_output_changed_in_place_is_caught(use):
    a = vec(1.0, 2.0)
    h = a * 1
    out = getattr(h, use)()  # saves h, or its own output
    loss = out.sum()
    h.add_(1) if use == "log" else out.add_(1)  # relu saves its output, as PyTorch's threshold_backward
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


@pytest.mark.parametrize("use", ["relu", "div", "where"])
def test_changing_an_input_that_backward_does_not_read_is_allowed(use):
    a = vec(1.0, -2.0)
    h = a * 1
    out = {"relu": lambda: h.relu(), "div": lambda: 1.0 / (h * 0 + 2) + h / 4,
           "where": lambda: torch.where(h > 0, h, h * 3)}[use]()
    h.add_(10)  # relu keeps its result, a / b keeps b, where keeps its condition: as PyTorch
    out.sum().backward()
    expected = {"relu": [1.0, 0.0], "div": [0.25, 0.25], "where": [1.0, 3.0]}[use]
    assert grads(a) == [expected]


def test_in_place_with_an_operand_that_requires_grad_uses_the_original_value():
    a, w = vec(1.0, 2.0, 3.0), vec(2.0, 3.0, 4.0)
    h = a * 1
    h.mul_(w)
    h.sum().backward()
    assert grads(a, w) == [[2.0, 3.0, 4.0], [1.0, 2.0, 3.0]]  # d(a*w)/dw = a before the change


def test_in_place_unary_ops_are_recorded():
    a = vec(0.5, 1.0)
    h = a * 2
    h.exp_()
    h.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * np.exp([1.0, 2.0]))  # d exp(2a)/da


def test_in_place_on_a_leaf_requiring_grad_raises():
    a = vec(1.0, 2.0)
    for change in (lambda: a.add_(1), lambda: a.sin_(), lambda: a.clamp_(min=0), lambda: a.copy_(a * 2)):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            change()
    with torch.no_grad():
        a.add_(1)
    assert a.tolist() == [2.0, 3.0]


def test_in_place_whose_result_needs_a_wider_dtype_is_refused():
    x = torch.tensor([1, 2])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        x += 0.5
    x += 1
    assert x.tolist() == [2, 3] and x.dtype == torch.int64


# ----------------------------------------------------------------- views share storage and history
def test_in_place_through_a_slice_updates_the_base_value_and_gradient():
    a = vec(1.0, 2.0, 3.0)
    h = a * 1
    v = h[:2]
    v.mul_(3)
    assert h.tolist() == [3.0, 6.0, 3.0]
    h.sum().backward()
    assert grads(a) == [[3.0, 3.0, 1.0]]


def test_view_sees_a_later_in_place_change_of_its_base():
    a = vec(1.0, 2.0, 3.0)
    h = a * 1
    v = h[1:]
    h.mul_(2)
    assert v.tolist() == [4.0, 6.0]
    (v * v).sum().backward()
    assert grads(a) == [[0.0, 16.0, 24.0]]  # d (2a)^2 / da = 8a on the viewed entries


@pytest.mark.parametrize("make_view", ["transpose", "T", "view", "reshape", "squeeze", "unsqueeze", "index",
                                       "flatten", "permute"])
def test_every_view_kind_writes_through_to_its_base(make_view):
    a = torch.tensor(np.arange(1.0, 7.0).reshape(2, 3), dtype=torch.float64, requires_grad=True)
    h = a * 1
    v = {"transpose": lambda: h.transpose(0, 1), "T": lambda: h.T, "view": lambda: h.view(3, 2),
         "reshape": lambda: h.reshape(6), "squeeze": lambda: h.unsqueeze(0).squeeze(0),
         "unsqueeze": lambda: h.unsqueeze(1), "index": lambda: h[1], "flatten": lambda: h.flatten(),
         "permute": lambda: h.permute(1, 0)}[make_view]()
    v.mul_(2)
    assert np.array_equal(h.detach().numpy(), 2 * np.arange(1.0, 7.0).reshape(2, 3)) if make_view != "index" else \
        h.tolist() == [[1.0, 2.0, 3.0], [8.0, 10.0, 12.0]]
    (h * h).sum().backward()
    factor = np.full((2, 3), 2.0) if make_view != "index" else np.array([[1.0], [2.0]])
    np.testing.assert_allclose(a.grad.numpy(), 2 * factor ** 2 * np.arange(1.0, 7.0).reshape(2, 3))


def test_chained_views_and_in_place_read_of_the_view_itself():
    a = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=torch.float64, requires_grad=True)
    h = a * 1
    v = h.view(-1)[1:4]
    v.add_(v * 2)  # v * 2 reads only the constant: changing v afterwards is fine
    assert h.tolist() == [[1.0, 6.0, 9.0], [12.0, 5.0, 6.0]]
    (h * h).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [[2.0, 36.0, 54.0], [72.0, 10.0, 12.0]])  # 2*h * dh/da


def test_views_of_a_leaf_requiring_grad_cannot_be_changed_in_place():
    w = vec(1.0, 2.0)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        w[0].mul_(2)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        w[:1] = 5.0
    with torch.no_grad():
        w[0] = 5.0
    assert w.tolist() == [5.0, 2.0]


def test_detach_shares_storage_and_version_counter():
    a = vec(1.0, 2.0)
    h = a * 1
    loss = (h * h).sum()
    d = h.detach()
    d.add_(1)
    assert h.tolist() == [2.0, 3.0]
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_writing_through_an_expanded_view_is_refused():
    x = torch.ones(3).expand(2, 3)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        x.add_(1)


def test_in_place_changes_pass_gradcheck():
    def fn(a, w):
        h = a * 1.5
        h[1:] = h[1:].exp() * w  # exp saves its output, not h[1:]: overwriting h is allowed
        v = h[:2]
        v.add_(w[0])
        return h.exp()

    a = torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64, requires_grad=True)
    w = torch.tensor([0.7, 1.1], dtype=torch.float64, requires_grad=True)
    assert gradcheck(fn, (a, w))


# ----------------------------------------------------------------- .grad is an ordinary tensor
def test_a_numpy_view_of_grad_sees_zero_and_accumulation():
    w = vec(1.0, 2.0)
    (w * 3).sum().backward()
    g = w.grad.numpy()
    w.grad.zero_()
    assert g.tolist() == [0.0, 0.0]
    (w * 4).sum().backward()
    assert g.tolist() == [4.0, 4.0]
    (w * 1).sum().backward()
    assert g.tolist() == [5.0, 5.0]


def test_grad_keeps_its_identity_and_tensor_views_of_it_stay_live():
    w = vec(1.0, 2.0)
    (w * 3).sum().backward()
    grad, first = w.grad, w.grad[0]
    w.grad.zero_()
    (w * 7).sum().backward()
    assert w.grad is grad and first.item() == 7.0


def test_optimizer_loop_over_grad_views_matches_hand_sgd():
    w = vec(1.0, -2.0)
    g = None
    for _ in range(3):
        (w * w).sum().backward()
        g = w.grad.numpy() if g is None else g
        with torch.no_grad():
            w -= 0.1 * w.grad
        w.grad.zero_()
    assert g.tolist() == [0.0, 0.0]
    np.testing.assert_allclose(w.detach().numpy(), np.array([1.0, -2.0]) * 0.8 ** 3)  # w <- w - 0.1 * 2w


# ----------------------------------------------------------------- dtype promotion (PyTorch's, not numpy's)
@pytest.mark.parametrize("expr, dtype", [
    (lambda: torch.tensor([1, 2]) / 2, "float32"),
    (lambda: torch.tensor([1, 2]) / torch.tensor([2, 4]), "float32"),
    (lambda: torch.arange(3) * 0.5, "float32"),
    (lambda: torch.ones(2) + torch.tensor([1, 2]), "float32"),
    (lambda: torch.tensor(2.0, dtype=torch.float64) * torch.ones(2), "float32"),
    (lambda: torch.ones(2) * np.float64(2.0), "float32"),
    (lambda: torch.tensor([True]) + 1.5, "float32"),
    (lambda: torch.tensor([True]) + 1, "int64"),
    (lambda: torch.tensor([1, 2], dtype=torch.int32) + torch.tensor(5), "int32"),
    (lambda: torch.tensor([1, 2], dtype=torch.int32) + 5, "int32"),
    (lambda: torch.ones(2, dtype=torch.float16) + torch.tensor([1, 2]), "float16"),
    (lambda: torch.ones(2, dtype=torch.float16) * torch.ones(2), "float32"),
    (lambda: torch.tensor(1.0, dtype=torch.float64) + torch.tensor(1, dtype=torch.int32), "float64"),
    (lambda: torch.tensor([1, 2]).exp(), "float32"),
    (lambda: torch.tensor([1, 2]).sqrt(), "float32"),
    (lambda: torch.where(torch.tensor([True, False]), 1.0, 0.0), "float32"),
    (lambda: torch.tensor([4, 9]) // 2, "int64"),
    (lambda: torch.tensor([4, 9]) % 2.5, "float32"),
    (lambda: torch.tensor([1, 2]) ** 2, "int64"),
    (lambda: torch.tensor([True, False]).sum(), "int64"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_promotion_follows_pytorch(expr, dtype):
    assert str(expr().dtype) == dtype


def test_default_dtype_drives_python_floats_and_int_division():
    torch.set_default_dtype(torch.float64)
    try:
        assert torch.tensor([1.5]).dtype == torch.float64 and torch.zeros(2).dtype == torch.float64
        assert (torch.arange(3) * 0.5).dtype == torch.float64 and (torch.tensor([1]) / 2).dtype == torch.float64
        assert (torch.ones(2, dtype=torch.float32) * 0.5).dtype == torch.float32  # a float tensor keeps its dtype
    finally:
        torch.set_default_dtype(torch.float32)
    with pytest.raises(TypeError, match="floating-point"):
        torch.set_default_dtype(torch.int64)


def test_comparison_is_made_in_the_promoted_dtype():
    # 0.1 rounded to float32 equals the float32 tensor once the 0-d float64 operand is cast, as PyTorch does
    assert (torch.tensor([0.1]) == torch.tensor(0.1, dtype=torch.float64)).tolist() == [True]


def test_gradient_of_a_promoted_operand_comes_back_in_its_own_dtype():
    x = torch.tensor([1.0, 2.0], requires_grad=True)                       # float32
    s = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)        # 0-d float64
    (x * s).sum().backward()
    assert x.grad.dtype == torch.float32 and s.grad.dtype == torch.float64 and s.grad.item() == 3.0


# ----------------------------------------------------------------- pow at 0 (PyTorch's masks)
def test_pow_gradients_at_zero_follow_pytorch():
    x = vec(0.0, 1.0)
    (x ** 0).sum().backward()
    assert grads(x) == [[0.0, 0.0]]                      # d x^0/dx = 0, not 0 * 0^-1 = nan
    a, b = vec(0.0, 1.0), vec(2.0, 2.0)
    (a ** b).sum().backward()
    assert grads(a, b) == [[0.0, 2.0], [0.0, 0.0]]       # d a^b/db = a^b log a, masked to 0 at a = 0
    a, b = vec(0.0, 2.0), vec(0.0, 0.0)
    (a ** b).sum().backward()
    assert grads(a) == [[0.0, 0.0]] and b.grad.tolist()[0] == 0.0
    e = vec(0.0, 1.0)
    (0.0 ** e).sum().backward()
    assert grads(e) == [[0.0, 0.0]]                      # scalar base 0: masked too
    n = vec(0.0, 4.0)
    n.sqrt().sum().backward()
    assert grads(n) == [[float("inf"), 0.25]]            # sqrt keeps PyTorch's inf at 0


def test_view_of_a_non_contiguous_tensor_raises_like_pytorch_and_reshape_copies():
    x = torch.ones(2, 3)
    with pytest.raises(RuntimeError, match="view size is not compatible with input tensor's size and stride"):
        x.t().view(-1)
    flat = x.t().reshape(-1)
    flat.add_(1)  # a copy: the base is untouched, as in PyTorch
    assert x.tolist() == [[1.0] * 3] * 2


def test_gradients_of_a_0d_leaf_accumulate_in_an_array():
    w = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    for _ in range(3):
        (w * w).backward()  # numpy returns 0-d results as scalars; .grad must stay an array updated in place
    g = w.grad.numpy()
    assert isinstance(g, np.ndarray) and g.item() == 12.0
    w.grad.zero_()
    (w * 3).backward()
    assert g.item() == 3.0


def test_clamp_bounds_take_part_in_promotion_as_python_numbers():
    # PyTorch: an integer (or bool) tensor clamped at a float bound becomes the default float dtype;
    # an integer bound keeps it integer.  (The bounds are attrs, not inputs, so this is easy to miss.)
    assert torch.tensor([1, 5]).clamp(min=2.5).dtype == torch.float32
    assert torch.tensor([1, 5]).clamp(min=2.5).tolist() == [2.5, 5.0]
    assert torch.tensor([True, False]).clamp(min=0.5).tolist() == [1.0, 0.5]
    assert torch.tensor([1, 5]).clamp(max=3).dtype == torch.int64
    assert torch.tensor([1.0, 5.0], dtype=torch.float64).clamp(min=2).dtype == torch.float64


def test_softmax_of_an_empty_selection_is_empty():
    # PyTorch returns an empty result (and zero gradients upstream); numpy's amax has no identity for it.
    x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    picked = x[x > 5]
    (torch.softmax(picked, dim=0).sum() + torch.log_softmax(picked, dim=0).sum()).backward()
    assert picked.shape == (0,) and x.grad.tolist() == [0.0, 0.0, 0.0]
    assert torch.softmax(torch.zeros(0, 3), dim=1).shape == (0, 3)
