"""Each compiler pass: it changes the graph as intended, and random graphs give the same results with or without it."""
from __future__ import annotations

import numpy as np
import pytest

import autotrain.engine.static as tf
from autotrain.engine.static.compiler import bind, optimize
from autotrain.engine.static.interpret import evaluate
from autotrain.engine.static.lower import lower
from autotrain.engine.static.passes import (PIPELINE, REWRITES, pipeline as with_rewrites, eliminate_common, fold_constants,
                                            fuse_elementwise, plan_memory, prune, simplify)
from autotrain.engine.static.passes.rewrites import rules_for

UNARY = [tf.tanh, tf.sigmoid, tf.nn.relu, tf.square, lambda a: -a, lambda a: tf.exp(tf.tanh(a)),
         lambda a: a ** 2.0, lambda a: tf.maximum(a, tf.zeros(1, dtype=tf.float64)), lambda a: a * 1.0 + 0.0,
         lambda a: 0.5 * (a * 3.0), lambda a: 2.0 - a]
BINARY = [tf.add, tf.subtract, tf.multiply, tf.maximum, tf.minimum, lambda a, b: a * 2.0 + b]


def random_graph(seed: int):
    """A random graph over x (fed (m, m)), b (m,), a Variable w (m, m) and a constant, with gradients and an assign."""
    rng = np.random.default_rng(seed)
    m = int(rng.integers(2, 5))
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float64, shape=(None, m), name="x")
        b = tf.placeholder(tf.float64, shape=(m,), name="b")
        w = tf.Variable(rng.standard_normal((m, m)), name="w")
        pool = [x, b, w, tf.constant(rng.standard_normal((1, m))), tf.matmul(x, w)]
        for _ in range(10):
            kind = rng.integers(0, 4)
            pick = lambda: pool[int(rng.integers(0, len(pool)))]  # noqa: E731
            if kind == 0:
                node = UNARY[int(rng.integers(0, len(UNARY)))](pick())
            elif kind == 1:
                node = BINARY[int(rng.integers(0, len(BINARY)))](pick(), pick())
            elif kind == 2:
                a = pick()
                node = tf.matmul(a, w) if len(a.shape) == 2 else a * 1.5
            else:
                node = tf.reduce_sum(pick(), axis=-1, keepdims=True) * pick()
            pool.append(node)
        loss = tf.reduce_sum((pool[-1] - pool[-2]) ** 2.0) + tf.reduce_sum(tf.tanh(pool[-3]))
        gw, gx = tf.gradients(loss, [w, x])
        step = w.assign(w - 0.01 * gw) if gw is not None else w.assign(w * 0.99)
        fetches = [loss, gx if gx is not None else loss, step, pool[-4]]
    feeds = {x: rng.standard_normal((m, m)), b: rng.standard_normal(m)}
    return g, fetches, feeds, w


def _reference(g, fetches, feeds, w, program=None):
    program = program or lower(g, fetches, {p: v.shape for p, v in feeds.items()})
    variables = {w: w.initial_value.attrs["value"].copy()}
    outs = evaluate(program, feeds, variables)
    return [np.array(o) for o in outs], variables[w]


def _compiled(g, fetches, feeds, w, pipeline):
    program, _ = optimize(g, fetches, {p: v.shape for p, v in feeds.items()}, pipeline)
    variables = {w: w.initial_value.attrs["value"].copy()}
    order = list(feeds)
    plan = bind(program, order)
    return [np.array(o) for o in plan.execute([feeds[p] for p in order], variables)], variables[w]


def _close(got, want):
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", range(25))
def test_each_pass_preserves_results_on_random_graphs(seed):
    g, fetches, feeds, w = random_graph(seed)
    want, want_w = _reference(g, fetches, feeds, w)
    program = lower(g, fetches, {p: v.shape for p, v in feeds.items()})
    for run_pass in PIPELINE[:-1]:            # cumulatively, through the reference interpreter
        program = run_pass(program)
        got, got_w = _reference(g, fetches, feeds, w, program)
        _close(got + [got_w], want + [want_w])
    for skip in range(len(PIPELINE) - 1):     # compiled, with each pass left out in turn, and with all
        pipeline = PIPELINE[:skip] + PIPELINE[skip + 1:]
        got, got_w = _compiled(g, fetches, feeds, w, pipeline)
        _close(got + [got_w], want + [want_w])
    got, got_w = _compiled(g, fetches, feeds, w, PIPELINE)
    _close(got + [got_w], want + [want_w])
    got, got_w = _compiled(g, fetches, feeds, w, with_rewrites("all"))     # the opt-in rewrites: rounding only
    _close(got + [got_w], want + [want_w])


def _program(build):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float64, shape=(None, 3), name="x")
        fetches = build(x)
    return g, lower(g, fetches, {x: (4, 3)}), x


def _ops(program):
    return [i.op for i in program.instrs]


def test_prune_drops_what_the_fetches_do_not_need():
    g, program, _ = _program(lambda x: [tf.exp(x)] if tf.tanh(x) is not None else None)
    assert "tanh" in _ops(program) and "tanh" not in _ops(prune(program))


def test_fold_computes_constant_subgraphs_once():
    g, program, _ = _program(lambda x: [x + tf.constant(np.ones(3)) * 2.0 + tf.exp(tf.constant(np.zeros(3)))])
    folded = fold_constants(prune(program))
    assert "exp" not in _ops(folded) and _ops(folded).count("const") == 2


def test_cse_merges_equal_ops():
    g, program, _ = _program(lambda x: [tf.exp(x) + tf.exp(x)])
    assert _ops(program).count("exp") == 2 and _ops(eliminate_common(program)).count("exp") == 1


