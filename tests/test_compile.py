"""torch.compile: a compiled call gives eager's numbers bit for bit, or runs eagerly and says why.

Each guard test changes one thing a naive trace would bake in (a shape, a Python number, a global, a
module's flag, a random draw) and checks the compiled function against the same code run eagerly.
"""
import random

import numpy as np
import pytest

import autotrain.engine as torch


def _data(n, d_in, d_out, steps, dtype, seed=0, classes=False):
    rng = np.random.default_rng(seed)
    xs = [torch.tensor(rng.standard_normal((n, d_in)).astype(dtype)) for _ in range(steps)]
    if classes:
        ys = [torch.tensor(rng.integers(0, d_out, n)) for _ in range(steps)]
    else:
        ys = [torch.tensor(rng.standard_normal((n, d_out)).astype(dtype)) for _ in range(steps)]
    return xs, ys


OPTIMIZERS = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.05),
    "momentum": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
    "adam": lambda p: torch.optim.Adam(p, lr=1e-2),
    "adamw": lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1),
    "rmsprop": lambda p: torch.optim.RMSprop(p, lr=1e-3),
}


def _trajectory(sizes, opt_name, dtype, compiled, scheduler, loss="mse", steps=100, n=16):
    torch.manual_seed(0)
    torch.set_default_dtype(torch.float64 if dtype == np.float64 else torch.float32)
    try:
        layers = []
        for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
            layers += ([torch.nn.ReLU()] if i else []) + [torch.nn.Linear(a, b)]
        model = torch.nn.Sequential(*layers)
    finally:
        torch.set_default_dtype(torch.float32)
    opt = OPTIMIZERS[opt_name](model.parameters())
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5) if scheduler else None
    loss_fn = torch.nn.CrossEntropyLoss() if loss == "ce" else torch.nn.MSELoss()

    def step(x, y):
        opt.zero_grad()
        out = loss_fn(model(x), y)
        out.backward()
        opt.step()
        return out

    fn = torch.compile(step) if compiled else step
    xs, ys = _data(n, sizes[0], sizes[-1], steps, dtype, classes=loss == "ce")
    losses = []
    for x, y in zip(xs, ys):
        losses.append(fn(x, y).detach().numpy().copy())
        if sched:
            sched.step()
    return np.array(losses), [p.detach().numpy().copy() for p in model.parameters()], fn


