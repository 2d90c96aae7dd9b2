"""engine.optim: each optimizer against its documented formula written out independently in numpy, its
state_dict structure and round trip, its errors, and (when installed) real PyTorch for 100 steps."""
import numpy as np
import pytest

import autotrain.engine as torch
from autotrain.engine import nn, optim

SHAPES = ((3, 2), (4,))


def _initial():
    rng = np.random.default_rng(11)
    return [rng.standard_normal(s) for s in SHAPES]


def _coefficients(arrays):
    """The test problem: sum(0.1 * p**4 + c * p) per parameter, whose gradient 0.4 p**3 + c changes every step."""
    return [np.linspace(-1.0, 1.5, a.size).reshape(a.shape) for a in arrays]


def _engine_run(cls, kwargs, steps=20, groups=None):
    params = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in _initial()]
    coeffs = [torch.tensor(c, dtype=torch.float64) for c in _coefficients(_initial())]
    opt = cls(params if groups is None else groups(params), **kwargs)
    for _ in range(steps):
        opt.zero_grad()
        loss = sum(((p ** 4) * 0.1 + c * p).sum() for p, c in zip(params, coeffs))
        loss.backward()
        opt.step()
    return [p.detach().numpy().copy() for p in params], opt


def _grad(p, c):
    return 0.4 * p ** 3 + c


# --------------------------------------------------------------------- the formulas, written out independently
def reference_sgd(steps, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
    params, coeffs = _initial(), _coefficients(_initial())
    bufs = [None] * len(params)
    for _ in range(steps):
        for i, (p, c) in enumerate(zip(params, coeffs)):
            d = _grad(p, c) * (-1 if maximize else 1) + weight_decay * p
            if momentum:
                bufs[i] = d.copy() if bufs[i] is None else momentum * bufs[i] + (1 - dampening) * d
                d = d + momentum * bufs[i] if nesterov else bufs[i]
            params[i] = p - lr * d
    return params


def reference_rmsprop(steps, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                      maximize=False):
    params, coeffs = _initial(), _coefficients(_initial())
    v = [np.zeros_like(p) for p in params]
    mean = [np.zeros_like(p) for p in params]
    buf = [np.zeros_like(p) for p in params]
    for _ in range(steps):
        for i, (p, c) in enumerate(zip(params, coeffs)):
            g = _grad(p, c) * (-1 if maximize else 1) + weight_decay * p
            v[i] = alpha * v[i] + (1 - alpha) * g ** 2
            denom = v[i]
            if centered:
                mean[i] = alpha * mean[i] + (1 - alpha) * g
                denom = v[i] - mean[i] ** 2
            denom = np.sqrt(denom) + eps
            if momentum > 0:
                buf[i] = momentum * buf[i] + g / denom
                params[i] = p - lr * buf[i]
            else:
                params[i] = p - lr * g / denom
    return params


def reference_adam(steps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False,
                   decoupled=False):
    params, coeffs = _initial(), _coefficients(_initial())
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    v_max = [np.zeros_like(p) for p in params]
    b1, b2 = betas
    for t in range(1, steps + 1):
        for i, (p, c) in enumerate(zip(params, coeffs)):
            g = _grad(p, c) * (-1 if maximize else 1)
            if decoupled:
                p = p * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * p
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g ** 2
            m_hat = m[i] / (1 - b1 ** t)
            if amsgrad:
                v_max[i] = np.maximum(v_max[i], v[i])
                v_hat = v_max[i] / (1 - b2 ** t)
            else:
                v_hat = v[i] / (1 - b2 ** t)
            params[i] = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return params


FORMULA_CASES = {
    "SGD": (optim.SGD, dict(lr=0.05), lambda: reference_sgd(20, 0.05)),
    "SGD momentum dampening": (optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.3),
                               lambda: reference_sgd(20, 0.05, 0.9, 0.3)),
    "SGD nesterov weight_decay": (optim.SGD, dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1),
                                  lambda: reference_sgd(20, 0.05, 0.8, weight_decay=0.1, nesterov=True)),
    "SGD maximize": (optim.SGD, dict(lr=0.01, momentum=0.5, maximize=True),
                     lambda: reference_sgd(20, 0.01, 0.5, maximize=True)),
    "RMSprop": (optim.RMSprop, dict(lr=0.01), lambda: reference_rmsprop(20)),
    "RMSprop centered momentum weight_decay": (
        optim.RMSprop, dict(lr=0.01, alpha=0.9, momentum=0.7, centered=True, weight_decay=0.05),
        lambda: reference_rmsprop(20, 0.01, 0.9, momentum=0.7, centered=True, weight_decay=0.05)),
    "RMSprop maximize eps": (optim.RMSprop, dict(lr=0.005, eps=1e-3, maximize=True),
                             lambda: reference_rmsprop(20, 0.005, eps=1e-3, maximize=True)),
    "Adam": (optim.Adam, dict(lr=0.05), lambda: reference_adam(20, 0.05)),
    "Adam amsgrad weight_decay betas": (
        optim.Adam, dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True),
        lambda: reference_adam(20, 0.05, (0.8, 0.99), weight_decay=0.1, amsgrad=True)),
    "Adam maximize eps": (optim.Adam, dict(lr=0.01, eps=1e-2, maximize=True),
                          lambda: reference_adam(20, 0.01, eps=1e-2, maximize=True)),
    "AdamW": (optim.AdamW, dict(lr=0.05), lambda: reference_adam(20, 0.05, weight_decay=1e-2, decoupled=True)),
    "AdamW amsgrad": (optim.AdamW, dict(lr=0.05, weight_decay=0.3, amsgrad=True),
                      lambda: reference_adam(20, 0.05, weight_decay=0.3, amsgrad=True, decoupled=True)),
}


