"""Live PyTorch oracle for the engine's semantics: each program runs on the engine and on torch; values,
dtypes, gradients and error types must agree (skipped when torch is not installed)."""
import numpy as np
import pytest

import autotrain.engine as engine

torch = pytest.importorskip("torch")


progs = {}
def prog(f): progs[f.__name__]=f; return f

@prog
def setitem_graph(m):
    x = m.tensor([1.,2.,3.], requires_grad=True); y = x*2; y[0] = 0; y.sum().backward(); return x.grad
@prog
def relu_clone(m):
    x = m.tensor([-1.,2.,-3.,4.], requires_grad=True); h = x*1.5; r = h.clone(); r[h<0] = 0; (r*r).sum().backward(); return x.grad
@prog
def setitem_value_grad(m):
    x = m.tensor([1.,2.,3.], requires_grad=True); w = m.tensor([5.,6.], requires_grad=True); y = x*1; y[1:] = w*w; (y*m.tensor([1.,2.,3.])).sum().backward(); return x.grad, w.grad
@prog
def setitem_int_array(m):
    x = m.tensor([1.,2.,3.,4.], requires_grad=True); y = x*3; y[m.tensor([0,2])] = m.tensor([7.,8.]); y.sum().backward(); return x.grad, y
@prog
def inplace_after_use(m):
    a = m.tensor([1.,2.,3.], requires_grad=True); h = a*1; l = (h+1).sum(); h.mul_(2); l.backward(); return a.grad
@prog
def inplace_saved(m):
    a = m.tensor([1.,2.,3.], requires_grad=True); h = a*1; l = (h*h).sum(); h.mul_(2); l.backward(); return a.grad
@prog
def inplace_leaf(m):
    a = m.tensor([1.,2.,3.], requires_grad=True); a.add_(1); return a
@prog
def view_inplace(m):
    a = m.tensor([1.,2.,3.], requires_grad=True); h = a*1; v = h[:2]; v.mul_(3); h.sum().backward(); return a.grad, h
@prog
def view_inplace2(m):
    a = m.tensor([[1.,2.],[3.,4.]], requires_grad=True); h = a*1; v = h.t(); v[0].mul_(5); (h*m.tensor([[1.,2.],[3.,4.]])).sum().backward(); return a.grad, h
@prog
def view_then_base(m):
    a = m.tensor([1.,2.,3.], requires_grad=True); h = a*1; v = h[1:]; h.mul_(2); (v*v).sum().backward(); return a.grad, v
@prog
def grad_view_zero(m):
    w = m.tensor([1.,2.], requires_grad=True); (w*3).sum().backward(); g = w.grad.numpy(); w.grad.zero_(); return g.tolist()
@prog
def grad_view_accum(m):
    w = m.tensor([1.,2.], requires_grad=True); (w*3).sum().backward(); g = w.grad.numpy(); (w*4).sum().backward(); return g.tolist()
@prog
def grad_view_after_zero_backward(m):
    w = m.tensor([1.,2.], requires_grad=True); (w*3).sum().backward(); g = w.grad.numpy(); w.grad.zero_(); (w*4).sum().backward(); return g.tolist()
@prog
def int_div(m): return m.tensor([1,2,3]) / 2
@prog
def arange_half(m): return m.arange(3)*0.5
@prog
def f32_i64(m): return m.ones(2) + m.tensor([1,2])
@prog
def zero_d_f64(m): return m.tensor(2.0, dtype=m.float64) * m.ones(2)
@prog
def int_int_div(m): return m.tensor([1,2]) / m.tensor([2,4])
@prog
def bool_plus_float(m): return m.tensor([True,False]) + 1.5
@prog
def int32_long0d(m): return m.tensor([1,2], dtype=m.int32) + m.tensor(5)
@prog
def f16_int(m): return m.ones(2, dtype=m.float16) + m.tensor([1,2])
@prog
def cmp_promote(m): return m.tensor([0.1], dtype=m.float32) == m.tensor(0.1, dtype=m.float64)
@prog
def pow0(m):
    x = m.tensor([0.,1.], requires_grad=True); (x**0).sum().backward(); return x.grad
@prog
def powab(m):
    a = m.tensor([0.,1.], requires_grad=True); b = m.tensor([2.,2.], requires_grad=True); (a**b).sum().backward(); return a.grad, b.grad
@prog
def powab0(m):
    a = m.tensor([0.,2.], requires_grad=True); b = m.tensor([0.,0.], requires_grad=True); (a**b).sum().backward(); return a.grad, b.grad
