"""Every primitive's backward rule against central finite differences (float64), broadcasting included."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autotrain.engine as torch
from autotrain.engine.gradcheck import GradcheckError, gradcheck, op_cases
from autotrain.engine.ops import OPS

CASES = op_cases()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.op_name}[{c.label}]" for c in CASES])
def test_op_gradient_matches_finite_differences(case):
    inputs = case.make_inputs(np.random.default_rng(0), np.float64)
    assert gradcheck(case.fn, inputs)


def test_every_differentiable_op_has_cases():
    covered = {c.op_name for c in CASES}
    assert covered == {name for name, op in OPS.items() if op.differentiable}


@st.composite
def broadcastable_pair(draw):
    shape = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    other = [draw(st.sampled_from([n, 1])) for n in shape][draw(st.integers(0, len(shape) - 1)):]
    return tuple(shape), tuple(other)


@settings(max_examples=25, deadline=None)
@given(pair=broadcastable_pair(), op=st.sampled_from(["add", "sub", "mul", "div", "maximum"]), swap=st.booleans())
def test_binary_ops_reduce_broadcast_gradients_to_input_shapes(pair, op, swap):
    rng = np.random.default_rng(1)
    shapes = pair[::-1] if swap else pair
    a, b = (torch.tensor(np.abs(rng.standard_normal(s)) + 0.5, dtype=torch.float64, requires_grad=True)
            for s in shapes)
    fn = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
          "div": lambda x, y: x / y, "maximum": torch.maximum}[op]
    assert gradcheck(fn, (a, b))
    (fn(a, b) * 1.0).sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape


def test_gradcheck_reports_a_wrong_backward():
    class Wrong(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x * g  # should be 2 * x * g

    x = torch.randn(3, dtype=torch.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match="analytical .* numerical"):
        gradcheck(Wrong.apply, (x,))
    assert gradcheck(Wrong.apply, (x,), raise_exception=False) is False


def test_gradcheck_warns_on_float32():
    x = torch.randn(3, requires_grad=True)
    with pytest.warns(UserWarning, match="not a double precision"):
        torch.autograd.gradcheck(lambda t: t * 2, (x,), eps=1e-2, atol=1e-2, rtol=1e-2)
