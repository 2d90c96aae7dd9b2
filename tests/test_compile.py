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
