"""The seed's training step as a static graph: same trajectory as plain numpy, and no allocations once warm."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import autotrain.engine.static as tf
from autotrain.training.data import make_problem


def _seed_graph(p, lr, dtype, relu=None, rewrites=()):
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(dtype, shape=(None, p.x.shape[1]), name="x")
        y = tf.placeholder(dtype, shape=(None, p.y.shape[1]), name="y")
        w1, w2 = tf.Variable(p.w1, name="w1"), tf.Variable(p.w2, name="w2")
        h = tf.matmul(x, w1)
        h_relu = relu(h) if relu is not None else tf.maximum(h, tf.zeros(1, dtype=dtype))
        loss = tf.reduce_sum((y - tf.matmul(h_relu, w2)) ** 2.0)
        grad_w1, grad_w2 = tf.gradients(loss, [w1, w2])
        fetches = [loss, w1.assign(w1 - lr * grad_w1), w2.assign(w2 - lr * grad_w2)]
        sess = tf.Session(graph, rewrites=rewrites)
        sess.run(tf.global_variables_initializer())
    return sess, fetches, {x: p.x, y: p.y}


def _numpy_losses(p, lr, steps):
    """The seed's numpy program (independent of the engine), in float64."""
    x, y, w1, w2 = p.x, p.y, p.w1.copy(), p.w2.copy()
    losses = []
    for _ in range(steps):
        h = x.dot(w1)
        h_relu = np.maximum(h, 0)
        y_pred = h_relu.dot(w2)
        losses.append(np.square(y_pred - y).sum())
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.T.dot(grad_y_pred)
        grad_h = grad_y_pred.dot(w2.T)
        grad_h[h < 0] = 0
        grad_w1 = x.T.dot(grad_h)
        w1 -= lr * grad_w1
        w2 -= lr * grad_w2
    return np.array(losses), w1, w2


def test_500_steps_match_numpy_in_float64():
    p = make_problem(64, 1000, 100, 10, dtype="float64", seed=0)
    expected, w1, w2 = _numpy_losses(p, 1e-6, 500)
    sess, fetches, feed = _seed_graph(p, 1e-6, tf.float64)
    losses = []
    for _ in range(500):
        loss, new_w1, new_w2 = sess.run(fetches, feed)
        losses.append(loss)
    np.testing.assert_allclose(losses, expected, rtol=1e-9)
    np.testing.assert_allclose(new_w1, w1, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(new_w2, w2, rtol=1e-9, atol=1e-12)
    assert losses[-1] < losses[0] * 1e-3


@pytest.mark.parametrize("relu", [None, tf.nn.relu], ids=["maximum(h, 0)", "tf.nn.relu"])
def test_steady_state_runs_allocate_no_arrays(relu):
    p = make_problem(64, 1000, 100, 10, dtype="float32", seed=0)
    sess, fetches, feed = _seed_graph(p, 1e-6, tf.float32, relu)
    for _ in range(5):
        sess.run(fetches, feed)
    smallest = 64 * 10 * 4   # the smallest array of the graph's sizes, in bytes
    tracemalloc.start()
    try:
        sess.run(fetches, feed)
        arrays_before = _numpy_bytes()
        peaks = []
        for _ in range(50):   # the peak of each run: any array of the graph's sizes would show here
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            result = sess.run(fetches, feed)
            peaks.append(tracemalloc.get_traced_memory()[1] - base)
            del result
        arrays_after = _numpy_bytes()
    finally:
        tracemalloc.stop()
    assert max(peaks) < smallest, peaks
    assert arrays_after == arrays_before


def _numpy_bytes() -> int:
    """Bytes of array data alive now, as numpy reports them to tracemalloc (its own domain)."""
    snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.DomainFilter(True, np.lib.tracemalloc_domain)])
    return sum(t.size for t in snapshot.traces)


def test_plan_is_compiled_once_per_fetch_set_and_shape():
    p = make_problem(8, 6, 5, 2, dtype="float32", seed=1)
    sess, fetches, feed = _seed_graph(p, 1e-3, tf.float32)
    sess.run(fetches, feed)
    entry = sess._entry(fetches)
    plan = entry.last_plan
    sess.run(list(fetches), feed)
    assert entry.last_plan is plan and len(entry.plans) == 1
    x, y = list(feed)
    sess.run(fetches, {x: p.x[:4], y: p.y[:4]})     # another batch size: a second specialisation
    assert len(entry.plans) == 2


def _autograd_run(p, lr, steps):
    """The same steps on the dynamic engine (the autograd mode's program)."""
    from autotrain.modes import make_mode

    mode = make_mode("autograd", p, lr)
    losses = [mode.step(p.x, p.y) for _ in range(steps)]
    return np.array(losses, np.float32), mode.state()


@pytest.mark.parametrize("steps", [20, pytest.param(500, marks=pytest.mark.slow)])
def test_default_static_float32_equals_the_dynamic_engine_bit_for_bit(steps):
    """The default passes change no rounding: the static graph computes the dynamic engine's float32 numbers
    exactly, on the seed for 500 steps (same op rules, same matmuls, same order of operations)."""
    p = make_problem(64, 1000, 100, 10, dtype="float32", seed=0)
    want_losses, want = _autograd_run(p, 1e-6, steps)
    sess, fetches, feed = _seed_graph(p, 1e-6, tf.float32)
    losses = np.array([sess.run(fetches, feed)[0] for _ in range(steps)], np.float32)
    np.testing.assert_array_equal(losses, want_losses)
    w1, w2 = sess.run([fetches[1].inputs[0], fetches[2].inputs[0]])
    np.testing.assert_array_equal(w1, want["w1"])
    np.testing.assert_array_equal(w2, want["w2"])


def test_opt_in_rewrites_stay_within_their_stated_effect():
    """With every opt-in rewrite, each step rounds differently: the weights stay within a few ulp per step
    of the dynamic engine's (measured on the seed: 6e-7 of the largest weight after 500 steps)."""
    p = make_problem(64, 1000, 100, 10, dtype="float32", seed=0)
    want_losses, want = _autograd_run(p, 1e-6, 30)
    sess, fetches, feed = _seed_graph(p, 1e-6, tf.float32, rewrites="all")
    losses = np.array([sess.run(fetches, feed)[0] for _ in range(30)], np.float32)
    w1, w2 = sess.run([fetches[1].inputs[0], fetches[2].inputs[0]])
    assert not np.array_equal(w1, want["w1"])          # the rewrites did change rounding ...
    eps = np.finfo(np.float32).eps
    for got, ref in ((w1, want["w1"]), (w2, want["w2"])):
        assert np.abs(got - ref).max() <= 30 * eps * np.abs(ref).max()   # ... by at most ~1 ulp per step
    np.testing.assert_allclose(losses, want_losses, rtol=1e-5)
