"""tf.gradients: nodes built from the ops.py backward rules, checked by central differences in float64."""
from __future__ import annotations

import numpy as np
import pytest

import autotrain.engine.static as tf

RNG = np.random.default_rng(0)

# (name, input shapes, function of placeholders, domain) — broadcasting cases included
CASES = [
    ("add", [(3, 4), (4,)], lambda a, b: a + b, "any"),
    ("add_scalar", [(3, 4)], lambda a: 2.5 + a, "any"),
    ("subtract", [(2, 1, 4), (3, 1)], lambda a, b: tf.subtract(a, b), "any"),
    ("rsub", [(3, 4)], lambda a: 1.0 - a, "any"),
    ("multiply", [(3, 4), (3, 1)], lambda a, b: tf.multiply(a, b), "any"),
    ("divide", [(3, 4), (4,)], lambda a, b: tf.divide(a, b), "pos"),
    ("rdiv", [(3, 4)], lambda a: 2.0 / a, "pos"),
    ("pow2", [(3, 4)], lambda a: a ** 2.0, "any"),
    ("pow_half", [(3, 4)], lambda a: tf.pow(a, 0.5), "pos"),
    ("pow_tensor", [(3, 4), (4,)], lambda a, b: a ** b, "pos"),
    ("rpow", [(3, 4)], lambda a: 2.0 ** a, "any"),
    ("square", [(3, 4)], lambda a: tf.square(a), "any"),
    ("neg", [(3, 4)], lambda a: -a, "any"),
    ("exp", [(3, 4)], lambda a: tf.exp(a), "any"),
    ("log", [(3, 4)], lambda a: tf.log(a), "pos"),
    ("tanh", [(3, 4)], lambda a: tf.tanh(a), "any"),
    ("sigmoid", [(3, 4)], lambda a: tf.sigmoid(a), "any"),
    ("relu", [(3, 4)], lambda a: tf.nn.relu(a), "any"),
    ("maximum", [(3, 4), (4,)], lambda a, b: tf.maximum(a, b), "any"),
    ("minimum", [(3, 4), (3, 1)], lambda a, b: tf.minimum(a, b), "any"),
    ("maximum_zeros", [(3, 4)], lambda a: tf.maximum(a, tf.zeros(1, dtype=tf.float64)), "any"),
    ("matmul", [(3, 4), (4, 5)], lambda a, b: tf.matmul(a, b), "any"),
    ("matmul_op", [(2, 3, 4), (4, 2)], lambda a, b: a @ b, "any"),
    ("matvec", [(3, 4), (4,)], lambda a, b: a @ b, "any"),
    ("reduce_sum", [(3, 4)], lambda a: tf.reduce_sum(a, axis=0), "any"),
    ("reduce_sum_keep", [(2, 3, 4)], lambda a: tf.reduce_sum(a, axis=[0, 2], keepdims=True), "any"),
    ("reduce_mean", [(3, 4)], lambda a: tf.reduce_mean(a, axis=1), "any"),
    ("reshape", [(3, 4)], lambda a: tf.reshape(a, (2, 6)), "any"),
    ("transpose", [(2, 3, 4)], lambda a: tf.transpose(a, (1, 0, 2)), "any"),
    ("diamond", [(3, 4)], lambda a: tf.tanh(a) * a + tf.exp(a) * a, "any"),
]


def _value(shape, domain):
    v = RNG.standard_normal(shape)
    return np.abs(v) + 0.5 if domain == "pos" else v


@pytest.mark.parametrize("name,shapes,fn,domain", CASES, ids=[c[0] for c in CASES])
def test_gradient_matches_central_differences(name, shapes, fn, domain):
    g = tf.Graph()
    with g.as_default():
        xs = [tf.placeholder(tf.float64, shape=s, name=f"x{i}") for i, s in enumerate(shapes)]
        out = fn(*xs)
        weights = tf.constant(RNG.standard_normal(out.shape))   # a random projection to a scalar
        y = tf.reduce_sum(out * weights)
        grads = tf.gradients(y, xs)
    values = [_value(s, domain) for s in shapes]
    with tf.Session(g) as sess:
        feed = dict(zip(xs, values))
        analytic = [np.array(a) for a in sess.run(grads, feed)]
        for i, v in enumerate(values):
            numeric = np.zeros_like(v)
            for idx in np.ndindex(v.shape):
                old = v[idx]
                v[idx] = old + 1e-6
                up = float(sess.run(y, feed))
                v[idx] = old - 1e-6
                down = float(sess.run(y, feed))
                v[idx] = old
                numeric[idx] = (up - down) / 2e-6
            np.testing.assert_allclose(analytic[i], numeric, rtol=1e-5, atol=1e-6, err_msg=f"{name} input {i}")


def test_maximum_ties_follow_tensorflow():
    """At a == b the whole gradient goes to a (tf.maximum), unlike torch.maximum's split."""
    g = tf.Graph()
    with g.as_default():
        a = tf.placeholder(tf.float64, shape=(3,))
        b = tf.placeholder(tf.float64, shape=(3,))
        ga, gb = tf.gradients(tf.reduce_sum(tf.maximum(a, b)), [a, b])
        gz, = tf.gradients(tf.reduce_sum(tf.maximum(a, tf.zeros(1, dtype=tf.float64))), [a])
    with tf.Session(g) as sess:
        ra, rb, rz = sess.run([ga, gb, gz], {a: np.array([1.0, 2.0, 0.0]), b: np.array([1.0, 3.0, -1.0])})
    np.testing.assert_array_equal(ra, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(rb, [0.0, 1.0, 0.0])
    # maximum(h, 0): gradient passes where h >= 0 (the tie at h == 0 included)
    with tf.Session(g) as sess:
        np.testing.assert_array_equal(sess.run(gz, {a: np.array([-1.0, 0.0, 2.0])}), [0.0, 1.0, 1.0])


def test_gradient_of_unrelated_x_is_none_and_grad_ys_weights():
    g = tf.Graph()
    with g.as_default():
        a = tf.placeholder(tf.float64, shape=(2,))
        b = tf.placeholder(tf.float64, shape=(2,))
        y = a * 3.0
        assert tf.gradients(y, [b]) == [None]
        (ga,) = tf.gradients(y, [a], grad_ys=[np.array([1.0, 2.0])])
    with tf.Session(g) as sess:
        np.testing.assert_array_equal(sess.run(ga, {a: np.ones(2)}), [3.0, 6.0])


def test_deep_chain_needs_no_recursion():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float64, shape=(2,))
        y = x
        for _ in range(3000):
            y = y * 1.0001
        (gx,) = tf.gradients(tf.reduce_sum(y), [x])
    with tf.Session(g) as sess:
        np.testing.assert_allclose(sess.run(gx, {x: np.ones(2)}), 1.0001 ** 3000)