@prog
def scalar_pow(m):
    a = m.tensor([0.,1.], requires_grad=True); (0.0**a).sum().backward(); return a.grad
@prog
def transpose_bad(m): return m.ones(2,3).transpose(0,5)
@prog
def mean_empty(m): return m.zeros(0).mean()
@prog
def grad_bad(m):
    x = m.tensor([1.], requires_grad=True); return m.autograd.grad((x*2).sum(), [5])
@prog
def string_tensor(m): return m.tensor(["a","b"])
@prog
def sum_bad(m): return m.ones(2,3).sum(3)
@prog
def softmax_bad(m): return m.ones(2,3).softmax(2)
@prog
def cat_bad(m): return m.cat([m.ones(2,3), m.ones(3,3)], 1)
@prog
def squeeze_bad(m): return m.ones(2,3).squeeze(2)
@prog
def view_bad(m): return m.ones(2,3).view(4,2)
@prog
def reshape_bad(m): return m.ones(2,3).reshape(-1,4)
@prog
def max_dim(m):
    x = m.tensor([[1.,3.,3.],[2.,0.,5.]], requires_grad=True); r = m.max(x, 1); r.values.sum().backward(); return r.values, r.indices, x.grad
@prog
def max_full(m):
    x = m.tensor([1.,3.,3.], requires_grad=True); x.max().backward(); return x.grad
@prog
def std_var(m):
    x = m.tensor([[1.,2.,4.],[3.,5.,9.]], requires_grad=True); (x.std(1) + x.var(0, unbiased=False)*2).sum().backward(); return x.grad
@prog
def softmax_g(m):
    x = m.tensor([[1.,2.,4.],[3.,5.,9.]], requires_grad=True); (x.softmax(1)*m.tensor([1.,2.,3.])).sum().backward(); return x.grad
@prog
def log_softmax_g(m):
    x = m.tensor([[1.,2.,4.],[3.,5.,9.]], requires_grad=True); (x.log_softmax(0)*m.tensor([1.,2.,3.])).sum().backward(); return x.grad
@prog
def floor_mod(m):
    return m.tensor([5,-7]) // m.tensor([3,2]), m.tensor([5.,-7.]) % m.tensor([3.,-2.]), m.tensor([5,-7]) % 3, -7 // m.tensor([2])
@prog
def remainder_g(m):
    x = m.tensor([5.,-7.], requires_grad=True); y = m.tensor([3.,2.], requires_grad=True); (x % y).sum().backward(); return x.grad, y.grad
@prog
def cat_stack(m):
    a = m.tensor([[1.,2.]], requires_grad=True); b = m.tensor([[3.,4.]], requires_grad=True)
    c = m.cat([a, b], 0); s = m.stack([a, b], 2); (c*m.tensor([[1.],[2.]])).sum().backward(); (s*s).sum().backward(); return c, s.shape, a.grad, b.grad
@prog
def where_g(m):
    x = m.tensor([1.,-2.], requires_grad=True); return m.where(x > 0, x, 0.0)
@prog
def casts(m):
    x = m.tensor([1.7,-2.2]); return x.long(), x.int(), x.bool(), x.double(), m.tensor([1,2]).float()
@prog
def creation(m):
    return m.linspace(0,1,5), m.arange(0,1,0.25), m.full((2,),1), m.full((2,), 1.5), m.eye(2,3), m.arange(5).dtype
@prog
def flatten_sq(m):
    x = m.ones(2,1,3); return x.flatten().shape, x.flatten(1).shape, x.squeeze().shape, x.unsqueeze(0).shape, x.squeeze(1).shape, m.flatten(x, 0, 1).shape
@prog
def argm(m):
    x = m.tensor([[1.,3.,3.],[2.,0.,5.]]); return m.argmax(x), x.argmax(1), x.argmin(0, keepdim=True)
@prog
def amax_g(m):
    x = m.tensor([[1.,3.,3.],[2.,0.,5.]], requires_grad=True); x.amax(1).sum().backward(); return x.grad
@prog
def abs_g(m):
    x = m.tensor([-1.,0.,2.], requires_grad=True); (x.abs() + x.sqrt().nan_to_num() if False else x.abs()).sum().backward(); return x.grad
@prog
def sqrt0(m):
    x = m.tensor([0.,4.], requires_grad=True); x.sqrt().sum().backward(); return x.grad
@prog
def inplace_int_float(m):
    x = m.tensor([1,2]); x += 0.5; return x
@prog
def inplace_f32_f64(m):
    x = m.ones(2); x += m.tensor([0.1,0.2], dtype=m.float64); return x
