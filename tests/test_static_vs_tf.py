"""autotrain.engine.static against real TensorFlow (``tf.compat.v1`` graph mode) where it is installed.

The same programs, written once against a ``tf`` module, run on both: optimizers for 100 steps, softmax
cross-entropy values and gradients, matmul with transposes, reductions over a None batch.  Importing
TensorFlow takes seconds, so this file is in the slow tier (``pytest -m slow``); test_static_tf.py checks
the same formulas against numpy in the default run.
"""
from __future__ import annotations

import numpy as np
import pytest

import autotrain.engine.static as ours

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real():
    tensorflow = pytest.importorskip("tensorflow")
    v1 = tensorflow.compat.v1
    v1.disable_eager_execution()
    return v1


def _run_both(real, program, *args):
    """``program(tf, *args)`` -> (fetches, feed builder, steps); run on both engines, float64."""
    results = []
    for tf in (real, ours):
        graph = tf.Graph()
        with graph.as_default():
            run = program(tf, *args)
            init = tf.global_variables_initializer()
            with tf.Session(graph=graph) as sess:
                sess.run(init)
                results.append(run(sess))
    return results


def _training(tf, make_optimizer):
    rng = np.random.default_rng(0)
    x0, y0 = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    x = tf.placeholder(tf.float64, shape=(None, 3))
    y = tf.placeholder(tf.float64, shape=(None, 2))
    w = tf.Variable(rng.standard_normal((3, 2)))
    b = tf.Variable(rng.standard_normal(2))
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y))
    train = make_optimizer(tf).minimize(loss)

    def run(sess):
        losses = [sess.run([loss, train], {x: x0, y: y0})[0] for _ in range(100)]
        return np.array(losses), sess.run(w), sess.run(b)
    return run


@pytest.mark.parametrize("make_optimizer", [
    lambda tf: tf.train.GradientDescentOptimizer(0.1),
    lambda tf: tf.train.MomentumOptimizer(0.05, 0.9),
    lambda tf: tf.train.MomentumOptimizer(0.05, 0.9, use_nesterov=True),
    lambda tf: tf.train.AdamOptimizer(0.01),
    lambda tf: tf.train.AdamOptimizer(0.02, 0.8, 0.95, 1e-3),
    lambda tf: tf.train.RMSPropOptimizer(0.01),
    lambda tf: tf.train.RMSPropOptimizer(0.01, decay=0.8, momentum=0.5, epsilon=1e-6, centered=True),
], ids=["sgd", "momentum", "nesterov", "adam", "adam-custom", "rmsprop", "rmsprop-centered"])
def test_optimizers_match_tf_for_100_steps(real, make_optimizer, request):
    (theirs_loss, theirs_w, theirs_b), (our_loss, our_w, our_b) = _run_both(real, _training, make_optimizer)
    # Centered RMSProp divides by sqrt(ms - mg^2 + eps): late in this run ms - mg^2 cancels and amplifies a
    # last-bit difference (Eigen's vectorised evaluation) to 3e-9 in one bias; the first 50 steps agree to 1e-15.
    rtol = 1e-7 if "centered" in request.node.callspec.id else 1e-9
    np.testing.assert_allclose(our_loss, theirs_loss, rtol=1e-9)
    np.testing.assert_allclose(our_w, theirs_w, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(our_b, theirs_b, rtol=rtol, atol=1e-12)


def _xent(tf):
    rng = np.random.default_rng(1)
    logits0 = rng.standard_normal((5, 4))
    labels0 = np.eye(4)[[0, 3, 1, 1, 2]]
    z = tf.placeholder(tf.float64, shape=(None, 4))
    labels = tf.placeholder(tf.float64, shape=(None, 4))
    ids = tf.placeholder(tf.int64, shape=(None,))
    rows = tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=z)
    rows_v1 = tf.nn.softmax_cross_entropy_with_logits(labels=labels * 0.5 + 0.125, logits=z)
    sparse = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=ids, logits=z)
    soft, log_soft = tf.nn.softmax(z), tf.nn.log_softmax(z)
    fetches = [rows, rows_v1, sparse, soft, log_soft, tf.reduce_max(z, axis=1), tf.argmax(z, 1)]
    fetches += tf.gradients(tf.reduce_sum(rows * np.arange(1.0, 6.0)), [z, labels])
    fetches += tf.gradients(tf.reduce_sum(rows_v1), [z])
    fetches += tf.gradients(tf.reduce_sum(sparse) + tf.reduce_sum(tf.reduce_max(z, axis=0)), [z])
    fetches += tf.gradients(tf.reduce_sum(soft * np.arange(4.0)) + tf.reduce_sum(log_soft * np.arange(4.0)), [z])

    def run(sess):
        return sess.run(fetches, {z: logits0, labels: labels0, ids: labels0.argmax(axis=1)})
    return run