@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("scheduler", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tiny_trajectory_is_bit_identical(opt_name, scheduler, dtype):
    eager = _trajectory((8, 16, 16, 4), opt_name, dtype, False, scheduler)
    compiled = _trajectory((8, 16, 16, 4), opt_name, dtype, True, scheduler)
    assert compiled[0].tobytes() == eager[0].tobytes()
    assert all(a.tobytes() == b.tobytes() for a, b in zip(compiled[1], eager[1]))
    assert compiled[2].compiled_calls >= 98, compiled[2].explain()


@pytest.mark.parametrize("opt_name", ["adam", "momentum"])
def test_mlp_cross_entropy_trajectory_is_bit_identical(opt_name):
    eager = _trajectory((64, 128, 128, 10), opt_name, np.float32, False, True, loss="ce", n=32)
    compiled = _trajectory((64, 128, 128, 10), opt_name, np.float32, True, True, loss="ce", n=32)
    assert compiled[0].tobytes() == eager[0].tobytes()
    assert all(a.tobytes() == b.tobytes() for a, b in zip(compiled[1], eager[1]))
    assert compiled[2].compiled_calls >= 98, compiled[2].explain()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_seed_network_compiled_mode_matches_autograd_mode(dtype):
    from autotrain.training.data import make_problem
    from autotrain.modes import make_mode
    problem = make_problem(64, 1000, 100, 10, dtype, seed=0)
    runs = {}
    for name in ("autograd", "compiled"):
        mode = make_mode(name, problem, lr=1e-6)
        x, y = mode.prepare(problem.x, problem.y)
        runs[name] = [mode.step(x, y) for _ in range(100)], mode.state()
    assert runs["compiled"][0] == runs["autograd"][0]
    for k, v in runs["autograd"][1].items():
        assert runs["compiled"][1][k].tobytes() == v.tobytes()


# ------------------------------------------------------------------------------------------- guards
def _linear_fn():
    torch.manual_seed(1)
    return torch.nn.Linear(3, 2)


def test_a_changed_batch_size_retraces_and_the_short_batch_is_right():
    model = _linear_fn()
    f = torch.compile(lambda x: model(x).sum())
    for n in (4, 4, 3, 4, 3):
        x = torch.randn(n, 3)
        assert f(x).item() == model(x).sum().item()
    assert len(f.traces) == 2 and f.compiled_calls == 3


def test_python_numbers_are_guarded_by_value():
    f = torch.compile(lambda x, k: x * k)
    x = torch.ones(2)
    assert f(x, 2.0).tolist() == [2.0, 2.0]
    assert f(x, 3.0).tolist() == [3.0, 3.0]
    assert f(x, 2.0).tolist() == [2.0, 2.0]


SCALE = 2.0


def _scaled(x):
    return x * SCALE


def test_a_changed_global_retraces():
    global SCALE
    f = torch.compile(_scaled)
    x = torch.ones(2)
    assert f(x).tolist() == [2.0, 2.0]
    SCALE = 5.0
    try:
        assert f(x).tolist() == [5.0, 5.0]
    finally:
        SCALE = 2.0


def test_a_changed_closure_value_retraces():
    scale = 2.0

    def g(x):
        return x * scale
    f = torch.compile(g)
    x = torch.ones(2)
    assert f(x).tolist() == [2.0, 2.0]
    scale = 7.0
    assert f(x).tolist() == [7.0, 7.0]


def test_dtype_and_requires_grad_changes_retrace():
    f = torch.compile(lambda x: (x * 3).sum())
    a = torch.ones(2)
    assert f(a).dtype == torch.float32
    assert f(a.double()).dtype == torch.float64
    assert len(f.traces) == 2


def test_aliased_arguments_are_guarded():
    f = torch.compile(lambda a, b: a * 2 + b)
    a, b = torch.ones(2), torch.zeros(2)
    assert f(a, b).tolist() == [2.0, 2.0]
    assert f(a, a).tolist() == [3.0, 3.0]
    assert f(a, b).tolist() == [2.0, 2.0]


def test_outputs_are_the_callers_own():
    f = torch.compile(lambda x: x * 2)
    f(torch.ones(2))
    first = f(torch.ones(2))
    second = f(torch.full((2,), 5.0))
    assert first.tolist() == [2.0, 2.0] and second.tolist() == [10.0, 10.0]


@pytest.mark.parametrize("read", ["item", "float", "bool", "numpy", "tolist"])
def test_a_value_read_during_the_trace_falls_back_with_a_reason(read):
    def g(x):
        s = x.sum()
        value = {"item": lambda: s.item(), "float": lambda: float(s), "bool": lambda: bool(s > 0),
                 "numpy": lambda: s.numpy(), "tolist": lambda: s.tolist()}[read]()
        return x * 2 if value else x * 3
    f = torch.compile(g)
    for data in ([1.0, 2.0], [-5.0, 1.0], [3.0, 3.0]):
        x = torch.tensor(data)
        assert f(x).tolist() == g(x).tolist()
    assert f.compiled_calls == 0 and "reads a value" in f.explain()


def test_python_random_during_the_trace_falls_back():
    """DynamicNet's random depth: a trace would repeat one draw for ever."""
    torch.manual_seed(0)
    layer = torch.nn.Linear(4, 4)

    def dynamic(x):
        for _ in range(random.randint(0, 3)):
            x = layer(x).clamp(min=0)
        return x.sum()
    f = torch.compile(dynamic)
    x = torch.randn(2, 4)
    random.seed(3)
    eager = [dynamic(x).item() for _ in range(6)]
    random.seed(3)
    compiled = [f(x).item() for _ in range(6)]
    assert compiled == eager
    assert f.compiled_calls == 0 and "random" in f.explain()


def test_numpy_global_rng_during_the_trace_falls_back():
    def g(x):
        return x * float(np.random.rand())
    f = torch.compile(g)
    np.random.seed(0)
    eager = [g(torch.ones(1)).tolist() for _ in range(3)]
    np.random.seed(0)
    assert [f(torch.ones(1)).tolist() for _ in range(3)] == eager
    assert "numpy's global random state" in f.explain()


def test_dropout_draws_fresh_masks_in_eagers_sequence():
    def run(compiled):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(6, 32), torch.nn.Dropout(0.5), torch.nn.Linear(32, 2))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)

        def step(x):
            opt.zero_grad()
            loss = model(x).pow(2).mean()
            loss.backward()
            opt.step()
            return loss
        fn = torch.compile(step) if compiled else step
        x = torch.ones(4, 6)
        return [fn(x).item() for _ in range(10)], fn
    eager, _ = run(False)
    compiled, fn = run(True)
    assert compiled == eager and len(set(eager)) > 5
    assert fn.compiled_calls >= 8, fn.explain()


def test_the_training_flag_is_guarded():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Dropout(0.5))
    f = torch.compile(model)
    x = torch.ones(3, 6)
    f(x)
    model.eval()
    assert f(x).tolist() == model(x).tolist()


