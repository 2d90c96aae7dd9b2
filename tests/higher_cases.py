"""Second-derivative cases, written once in PyTorch's names and run on PyTorch or on autotrain.engine.

Each case is ``fn(torch, *inputs) -> output`` over fixed float64 inputs.  What is compared: for a
fixed weight ``v`` of the output and ``w`` of each gradient, the gradient
``g = grad(out, inputs, v, create_graph=True)`` and the second-order quantities
``grad(sum(g_i * w_i), inputs + [v])``: Hessian-vector products of every op, and the vjp's
derivative in its vector.  ``tools/gen_higher_vectors.py`` stores PyTorch's answers in
``tests/vectors/higher_order.npz``; ``tests/test_engine_higher_order.py`` checks the engine against
them, and against live PyTorch when it is installed.
"""
from __future__ import annotations

import numpy as np

CASES: dict = {}


def case(*shapes, positive=False, away=None):
    """Register ``fn`` with inputs of ``shapes`` (positive: |x|+0.5; away: samples kept 0.1 from that value)."""
    def register(fn):
        CASES[fn.__name__] = (fn, shapes, positive, away)
        return fn
    return register


def make_inputs(name: str):
    _, shapes, positive, away = CASES[name]
    rng = np.random.default_rng([ord(c) for c in name])
    arrays = []
    for s in shapes:
        a = rng.standard_normal(s)
        if positive:
            a = np.abs(a) + 0.5
        if away is not None:
            a = away + np.where(a - away >= 0, 1.0, -1.0) * (0.1 + np.abs(a - away))
        arrays.append(a)
    return arrays


@case((3, 4), (3, 4))
def add(t, a, b): return (a + b) * a


@case((3, 4), (4,))
def sub(t, a, b): return (a - b) * b


@case((3, 4), (3, 1))
def mul(t, a, b): return a * b * a


@case((3, 4), (3, 4), away=0.0)
def div(t, a, b): return a / b


@case((3, 4), (3, 4), positive=True)
def pow_tensor(t, a, b): return a ** b


@case((3, 4), positive=True)
def pow_scalar(t, a): return a ** 3.5


@case((3, 4))
def pow_two(t, a): return a ** 2 * a


@case((3, 4))
def scalar_base(t, a): return 2.5 ** a


@case((3, 4))
def square(t, a): return a.square() * a


@case((3, 4))
def neg(t, a): return -a * a


@case((3, 4))
def exp(t, a): return t.exp(a)


@case((3, 4), positive=True)
def log(t, a): return t.log(a)


@case((3, 4))
def tanh(t, a): return t.tanh(a)


@case((3, 4))
def sigmoid(t, a): return t.sigmoid(a)


@case((3, 4), away=0.0)
def relu(t, a): return t.relu(a) * a


@case((3, 4), away=0.3)
def clamp(t, a): return t.clamp(a * a, min=0.3, max=1.5) * a


@case((3, 4), (3, 4), (3, 4))
def clamp_tensor(t, a, low, high): return t.clamp(a * a, min=low * 0.5, max=high * 0.5 + 1.0) * a * low


@case((3, 4), (3, 4))
def maximum(t, a, b): return t.maximum(a, b) * a


@case((3, 4), (3, 4))
def minimum(t, a, b): return t.minimum(a, b) * b


@case((3, 4), (3, 4))
def where(t, a, b): return t.where(a > 0, a * b, b * b)


@case((3, 4), (4, 5))
def matmul(t, a, b): return (a @ b) * (a @ b)


@case((4,), (4, 5))
def matmul_vector(t, a, b): return t.tanh(a @ b)


@case((2, 3, 4), (4, 2))
def matmul_batched(t, a, b): return t.sin(a @ b)


@case((3, 4))
def sum_dim(t, a): return a.sum(dim=1) ** 2


@case((3, 1))
def broadcast_to(t, a): return a.expand(3, 4) * a


@case((3, 4))
def reshape(t, a): return a.reshape(2, 6) * a.reshape(2, 6)


@case((3, 4))
def transpose(t, a): return a.t() @ a


@case((3, 4))
def cast_round_trip(t, a): return a.to(t.float32).to(t.float64) * a * a


@case((5, 4))
def index_basic(t, a): return a[1:4] * a[0:3]


@case((5, 4))
def index_ints(t, a): return a[t.tensor([0, 2, 2, 4])] ** 2


@case((5, 4))
def index_mask(t, a): return a[a > 0] ** 3


@case((3, 4))
def sin(t, a): return t.sin(a) * a


@case((3, 4))
def cos(t, a): return t.cos(a) * a


@case((3, 4), positive=True)
def sqrt(t, a): return t.sqrt(a)


@case((3, 4), away=0.0)
def abs_value(t, a): return t.abs(a) * a


