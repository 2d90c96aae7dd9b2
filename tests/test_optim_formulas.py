"""engine/optim/formulas.py: PyTorch's update rules written once.  Their three spellings (in place on arrays,
new arrays, graph nodes) round alike, and every mode that trains with them takes the same steps."""
import numpy as np
import pytest

import autotrain.engine as torch
from autotrain.engine import optim
from autotrain.engine.optim import formulas
from autotrain.engine.optim.formulas import ArrayOps, FunctionalOps
from autotrain.modes import build_mode, ModelSpec, OptimizerSpec

# (rule, hyper-parameters, state names): every flag each rule has, on and off
CASES = [
    ("sgd", dict(lr=0.1), ()),
    ("sgd", dict(lr=0.1, weight_decay=0.1, maximize=True), ()),
    ("sgd", dict(lr=0.1, momentum=0.9), ("momentum_buffer",)),
    ("sgd", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.05), ("momentum_buffer",)),
    ("sgd", dict(lr=0.1, momentum=0.9, nesterov=True, maximize=True), ("momentum_buffer",)),
    ("rmsprop", dict(lr=0.01), ("square_avg",)),
    ("rmsprop", dict(lr=0.01, alpha=0.9, weight_decay=0.1, maximize=True), ("square_avg",)),
    ("rmsprop", dict(lr=0.01, centered=True), ("square_avg", "grad_avg")),
    ("rmsprop", dict(lr=0.01, momentum=0.5, centered=True), ("square_avg", "grad_avg", "momentum_buffer")),
    ("rmsprop", dict(lr=0.01, momentum=0.5), ("square_avg", "momentum_buffer")),
    ("adam", dict(lr=0.01), ("exp_avg", "exp_avg_sq")),
    ("adam", dict(lr=0.01, betas=(0.8, 0.95), weight_decay=0.1, maximize=True), ("exp_avg", "exp_avg_sq")),
    ("adam", dict(lr=0.01, amsgrad=True), ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")),
    ("adamw", dict(lr=0.01, weight_decay=0.1), ("exp_avg", "exp_avg_sq")),
    ("adamw", dict(lr=0.01, weight_decay=0.1, amsgrad=True, maximize=True),
     ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in hyper.items())}" for name, hyper, _ in CASES]
STEPS = 5


def _problem(dtype, shape, seed=0):
    """An initial parameter, a gradient per step, and the starting state (zeros, as every rule starts)."""
    rng = np.random.default_rng(seed)
    p = rng.standard_normal(shape).astype(dtype)
    grads = [rng.standard_normal(shape).astype(dtype) for _ in range(STEPS)]
    return p, grads


def _initial_state(names, p):
    # SGD's buffer starts as the first gradient (no entry); the other rules' state starts at zero
    return {n: np.zeros_like(p) for n in names if n != "momentum_buffer" or len(names) > 1}


def _run_arrays(name, hyper, names, p, grads):
    p = p.copy()
    state = _initial_state(names, p)
    ops = ArrayOps(np, p)
    for t, g in enumerate(grads, start=1):
        new_p, state = formulas.RULES[name](p, g, state, t, **hyper, ops=ops)
        assert new_p is p   # in place
    return p, state


def _run_functional(name, hyper, names, p, grads):
    state = _initial_state(names, p)
    ops = FunctionalOps(np)
    for t, g in enumerate(grads, start=1):
        p, state = formulas.RULES[name](p, g, state, t, **hyper, ops=ops)
    return p, state


def _same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, hyper, names", CASES, ids=IDS)
def test_in_place_and_new_array_spellings_round_alike(name, hyper, names, dtype):
    for shape in [(4, 3), ()]:   # a 0-d parameter too: numpy hands back scalars from -g there
        p, grads = _problem(dtype, shape)
        p_inplace, s_inplace = _run_arrays(name, hyper, names, p, grads)
        p_new, s_new = _run_functional(name, hyper, names, p, grads)
        assert _same_bits(p_inplace, p_new)
        assert set(s_inplace) == set(s_new) == set(names)
        assert all(_same_bits(s_inplace[k], s_new[k]) for k in names)
        assert not _same_bits(p_inplace, p)   # the rule moved the parameter


def test_the_rules_compute_pytorch_s_documented_first_adam_step():
    """Step 1 of Adam: m = 0.1 g, v = 0.001 g^2, so the step is lr * g / (|g| + eps) -- by hand."""
    g = np.array([0.5, -2.0, 1e-3])
    p, _ = _run_arrays("adam", dict(lr=0.01, eps=1e-8), ("exp_avg", "exp_avg_sq"), np.zeros(3), [g])
    np.testing.assert_allclose(p, -0.01 * g / (np.abs(g) + 1e-8), rtol=1e-12)