@pytest.mark.parametrize("name", list(FORMULA_CASES))
def test_optimizer_follows_its_documented_formula(name):
    cls, kwargs, reference = FORMULA_CASES[name]
    ours, _ = _engine_run(cls, kwargs)
    for got, expected in zip(ours, reference()):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    assert not np.allclose(ours[0], _initial()[0])  # it moved


def test_param_groups_use_their_own_hyperparameters():
    ours, opt = _engine_run(optim.SGD, dict(lr=0.05, momentum=0.9),
                            groups=lambda ps: [{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.01}])
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.01]
    np.testing.assert_allclose(ours[0], reference_sgd(20, 0.05, 0.9)[0], rtol=1e-12)
    np.testing.assert_allclose(ours[1], reference_sgd(20, 0.01, 0.9)[1], rtol=1e-12)


def test_a_parameter_without_grad_is_left_alone_and_gets_no_state():
    a = torch.ones(2, requires_grad=True)
    b = torch.ones(2, requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    (a * 3).sum().backward()
    opt.step()
    assert (b.detach().numpy() == 1).all() and b not in opt.state and a in opt.state
    assert opt.state[a]["step"].item() == 1.0 and opt.state[a]["step"].dtype == np.float32


# --------------------------------------------------------------------- state_dict
def test_state_dict_structure_is_pytorch_s():
    _, opt = _engine_run(optim.Adam, dict(lr=0.05, amsgrad=True), steps=2)
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"} and set(sd["state"]) == {0, 1}
    assert list(sd["state"][0]) == ["step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"]
    assert sd["state"][0]["step"].item() == 2.0
    assert sd["param_groups"] == [{"lr": 0.05, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                                   "amsgrad": True, "maximize": False, "foreach": None, "capturable": False,
                                   "differentiable": False, "fused": None, "decoupled_weight_decay": False,
                                   "params": [0, 1]}]
    _, sgd = _engine_run(optim.SGD, dict(lr=0.1, momentum=0.9), steps=1)
    assert list(sgd.state_dict()["state"][0]) == ["momentum_buffer"]
    _, plain = _engine_run(optim.SGD, dict(lr=0.1), steps=1)
    assert plain.state_dict()["state"] == {}


@pytest.mark.parametrize("cls, kwargs", [(optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
                                         (optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.5)),
                                         (optim.Adam, dict(lr=0.05, amsgrad=True)),
                                         (optim.AdamW, dict(lr=0.05))])
def test_state_dict_round_trip_resumes_exactly(cls, kwargs):
    straight, _ = _engine_run(cls, kwargs, steps=20)
    first_half, opt = _engine_run(cls, kwargs, steps=10)
    saved = opt.state_dict()
    params = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in first_half]
    coeffs = [torch.tensor(c, dtype=torch.float64) for c in _coefficients(_initial())]
    resumed = cls(params, lr=123.0)      # every hyper-parameter comes back from the state dict
    resumed.load_state_dict(saved)
    assert resumed.param_groups[0]["lr"] == kwargs["lr"]
    for _ in range(10):
        resumed.zero_grad()
        sum(((p ** 4) * 0.1 + c * p).sum() for p, c in zip(params, coeffs)).backward()
        resumed.step()
    for got, expected in zip(params, straight):
        np.testing.assert_array_equal(got.detach().numpy(), expected)
    # the loaded state is a copy: stepping the resumed optimizer left the saved dict alone
    key = next(iter(saved["state"][0]))
    assert saved["state"][0][key] is not resumed.state[params[0]][key]