def test_a_replaced_submodule_retraces():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2))
    f = torch.compile(model)
    x = torch.ones(1, 3)
    f(x)
    model[0] = torch.nn.Linear(3, 2)
    assert f(x).tolist() == model(x).tolist()


def test_gradients_accumulate_without_zero_grad_as_eager():
    def run(compiled):
        w = torch.ones(3, requires_grad=True)

        def g(x):
            (w * x).sum().backward()
        fn = torch.compile(g) if compiled else g
        for k in range(4):
            fn(torch.full((3,), float(k + 1)))
        return w.grad.tolist()
    assert run(True) == run(False) == [10.0, 10.0, 10.0]


def test_the_tutorials_manual_update_under_no_grad():
    def run(compiled):
        torch.manual_seed(0)
        w1 = torch.randn(5, 7, requires_grad=True)
        w2 = torch.randn(7, 2, requires_grad=True)
        x, y = torch.randn(4, 5), torch.randn(4, 2)

        def step(x, y):
            nonlocal w1, w2
            loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
            loss.backward()
            with torch.no_grad():
                w1 -= 1e-3 * w1.grad
                w2 -= 1e-3 * w2.grad
                w1.grad = None
                w2.grad = None
            return loss
        fn = torch.compile(step) if compiled else step
        losses = [fn(x, y).item() for _ in range(50)]
        return losses, w1.detach().numpy().copy(), fn
    eager, compiled = run(False), run(True)
    assert compiled[0] == eager[0] and compiled[1].tobytes() == eager[1].tobytes()
    assert compiled[2].compiled_calls == 49, compiled[2].explain()


def test_in_place_change_of_an_argument_falls_back():
    def g(x):
        x.mul_(2)
        return x + 1
    f = torch.compile(g)
    a = torch.ones(2)
    f(a)
    f(a)
    assert a.tolist() == [4.0, 4.0] and "argument" in f.explain()


def test_fullgraph_raises_instead_of_falling_back():
    f = torch.compile(lambda x: x * x.sum().item(), fullgraph=True)
    with pytest.raises(RuntimeError, match="reads a value"):
        f(torch.ones(2))


def test_explain_lists_traces_guards_and_the_plan():
    f = torch.compile(lambda x: (x * 2).sum())
    f(torch.ones(3))
    f(torch.ones(3))
    text = f.explain()
    assert "1 ran the plan" in text and "guards:" in text and "plan_memory" in text


# ------------------------------------------------------------------------------- the step in the plan
def _sgd_setup(opt_factory, seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(5, 6), torch.nn.ReLU(), torch.nn.Linear(6, 3))
    opt = opt_factory(model.parameters())
    loss_fn = torch.nn.MSELoss()

    def step(x, y):
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss
    return model, opt, step


def _side_by_side(opt_factory, change, steps=12, at=5):
    """The same training run eagerly and compiled, with ``change(model, opt)`` applied to both before step
    ``at``; returns (eager params, compiled params, eager losses, compiled losses, the compiled function)."""
    xs, ys = _data(4, 5, 3, steps, np.float32, seed=3)
    runs = []
    for compiled in (False, True):
        model, opt, step = _sgd_setup(opt_factory)
        fn = torch.compile(step) if compiled else step
        losses = []
        for k, (x, y) in enumerate(zip(xs, ys)):
            if k == at:
                change(model, opt)
            losses.append(fn(x, y).item())
        runs.append(([p.detach().numpy().copy() for p in model.parameters()], losses, fn, opt))
    (pe, le, _, oe), (pc, lc, fc, oc) = runs
    assert lc == le
    assert all(a.tobytes() == b.tobytes() for a, b in zip(pc, pe))
    return fc, oe, oc


@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
def test_the_optimizer_step_runs_inside_the_plan(opt_name):
    f, eager_opt, compiled_opt = _side_by_side(OPTIMIZERS[opt_name], lambda m, o: None)
    assert "0 optimizer steps after the plan" in f.explain() and f.compiled_calls == 11, f.explain()
    for a, b in zip(eager_opt.state.values(), compiled_opt.state.values()):   # step counters, moments
        assert {k: v.numpy().tobytes() for k, v in a.items()} == {k: v.numpy().tobytes() for k, v in b.items()}


@pytest.mark.parametrize("opt_name", ["sgd", "momentum", "adam", "rmsprop"])
def test_an_lr_changed_by_hand_is_used_without_a_retrace(opt_name):
    def change(model, opt):
        opt.param_groups[0]["lr"] = opt.param_groups[0]["lr"] * 3
    f, _, _ = _side_by_side(OPTIMIZERS[opt_name], change)
    assert len(f.traces) == 1 and f.compiled_calls == 11, f.explain()