def test_simplify_rules():
    def build(x):
        return [tf.maximum(x, tf.zeros(1, dtype=tf.float64)), x ** 2.0, x * 1.0 + 0.0, 3.0 * (2.0 * -x)]
    g, program, _ = _program(build)
    out = simplify(fold_constants(prune(program)))
    ops = [o.op for o in out.outputs]
    assert ops[0] == "clamp" and out.outputs[0].attrs == {"min": 0.0}
    assert ops[1] == "square"
    assert ops[2] == "feed"                       # x * 1 + 0 is x
    assert ops[3] == "mul" and out.outputs[3].args[0] == -6.0


def test_rounding_rewrites_are_opt_in():
    def build(x):
        w = tf.Variable(np.ones((3, 5)), name="w")
        return [1e-3 * tf.matmul(x * 3.0, w), tf.reduce_sum(tf.square(x)), 0.1 * (2.0 * x), 0.1 * (0.3 * x)]
    g, program, _ = _program(build)
    scaled, loss, exact, inexact = simplify(prune(program)).outputs      # default: the graph as written
    assert scaled.op == "mul" and scaled.args[1].op == "matmul" and loss.op == "sum"
    assert exact.op == "mul" and exact.args[0] == 0.2                      # times 2: regrouping is exact
    assert inexact.op == "mul" and inexact.args[1].op == "mul"             # 0.1 * 0.3: kept as two roundings
    scaled, loss, exact, inexact = simplify(prune(program), rules_for("all")).outputs
    assert scaled.op == "matmul" and scaled.args[0].op == "mul" and scaled.args[0].args[0] == pytest.approx(3e-3)
    assert loss.op == "matmul" and loss.args[0].op == "reshape"            # no squared temporary
    assert inexact.op == "mul" and inexact.args[0] == pytest.approx(0.03)
    assert all(r.numeric_effect for r in REWRITES.values())
    with pytest.raises(ValueError, match="unknown rewrite"):
        tf.Session(rewrites=("fast_math",))


def test_opt_in_rewrite_turns_a_masked_copy_into_a_multiply_by_a_mask():
    def build(x):
        g = tf.exp(x)
        return [tf.gradients(tf.reduce_sum(tf.maximum(x, tf.zeros(1, dtype=tf.float64)) * g), [x])[0]]
    g, program, x = _program(build)
    assert "where" in _ops(simplify(fold_constants(prune(program))))      # not exact for inf/nan: opt-in
    out = simplify(fold_constants(prune(program)), rules_for(("masked_copy_as_multiply",)))
    assert "where" not in _ops(out)
    casts = [i for i in out.instrs if i.op == "cast"]
    assert casts and casts[0].args[0].op == "greater_equal"     # not(x < 0): TF's tie keeps x == 0
    feed = np.array([[-1.0, 0.0, 2.0], [0.5, -0.0, -3.0], [1.0, 1.0, 1.0], [-2.0, 3.0, 0.0]])
    want, _ = _reference(g, [program.outputs[0].node], {x: feed}, tf.Variable(np.zeros(1)), program)
    got, _ = _reference(g, [program.outputs[0].node], {x: feed}, tf.Variable(np.zeros(1)), out)
    np.testing.assert_array_equal(got[0], want[0])          # ties (x == 0, -0.0) included


def test_fuse_chains_elementwise_steps_into_one():
    def build(x):
        w = tf.Variable(np.ones((3, 5)), name="w")
        return [tf.tanh(tf.exp(x) * 2.0) + 1.0, tf.nn.relu(tf.matmul(x, w))]
    g, program, _ = _program(build)
    out = fuse_elementwise(simplify(prune(program)))
    chain, mm_relu = out.outputs
    assert chain.op == "fused" and [s[0] for s in chain.attrs["chain"]] == ["exp", "mul", "tanh", "add"]
    assert mm_relu.op == "fused" and [s[0] for s in mm_relu.attrs["chain"]] == ["matmul", "relu"]


def test_memory_shares_buffers_works_in_place_and_assigns_into_the_variable():
    def build(x):
        w = tf.Variable(np.ones((3, 3)), name="w")
        a = tf.exp(x)
        b = tf.matmul(a, w)                  # a dies here ...
        c = tf.matmul(b, w)                  # ... so c can take its buffer
        return [tf.reduce_sum(c), w.assign(w - 0.1 * tf.matmul(tf.transpose(x), x))]
    g, program, _ = _program(build)
    planned = plan_memory(fuse_elementwise(simplify(eliminate_common(fold_constants(prune(program))))))
    plan = planned.memory
    computed = [i for i in planned.instrs if i.id in plan.slot_of]
    assert len(plan.slots) < len(computed)
    assert len(plan.into_var) == 1
    assert plan.bytes == sum(int(np.prod(s)) * 8 for s, _ in plan.slots)


def test_simplify_keeps_the_shape_when_every_operand_is_a_broadcast_or_uniform_constant():
    """d(sum(y * ones))/db for y = a + b: g = broadcast_to(1) times a constant of ones (found by the TF vectors)."""
    g = tf.Graph()
    with g.as_default():
        a, b = tf.Variable(np.ones((1,)), name="a"), tf.Variable(np.ones((1, 3)), name="b")
        fetches = tf.gradients(tf.reduce_sum(tf.add(a, b) * np.ones((1, 3))), [a, b])
    program = lower(g, fetches, {})
    for run_pass in PIPELINE[:-1]:
        program = run_pass(program)
        assert [tuple(o.shape) for o in program.outputs] == [(1,), (1, 3)], run_pass.__name__
    with tf.Session(g) as sess:
        sess.run([a.initializer, b.initializer])
        da, db = sess.run(fetches)
    np.testing.assert_array_equal(da, [3.0])
    np.testing.assert_array_equal(db, np.ones((1, 3)))
