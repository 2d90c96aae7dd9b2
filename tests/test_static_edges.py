"""TF1 semantics at the edges of the static side (expected values: TensorFlow 2.21 compat.v1, by hand)."""
from __future__ import annotations

import numpy as np
import pytest

import autotrain.engine.static as tf


@pytest.fixture(autouse=True)
def _fresh_graph():
    with tf.Graph().as_default():
        yield


def _run(fetches, feeds=None):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feeds or {})


@pytest.mark.parametrize("dtype,want", [(np.int32, np.float64), (np.int64, np.float64), (np.int16, np.float32),
                                        (np.uint8, np.float32)])
def test_integer_true_division_is_float_as_tf1(dtype, want):
    a, b = tf.constant(np.array([3, 4], dtype)), tf.constant(np.array([2, 8], dtype))
    for q in (a / b, tf.divide(a, b), 7 / b):
        assert q.dtype == want
    out = _run([a / b, 7 / b])
    assert out[0].tolist() == [1.5, 0.5] and out[0].dtype == want and out[1].tolist() == [3.5, 0.875]


def test_gradients_with_a_bare_x_returns_a_list():
    x = tf.placeholder(tf.float64, (3,))
    w = tf.Variable(np.array([1.0, 2.0, 3.0]))
    loss = tf.reduce_sum(x * w * w)
    grads = tf.gradients(loss, w)
    assert isinstance(grads, list) and len(grads) == 1
    assert _run(tf.gradients(loss, w)[0], {x: np.array([1.0, 1.0, 2.0])}).tolist() == [2.0, 4.0, 12.0]


def test_pow_of_constants_has_a_gradient():
    c = tf.constant(2.0, dtype=tf.float64)
    dbase, = tf.gradients(tf.pow(c, 3.0), c)
    dexp, = tf.gradients(tf.pow(3.0 * tf.ones((), dtype=tf.float64), c), c)
    got = _run([dbase, dexp])
    assert got[0] == 12.0 and got[1] == pytest.approx(9.0 * np.log(3.0), rel=1e-15)


def test_where_with_a_vector_condition_selects_rows():
    cond = tf.constant(np.array([True, False, True]))
    x, y = tf.constant(np.ones((3, 2))), tf.constant(np.zeros((3, 2)))
    picked = tf.where(cond, x, y)
    assert picked.shape == (3, 2)
    assert _run(picked).tolist() == [[1.0, 1.0], [0.0, 0.0], [1.0, 1.0]]
    with pytest.raises(ValueError, match="one entry per row"):
        tf.where(tf.constant(np.array([True, False])), x, y)


def test_comparisons_on_nodes_make_bool_nodes():
    x = tf.placeholder(tf.float64, (3,))
    fetches = [x > 0.5, x >= 1.0, x < x * 2.0, 0.5 <= x]
    assert all(n.dtype == np.bool_ for n in fetches)
    got = _run(fetches, {x: np.array([0.0, 1.0, 2.0])})
    assert [g.tolist() for g in got] == [[False, True, True], [False, True, True], [False, True, True],
                                         [False, True, True]]


@pytest.mark.parametrize("value", [np.ones(4), np.ones((1, 3)), 5.0])
def test_assigning_a_value_of_another_shape_is_refused(value):
    w = tf.Variable(np.zeros(3))
    with pytest.raises(ValueError, match=r"Shapes \(3,\) and .* are incompatible"):
        w.assign(value)


def test_sparse_cross_entropy_refuses_an_out_of_range_label():
    logits = tf.constant(np.zeros((2, 3)))
    for bad in (5, -1):
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant(np.array([0, bad])), logits=logits)
        with pytest.raises(ValueError, match=f"label value of {bad} which is outside the valid range of \\[0, 3\\)"):
            _run(loss)
    ok = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant(np.array([0, 2])), logits=logits)
    np.testing.assert_allclose(_run(ok), [np.log(3.0)] * 2, rtol=1e-15)


def test_sparse_cross_entropy_refuses_a_fed_out_of_range_label():
    labels = tf.placeholder(tf.int64, (None,))
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=tf.constant(np.zeros((2, 3)))))
    with tf.Session() as sess:
        assert sess.run(loss, {labels: np.array([1, 2])}) == pytest.approx(np.log(3.0))
        with pytest.raises(ValueError, match="label value of 3"):
            sess.run(loss, {labels: np.array([1, 3])})