def test_sgd_momentum_starts_its_buffer_as_a_copy_of_the_gradient():
    p, g = np.ones(3), np.array([1.0, 2.0, 3.0])
    _, state = formulas.sgd(p, g, {}, 1, lr=0.1, momentum=0.9, ops=ArrayOps(np, p))
    assert _same_bits(state["momentum_buffer"], g) and state["momentum_buffer"] is not g


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, hyper, names", CASES, ids=IDS)
def test_graph_spelling_rounds_as_the_arrays(name, hyper, names, dtype):
    """The rules on static-graph nodes (Variables, a fed gradient; the step a number) give the in-place
    spelling's bits: what a graph-building caller (the static mode, a compiled plan) gets."""
    import autotrain.engine.static as tf

    p0, grads = _problem(dtype, (4, 3), seed=1)
    want_p, want_state = _run_arrays(name, hyper, names, p0, grads)
    p, state = p0.copy(), _initial_state(names, p0)
    for t, g in enumerate(grads, start=1):
        graph = tf.Graph()
        with graph.as_default():
            var = tf.Variable(p)
            slots = {k: tf.Variable(v) for k, v in state.items()}
            grad = tf.placeholder(getattr(tf, dtype), shape=g.shape)
            new_p, new_state = formulas.RULES[name](var, grad, dict(slots), t, **hyper, ops=FunctionalOps(tf))
            fetch = [new_p, *(new_state[k] for k in names)]
            init = tf.global_variables_initializer()
        with tf.Session(graph=graph) as sess:
            sess.run(init)
            p, *values = sess.run(fetch, feed_dict={grad: g})
        state = dict(zip(names, values))
    assert _same_bits(p, want_p)
    assert all(_same_bits(state[k], want_state[k]) for k in names)


# ------------------------------------------------------------------- the modes that run the rules
MODE_OPTIMIZERS = ["sgd", "momentum", "rmsprop", "adam", "adamw"]


def _mode_run(mode, opt, dtype, weight_decay, steps=8):
    spec = ModelSpec((5, 7, 3), activation="tanh", bias=True, loss="mse",
                     optimizer=OptimizerSpec(opt, lr=1e-2, weight_decay=weight_decay))
    rng = np.random.default_rng(4)
    params = {k: rng.standard_normal(s).astype(dtype) for k, s in spec.param_shapes().items()}
    x, y = rng.standard_normal((9, 5)).astype(dtype), rng.standard_normal((9, 3)).astype(dtype)
    m = build_mode(mode, spec, params)
    xx, yy = m.prepare(x, y)
    losses = [m.step(xx, yy) for _ in range(steps)]
    return np.array(losses), m.state(), m.optimizer_state()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("opt", MODE_OPTIMIZERS)
def test_manual_mode_takes_the_engine_optimizer_s_steps_bit_for_bit(opt, dtype):
    """manual (numpy, hand-written backward) and autograd (the engine's torch.optim) compute the same
    gradients bit for bit on this network and run the same formula, so every weight and slot agrees."""
    want = _mode_run("autograd", opt, dtype, weight_decay=0.01)
    got = _mode_run("manual", opt, dtype, weight_decay=0.01)
    assert _same_bits(got[0], want[0])
    assert got[1].keys() == want[1].keys() and all(_same_bits(got[1][k], want[1][k]) for k in want[1])
    assert got[2].keys() == want[2].keys() and all(_same_bits(got[2][k], want[2][k]) for k in want[2])


@pytest.mark.parametrize("opt", MODE_OPTIMIZERS)
def test_static_mode_runs_the_same_formula_in_its_graph(opt):
    """Bit for bit where the graph sees the same numbers; Adam's bias corrections are computed in the graph
    from its step Variable (float32 here), so Adam agrees to rounding only."""
    want = _mode_run("autograd", opt, "float32", weight_decay=0.01)
    got = _mode_run("static", opt, "float32", weight_decay=0.01)
    if opt.startswith("adam"):
        np.testing.assert_allclose(got[0], want[0], rtol=1e-5)
    else:
        assert _same_bits(got[0], want[0])
        assert all(_same_bits(got[1][k], want[1][k]) for k in want[1])
    assert got[2].keys() == want[2].keys()


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    lambda ps: optim.RMSprop(ps, lr=0.01, centered=True, momentum=0.5),
    lambda ps: optim.AdamW(ps, lr=0.01, amsgrad=True),
], ids=["sgd", "rmsprop", "adamw"])
def test_an_engine_optimizer_s_rule_and_hyper_replay_its_step(make):
    """``opt.rule`` with ``opt.hyper(group)`` is what ``opt.step()`` runs: a caller replaying it elsewhere (new
    arrays here; a graph in a compiled plan) gets the step's bits."""
    p0, grads = _problem("float32", (4, 3), seed=2)
    param = torch.tensor(p0.copy(), requires_grad=True)
    opt = make([param])
    group = opt.param_groups[0]
    p, state = p0, None
    for t, g in enumerate(grads, start=1):
        param.grad = torch.tensor(g)
        opt.step()
        if state is None:   # what the optimizer starts from: zeros (SGD's buffer is made by the rule)
            made = [k for k in opt.state[param] if k != "step"]
            state = {} if isinstance(opt, optim.SGD) else {k: np.zeros_like(p0) for k in made}
        p, state = opt.rule(p, g, state, t, **opt.hyper(group), ops=FunctionalOps(np))
        assert _same_bits(param.detach().numpy(), p)
