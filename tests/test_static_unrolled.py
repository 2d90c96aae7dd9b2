"""The static plan runs ``log_softmax`` and ``one_hot`` as their ``unrolled`` spellings into buffers bound once (speed):
the values must be the op table forward's bit for bit, and a fetched one must stay the caller's own."""
import numpy as np
import pytest

import autotrain.engine.static as tf
from autotrain.engine.ops import OPS


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axis", [-1, 0])
def test_log_softmax_matches_the_forward_bit_for_bit_and_fetches_are_owned(dtype, axis):
    rng = np.random.default_rng(1)
    first, second = (rng.standard_normal((5, 7)).astype(dtype) * 30 for _ in range(2))
    first[0, 0] = -np.inf   # log of an underflowing row entry: no warning, as the forward
    with tf.Graph().as_default():
        x = tf.placeholder(getattr(tf, np.dtype(dtype).name), shape=(None, 7))
        out = tf.nn.log_softmax(x, axis=axis)
        total = tf.reduce_sum(out * 2.0)
        with tf.Session() as sess:
            got, _ = sess.run([out, total], feed_dict={x: first})
            kept = got.copy()
            again, _ = sess.run([out, total], feed_dict={x: second})
            assert "k_log_softmax_unrolled" in sess.explain([out, total]).code   # the unrolled form ran
    np.testing.assert_array_equal(got, OPS["log_softmax"].forward(np, first, axis=axis))
    np.testing.assert_array_equal(again, OPS["log_softmax"].forward(np, second, axis=axis))
    np.testing.assert_array_equal(got, kept)   # the second run did not write into the first result


def test_one_hot_matches_the_forward_including_out_of_range_and_custom_values():
    labels = np.array([0, 3, 9, -1, 12, 3], dtype=np.int64)
    with tf.Graph().as_default():
        y = tf.placeholder(tf.int64, shape=(None,))
        plain = tf.one_hot(y, 10)
        custom = tf.one_hot(y, 10, on_value=5.0, off_value=-1.0, dtype=tf.float64)
        with tf.Session() as sess:
            got, got_custom = sess.run([plain, custom], feed_dict={y: labels})
            kept = got.copy()
            sess.run([plain, custom], feed_dict={y: labels[::-1].copy()})
            assert "k_one_hot_unrolled" in sess.explain([plain, custom]).code
    np.testing.assert_array_equal(got, OPS["one_hot"].forward(np, labels, depth=10, dtype=np.float32))
    assert got.dtype == np.float32 and got[3].sum() == 0 and got[4].sum() == 0
    np.testing.assert_array_equal(got_custom, OPS["one_hot"].forward(np, labels, depth=10, dtype=np.float64,
                                                                    on_value=5.0, off_value=-1.0))
    np.testing.assert_array_equal(got, kept)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_python_numbers_bound_as_0d_arrays_give_numpys_own_numbers(dtype):
    """0.1 * x, x + 3, 1e-8 + x, 0.9 ** t, x ** 0.5: the plan binds the numbers once in the dtype (and calls
    ``power`` itself); the values are numpy's with the Python numbers, and 0 ** -1 is inf without a warning."""
    rng = np.random.default_rng(2)
    values = rng.standard_normal(6).astype(dtype)
    values[0] = 0.0
    with tf.Graph().as_default():
        x = tf.placeholder(getattr(tf, np.dtype(dtype).name), shape=(None,))
        outs = [0.09999999999999998 * x, x + 3, x - 1e-8, 0.9 ** x, tf.abs(x) ** 0.5, x ** -1.0, x * 1e300]
        with tf.Session() as sess:
            with np.errstate(all="raise"):   # the plan turns warnings off itself
                got = sess.run(outs, feed_dict={x: values})
            code = sess.explain(outs).code
    want = [0.09999999999999998 * values, values + 3, values - 1e-8, np.power(0.9, values),
            np.power(np.abs(values), 0.5)]
    with np.errstate(all="ignore"):
        want += [np.power(values, -1.0), values * 1e300]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
        assert g.dtype == dtype
    assert "u_power" in code and "0.09999999999999998" not in code   # bound, not converted per call


def test_clamp_and_cast_written_out_give_the_forwards_values():
    values = np.array([-2.0, -0.0, 0.0, 0.3, 0.7, np.nan], dtype=np.float32)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, shape=(None,))
        # each fetched alone (a chain of elementwise steps would be fused, and run by the forwards)
        outs = [tf.maximum(x, tf.zeros(1)), tf.minimum(x, 0.5), tf.cast(tf.greater(x, 0.0), tf.float64)]
        with tf.Session() as sess:
            got = sess.run(outs, feed_dict={x: values})
            code = sess.explain(outs).code
    np.testing.assert_array_equal(got[0], np.maximum(values, 0.0))
    np.testing.assert_array_equal(got[1], np.minimum(values, 0.5))
    np.testing.assert_array_equal(got[2], (values > 0.0).astype(np.float64))
    assert "k_clamp" not in code and "k_cast" not in code


def test_an_op_of_a_broadcast_constant_is_folded_to_a_broadcast_of_its_value():
    """The gradient of a mean is a broadcast constant; ``-`` of it is computed once, not every run."""
    values = np.array([1.0, 2.0, 4.0], dtype=np.float32)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, shape=(None,))
        (grad,) = tf.gradients(tf.reduce_mean(-(x * x)), [x])
        with tf.Session() as sess:
            got = sess.run(grad, feed_dict={x: values})
            code = sess.explain(grad, feed_dict={x: values}).code
    np.testing.assert_allclose(got, -2 * values / 3, rtol=1e-6)
    assert got.dtype == np.float32 and "negative" not in code
