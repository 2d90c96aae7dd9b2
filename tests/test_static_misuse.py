"""Static-graph misuse: the errors TF1 users know, in the seed's own training program.

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


# --------------------------------------------------------------------- misuse that gave raw Python errors
def test_gradients_of_something_that_is_not_a_node(program):
    sess, x, y, w, loss, step, feed = program
    for xs, needle in (([5], r"xs\[0\] is 5 \(int\)"), ([w, "w"], r"xs\[1\] is 'w' \(str\)"),
                       ([None], r"xs\[0\] is None")):
        with pytest.raises(TypeError, match=needle):
            tf.gradients(loss, xs)
    with pytest.raises(TypeError, match=r"ys\[0\] is 3.0"):
        tf.gradients(3.0, [w])
    with pytest.raises(TypeError, match="operation without a value"):
        tf.gradients(tf.global_variables_initializer(), [w])


def test_running_an_empty_fetch_structure_returns_it(program):
    sess, x, y, w, loss, step, feed = program
    assert sess.run([]) == [] and sess.run(()) == () and sess.run({}) == {}
    assert sess.run([], feed) == [] and sess.run({"nothing": []}) == {"nothing": []}


def test_two_assigns_to_one_variable_in_one_run_are_refused(program):
    sess, x, y, w, loss, step, feed = program
    other = w.assign(np.zeros((3, 2)))
    for fetches in ([step, other], [tf.global_variables_initializer(), other],
                    [w.assign_add(np.ones((3, 2))), w.assign_sub(np.ones((3, 2)))]):
        with pytest.raises(ValueError, match="assigns Variable 'w' twice.*no defined order"):
            sess.run(fetches, feed)
    np.testing.assert_array_equal(sess.run(w), np.ones((3, 2)))   # nothing ran
    sess.run(other)                                                # each alone is fine
    np.testing.assert_array_equal(sess.run(w), np.zeros((3, 2)))


@pytest.mark.parametrize("build, needle", [
    (lambda: tf.constant("abc"), "cannot make a tensor of 'abc'"),
    (lambda: tf.constant(["1.0", "2.0"]), "cannot make a tensor"),
    (lambda: tf.constant(np.array([object()])), "cannot make a tensor"),
    (lambda: tf.constant({"a": 1}), "cannot make a tensor"),
    (lambda: tf.constant([[1.0, 2.0], [3.0]]), "cannot make a tensor"),
    (lambda: tf.constant(1.0, dtype=str), "dtype str"),
    (lambda: tf.Variable("weights"), "cannot make a tensor of 'weights'"),
    (lambda: tf.Variable(np.array(["a", "b"])), "cannot make a tensor"),
    (lambda: tf.Variable(np.ones(2), dtype=object), "dtype object"),
    (lambda: tf.placeholder(str, shape=(2,)), "dtype str"),
    (lambda: tf.placeholder("float99", shape=(2,)), "not a dtype"),
    (lambda: tf.zeros((2,), dtype=np.complex64), "complex64 is not supported"),
    (lambda: tf.cast(tf.constant(1.0), object), "dtype object"),
    (lambda: tf.constant(1.0) + "1", "cannot make a tensor of '1'"),
])
def test_strings_and_objects_are_refused_when_built(build, needle):
    with pytest.raises(TypeError, match=needle):
        build()


@pytest.mark.parametrize("shape, error, needle", [
    ((-3, 2), ValueError, "dimension -3 .* must be >= 0"),
    ((-1, 2), ValueError, "dimension -1 .* must be >= 0 \\(None leaves it open\\)"),
    ((2.5, 2), TypeError, "dimension 2.5 .* is not an integer"),
    (("a", 2), TypeError, "dimension 'a'"),
    ((True, 2), TypeError, "dimension True"),
    (3.0, TypeError, "not a sequence"),
])
def test_placeholder_shapes_must_be_dimensions(shape, error, needle):
    with pytest.raises(error, match=needle):
        tf.placeholder(tf.float32, shape=shape)


@pytest.mark.parametrize("build, error, needle", [
    (lambda x: tf.reduce_sum(x, axis=2), ValueError, "invalid reduction axis 2 .* rank 2"),
    (lambda x: tf.reduce_mean(x, axis=-3), ValueError, "invalid reduction axis -3"),
    (lambda x: tf.reduce_max(x, axis=[0, 0]), ValueError, "names an axis twice"),
    (lambda x: tf.reduce_sum(x, axis=1.0), TypeError, "axis 1.0 is not an integer"),
    (lambda x: tf.reduce_sum(x, axis=x), TypeError, "axis must be a Python int"),
    (lambda x: tf.argmax(x, axis=[0, 1]), TypeError, "one integer"),
    (lambda x: tf.nn.softmax(x, axis=2), ValueError, "softmax: axis 2 is out of range"),
    (lambda x: tf.nn.log_softmax(x, axis="rows"), ValueError, "log_softmax: axis 'rows'"),
    (lambda x: tf.one_hot(x, 3), TypeError, "indices .* must be integers"),
    (lambda x: tf.one_hot(tf.cast(x, tf.int32), -1), ValueError, "depth"),
    (lambda x: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=x, logits=x), TypeError, "must be integers"),
    (lambda x: tf.nn.softmax_cross_entropy_with_logits_v2(logits=x), ValueError, "needs labels= and logits="),
    (lambda x: tf.matmul(tf.reduce_sum(x, axis=0), x, transpose_a=True), ValueError, "transpose_a needs a matrix"),
    (lambda x: x * tf.constant([1, 2, 3]), TypeError, "int32 .* does not match .*float64"),
    (lambda x: tf.cast(x, tf.int32) * 0.5, TypeError, "cannot convert 0.5 to int32"),
])
def test_op_arguments_are_checked_when_built(program, build, error, needle):
    sess, x, y, w, loss, step, feed = program
    with pytest.raises(error, match=needle):
        build(x)


@pytest.mark.parametrize("feed_key, error, needle", [
    ("x", TypeError, "unknown feed key 'x'"),
    (0, TypeError, "unknown feed key 0"),
    (None, TypeError, "unknown feed key None"),
])
def test_feed_keys_that_are_not_placeholders(program, feed_key, error, needle):
    sess, x, y, w, loss, step, feed = program
    with pytest.raises(error, match=needle):
        sess.run([loss, step], {**feed, feed_key: np.ones((4, 3))})
    np.testing.assert_array_equal(sess.run(w), np.ones((3, 2)))


@pytest.mark.parametrize("fetch, error, needle", [
    (5, TypeError, "Fetch argument 5 has invalid type int"),
    (None, TypeError, "Fetch argument None"),
    (np.ones(2), TypeError, "invalid type ndarray"),
    ("no_such_node", ValueError, "no_such_node"),
    ([object()], TypeError, "invalid type object"),
])
def test_fetches_that_are_not_nodes(program, fetch, error, needle):
    sess, x, y, w, loss, step, feed = program
    with pytest.raises(error, match=needle):
        sess.run(fetch, feed)


def test_optimizer_misuse_is_named(program):
    sess, x, y, w, loss, step, feed = program
    opt = tf.train.GradientDescentOptimizer(0.1)
    unrelated = tf.Variable(np.ones(2), name="unrelated")
    with pytest.raises(ValueError, match="No gradients provided for any variable.*unrelated"):
        opt.minimize(loss, var_list=[unrelated])
    with pytest.raises(TypeError, match="loss must be a node"):
        opt.minimize(5.0)
    with pytest.raises(TypeError, match="must be a floating-point value"):
        opt.minimize(tf.argmax(x, axis=1))
    with pytest.raises(TypeError, match="var_list holds 'w'"):
        opt.minimize(loss, var_list=["w"])
    with pytest.raises(ValueError, match="No variables provided"):
        opt.apply_gradients([])
    with pytest.raises(TypeError, match="5 is not a Variable"):
        opt.apply_gradients([(loss, 5)])
    with pytest.raises(TypeError, match=r"expected \(gradient, variable\) pairs"):
        opt.apply_gradients([w])
    with pytest.raises(TypeError, match="learning_rate must be a number or a node"):
        tf.train.GradientDescentOptimizer("fast").minimize(loss)
    with pytest.raises(TypeError, match="global_step must be an integer Variable"):
        opt.minimize(loss, global_step=w)
    with pytest.raises(TypeError, match="Session: graph must be a Graph"):
        tf.Session(graph=5)


@pytest.mark.parametrize("build, error, needle", [
    (lambda x: tf.reshape(x, (2, -1, -1)), ValueError, "only one dimension .* may be -1"),
    (lambda x: tf.reshape(x, "ab"), TypeError, "shape 'ab' is not a sequence"),
    (lambda x: tf.constant([1.0, 2.0], shape=(3,)), ValueError, r"shape \(2,\) does not fill shape \(3,\)"),
    (lambda x: tf.nn.softmax(tf.constant([1, 2])), TypeError, "must be floating-point, not int32"),
    (lambda x: tf.Variable(x), ValueError, "fully defined initial shape"),
    (lambda x: tf.random_normal((None, 2)), ValueError, "must be fully known"),
    (lambda x: tf.clip_by_value(x, 2.0, 1.0), ValueError, "above clip_value_max"),
])
def test_more_build_time_misuse(program, build, error, needle):
    sess, x, y, w, loss, step, feed = program
    with pytest.raises(error, match=needle):
        build(x)


def test_ragged_feed_and_silent_log_of_zero(program):
    sess, x, y, w, loss, step, feed = program
    with pytest.raises(ValueError, match="Cannot feed list value for placeholder 'x'"):
        sess.run(loss, {x: [[1.0, 2.0, 3.0], [1.0]], y: feed[y]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")                     # no RuntimeWarning, as the dynamic engine
        assert sess.run(tf.reduce_min(tf.log(x * 0.0)), feed) == -np.inf
        assert sess.run(tf.reduce_min(tf.log(tf.constant([0.0, 1.0])))) == -np.inf