def test_betas_and_momentum_values_are_fed_not_baked_in():
    def adam(model, opt):
        opt.param_groups[0]["betas"] = (0.5, 0.9)
        opt.param_groups[0]["eps"] = 1e-3
    f, _, _ = _side_by_side(OPTIMIZERS["adam"], adam)
    assert len(f.traces) == 1, f.explain()

    def momentum(model, opt):
        opt.param_groups[0]["momentum"] = 0.5
    f, _, _ = _side_by_side(OPTIMIZERS["momentum"], momentum)
    assert len(f.traces) == 1, f.explain()


def test_a_structural_hyperparameter_change_retraces():
    def nesterov(model, opt):
        opt.param_groups[0]["nesterov"] = True
    f, _, _ = _side_by_side(OPTIMIZERS["momentum"], nesterov)
    assert len(f.traces) == 2, f.explain()

    def maximize(model, opt):
        opt.param_groups[0]["maximize"] = True
    f, _, _ = _side_by_side(OPTIMIZERS["adam"], maximize)
    assert len(f.traces) == 2, f.explain()


def test_amsgrad_and_weight_decay_in_the_plan():
    for factory in (lambda p: torch.optim.Adam(p, lr=1e-2, amsgrad=True, weight_decay=0.1),
                    lambda p: torch.optim.AdamW(p, lr=1e-2, amsgrad=True, maximize=True),
                    lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1),
                    lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.3, maximize=True),
                    lambda p: torch.optim.RMSprop(p, lr=1e-3, momentum=0.9, centered=True, weight_decay=0.1)):
        f, _, _ = _side_by_side(factory, lambda m, o: None)
        assert "0 optimizer steps after the plan" in f.explain()


@pytest.mark.parametrize("opt_name", ["momentum", "adam", "rmsprop"])
def test_replaced_optimizer_state_retraces(opt_name):
    def reload(model, opt):   # new state tensors (deep copies) with the same values
        opt.load_state_dict(opt.state_dict())
    f, _, _ = _side_by_side(OPTIMIZERS[opt_name], reload)
    assert len(f.traces) == 2, f.explain()

    def one_entry(model, opt):   # one state tensor replaced by hand, with other values
        state = opt.state[next(iter(model.parameters()))]
        key = "momentum_buffer" if opt_name == "momentum" else "square_avg" if opt_name == "rmsprop" else "exp_avg"
        state[key] = torch.ones_like(state[key])
    _side_by_side(OPTIMIZERS[opt_name], one_entry)


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_a_replaced_parameter_list_retraces(opt_name):
    # (the parameters left out keep accumulating .grad: a third trace follows, for their .grad no longer None)
    def fewer(model, opt):
        opt.param_groups[0]["params"] = list(model.parameters())[2:]
    f, _, _ = _side_by_side(OPTIMIZERS[opt_name], fewer)
    assert len(f.traces) >= 2, f.explain()

    def in_place(model, opt):
        del opt.param_groups[0]["params"][0]
    f, _, _ = _side_by_side(OPTIMIZERS[opt_name], in_place)
    assert len(f.traces) >= 2, f.explain()


def test_an_lr_that_is_not_a_python_number_runs_eagerly():
    def numpy_lr(model, opt):   # numpy's float64 is not rounded to float32 as a Python float is: eager's numbers
        opt.param_groups[0]["lr"] = np.float64(0.05)
    f, _, _ = _side_by_side(OPTIMIZERS["sgd"], numpy_lr)
    assert "not a Python number" in f.explain()


def test_parameter_versions_are_bumped_as_eager_bumps_them():
    xs, ys = _data(4, 5, 3, 6, np.float32)
    versions = []
    for compiled in (False, True):
        model, opt, step = _sgd_setup(OPTIMIZERS["adam"])
        fn = torch.compile(step) if compiled else step
        for x, y in zip(xs, ys):
            fn(x, y)
        versions.append([p._version for p in model.parameters()] +
                        [t._version for s in opt.state.values() for t in s.values()])
    assert versions[0] == versions[1]


# ------------------------------------------------------------------------------- fast paths
def _compiled_sgd():
    model, opt, step = _sgd_setup(OPTIMIZERS["momentum"])
    f = torch.compile(step)
    x, y = torch.randn(4, 5), torch.randn(4, 3)
    f(x, y)
    f(x, y)   # the full guard's match builds the fast guard
    assert f._fast is not None
    return model, opt, f, x, y


def _agrees_with_the_full_guard(f, args):
    """The fast guard's verdict, checked against the full guard (a pass must be a pass there too)."""
    fast = f._fast.check(args)
    full = f._guard_key(args, {})[0] == f._fast.trace.guard and all(
        (p.grad is None) is none for p, none in f._fast.trace.grads_none)
    assert not fast or full
    return fast


