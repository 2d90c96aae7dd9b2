"""Each fast path of the eager core against the plain path it shortcuts: the same values, versions and errors.

The eager core keeps three fast paths, each one named function whose preconditions are checked on every
call (``inplace.write_unrecorded_fast``, ``graph.Node.versions_unchanged``, ``inplace.adoptable_gradient``).
Here each is switched off (the plain path runs instead) and a randomized set of programs must give
bit-identical results both ways.  So is the optimizers' one, ``optim.adam.update_whole_group`` (Adam on a
whole parameter group at once) against the per-parameter loop.
"""
from __future__ import annotations

import numpy as np
import pytest

import autotrain.engine as torch
from autotrain.engine import graph, inplace
from autotrain.engine.ops import OPS

RNG = np.random.default_rng(7)
SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e300, -1e-300, 2.5])


def _array(shape, dtype, rng=RNG):
    values = rng.standard_normal(shape)
    values.flat[:3] = rng.choice(SPECIAL, 3)[: values.size]
    with np.errstate(over="ignore"):   # 1e300 as float32 is inf: one more edge
        return values.astype(dtype)


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _outcome(fn):
    try:
        return "ok", fn()
    except Exception as exc:  # noqa: BLE001 - which error is part of the comparison
        return type(exc).__name__, str(exc)


IN_PLACE = [
    ("add_", lambda x, o: x.add_(o)), ("sub_", lambda x, o: x.sub_(o)), ("mul_", lambda x, o: x.mul_(o)),
    ("div_", lambda x, o: x.div_(o)), ("iadd", lambda x, o: x.__iadd__(o)), ("isub", lambda x, o: x.__isub__(o)),
    ("fill_", lambda x, o: x.fill_(o if not isinstance(o, torch.Tensor) else o.sum())),
    ("copy_", lambda x, o: x.copy_(o)), ("setitem", lambda x, o: x.__setitem__((slice(None, 1),), o)),
    ("clamp_", lambda x, o: x.clamp_(min=o) if not isinstance(o, torch.Tensor) else x.clamp_(min=o)),
    ("pow_", lambda x, o: x.pow_(o)), ("zero_", lambda x, o: x.zero_()),
]
OPERANDS = [lambda d, s: 0.5, lambda d, s: 2, lambda d, s: True, lambda d, s: -0.0, lambda d, s: float("nan"),
            lambda d, s: torch.tensor(_array(s, d)), lambda d, s: torch.tensor(_array(s[-1:], d)),
            lambda d, s: torch.tensor(_array(s, np.float64 if d == np.float32 else np.float32)),
            lambda d, s: torch.tensor(np.arange(int(np.prod(s))).reshape(s)),
            lambda d, s: torch.tensor(_array((7,), d))]


def _in_place_run(name, fn, operand, dtype, shape, seed):
    x = torch.tensor(_array(shape, dtype, np.random.default_rng(seed)))
    before = x._version
    with torch.no_grad():
        status, detail = _outcome(lambda: fn(x, operand))
    return status, detail if status != "ok" else None, x.numpy().copy(), x._version - before


@pytest.mark.parametrize("name,fn", IN_PLACE, ids=[n for n, _ in IN_PLACE])
def test_unrecorded_in_place_fast_path_matches_the_plain_path(name, fn, monkeypatch):
    cases = [(dtype, shape, make) for dtype in (np.float32, np.float64) for shape in ((3,), (2, 3), ())
             for make in OPERANDS]
    fast = []
    for seed, (dtype, shape, make) in enumerate(cases):
        operand = make(dtype, shape or (1,)) if shape else make(dtype, ())
        fast.append((operand, _in_place_run(name, fn, operand, dtype, shape, seed)))
    monkeypatch.setattr(inplace, "write_unrecorded_fast", lambda *args: False)
    taken = 0
    for seed, ((dtype, shape, _), (operand, want)) in enumerate(zip(cases, fast)):
        got = _in_place_run(name, fn, operand, dtype, shape, seed)
        assert want[0] == got[0] and want[1] == got[1] and want[3] == got[3], (name, dtype, shape, operand)
        assert _same(want[2], got[2]), (name, dtype, shape, operand, want[2], got[2])
        taken += want[0] == "ok"
    assert taken  # the comparison saw successful writes, not only refusals