def test_load_state_dict_rejects_a_different_layout():
    _, opt = _engine_run(optim.SGD, dict(lr=0.1), steps=1)
    one = optim.SGD([torch.ones(2, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        one.load_state_dict(opt.state_dict())
    two = optim.SGD([{"params": [torch.ones(1, requires_grad=True)]},
                     {"params": [torch.ones(1, requires_grad=True)]}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        two.load_state_dict(opt.state_dict())


# --------------------------------------------------------------------- the rest of the interface
def test_zero_grad_closure_and_model_parameters():
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(8, 3), torch.randn(8, 1)

    def closure():
        opt.zero_grad()
        loss = nn.MSELoss()(model(x), y)
        loss.backward()
        return loss
    first = opt.step(closure).item()
    for _ in range(20):
        last = opt.step(closure).item()
    assert last < first
    opt.zero_grad(set_to_none=False)
    assert (model.weight.grad.numpy() == 0).all()
    opt.zero_grad()
    assert model.weight.grad is None


def test_step_bumps_versions_so_a_stale_graph_refuses_to_backward():
    w = torch.ones(3, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    loss = (w * w).sum()
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_constructor_errors_match_pytorch():
    p = [torch.ones(1, requires_grad=True)]
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.SGD(p, lr=-1)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        optim.Adam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid alpha value: -0.5"):
        optim.RMSprop(p, alpha=-0.5)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts"):
        optim.Adam(p[0])
    with pytest.raises(TypeError, match="ordering of tensors in sets"):
        optim.Adam([{"params": set(p)}])
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.Adam([p[0] * 2])
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        optim.Adam([{"params": p}, {"params": p}])
    with pytest.raises(RuntimeError, match="fused=True is not supported"):
        optim.Adam(p, fused=True)


def test_repr_lists_each_group():
    opt = optim.SGD([torch.ones(1, requires_grad=True)], lr=0.1)
    assert repr(opt) == ("SGD (\nParameter Group 0\n    dampening: 0\n    differentiable: False\n    foreach: None\n"
                         "    fused: None\n    lr: 0.1\n    maximize: False\n    momentum: 0\n    nesterov: False\n"
                         "    weight_decay: 0\n)")


# --------------------------------------------------------------------- live comparison with real PyTorch
LIVE = {
    "SGD": ("SGD", dict(lr=0.05)),
    "SGD momentum dampening weight_decay": ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.2, weight_decay=0.01)),
    "SGD nesterov maximize": ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True, maximize=True)),
    "RMSprop": ("RMSprop", dict(lr=0.01)),
    "RMSprop centered momentum weight_decay": ("RMSprop", dict(lr=0.005, alpha=0.95, centered=True, momentum=0.5,
                                                               weight_decay=0.01)),
    "Adam": ("Adam", dict(lr=0.01)),
    "Adam amsgrad weight_decay maximize": ("Adam", dict(lr=0.01, betas=(0.8, 0.95), weight_decay=0.05,
                                                        amsgrad=True, maximize=True)),
    "AdamW": ("AdamW", dict(lr=0.01)),
    "AdamW amsgrad": ("AdamW", dict(lr=0.02, weight_decay=0.1, amsgrad=True, eps=1e-6)),
}


def _live_run(framework, name, steps=100):
    cls_name, kwargs = LIVE[name]
    n = framework.nn
    model = n.Sequential(n.Linear(3, 5), n.Tanh(), n.Linear(5, 2)).double()
    init = {k: np.random.default_rng(i).standard_normal(tuple(v.shape)) for i, (k, v) in
            enumerate(model.state_dict().items())}
    model.load_state_dict({k: framework.tensor(v, dtype=framework.float64) for k, v in init.items()})
    opt = getattr(framework.optim, cls_name)(model.parameters(), **kwargs)
    rng = np.random.default_rng(3)
    x = framework.tensor(rng.standard_normal((6, 3)), dtype=framework.float64)
    y = framework.tensor(rng.integers(0, 2, 6), dtype=framework.int64)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = n.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    weights = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    sd = opt.state_dict()
    state = {i: {k: (v.numpy() if hasattr(v, "numpy") else v) for k, v in s.items()} for i, s in sd["state"].items()}
    return losses, weights, state, sd["param_groups"]


@pytest.mark.parametrize("name", list(LIVE))
def test_optimizers_match_pytorch_for_100_steps(name):
    real = pytest.importorskip("torch")
    real.set_num_threads(1)
    ours, theirs = _live_run(torch, name), _live_run(real, name)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-10)
    for key in theirs[1]:
        np.testing.assert_allclose(ours[1][key], theirs[1][key], rtol=1e-10, atol=1e-13, err_msg=key)
    assert ours[3] == theirs[3]     # param_groups, every key and value
    assert ours[2].keys() == theirs[2].keys()
    for index, state in theirs[2].items():
        assert list(ours[2][index]) == list(state)
        for key, value in state.items():
            np.testing.assert_allclose(ours[2][index][key], value, rtol=1e-10, atol=1e-13, err_msg=key)


def test_state_dict_loads_across_frameworks():
    """A PyTorch optimizer's state_dict (tensors as numpy) resumes here exactly, and ours resumes there."""
    real = pytest.importorskip("torch")
    _, _, state, groups = _live_run(real, "Adam amsgrad weight_decay maximize", steps=5)
    ours = torch.nn.Linear(3, 5)
    opt = optim.Adam(ours.parameters())
    opt.load_state_dict({"state": {i: {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in s.items()}
                                   for i, s in state.items() if i < 2},
                         "param_groups": [dict(groups[0], params=[0, 1])]})
    assert opt.param_groups[0]["amsgrad"] and opt.state[ours.weight]["step"].item() == 5.0
    assert opt.state[ours.weight]["exp_avg"].dtype == np.float32   # cast to the parameter's dtype, as PyTorch


@pytest.mark.parametrize("cls, kwargs", [(optim.Adam, dict(lr=0.1, amsgrad=True, weight_decay=0.1)),
                                         (optim.AdamW, dict(lr=0.1)), (optim.Adam, dict(lr=0.1, maximize=True))])
def test_parameters_are_independent_when_some_steps_lack_a_gradient(cls, kwargs):
    """Each parameter's update depends on its own gradients and step count only (the whole-group fast path
    must give way when a parameter misses a step, and resume when the counts agree again)."""
    def run(schedule):
        a = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
        b = torch.tensor([[0.5], [3.0]], dtype=torch.float64, requires_grad=True)
        opt = cls([a, b], **kwargs)
        for uses in schedule:
            opt.zero_grad()
            loss = (a ** 3).sum() * ("a" in uses) + (b ** 2).sum() * 2 * ("b" in uses)
            if "a" not in uses:
                loss = loss + (b * 0).sum()
            loss.backward()
            if "a" not in uses:
                a.grad = None
            opt.step()
        return a.detach().numpy().copy(), b.detach().numpy().copy(), opt
    mixed_a, mixed_b, opt = run(["ab", "b", "ab", "ab", "b", "ab"])
    only_a, _, _ = run(["a"] * 4)
    _, only_b, _ = run(["b"] * 6)
    np.testing.assert_array_equal(mixed_a, only_a)
    np.testing.assert_array_equal(mixed_b, only_b)
    counts = [s["step"].item() for s in opt.state.values()]
    assert counts == [4.0, 6.0]


def test_deepcopy_and_pickle_of_an_optimizer_keep_stepping_identically():
    import copy
    import pickle
    _, opt = _engine_run(optim.Adam, dict(lr=0.05, amsgrad=True), steps=3)
    for clone in (copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))):
        params = clone.param_groups[0]["params"]
        assert clone.state[params[0]]["step"].item() == 3.0
        for p in params:
            p.grad = torch.ones_like(p)
        clone.step()
        assert clone.state[params[0]]["step"].item() == 4.0