def test_the_fast_guard_refuses_every_change_the_full_guard_sees():
    model, opt, f, x, y = _compiled_sgd()
    assert _agrees_with_the_full_guard(f, (x, y))
    changes = [
        lambda: (torch.randn(5, 5), y),                          # a shape
        lambda: (x.double(), y),                                 # a dtype
        lambda: (x.clone().requires_grad_(), y),                 # requires_grad
        lambda: (x[1:], y),                                      # a view
        lambda: (x, x),                                          # aliasing
    ]
    for change in changes:
        assert not _agrees_with_the_full_guard(f, change())
    edits = [
        lambda: setattr(model, "training", False),
        lambda: setattr(model[0], "weight", torch.nn.Parameter(model[0].weight.detach().clone())),
        lambda: model._modules.__setitem__("1", torch.nn.Tanh()),
        lambda: opt.param_groups[0].__setitem__("nesterov", True),
        lambda: opt.param_groups[0]["params"].pop(),
        lambda: opt.state.clear(),
        lambda: setattr(next(model.parameters()), "grad", torch.zeros(6, 5)),
    ]
    for edit in edits:
        model, opt, f, x, y = _compiled_sgd()
        edit()
        assert not _agrees_with_the_full_guard(f, (x, y))


def test_the_fast_guard_passes_a_new_lr_and_new_batches():
    model, opt, f, x, y = _compiled_sgd()
    opt.param_groups[0]["lr"] = 0.123
    assert _agrees_with_the_full_guard(f, (torch.randn(4, 5), torch.randn(4, 3)))


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_the_generated_replay_matches_the_general_replay(opt_name):
    xs, ys = _data(4, 5, 3, 10, np.float32)
    results = []
    for generated in (True, False):
        model, opt, step = _sgd_setup(OPTIMIZERS[opt_name])
        f = torch.compile(step)
        losses = []
        for x, y in zip(xs, ys):
            losses.append(f(x, y).item())
            for trace in f.traces:
                if not generated:
                    trace.fast_replay = None
                else:
                    assert trace.fast_replay is not None
        results.append((losses, [p.detach().numpy().tobytes() for p in model.parameters()]))
        assert f.compiled_calls == 9
    assert results[0] == results[1]


def test_one_hot_targets_match_the_general_target_matrix():
    from autotrain.engine.compile import _OneHotTargets
    from autotrain.engine.nn import functional as F
    rng = np.random.default_rng(0)

    def general(tensors):
        stand_in = torch.tensor(np.empty((6, 4), np.float32))
        labels = F.check_targets(stand_in, tensors[0], 1)
        return F.target_matrix(stand_in, labels, 1, None, -100, 0.0, True)[0]
    fast = _OneHotTargets(general, 0, (6, 4), np.float32, True)
    for _ in range(5):
        labels = [torch.tensor(rng.integers(0, 4, 6))]
        assert fast(labels).tobytes() == general(labels).tobytes()
    for bad in ([0, 1, 2, 3, 4, 0], [0, -1, 2, 3, 1, 0]):
        with pytest.raises(IndexError, match="out of bounds"):
            fast([torch.tensor(np.array(bad))])


def test_cross_entropy_with_an_out_of_range_label_raises_as_eager():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 4)
    f = torch.compile(lambda x, y: torch.nn.functional.cross_entropy(model(x), y))
    x = torch.randn(5, 3)
    for _ in range(3):
        f(x, torch.tensor(np.array([0, 1, 2, 3, 0])))
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        f(x, torch.tensor(np.array([0, 1, 7, 3, 0])))


def test_alternating_batch_shapes_keep_a_fast_guard_each():
    xs, ys = _data(4, 5, 3, 12, np.float32)
    short = _data(2, 5, 3, 12, np.float32, seed=1)
    runs = []
    for compiled in (False, True):
        model, opt, step = _sgd_setup(OPTIMIZERS["adam"])
        fn = torch.compile(step) if compiled else step
        losses = [fn(*(pair if k % 3 else (short[0][k], short[1][k]))).item()
                  for k, pair in enumerate(zip(xs, ys))]
        runs.append((losses, [p.detach().numpy().tobytes() for p in model.parameters()], fn))
    assert runs[0][:2] == runs[1][:2]
    assert len(runs[1][2]._fast_guards) == 2 and runs[1][2].compiled_calls == 10


