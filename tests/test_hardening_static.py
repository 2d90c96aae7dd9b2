"""Issue 7, static-graph misuse: the errors TF1 users know, in the seed's own training program.

test_static_graph.py checks each error on a one-node graph (counted in this group by tests/conftest.py);
here the same mistakes are made inside a real training loop: placeholders x and y, a Variable, gradients
and an assign, run by one Session step after step.
"""
import warnings

import numpy as np
import pytest

import autotrain.engine.static as tf

pytestmark = pytest.mark.group("static misuse")


@pytest.fixture
def program():
    tf.reset_default_graph()
    x = tf.placeholder(tf.float64, shape=(None, 3), name="x")
    y = tf.placeholder(tf.float64, shape=(None, 2), name="y")
    w = tf.Variable(np.ones((3, 2)), name="w")
    loss = tf.reduce_sum((tf.matmul(x, w) - y) ** 2.0)
    (g,) = tf.gradients(loss, [w])
    step = w.assign(w - 0.01 * g)
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    feed = {x: np.ones((4, 3)), y: np.zeros((4, 2))}
    yield sess, x, y, w, loss, step, feed
    sess.close()


def test_missing_feed_in_a_training_step_names_the_placeholder(program):
    sess, x, y, w, loss, step, feed = program
    with pytest.raises(KeyError, match=r"You must feed a value for placeholder 'y' \(shape \(None, 2\), float64\)"):
        sess.run([loss, step], {x: feed[x]})
    assert np.array_equal(sess.run(w), np.ones((3, 2)))  # the failed run updated nothing


@pytest.mark.parametrize("value, error, needle", [
    (np.ones((4, 3, 1)), ValueError, "Cannot feed value of shape (4, 3, 1) for placeholder 'x', which has shape (None, 3)"),
    (np.ones(3), ValueError, "Cannot feed value of shape (3,) for placeholder 'x'"),
    (np.ones((4, 2)), ValueError, "Cannot feed value of shape (4, 2)"),
    (np.array([["a", "b", "c"]]), TypeError, "Cannot feed value of dtype str"),
    (np.ones((4, 3), np.complex128), TypeError, "complex128"),
])
def test_wrong_feed_shape_or_dtype_in_a_training_step(program, value, error, needle):
    sess, x, y, w, loss, step, feed = program
    with pytest.raises(error) as err:
        sess.run([loss, step], {**feed, x: value})
    assert needle in str(err.value)
    assert np.array_equal(sess.run(w), np.ones((3, 2)))


def test_feeds_that_disagree_at_run_time_name_the_node(program):
    sess, x, y, w, loss, step, feed = program
    with pytest.raises(ValueError, match=r"cannot run with the shapes fed.*\(4, 2\).*\(5, 2\)"):
        sess.run(loss, {x: np.ones((4, 3)), y: np.ones((5, 2))})


def test_feeding_something_that_is_not_a_placeholder(program):
    sess, x, y, w, loss, step, feed = program
    for node in (w, loss):
        with pytest.raises(ValueError, match="only placeholders can be fed"):
            sess.run(loss, {**feed, node: np.ones((3, 2))})


def test_fetching_or_feeding_nodes_of_another_graph(program):
    sess, x, y, w, loss, step, feed = program
    other = tf.Graph()
    with other.as_default():
        ox = tf.placeholder(tf.float64, shape=(None, 3), name="x")
        total = tf.reduce_sum(ox)
    with pytest.raises(ValueError, match="is not an element of this graph"):
        sess.run([loss, total], feed)
    with pytest.raises(ValueError, match="not an element of this graph"):
        sess.run(loss, {**feed, ox: np.ones((4, 3))})
    with pytest.raises(ValueError, match="inputs come from different graphs"):
        tf.matmul(x, ox)


def test_gradients_across_graphs_is_an_error(program):
    sess, x, y, w, loss, step, feed = program
    other = tf.Graph()
    with other.as_default():
        total = tf.reduce_sum(tf.placeholder(tf.float64, shape=(None, 3), name="x"))
    with pytest.raises(ValueError, match="different graphs"):
        tf.gradients(total, [w])


def test_shape_mismatch_at_build_time_names_both_nodes(program):
    sess, x, y, w, loss, step, feed = program
    for build in (lambda: x + tf.ones((4,), tf.float64), lambda: tf.maximum(x, tf.ones((2, 2), tf.float64)),
                  lambda: tf.matmul(x, tf.ones((2, 2), tf.float64))):
        with pytest.raises(ValueError) as err:
            build()
        assert "'x'" in str(err.value) and "(None, 3)" in str(err.value) and "'ones" in str(err.value)
    with pytest.raises(ValueError, match=r"\(3, 2\) and \(2, 2\)"):
        sess.run(w.assign(np.ones((2, 2))))


def test_growing_the_graph_inside_the_training_loop_warns_then_finalize_refuses(program):
    """The TF1 trap: a new node per step (here ``loss * 1.0``) makes every run compile a new plan."""
    sess, x, y, w, loss, step, feed = program
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(20):
            sess.run([loss * 1.0, step], feed)
    growth = [c for c in caught if issubclass(c.category, tf.GraphGrowthWarning)]
    assert growth, [str(c.message) for c in caught]
    graph = tf.get_default_graph()
    graph.finalize()
    for build in (lambda: loss * 1.0, lambda: tf.gradients(loss, [w]), lambda: tf.Variable(np.ones(2)),
                  lambda: tf.constant(1.0), lambda: w.assign(w)):
        with pytest.raises(tf.GraphFinalizedError, match="finalized"):
            build()
    before = sess.run(loss, feed)  # the nodes built before finalize() still train
    sess.run([loss, step], feed)
    assert sess.run(loss, feed) < before


def test_a_loop_that_reuses_its_nodes_does_not_warn(program):
    sess, x, y, w, loss, step, feed = program
    with warnings.catch_warnings():
        warnings.simplefilter("error", tf.GraphGrowthWarning)
        for _ in range(50):
            sess.run([loss, step], feed)