def test_the_unrecorded_fast_path_is_taken_by_an_optimizer_step():
    w, g = torch.tensor(_array((3,), np.float32)), torch.tensor(_array((3,), np.float32))
    with torch.no_grad():
        assert inplace.write_unrecorded_fast(w, OPS["sub"], (g * 0.1,), {})
        assert not inplace.write_unrecorded_fast(w, OPS["sub"], (True,), {})   # sub refuses a bool: plain path
        assert not inplace.write_unrecorded_fast(w, OPS["sub"], (g.double(),), {})   # promotion: plain path
    assert not inplace.write_unrecorded_fast(w, OPS["sub"], (g,), {})   # grad mode on: the recorded path


def _program(seed: int, mutate: bool):
    """A small random graph over two leaves; ``mutate`` changes a saved tensor in place before backward."""
    rng = np.random.default_rng(seed)
    a = torch.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = torch.tensor(rng.standard_normal((4,)), requires_grad=True)
    h = a * b
    y = (h.tanh() * h).sigmoid().sum() + (a.exp() / (1 + b * b)).sum()
    unrelated = torch.ones(3)
    unrelated.add_(1)   # an in-place change elsewhere: the epoch moves, the check must run and pass
    if mutate:
        h.mul_(2)   # h is saved by tanh's product: backward must refuse
    y.backward()
    return a.grad.numpy().copy(), b.grad.numpy().copy()


@pytest.mark.parametrize("mutate", [False, True])
def test_version_check_fast_path_matches_running_the_check(mutate, monkeypatch):
    fast = [_outcome(lambda s=s: _program(s, mutate)) for s in range(12)]
    monkeypatch.setattr(graph.Node, "versions_unchanged", lambda self: False)
    plain = [_outcome(lambda s=s: _program(s, mutate)) for s in range(12)]
    for (fs, fv), (ps, pv) in zip(fast, plain):
        assert fs == ps
        if fs == "ok":
            assert all(_same(x, y) for x, y in zip(fv, pv))
        else:
            assert fv == pv and "modified by an inplace operation" in fv
    assert {s for s, _ in fast} == ({"RuntimeError"} if mutate else {"ok"})


def test_version_check_fast_path_only_when_nothing_changed():
    x = torch.ones(3, requires_grad=True)
    y = x.exp()
    assert y.grad_fn.versions_unchanged()
    torch.zeros(2).add_(1)
    assert not y.grad_fn.versions_unchanged()


def _gradients(seed):
    rng = np.random.default_rng(seed)
    x = torch.tensor(rng.standard_normal((2, 3)).astype(np.float32), requires_grad=True)
    w = torch.tensor(rng.standard_normal((3,)), requires_grad=True)
    y = (x * 2).sum() + (x + x).mean() + (w.double() * x.double()).sum() + x.t().sum() + w[1:].sum()
    y.backward()
    first = x.grad.numpy().copy(), w.grad.numpy().copy()
    (x * w.float()).sum().backward()   # a second gradient is added into .grad in place
    return first + (x.grad.numpy().copy(), w.grad.numpy().copy())


def test_gradient_adoption_fast_path_matches_copying(monkeypatch):
    fast = [_gradients(s) for s in range(8)]
    monkeypatch.setattr(inplace, "adoptable_gradient", lambda *args: False)
    plain = [_gradients(s) for s in range(8)]
    for f, p in zip(fast, plain):
        assert all(_same(a, b) for a, b in zip(f, p))