def test_softmax_cross_entropy_values_and_gradients_match_tf(real):
    theirs, got = _run_both(real, _xent)
    for a, b in zip(got, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def _matmuls(tf):
    rng = np.random.default_rng(2)
    a0, b0 = rng.standard_normal((4, 3)), rng.standard_normal((5, 4))
    a = tf.placeholder(tf.float64, shape=(None, 3))
    b = tf.Variable(b0)
    outs = [tf.matmul(a, b, transpose_a=True, transpose_b=True), tf.matmul(b, a), tf.matmul(a, a, transpose_a=True),
            tf.matmul(a, a, transpose_b=True)]
    loss = sum(tf.reduce_sum(tf.square(o)) for o in outs)
    fetches = outs + tf.gradients(loss, [a, b]) + [tf.reduce_mean(a, axis=0), tf.reduce_mean(a, keepdims=True)]
    fetches += tf.gradients(tf.reduce_mean(tf.square(a)) + tf.reduce_sum(tf.reduce_mean(a, axis=1)), [a])

    def run(sess):
        return sess.run(fetches, {a: a0})
    return run


def test_matmul_transposes_and_batch_reductions_match_tf(real):
    theirs, got = _run_both(real, _matmuls)
    for a, b in zip(got, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def _float32_adam(tf):
    """TF1's float32 Adam and tf.losses (TF1 computes tf.losses in float32 whatever the input dtype, so they
    are compared here): same formulas, so float32 rounding agrees closely (not bit for bit: Eigen evaluates
    the expressions with its own vectorisation)."""
    rng = np.random.default_rng(3)
    x0, y0 = rng.standard_normal((16, 4)).astype(np.float32), rng.standard_normal((16, 3)).astype(np.float32)
    x = tf.placeholder(tf.float32, shape=(None, 4))
    y = tf.placeholder(tf.float32, shape=(None, 3))
    w = tf.Variable(rng.standard_normal((4, 3)).astype(np.float32))
    z = tf.matmul(x, w)
    onehot = tf.one_hot(tf.argmax(y, axis=1), 3)
    loss = tf.losses.mean_squared_error(y, z) + tf.losses.softmax_cross_entropy(onehot, z) + \
        tf.losses.sparse_softmax_cross_entropy(tf.argmax(y, axis=1), z)
    train = tf.train.AdamOptimizer(0.01).minimize(loss)

    def run(sess):
        losses = [sess.run([loss, train], {x: x0, y: y0})[0] for _ in range(100)]
        return np.array(losses), sess.run(w)
    return run


def test_float32_adam_stays_close_to_tf(real):
    (theirs_loss, theirs_w), (our_loss, our_w) = _run_both(real, _float32_adam)
    assert our_w.dtype == np.float32
    np.testing.assert_allclose(our_loss, theirs_loss, rtol=1e-4)
    np.testing.assert_allclose(our_w, theirs_w, rtol=1e-4, atol=1e-5)
