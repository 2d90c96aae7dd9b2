"""autotrain.engine.static: building graphs, running them, and the errors TF1 users know."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import autotrain.engine.static as tf


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def test_exports_are_the_tf1_names():
    for name in ["float32", "float64", "placeholder", "Variable", "constant", "zeros", "ones", "random_normal",
                 "matmul", "maximum", "minimum", "add", "subtract", "multiply", "divide", "square", "pow", "exp",
                 "log", "tanh", "sigmoid", "relu", "reduce_sum", "reduce_mean", "reshape", "transpose",
                 "gradients", "global_variables_initializer", "Session", "Graph", "get_default_graph",
                 "reset_default_graph"]:
        assert name in tf.__all__ and hasattr(tf, name)
    assert tf.nn.relu is tf.relu


def test_shapes_are_inferred_when_built_and_repr_is_one_line():
    x = tf.placeholder(tf.float32, shape=(None, 1000), name="x")
    w = tf.Variable(np.zeros((1000, 100), np.float32), name="w")
    h = tf.matmul(x, w)
    assert h.shape == (None, 100) and h.dtype == np.float32
    assert "\n" not in repr(h) and "matmul" in repr(h) and "(None, 100)" in repr(h)
    assert (x + np.ones(1000, np.float32)).shape == (None, 1000)
    assert tf.reduce_sum(h).shape == () and tf.reduce_sum(h, axis=1, keepdims=True).shape == (None, 1)


def test_incompatible_matmul_fails_at_build_naming_both_nodes():
    a = tf.placeholder(tf.float32, shape=(None, 3), name="a")
    b = tf.constant(np.ones((4, 2), np.float32), name="b")
    with pytest.raises(ValueError) as err:
        tf.matmul(a, b)
    text = str(err.value)
    assert "(None, 3)" in text and "(4, 2)" in text and "'a'" in text and "'b'" in text


def test_operators_with_scalars_on_either_side_and_broadcasting():
    x = tf.placeholder(tf.float64, shape=(2, 3), name="x")
    v = np.arange(6.0).reshape(2, 3) + 1
    exprs = [x + 1, 1 + x, x - 2, 2 - x, x * 3, 3 * x, x / 2, 2 / x, x ** 2, 2 ** x, -x,
             x @ np.ones((3, 2)), np.ones((4, 2)) @ x, x + np.arange(3.0), x * x]
    expect = [v + 1, 1 + v, v - 2, 2 - v, v * 3, 3 * v, v / 2, 2 / v, v ** 2, 2 ** v, -v,
              v @ np.ones((3, 2)), np.ones((4, 2)) @ v, v + np.arange(3.0), v * v]
    with tf.Session() as sess:
        got = sess.run(exprs, feed_dict={x: v})
    for g, e in zip(got, expect):
        np.testing.assert_allclose(g, e)


def test_fetch_structures_are_preserved_and_results_are_numpy():
    x = tf.placeholder(tf.float32, shape=(None, 2), name="x")
    s, d = tf.reduce_sum(x), x * 2.0
    feed = {x: np.ones((3, 2), np.float32)}
    with tf.Session() as sess:
        assert isinstance(sess.run(s, feed), np.floating)
        assert isinstance(sess.run(d, feed), np.ndarray)
        assert isinstance(sess.run([s, d], feed), list)
        assert isinstance(sess.run((s, d), feed), tuple)
        out = sess.run({"sum": s, "both": [s, (d,)]}, feed)
        assert set(out) == {"sum", "both"} and out["sum"] == 6.0 and out["both"][1][0].shape == (3, 2)


def test_assign_variants_update_in_place_and_yield_the_new_value():
    w = tf.Variable(np.array([1.0, 2.0]), name="w")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(w.assign([5.0, 6.0])), [5.0, 6.0])
        np.testing.assert_array_equal(sess.run(w.assign_add([1.0, 1.0])), [6.0, 7.0])
        np.testing.assert_array_equal(sess.run(w.assign_sub(w * 0.5)), [3.0, 3.5])
        np.testing.assert_array_equal(sess.run(w), [3.0, 3.5])


def test_reads_in_a_run_see_the_value_from_before_its_assign():
    w = tf.Variable(np.array([1.0, 2.0]), name="w")
    total = tf.reduce_sum(w * 10.0)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        value, new = sess.run([total, w.assign(w + 1.0)])
        assert value == 30.0
        np.testing.assert_array_equal(new, [2.0, 3.0])


def test_random_normal_initializer_and_graph_as_default():
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(tf.random_normal((3, 4), stddev=2.0))
        init = tf.global_variables_initializer()
    assert tf.get_default_graph() is not g
    with tf.Session(g) as sess:
        sess.run(init)
        value = sess.run(w)
    assert value.shape == (3, 4) and value.dtype == np.float32 and np.std(value) > 0


# --------------------------------------------------------------------- errors
def test_missing_feed_says_which_placeholder_and_its_shape():
    x = tf.placeholder(tf.float32, shape=(None, 1000), name="x")
    with tf.Session() as sess, pytest.raises(KeyError) as err:
        sess.run(tf.reduce_sum(x))
    assert "You must feed a value for placeholder 'x' (shape (None, 1000), float32)" in str(err.value)


def test_wrong_feed_shape_names_placeholder_and_both_shapes():
    x = tf.placeholder(tf.float32, shape=(None, 1000), name="x")
    with tf.Session() as sess, pytest.raises(ValueError) as err:
        sess.run(tf.reduce_sum(x), {x: np.zeros((64, 999), np.float32)})
    assert "'x'" in str(err.value) and "(64, 999)" in str(err.value) and "(None, 1000)" in str(err.value)


def test_wrong_feed_dtype_names_placeholder_and_both_shapes():
    x = tf.placeholder(tf.float32, shape=(None, 2), name="x")
    with tf.Session() as sess, pytest.raises(TypeError) as err:
        sess.run(tf.reduce_sum(x), {x: np.zeros((3, 2), np.complex64)})
    text = str(err.value)
    assert "'x'" in text and "complex64" in text and "(3, 2)" in text and "(None, 2)" in text


def test_float64_feed_into_float32_placeholder_is_converted_like_tf():
    x = tf.placeholder(tf.float32, shape=(None, 2), name="x")
    with tf.Session() as sess:
        assert sess.run(tf.reduce_sum(x), {x: np.ones((3, 2))}) == 6.0


def test_uninitialised_variable_is_reported():
    w = tf.Variable(np.ones(2), name="w")
    with tf.Session() as sess, pytest.raises(tf.FailedPreconditionError, match="uninitialized value w"):
        sess.run(w * 2.0)


def test_unknown_fetch_and_feed_keys_are_errors():
    x = tf.placeholder(tf.float32, shape=(2,), name="x")
    with tf.Session() as sess:
        with pytest.raises(TypeError, match="invalid type"):
            sess.run(3)
        with pytest.raises(ValueError, match="nope"):
            sess.run("nope")
        with pytest.raises(TypeError, match="unknown feed key"):
            sess.run(x * 2.0, {"x": np.ones(2)})
        assert sess.run("x:0", {x: np.ones(2, np.float32)}).shape == (2,)


def test_fetching_a_node_of_another_graph_is_an_error():
    other = tf.Graph()
    with other.as_default():
        foreign = tf.constant(1.0)
    with tf.Session() as sess, pytest.raises(ValueError, match="not an element of this graph"):
        sess.run(foreign)


def test_graph_growth_inside_the_loop_warns_and_finalize_refuses():
    x = tf.placeholder(tf.float32, shape=(2,), name="x")
    feed = {x: np.ones(2, np.float32)}
    with tf.Session() as sess, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(15):
            sess.run(tf.reduce_sum(x * 2.0), feed)   # a new node every run: the TF1 trap
    assert any(issubclass(w.category, tf.GraphGrowthWarning) for w in caught)
    tf.get_default_graph().finalize()
    with pytest.raises(tf.GraphFinalizedError, match="finalized"):
        x * 3.0


def test_closed_session_refuses_to_run():
    sess = tf.Session()
    sess.close()
    with pytest.raises(RuntimeError, match="closed"):
        sess.run(tf.constant(1.0))


def test_fetched_arrays_are_read_only():
    w = tf.Variable(np.ones(3), name="w")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        value = sess.run(w)
        with pytest.raises(ValueError):
            value[0] = 5.0


def test_explain_and_dot():
    x = tf.placeholder(tf.float32, shape=(None, 4), name="x")
    w = tf.Variable(np.ones((4, 3), np.float32), name="w")
    loss = tf.reduce_sum((tf.maximum(tf.matmul(x, w), tf.zeros(1)) - 1.0) ** 2.0)
    (g,) = tf.gradients(loss, [w])
    step = w.assign(w - 0.1 * g)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run([loss, step], {x: np.ones((5, 4), np.float32)})
        report = sess.explain([loss, step])
        fresh = sess.explain([loss, step], {x: np.ones((2, 4), np.float32)})   # another batch size
    assert "def run(" in fresh.code and fresh.bytes < report.bytes
    names = [name for name, _ in report.counts]
    assert names == ["lowered", "prune", "fold_constants", "eliminate_common", "simplify", "fuse_elementwise",
                     "plan_memory"]
    assert report.counts[-1][1] < report.counts[0][1]
    assert report.bytes > 0 and report.into_variables == 1
    assert report.dot_before.startswith("digraph") and report.dot_after.startswith("digraph")
    assert "def run(" in report.code and "fused" in str(report) or report.fused == []