@prog
def mul_inplace_other_grad(m):
    a = m.tensor([1.,2.,3.],requires_grad=True); h=a*1; w=m.tensor([2.,3.,4.],requires_grad=True); h.mul_(w); h.sum().backward(); return w.grad, a.grad
@prog
def exp_inplace_then_modify(m):
    a = m.tensor([1.,2.],requires_grad=True); h = a*1; h.exp_(); l = h.sum(); h.add_(1); l.backward(); return a.grad
@prog
def exp_inplace(m):
    a = m.tensor([1.,2.],requires_grad=True); h = a*1; h.exp_(); h.sum().backward(); return a.grad
@prog
def detach_version(m):
    a = m.tensor([1.,2.],requires_grad=True); h = a*1; l = (h*h).sum(); d = h.detach(); d.add_(1); l.backward(); return a.grad
@prog
def view_leaf_inplace(m):
    a = m.tensor([1.,2.],requires_grad=True); a[0].mul_(2); return a
@prog
def setitem_no_grad_leaf(m):
    a = m.tensor([1.,2.],requires_grad=True)
    with m.no_grad(): a[0] = 5
    return a
@prog
def fill_nonleaf(m):
    a = m.tensor([1.,2.],requires_grad=True); h = a*2; h.fill_(3); (h*a).sum().backward(); return a.grad
@prog
def zero_nonleaf(m):
    a = m.tensor([1.,2.],requires_grad=True); h = a*2; h[0:1].zero_(); (h*a).sum().backward(); return a.grad
@prog
def nograd_decorator(m):
    @m.no_grad
    def f(x): return x*2
    return f(m.ones(2, requires_grad=True)).requires_grad
@prog
def default_dtype(m):
    m.set_default_dtype(m.float64)
    try:
        return m.tensor([1.5]).dtype, (m.arange(3)*0.5).dtype, m.zeros(2).dtype, (m.tensor([1,2])/2).dtype
    finally:
        m.set_default_dtype(m.float32)
@prog
def unknown(m): return m.foo
@prog
def unknown_method(m): return m.ones(2).foo()
@prog
def expand_write(m):
    x = m.ones(3).expand(2,3); x.add_(1); return x
@prog
def permute_bad(m): return m.ones(2,3).permute(0,0)
@prog
def mean_int(m): return m.tensor([1,2]).mean()
@prog
def sum_bool(m): return m.tensor([True,True]).sum(), m.tensor([1,2],dtype=m.int32).sum()
@prog
def int_zero_div(m): return m.tensor([1,2]) // m.tensor([0,1])
@prog
def neg_index(m):
    x = m.tensor([1.,2.,3.],requires_grad=True); y = x*1; y[-1] = y[0]*10; y.sum().backward(); return x.grad
@prog
def chained_views(m):
    a = m.tensor([[1.,2.,3.],[4.,5.,6.]], requires_grad=True); h = a*1; v = h.view(-1)[1:4]; v.add_(v*2) ; (h*h).sum().backward(); return h, a.grad


# names whose messages or exception types differ on purpose (docs/engine.md, "known differences")
OURS_DIFFER = {"grad_bad": "TypeError naming the argument", "string_tensor": "TypeError at creation",
               "unknown": "one sentence pointing to docs/engine.md", "unknown_method": "one sentence pointing to docs/engine.md"}


def _flatten(value):
    if isinstance(value, (engine.Tensor, torch.Tensor)):
        array = np.asarray(value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value.detach().numpy())
        return [(array, str(value.dtype).replace("torch.", ""))]
    if isinstance(value, (tuple, list)):
        return [item for v in value for item in _flatten(v)]
    if isinstance(value, (torch.dtype, np.dtype)):
        return [str(value).replace("torch.", "")]
    if isinstance(value, torch.Size):
        return [tuple(value)]
    return [value]


def _run(module, program):
    try:
        return _flatten(program(module)), None
    except Exception as exc:  # noqa: BLE001 - the exception type is what is compared
        return None, exc


@pytest.mark.parametrize("name", [n for n in progs if n not in OURS_DIFFER])
def test_engine_agrees_with_pytorch(name):
    ours, our_error = _run(engine, progs[name])
    theirs, their_error = _run(torch, progs[name])
    if their_error is not None or our_error is not None:
        assert type(our_error) is type(their_error), (our_error, their_error)
        return
    assert len(ours) == len(theirs)
    for mine, ref in zip(ours, theirs):
        if isinstance(mine, tuple) and len(mine) == 2 and isinstance(mine[0], np.ndarray):
            (a, da), (b, db) = mine, ref
            assert da == db, (da, db)
            assert a.shape == b.shape
            np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=2e-6, atol=1e-7)
        else:
            assert mine == ref


