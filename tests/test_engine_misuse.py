"""Engine misuse: the RuntimeError a PyTorch user expects, with text that says what to change.

test_engine_api.py already checks backward twice, backward on a non-scalar, in-place on a leaf, the
version counter, `+` and `mm` shape errors and a custom Function's wrong gradient count/shape (counted in
this group by tests/conftest.py).  This file extends those cases to every binary op and in-place form.
"""
import operator

import numpy as np
import pytest

import autotrain.engine as torch

pytestmark = pytest.mark.group("engine misuse")


def t(*shape, requires_grad=True):
    return torch.tensor(np.arange(np.prod(shape), dtype=np.float64).reshape(shape) + 1.0, dtype=torch.float64,
                        requires_grad=requires_grad)


BINARY = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
          "pow": operator.pow, "maximum": torch.maximum, "minimum": torch.minimum}


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("other", ["tensor", "ndarray"])
def test_every_elementwise_op_names_both_shapes_on_a_mismatch(name, swap, other):
    a = t(3, 4)
    b = t(5, requires_grad=False) if other == "tensor" else np.ones(5)
    x, y = (b, a) if swap else (a, b)
    with pytest.raises(RuntimeError) as err:
        BINARY[name](x, y)
    text = str(err.value)
    first, second = ("(5,)", "(3, 4)") if swap else ("(3, 4)", "(5,)")
    assert text.startswith(f"{name}:") and text.index(first) < text.index(second) and "broadcast" in text


@pytest.mark.parametrize("how", ["@", "matmul", "mm"])
@pytest.mark.parametrize("shapes", [((64, 1000), (100, 10)), ((3, 4), (5, 4)), ((2, 3), (2, 3))])
def test_matmul_mismatch_says_shapes_cannot_be_multiplied(how, shapes):
    a, b = t(*shapes[0]), t(*shapes[1])
    run = {"@": operator.matmul, "matmul": torch.matmul, "mm": lambda x, y: x.mm(y)}[how]
    (m, k), (k2, n) = shapes
    with pytest.raises(RuntimeError, match=rf"shapes cannot be multiplied \({m}x{k} and {k2}x{n}\)"):
        run(a, b)


def test_mm_needs_matrices():
    with pytest.raises(RuntimeError, match=r"mm: both arguments must be 2-D matrices, got shapes \(3, 4\) and \(4,\)"):
        t(3, 4).mm(t(4))


@pytest.mark.parametrize("method", ["add_", "sub_", "mul_", "div_"])
def test_in_place_ops_with_a_shape_mismatch(method):
    h = t(3) * 2  # a non-leaf: in-place is allowed, the shapes are not
    with pytest.raises(RuntimeError, match=r"\(3,\).*\(4,\)"):
        getattr(h, method)(t(4, requires_grad=False))


@pytest.mark.parametrize("op", ["-=", "+=", "*=", "/=", "sub_", "add_", "mul_", "div_", "zero_", "setitem"])
def test_every_in_place_form_on_a_leaf_requiring_grad_is_refused(op):
    w = t(3)
    before = w.detach().numpy().copy()
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad|in-place"):
        if op.endswith("="):
            exec(f"w {op} 2.0", {"w": w})
        elif op == "setitem":
            w[0] = 5.0
        elif op == "zero_":
            w.zero_()
        else:
            getattr(w, op)(2.0)
    assert np.array_equal(w.detach().numpy(), before)  # refused before anything changed


def test_modifying_an_intermediate_saved_for_backward_is_caught():
    x = t(3)
    h = x * 2
    loss = (h * h).sum()  # mul saves h
    h.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*version 1; expected version 0"):
        loss.backward()


def test_backward_twice_through_a_custom_function_needs_retain_graph():
    class Double(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2

    y = Double.apply(t(3)).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time.*retain_graph=True"):
        y.backward()


def test_backward_with_a_gradient_of_the_wrong_shape():
    y = t(3) * 2
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of \(4,\)"):
        y.backward(torch.ones(4, dtype=torch.float64))
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        y.backward()


def test_custom_function_returning_too_few_gradients():
    class TooFew(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(RuntimeError, match=r"incorrect number of gradients \(expected 2, got 1\)"):
        TooFew.apply(t(3), t(3)).sum().backward()


def test_custom_function_returning_a_gradient_of_the_wrong_shape_for_the_second_input():
    class Wrong(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, torch.ones(2, 2, dtype=torch.float64)

    with pytest.raises(RuntimeError, match="invalid gradient at index 1"):
        Wrong.apply(t(3), t(3)).sum().backward()