def test_an_adopted_gradient_is_never_shared():
    x = torch.ones(3, requires_grad=True)
    z = torch.ones(3, requires_grad=True)
    (x + z).sum().backward()   # add hands its incoming gradient to both inputs: borrowed, so copied
    assert not np.shares_memory(x.grad.numpy(), z.grad.numpy())
    x.grad.numpy()[0] = 5.0
    assert z.grad.numpy()[0] == 1.0


ADAM_SETTINGS = [dict(), dict(amsgrad=True), dict(weight_decay=0.1), dict(maximize=True, eps=1e-3),
                 dict(weight_decay=0.05, amsgrad=True, maximize=True)]


def _adam_run(settings, cls, dtype, seed):
    """Twelve Adam steps on four parameters; some steps leave a gradient out, one reloads the state, one
    replaces a parameter's array: the whole-group path must be left and re-entered where needed."""
    rng = np.random.default_rng(seed)
    params = [torch.tensor(_array(shape, dtype, rng), requires_grad=True) for shape in ((3, 4), (4,), (), (2, 1))]
    opt = cls(params, lr=0.01, **settings)
    for step in range(12):
        for i, p in enumerate(params):
            skip = step in (3, 4) and i == 1
            p.grad = None if skip else torch.tensor(_array(p.shape, dtype, rng))
        if step == 6:
            opt.load_state_dict(opt.state_dict())
        if step == 8:
            params[2].data = torch.tensor(_array((), dtype, rng))
        with np.errstate(all="ignore"):   # the special values make inf - inf and 0 / 0 on purpose
            opt.step()
    state = [{k: np.asarray(v.numpy() if isinstance(v, torch.Tensor) else v).copy() for k, v in opt.state[p].items()}
             for p in params]
    return [p.detach().numpy().copy() for p in params], state


def _same_up_to_nan_sign(a, b) -> bool:
    """Bit for bit, except that a NaN matches any NaN: numpy's vector and scalar loops make NaNs of
    different signs (the whole-group path runs the long loop where the per-parameter one runs short ones)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    nan = np.isnan(a)
    return bool((nan == np.isnan(b)).all()) and a[~nan].tobytes() == b[~nan].tobytes()


@pytest.mark.parametrize("cls", [torch.optim.Adam, torch.optim.AdamW])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_whole_group_fast_path_matches_the_per_parameter_loop(cls, dtype, monkeypatch):
    from autotrain.engine.optim import adam

    taken = []
    real = adam.update_whole_group
    monkeypatch.setattr(adam, "update_whole_group", lambda *a: taken.append(real(*a)) or taken[-1])
    fast = [_adam_run(settings, cls, dtype, seed) for seed, settings in enumerate(ADAM_SETTINGS)]
    assert any(taken) and not all(taken)   # both paths ran inside the runs
    monkeypatch.setattr(adam, "update_whole_group", lambda *args: False)
    for seed, (settings, (want_params, want_state)) in enumerate(zip(ADAM_SETTINGS, fast)):
        got_params, got_state = _adam_run(settings, cls, dtype, seed)
        assert all(_same_up_to_nan_sign(a, b) for a, b in zip(want_params, got_params)), settings
        for want, got in zip(want_state, got_state):
            assert want.keys() == got.keys(), settings
            assert all(_same_up_to_nan_sign(want[k], got[k]) for k in want), settings


def test_adam_whole_group_fast_path_refuses_overlapping_parameters():
    from autotrain.engine.optim import adam

    base = torch.zeros(6, requires_grad=True)
    with torch.no_grad():
        views = [base[:4].detach().requires_grad_(), base[2:].detach().requires_grad_()]
    for v in views:
        v.grad = torch.ones(4)
    opt = torch.optim.Adam(views, lr=0.1)
    assert adam.update_whole_group(opt, opt.param_groups[0]) is False
    owned = [torch.zeros(4, requires_grad=True), torch.zeros(4, requires_grad=True)]
    for p in owned:
        p.grad = torch.ones(4)
    opt = torch.optim.Adam(owned, lr=0.1)
    assert adam.update_whole_group(opt, opt.param_groups[0]) is True