@pytest.mark.parametrize("name", list(OURS_DIFFER))
def test_deliberate_differences_still_raise(name):
    _, our_error = _run(engine, progs[name])
    _, their_error = _run(torch, progs[name])
    assert our_error is not None and their_error is not None


# ----------------------------------------------------------------- every new op: value and gradients, float64
OP_PROGRAMS = {
    "sin cos": lambda m, x, w: (m.sin(x) * m.cos(w)).sum(),
    "sqrt abs": lambda m, x, w: (m.sqrt(x.abs() + 1) * w.abs()).sum(),
    "softmax": lambda m, x, w: (m.softmax(x, dim=1) * w).sum(),
    "log_softmax": lambda m, x, w: (x.log_softmax(0) * w).sum(),
    "max dim": lambda m, x, w: (x.max(dim=1).values * w[:, 0]).sum() + x.min(0, keepdim=True)[0].sum(),
    "max full": lambda m, x, w: x.max() * w.min(),
    "amax amin": lambda m, x, w: (x.amax(1) - w.amin(dim=(0, 1))).sum(),
    "elementwise max": lambda m, x, w: m.max(x, w).sum() + m.min(x, w).sum(),
    "mean dims": lambda m, x, w: (x.mean(1) * w.mean(dim=1)).sum() + x.mean(),
    "sum dims": lambda m, x, w: (x.sum((0, 1)) + w.sum(-1, keepdim=True)).sum(),
    "std var": lambda m, x, w: x.std() + x.var(1).sum() + w.std(0, unbiased=False).sum() + w.var(correction=0),
    "cat stack": lambda m, x, w: (m.cat([x, w], 1) ** 2).sum() + (m.stack([x, w]) * 3).mean(),
    "unsqueeze squeeze flatten": lambda m, x, w: (x.unsqueeze(0).squeeze(0).flatten() * w.flatten()).sum(),
    "transpose T permute": lambda m, x, w: (x.T @ w).sum() + (x.permute(1, 0) * w.t()).sum(),
    "where": lambda m, x, w: m.where(x > 0, x * w, w - 1).sum(),
    "remainder": lambda m, x, w: (x % 0.7 + w.remainder(0.3)).sum(),
    "floor_divide no grad": lambda m, x, w: ((x.detach() // 0.5) * w).sum(),
    "clamp relu": lambda m, x, w: (x.clamp(-0.5, 0.5) + w.relu()).sum(),
    "pow exp log": lambda m, x, w: (x.abs() ** w + (w * 0.1).exp().log()).sum(),
    "setitem in graph": lambda m, x, w: _setitem_program(x, w),
    "argmax gather": lambda m, x, w: (x[m.arange(3), x.argmax(1)] * w[:, 1]).sum(),
    "expand broadcast_to": lambda m, x, w: (x[:, :1].expand(3, 4) * w).sum(),
    "chunk split": lambda m, x, w: sum((c * c).sum() for c in x.chunk(2, 1)) + w.split([1, 3], 1)[1].sum(),
    "division by tensor": lambda m, x, w: (x / (w.abs() + 0.5)).sum(),
    "rounding has gradient 0": lambda m, x, w: (x.floor() * w + x.round() + w.sign() * x + x.trunc() + w.ceil()).sum(),
    "masks from logic ops": lambda m, x, w: (m.where((x > 0) & ~(w > 0.5) | m.isnan(w), x, w * 2)).sum(),
}


def _setitem_program(x, w):
    h = x * 2
    h[0] = w[0] * 3
    h[h < 0] = 0
    v = h[1:]
    v.mul_(w[1:])
    return h.sum()


@pytest.mark.parametrize("name", list(OP_PROGRAMS))
def test_op_values_and_gradients_agree_with_pytorch(name):
    rng = np.random.default_rng(11)
    arrays = [rng.standard_normal((3, 4)), rng.standard_normal((3, 4))]
    results = []
    for m in (engine, torch):
        x, w = (m.tensor(a, dtype=m.float64, requires_grad=True) for a in arrays)
        out = OP_PROGRAMS[name](m, x, w)
        out.backward()
        results.append([out.item()] + [None if t.grad is None else t.grad.numpy() for t in (x, w)])
    for mine, ref in zip(*results):
        assert (mine is None) == (ref is None)
        if mine is not None:
            np.testing.assert_allclose(mine, ref, rtol=1e-10, atol=1e-12)