@case((3, 4), (3, 4), positive=True)
def remainder(t, a, b): return t.remainder(a * 3, b) * b


@case((3, 4))
def mean(t, a): return a.mean(dim=0) ** 2


@case((3, 4))
def var(t, a): return a.var(dim=1)


@case((3, 4))
def std(t, a): return a.std(dim=1) * a.sum()


@case((3, 4), (3, 4))
def fmax(t, a, b): return t.fmax(a, b) * a


@case((3, 4), (3, 4))
def fmin(t, a, b): return t.fmin(a, b) * b


@case((3, 4))
def amax(t, a): return t.amax(a * a, dim=1)


@case((3, 4))
def amin(t, a): return t.amin(a * a, dim=0)


@case((3, 4))
def max_dim(t, a): return (a * a).max(dim=1).values


@case((3, 4))
def softmax(t, a): return t.softmax(a, dim=1)


@case((3, 4))
def log_softmax(t, a): return t.log_softmax(a, dim=1)


@case((3, 4))
def norm(t, a): return t.norm(a * a + 1, dim=1) * t.norm(a, p=1, dim=0, keepdim=True).sum() + a.norm()


@case((3, 4))
def logsumexp(t, a): return t.logsumexp(a * a, dim=1) * t.logsumexp(a, dim=0, keepdim=True).sum()


@case((2, 4), (3, 4))
def cat(t, a, b): return t.cat([a * a, b], dim=0) * t.cat([a, b * b], dim=0)


@case((3, 4), (3, 4))
def stack(t, a, b): return t.stack([a, a * b], dim=1) ** 2


@case((4, 5), (5,))
def setitem(t, a, b):
    c = a * a
    c[1] = b * b
    return c * a


@case((4, 5), (2, 5))
def copy_slices(t, a, b):
    c = a * a
    c[1:3].mul_(b)
    return c * a


@case((3, 4), (5, 4), (5,))
def linear(t, x, w, b): return t.tanh(t.nn.functional.linear(x, w, b))


@case((4, 3))
def cross_entropy(t, a): return t.nn.functional.cross_entropy(a, t.tensor([0, 2, 1, 2]))


@case((4, 3), (4, 3))
def cross_entropy_soft(t, a, p):
    return t.nn.functional.cross_entropy(a, t.softmax(p, dim=1), reduction="none")


@case((3, 4))
def rounding(t, a): return (t.floor(a) + t.ceil(a) + t.round(a) + t.trunc(a) + t.sign(a)) * a * a


@case((6,))
def mlp_like(t, a):
    h = t.tanh(a.reshape(2, 3) @ a.reshape(3, 2))
    return t.sigmoid(h).sum() + (h * h).mean()


class MyReLU:
    """The tutorial's custom Function, defined for a given torch module."""

    @staticmethod
    def build(torch):
        class MyReLUFunction(torch.autograd.Function):
            @staticmethod
            def forward(ctx, input):
                ctx.save_for_backward(input)
                return input.clamp(min=0)

            @staticmethod
            def backward(ctx, grad_output):
                input, = ctx.saved_tensors
                grad_input = grad_output.clone()
                grad_input[input < 0] = 0
                return grad_input
        return MyReLUFunction


@case((3, 4), away=0.0)
def custom_function(t, a): return MyReLU.build(t).apply(a * a * a - a) * a


def second_order(torch, name: str) -> dict[str, np.ndarray]:
    """The first- and second-order gradients of case ``name`` on ``torch`` (real PyTorch or the engine)."""
    fn = CASES[name][0]
    arrays = make_inputs(name)
    inputs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = fn(torch, *inputs)
    rng = np.random.default_rng(7)
    v = torch.tensor(rng.standard_normal(tuple(out.shape)), dtype=torch.float64, requires_grad=True)
    grads = torch.autograd.grad(out, inputs, v, create_graph=True)
    ws = [torch.tensor(rng.standard_normal(tuple(g.shape)), dtype=torch.float64) for g in grads]
    total = (grads[0] * ws[0]).sum()
    for g, w in zip(grads[1:], ws[1:]):
        total = total + (g * w).sum()
    seconds = torch.autograd.grad(total, inputs + [v], allow_unused=True)
    result = {f"{name}::g{i}": g.detach().numpy() for i, g in enumerate(grads)}
    for i, s in enumerate(seconds):
        shape = tuple((inputs + [v])[i].shape)
        result[f"{name}::gg{i}"] = np.zeros(shape) if s is None else s.detach().numpy()
    return result


@case((3, 4))
def binary_cross_entropy(t, a):
    """Probabilities from sigmoid (inside (0, 1) for any input), constant targets in (0, 1) the same way."""
    target = t.sigmoid(a * 0.5 + 0.25).detach()
    return t.nn.functional.binary_cross_entropy(t.sigmoid(a), target, reduction="none") * a