@pytest.mark.parametrize("reduction", ["sum", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_planned_softmax_cross_entropy_matches_the_op(reduction, dtype):
    import types
    from autotrain.engine.compile import (PlannedSoftmaxCrossEntropy, PlannedSoftmaxCrossEntropyGrad, _SCE,
                                          _SoftmaxWork)
    rng = np.random.default_rng(0)
    for shape in ((6, 4), (3, 5, 2)):
        logits = rng.standard_normal(shape).astype(dtype) * 5
        logits.flat[3] = -np.inf
        target = rng.random(shape).astype(dtype)
        target.flat[3] = 0.0
        work = _SoftmaxWork()
        loss = PlannedSoftmaxCrossEntropy.forward(np, logits, target, axis=1, reduction=reduction, work=work)
        expected = _SCE.forward(np, logits, target, axis=1, reduction=reduction)
        assert np.asarray(loss).tobytes() == np.asarray(expected).tobytes()
        g = rng.random(np.shape(expected)).astype(dtype)
        out = np.empty(shape, dtype)
        grad = PlannedSoftmaxCrossEntropyGrad.forward(np, logits, target, g, loss, out=out, axis=1,
                                                      reduction=reduction, work=work)
        ctx = types.SimpleNamespace(inputs=(logits, target), attrs={"axis": 1, "reduction": reduction},
                                    needs_input_grad=(True, False))
        assert grad is out and grad.tobytes() == _SCE.backward(ctx, np, g)[0].tobytes()


def test_a_step_that_zeroes_first_needs_one_trace():
    losses, params, fn = _trajectory((8, 16, 16, 4), "adam", np.float32, True, False, steps=10)
    eager = _trajectory((8, 16, 16, 4), "adam", np.float32, False, False, steps=10)
    assert losses.tobytes() == eager[0].tobytes()
    assert len(fn.traces) == 1 and fn.compiled_calls == 9, fn.explain()


def test_a_grad_read_before_zero_grad_stays_guarded():
    torch.manual_seed(0)
    w = torch.ones(3, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)

    def step(x):
        carried = w.grad * 0.5 if w.grad is not None else None   # reads the .grad left by the last call
        opt.zero_grad()
        loss = (w * x).sum() if carried is None else (w * x).sum() + (carried * w).sum()
        loss.backward()
        opt.step()
        return loss
    f = torch.compile(step)
    x = torch.full((3,), 2.0)
    got = [f(x).item() for _ in range(4)]
    torch.manual_seed(0)
    w = torch.ones(3, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    assert got == [step(x).item() for _ in range(4)]


def test_a_momentum_schedule_stays_on_the_fast_guard():
    def cycle(model, opt):
        opt.param_groups[0]["momentum"] = 0.8
    import sys
    built = []
    compile_module = sys.modules["autotrain.engine.compile"]   # (the package's ``compile`` is the function)
    original = compile_module._FastGuard.__init__

    def counting(self, *args):
        built.append(1)
        original(self, *args)
    compile_module._FastGuard.__init__ = counting
    try:
        f, _, _ = _side_by_side(OPTIMIZERS["momentum"], cycle)
    finally:
        compile_module._FastGuard.__init__ = original
    assert len(f.traces) == 1 and len(built) == 1, f.explain()

    def to_zero(model, opt):   # momentum 0 is another formula: the fast guard refuses, the full guard re-traces
        opt.param_groups[0]["momentum"] = 0
    f, _, _ = _side_by_side(OPTIMIZERS["momentum"], to_zero)
    assert len(f.traces) == 2, f.explain()


def test_an_aliased_trace_never_serves_distinct_arguments():
    f = torch.compile(lambda a, b: a * 2 + b)
    a, b = torch.ones(2), torch.zeros(2)
    for _ in range(3):   # the aliased trace replayed by the full guard, more than once
        assert f(a, a).tolist() == [3.0, 3.0]
    assert f(a, b).tolist() == [2.0, 2.0]
    assert f(a, a).tolist() == [3.0, 3.0]
    assert f(b, a).tolist() == [1.0, 1.0]


class _StraightThroughSign(torch.autograd.Function):
    """sign() forward, identity backward clipped to |x| <= 1: not the forward's derivative (which is 0)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sign()

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * (x.abs() <= 1).to(g.dtype)


def test_a_custom_functions_own_backward_gives_the_gradients():
    def run(compiled):
        torch.manual_seed(0)
        w = torch.randn(4, 3, requires_grad=True)
        x = torch.randn(5, 4)

        def step(x):
            nonlocal w
            loss = (_StraightThroughSign.apply(x @ w) * 2).sum()
            loss.backward()
            with torch.no_grad():
                w -= 0.1 * w.grad
                w.grad = None
            return loss
        fn = torch.compile(step) if compiled else step
        start = w.detach().numpy().copy()
        for _ in range(4):
            fn(x)
        return w.detach().numpy().copy(), start, fn
    (eager, start, _), (compiled, _, fn) = run(False), run(True)
    assert not np.array_equal(eager, start)   # sign's own derivative (0) would leave w where it started
    assert compiled.tobytes() == eager.tobytes()
    assert fn.compiled_calls == 3, fn.explain()   # the plan runs the Function's own backward


def test_a_value_computed_under_no_grad_passes_no_gradient():
    def run(compiled):
        w = torch.ones(3, requires_grad=True)

        def step(x):
            with torch.no_grad():
                s = w * 2                  # a constant for backward, as in eager
            (s * w * x).sum().backward()
        fn = torch.compile(step) if compiled else step
        for _ in range(3):
            fn(torch.full((3,), 1.0))
        return w.grad.tolist(), fn
    (eager, _), (compiled, fn) = run(False), run(True)
    assert compiled == eager == [6.0, 6.0, 6.0] and fn.compiled_calls == 1, fn.explain()


def test_a_custom_functions_backward_with_in_place_ops_and_several_inputs():
    class ClippedMul(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a, b, limit):
            ctx.save_for_backward(a, b)
            ctx.limit = limit
            return a * b

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            ga, gb = (g * b).clone(), g * a
            ga[ga > ctx.limit] = ctx.limit      # a clipped gradient: not the product rule
            return ga, gb, None                 # gb unbroadcast to b's shape, as eager does

    def run(compiled):
        torch.manual_seed(1)
        a = torch.randn(4, 3, requires_grad=True)
        b = torch.randn(3, requires_grad=True)

        def step(x):
            nonlocal a, b
            loss = (ClippedMul.apply(a * x, b, 0.25) ** 2).sum()
            loss.backward()
            with torch.no_grad():
                a -= 0.1 * a.grad
                b -= 0.1 * b.grad
            a.grad = b.grad = None
            return loss
        fn = torch.compile(step) if compiled else step
        x = torch.randn(4, 3)
        losses = [fn(x).detach().numpy().copy() for _ in range(5)]
        return losses, a.detach().numpy().copy(), b.detach().numpy().copy(), fn
    eager, compiled = run(False), run(True)
    for want, got in zip(eager[:3], compiled[:3]):
        assert np.asarray(got).tobytes() == np.asarray(want).tobytes()
    assert compiled[3].compiled_calls == 4, compiled[3].explain()


def test_a_custom_function_under_no_grad_still_compiles():
    w = torch.ones(3)
    fn = torch.compile(lambda x: _StraightThroughSign.apply(x * w) + 1)
    for _ in range(3):
        out = fn(torch.tensor([-2.0, 0.5, 3.0]))
    assert out.tolist() == [0.0, 2.0, 2.0] and fn.compiled_calls == 2, fn.explain()


def test_several_writes_to_one_tensor_in_one_call_leave_eagers_last_value():
    def run(compiled):
        torch.manual_seed(0)
        w = torch.randn(3, 2, requires_grad=True)
        b = torch.zeros(2)

        def step(x):
            nonlocal w
            loss = (x @ w).pow(2).sum()
            loss.backward()              # w.grad set (accumulated into the one from the call before)
            with torch.no_grad():
                w.mul_(0.9)              # three in-place changes chained on the parameter
                w.sub_(0.01 * w.grad)
                w.add_(b)
                b.add_(1.0).mul_(0.5)    # and on a plain state tensor
                w.grad.zero_()           # written again after backward ...
                w.grad.add_(w * 0.5)     # ... and again
            return loss
        fn = torch.compile(step) if compiled else step
        x = torch.randn(4, 3)
        losses = [fn(x).detach().numpy().copy() for _ in range(6)]
        return losses, w.detach().numpy().copy(), w.grad.numpy().copy(), b.numpy().copy(), fn
    eager, compiled = run(False), run(True)
    for want, got in zip(eager[:4], compiled[:4]):
        assert np.asarray(got).tobytes() == np.asarray(want).tobytes()
    fn = compiled[4]
    assert fn.eager_reason is None and not fn.fallbacks and fn.compiled_calls >= 4, fn.explain()


def test_an_index_tensor_is_never_baked_into_the_plan():
    f = torch.compile(lambda x, i: x[i] * 2)
    x = torch.arange(5.0)
    for i in ([0, 1], [3, 4], [2, 2]):
        assert f(x, torch.tensor(i)).tolist() == (x[torch.tensor(i)] * 2).tolist()
    assert f.compiled_calls == 0 and "indexes with a tensor" in f.explain(), f.explain()
    m = torch.compile(lambda x: x[x > 2.5] + 0)
    assert m(x).tolist() == [3.0, 4.0] and m(x - 1).tolist() == [3.0] and m.compiled_calls == 0


def test_basic_indexing_and_a_traced_mask_write_run_the_plan():
    def g(x):
        y = x[1:4] * 2 + x[..., None, ::2].sum()
        z = y * 1
        z[z > 10] = 10.0          # a mask the call computes: where(mask, 10, z) in the plan
        return z
    f = torch.compile(g)
    for k in range(4):
        x = torch.arange(5.0) + k
        assert f(x).numpy().tobytes() == g(x).numpy().tobytes()
    assert f.compiled_calls == 3, f.explain()


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_weights_clamped_after_the_planned_step_as_eager(opt_name):
    def run(compiled):
        torch.manual_seed(0)
        model = torch.nn.Linear(4, 3)
        opt = OPTIMIZERS[opt_name](model.parameters())

        def step(x, y):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
            with torch.no_grad():
                for p in model.parameters():
                    p.clamp_(-0.3, 0.3)        # written again after the step wrote it
                model.weight.mul_(0.99)
            return loss
        fn = torch.compile(step) if compiled else step
        xs, ys = _data(8, 4, 3, 12, np.float32)
        losses = [fn(x, y).detach().numpy().copy() for x, y in zip(xs, ys)]
        return losses, [p.detach().numpy().copy() for p in model.parameters()], fn
    eager, compiled = run(False), run(True)
    assert [a.tobytes() for a in compiled[0]] == [a.tobytes() for a in eager[0]]
    assert [a.tobytes() for a in compiled[1]] == [a.tobytes() for a in eager[1]]
    assert compiled[2].compiled_calls >= 10 and not compiled[2].fallbacks, compiled[2].explain()


def test_a_custom_function_output_made_without_function_apply_runs_eagerly():
    from autotrain.engine.function import FunctionCtx

    def own_apply(x):   # Function.apply's work done by hand: the trace never sees the Function's output made
        ctx = FunctionCtx(_StraightThroughSign, (x,))
        with torch.no_grad():
            out = _StraightThroughSign.forward(ctx, x)
        out.grad_fn, out._requires_grad = ctx, True
        return out

    w = torch.ones(3, requires_grad=True)

    def step(x):
        (own_apply(x * w) * 2).sum().backward()
    fn = torch.compile(step)
    for _ in range(3):
        fn(torch.tensor([0.5, -2.0, 0.25]))
    assert w.grad.tolist() == [3.0, 0.0, 1.5] and fn.compiled_calls == 0, fn.explain()   # 3 x (2 x [1, 0, 1] x x)
    assert "not made by Function.apply" in fn.explain()


def test_a_custom_function_subclass_calling_super_apply_runs_the_plan():
    class Scaled(_StraightThroughSign):
        @classmethod
        def apply(cls, x):
            return super().apply(x * 3)

    def run(compiled):
        w = torch.ones(3, requires_grad=True)

        def step(x):
            (Scaled.apply(x * w) * 2).sum().backward()
        fn = torch.compile(step) if compiled else step
        for _ in range(3):
            fn(torch.tensor([0.2, -2.0, 0.25]))
        return w.grad.tolist(), fn
    (eager, _), (compiled, fn) = run(False), run(True)
    assert compiled == eager and eager != [0.0, 0.0, 0.0] and fn.compiled_calls == 1, fn.explain()


# ------------------------------------------------------------------ a parameter's array replaced by another layout
def _linear_step_losses(compiled: bool, change) -> list:
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).sum()
        loss.backward()
        opt.step()
        return loss
    step = torch.compile(step) if compiled else step
    x, y = torch.ones(4, 3), torch.zeros(4, 2)
    out = [step(x, y).item() for _ in range(3)]
    change(model)
    try:
        out += [step(x, y).item() for _ in range(2)] + [model.bias.detach().numpy().tolist()]
    except RuntimeError as exc:   # what eager refuses, the compiled call refuses the same way
        out.append(str(exc))
    return out


@pytest.mark.parametrize("change", [
    lambda m: setattr(m.bias, "data", torch.tensor([0.5])),           # another shape (broadcasts)
    lambda m: setattr(m.weight, "data", m.weight.data.double()),     # another dtype (eager refuses the matmul)
    lambda m: setattr(m.bias, "data", m.bias.data.double()),
    lambda m: setattr(m.weight, "data", torch.ones(3, 2).t()),        # same layout, a non-contiguous array
    lambda m: m.double(),                                             # every parameter converted
], ids=["bias-shape", "weight-dtype", "bias-dtype", "transposed", "module-double"])
def test_replacing_a_parameters_array_with_another_layout_retraces(change):
    """The plan reads each parameter's array when it runs, but was written for its shape and dtype: a
    naive fast guard (identities only) replays the old plan on the new array and fails inside numpy."""
    assert _linear_step_losses(True, change) == _linear_step_losses(False, change)
