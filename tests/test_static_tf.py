"""TF1 semantics beyond the seed: results the caller owns, TF1 dtypes, tf.nn / tf.losses / tf.train.

Oracles: numpy written from TF1's documented formulas, central finite differences, and the dynamic
engine (the same op-table rules run eagerly).  tests/test_static_vs_tf.py checks the same against real
TensorFlow when it is installed (slow tier).
"""
from __future__ import annotations

import numpy as np
import pytest

import autotrain.engine.static as tf


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def _session():
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    return sess


# --------------------------------------------------------------------- results belong to the caller
def test_weights_fetched_at_each_step_keep_their_values():
    w = tf.Variable(np.zeros(3), name="w")
    step = w.assign_add(np.ones(3))
    sess = _session()
    seen, stepped = [sess.run(w)], []
    for _ in range(3):
        stepped.append(sess.run(step))
        seen.append(sess.run(w))
    assert [s[0] for s in seen] == [0.0, 1.0, 2.0, 3.0]
    assert [s[0] for s in stepped] == [1.0, 2.0, 3.0]
    assert all(not s.flags.writeable for s in seen + stepped)   # a Variable's memory: read-only


def test_a_row_view_of_a_fetched_weight_is_never_overwritten():
    w = tf.Variable(np.zeros((2, 3)), name="w")
    step = w.assign(w + 1.0)
    sess = _session()
    row = sess.run(step)[0]          # only a view of the result survives
    for _ in range(3):
        sess.run(step)
    np.testing.assert_array_equal(row, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(sess.run(w), np.full((2, 3), 4.0))


def test_computed_results_are_writable_and_independent():
    x = tf.placeholder(tf.float64, shape=(None, 2), name="x")
    y = tf.nn.relu(x * 2.0 - 1.0)
    sess = tf.Session()
    outs = [sess.run(y, {x: np.full((2, 2), float(k))}) for k in range(4)]
    assert [o[0, 0] for o in outs] == [0.0, 1.0, 3.0, 5.0]
    outs[1][...] = -7.0                     # the caller's own array: writing to it changes nothing else
    np.testing.assert_array_equal(sess.run(y, {x: np.ones((2, 2))}), np.ones((2, 2)))
    fed = np.ones((2, 2))
    back = sess.run(x, {x: fed})
    assert back is not fed and not np.shares_memory(back, fed)
    const = sess.run(tf.constant(np.arange(3.0)))
    const[0] = 9.0
    assert sess.run(tf.constant(np.arange(3.0)))[0] == 0.0


def test_fetching_a_variable_and_its_assign_in_one_run():
    w = tf.Variable(np.array([1.0, 2.0]), name="w")
    step = w.assign(w * 10.0)
    sess = _session()
    old, new = sess.run([w, step])
    np.testing.assert_array_equal(old, [1.0, 2.0])
    np.testing.assert_array_equal(new, [10.0, 20.0])
    np.testing.assert_array_equal(sess.run(w), [10.0, 20.0])


def test_the_usual_loop_reuses_two_buffers_per_value():
    """``loss, _ = sess.run([loss, step])`` keeps the last result alive during the next run: the Session
    alternates two buffers instead of allocating (the steady-state test in test_static_training measures it)."""
    x = tf.placeholder(tf.float64, shape=(4, 3), name="x")
    w = tf.Variable(np.ones((3, 2)), name="w")
    loss = tf.reduce_sum(tf.matmul(x, w) ** 2)
    step = tf.train.GradientDescentOptimizer(0.01).minimize(loss)
    v = tf.Variable(np.zeros((3, 2)), name="v")
    out = v.assign(v + 1.0)
    sess = _session()
    feed = {x: np.ones((4, 3))}
    addresses = set()
    for _ in range(6):
        _, _, value = sess.run([loss, step, out], feed)
        addresses.add(value.__array_interface__["data"][0])
    assert len(addresses) == 2


# --------------------------------------------------------------------- numbers and dtypes (TF1 rules)
@pytest.mark.parametrize("number", [np.float64(1e-3), np.float32(1e-3), np.int32(2), np.int64(2), True, 2, 0.5,
                                    np.array(0.25)])
def test_any_python_or_numpy_scalar_works_as_a_constant(number):
    w = tf.Variable(np.ones(3, np.float32), name="w")
    x = tf.placeholder(tf.float32, shape=(None, 3), name="x")
    (g,) = tf.gradients(tf.reduce_sum(x * w * number), [w])
    step = w.assign(w - number * g)
    clipped = tf.maximum(w, number) + tf.minimum(number, w)
    sess = _session()
    feed = {x: np.ones((2, 3), np.float32)}
    value = float(number)
    new, both = sess.run([step, clipped], feed)
    assert new.dtype == np.float32 and both.dtype == np.float32
    np.testing.assert_allclose(new, np.float32(1) - np.float32(value) * np.float32(2 * value), rtol=1e-6)
    np.testing.assert_allclose(both, np.float32(max(1.0, value) + min(1.0, value)), rtol=1e-6)  # w before the step


def test_constants_take_tf1_dtypes():
    assert tf.constant(1.5).dtype == np.float32 and tf.constant([1, 2.5]).dtype == np.float32
    assert tf.constant(3).dtype == np.int32 and tf.constant(2 ** 40).dtype == np.int64
    assert tf.constant(np.float64(1e-3)).dtype == np.float64 and tf.constant(np.int16(1)).dtype == np.int16
    assert tf.constant(True).dtype == np.bool_ and tf.constant(np.ones(2)).dtype == np.float64
    assert tf.Variable(0, trainable=False).dtype == np.int32
    x = tf.placeholder(tf.float32, shape=(2,), name="x")
    assert (x * np.float64(2.0)).dtype == np.float32 and (x + np.ones(2)).dtype == np.float32
    assert (2 * x).dtype == np.float32 and (x / 2).dtype == np.float32


def test_mixed_tensor_dtypes_are_refused_as_in_tf1():
    a = tf.placeholder(tf.float32, shape=(2,), name="a")
    b = tf.placeholder(tf.float64, shape=(2,), name="b")
    for build in (lambda: a + b, lambda: tf.multiply(a, b), lambda: tf.matmul(tf.reshape(a, (1, 2)),
                                                                              tf.reshape(b, (2, 1))),
                  lambda: tf.maximum(a, b), lambda: tf.equal(a, b)):
        with pytest.raises(TypeError, match="float64.*does not match.*float32.*tf.cast"):
            build()
    i = tf.constant([1, 2])
    with pytest.raises(TypeError, match="0.5.*int32"):
        i * 0.5
    assert (i * 2).dtype == np.int32 and (tf.cast(i, tf.float32) * 0.5).dtype == np.float32
    assert (a + tf.cast(b, tf.float32)).dtype == np.float32


# --------------------------------------------------------------------- ops: values and gradients
def _fd_gradient(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(up) - f(down)) / (2 * eps)
    return grad


def _check_gradient(build, x0, rtol=1e-6):
    """build(node) -> scalar node: the symbolic gradient at x0 against central differences."""
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float64, shape=(None,) + x0.shape[1:], name="x")
        y = build(x)
        (dx,) = tf.gradients(y, [x])
    with tf.Session(g) as sess:
        got = sess.run(dx, {x: x0})
        want = _fd_gradient(lambda v: float(sess.run(y, {x: v})), x0)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-8)
    return got


@pytest.mark.parametrize("ta, tb", [(False, False), (True, False), (False, True), (True, True)])
def test_matmul_transpose_flags(ta, tb):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    a_in, b_in = (a.T.copy() if ta else a), (b.T.copy() if tb else b)
    w = tf.Variable(b_in, name="w")
    x = tf.placeholder(tf.float64, shape=a_in.shape, name="x")
    y = tf.matmul(x, w, transpose_a=ta, transpose_b=tb)
    loss = tf.reduce_sum(tf.square(y))
    gx, gw = tf.gradients(loss, [x, w])
    sess = _session()
    value, dx, dw = sess.run([y, gx, gw], {x: a_in})
    np.testing.assert_allclose(value, a @ b)
    ga, gb = 2 * (a @ b) @ b.T, a.T @ (2 * (a @ b))      # d/da, d/db of sum((a@b)^2)
    np.testing.assert_allclose(dx, ga.T if ta else ga)
    np.testing.assert_allclose(dw, gb.T if tb else gb)


@pytest.mark.parametrize("reduce, numpy_reduce", [(tf.reduce_sum, np.sum), (tf.reduce_mean, np.mean),
                                                  (tf.reduce_max, np.max)])
@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, False), (1, True), (-1, False), ([0, 1], True)])
def test_reductions_over_a_batch_unknown_until_fed(reduce, numpy_reduce, axis, keepdims):
    x0 = np.random.default_rng(1).standard_normal((5, 3))
    x = tf.placeholder(tf.float64, shape=(None, 3), name="x")
    y = reduce(x, axis=axis, keepdims=keepdims)
    with tf.Session() as sess:
        for rows in (5, 2):   # one graph, two batch sizes
            np.testing.assert_allclose(sess.run(y, {x: x0[:rows]}),
                                       numpy_reduce(x0[:rows], axis=None if axis is None else tuple(np.atleast_1d(axis)),
                                                    keepdims=keepdims))
    tf.reset_default_graph()
    _check_gradient(lambda v: tf.reduce_sum(tf.square(reduce(v, axis=axis, keepdims=keepdims))), x0)


def test_reduce_mean_of_a_batch_matches_the_dynamic_engine():
    import autotrain.engine as torch

    x0 = np.random.default_rng(2).standard_normal((6, 4)).astype(np.float32)
    w0 = np.random.default_rng(3).standard_normal((4, 2)).astype(np.float32)
    x = tf.placeholder(tf.float32, shape=(None, 4), name="x")
    w = tf.Variable(w0, name="w")
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w)))
    (gw,) = tf.gradients(loss, [w])
    sess = _session()
    value, grad = sess.run([loss, gw], {x: x0})
    wt = torch.tensor(w0, requires_grad=True)
    lt = ((torch.tensor(x0) @ wt) ** 2).mean()
    lt.backward()
    np.testing.assert_allclose(value, lt.item(), rtol=1e-6)
    np.testing.assert_allclose(grad, wt.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_activations_and_softmax_values():
    v = np.array([[-2.0, 0.0, 3.0], [1000.0, 1000.0, -1000.0]])
    x = tf.placeholder(tf.float64, shape=(None, 3), name="x")
    outs = [tf.nn.relu(x), tf.nn.sigmoid(x), tf.nn.tanh(x), tf.nn.softmax(x), tf.nn.log_softmax(x),
            tf.nn.softmax(x, axis=0)]
    with tf.Session() as sess:
        relu, sig, tanh, sm, lsm, sm0 = sess.run(outs, {x: v})
    shifted = v - v.max(axis=1, keepdims=True)
    want_lsm = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(relu, np.maximum(v, 0))
    np.testing.assert_allclose(sig, np.where(v >= 0, 1 / (1 + np.exp(-np.abs(v))), 1 - 1 / (1 + np.exp(-np.abs(v)))))
    np.testing.assert_allclose(tanh, np.tanh(v))
    np.testing.assert_allclose(lsm, want_lsm)                      # finite at |x| = 1000
    np.testing.assert_allclose(sm, np.exp(want_lsm))
    np.testing.assert_allclose(sm0.sum(axis=0), [1.0, 1.0, 1.0])


@pytest.mark.parametrize("build", [
    lambda v: tf.reduce_sum(tf.nn.softmax(v) * np.arange(3.0)),
    lambda v: tf.reduce_sum(tf.nn.log_softmax(v, axis=0) * np.arange(3.0)),
    lambda v: tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=np.eye(3)[[0, 2, 1, 1]], logits=v)),
    lambda v: tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=np.array([0, 2, 1, 1]), logits=v)),
    lambda v: tf.losses.softmax_cross_entropy(np.eye(3)[[2, 2, 0, 1]], v),
    lambda v: tf.losses.sparse_softmax_cross_entropy(np.array([2, 2, 0, 1]), v),
    lambda v: tf.losses.mean_squared_error(np.ones((4, 3)), v),
    lambda v: tf.reduce_sum(tf.nn.sigmoid(v) * tf.nn.tanh(v)),
], ids=["softmax", "log_softmax-axis0", "xent-v2", "sparse-xent", "losses.softmax", "losses.sparse", "mse",
        "sigmoid-tanh"])
def test_gradients_match_finite_differences(build):
    _check_gradient(build, np.random.default_rng(4).standard_normal((4, 3)))


def test_softmax_cross_entropy_value_and_gradient_by_hand():
    logits = np.random.default_rng(5).standard_normal((4, 3))
    labels = np.eye(3)[[0, 2, 1, 1]]
    z = tf.placeholder(tf.float64, shape=(None, 3), name="z")
    rows = tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=z)
    sparse = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=np.array([0, 2, 1, 1]), logits=z)
    (gz,) = tf.gradients(tf.reduce_sum(rows), [z])
    with tf.Session() as sess:
        value, value_sparse, grad = sess.run([rows, sparse, gz], {z: logits})
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(value, -np.log((p * labels).sum(axis=1)))
    np.testing.assert_allclose(value_sparse, value)
    np.testing.assert_allclose(grad, p - labels)                 # TF's softmax - labels


def test_argmax_equal_cast_one_hot_accuracy():
    logits = np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 3.0], [0.0, 0.0, 1.0]], np.float32)
    labels = np.array([1, 0, 0], np.int64)
    z = tf.placeholder(tf.float32, shape=(None, 3), name="z")
    y = tf.placeholder(tf.int64, shape=(None,), name="y")
    pred = tf.argmax(z, axis=1)
    correct = tf.equal(pred, y)
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
    onehot = tf.one_hot(y, 3)
    with tf.Session() as sess:
        p, c, acc, oh, first = sess.run([pred, correct, accuracy, onehot, tf.argmax(z)], {z: logits, y: labels})
    assert p.dtype == np.int64 and p.tolist() == [1, 0, 2]          # first of tied maxima
    assert c.tolist() == [True, True, False] and acc.dtype == np.float32 and acc == pytest.approx(2 / 3)
    np.testing.assert_array_equal(oh, np.eye(3, dtype=np.float32)[labels])
    assert first.tolist() == [1, 0, 1]                               # TF1: axis 0 by default
    assert tf.one_hot(tf.constant([0, 5, -1]), 3, dtype=tf.float64).dtype == np.float64
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(tf.one_hot(tf.constant([0, 5, -1]), 3)),
                                      [[1, 0, 0], [0, 0, 0], [0, 0, 0]])   # out of range: a row of zeros, as TF


def test_stop_gradient_and_xent_v1_pass_nothing_to_labels():
    z = tf.Variable(np.array([[1.0, 2.0, 0.5]]), name="z")
    labels = tf.nn.softmax(z * 2.0)
    loss_v1 = tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=z))
    loss_v2 = tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=z))
    g1, g2 = tf.gradients(loss_v1, [z])[0], tf.gradients(loss_v2, [z])[0]
    assert tf.gradients(tf.reduce_sum(tf.stop_gradient(z) * 2.0), [z]) == [None]
    sess = _session()
    a, b, la = sess.run([g1, g2, labels])
    p = np.exp([1.0, 2.0, 0.5]) / np.exp([1.0, 2.0, 0.5]).sum()
    np.testing.assert_allclose(a[0], p - la[0])
    assert not np.allclose(a, b)


# --------------------------------------------------------------------- tf.train: TF1's kernel formulas
def _problem(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((8, 3)), rng.standard_normal((8, 2)), rng.standard_normal((3, 2)), \
        rng.standard_normal(2)


def _train(optimizer, steps=100, dtype=np.float64, use_global_step=False):
    x0, y0, w0, b0 = _problem()
    x = tf.placeholder(dtype, shape=(None, 3), name="x")
    y = tf.placeholder(dtype, shape=(None, 2), name="y")
    w, b = tf.Variable(w0.astype(dtype), name="w"), tf.Variable(b0.astype(dtype), name="b")
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y))
    step_var = tf.train.get_or_create_global_step() if use_global_step else None
    train_op = optimizer.minimize(loss, global_step=step_var)
    sess = _session()
    feed = {x: x0.astype(dtype), y: y0.astype(dtype)}
    losses = [sess.run([loss, train_op], feed)[0] for _ in range(steps)]
    return losses, sess.run(w), sess.run(b), (sess.run(step_var) if use_global_step else None)


def _numpy_train(update, state, steps=100):
    """The same model and loss, gradients by hand, ``update(params, grads, state, t)`` from TF1's kernels."""
    x, y, w, b = _problem()
    params = [w.copy(), b.copy()]
    for t in range(1, steps + 1):
        w, b = params
        r = 2 * (x @ w + b - y) / y.size
        grads = [x.T @ r, r.sum(axis=0)]
        params = [update(p, g, state[k], t) for k, (p, g) in enumerate(zip(params, grads))]
    return params


def f32(value):
    """A hyper-parameter as TF1 uses it: a float32 tensor cast to the model's dtype."""
    return float(np.float32(value))


def _assert_trained(optimizer, update, state_of):
    losses, w, b, _ = _train(optimizer)
    want_w, want_b = _numpy_train(update, [state_of(), state_of()])
    np.testing.assert_allclose(w, want_w, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(b, want_b, rtol=1e-12, atol=1e-13)
    assert losses[-1] < losses[0]


def test_gradient_descent_matches_the_formula():
    _assert_trained(tf.train.GradientDescentOptimizer(0.1), lambda p, g, s, t: p - f32(0.1) * g, dict)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_matches_tf1s_kernel(nesterov):
    lr, mu = f32(0.05), f32(0.9)

    def update(p, g, s, t):
        s["a"] = s.get("a", 0.0) * mu + g
        return p - (g * lr + s["a"] * mu * lr if nesterov else s["a"] * lr)
    _assert_trained(tf.train.MomentumOptimizer(0.05, 0.9, use_nesterov=nesterov), update, dict)


def test_adam_matches_tf1s_epsilon_hat_form():
    lr, b1, b2, eps = f32(0.01), f32(0.8), f32(0.95), f32(1e-3)

    def update(p, g, s, t):
        # beta1^t, beta2^t: float32 Variables starting at beta, multiplied by beta (in float32) after each step
        b1_t, b2_t = s.get("b1_t", np.float32(b1)), s.get("b2_t", np.float32(b2))
        s["b1_t"], s["b2_t"] = b1_t * np.float32(b1), b2_t * np.float32(b2)
        lr_t = lr * np.sqrt(1 - float(b2_t)) / (1 - float(b1_t))
        s["m"] = s.get("m", 0.0) + (g - s.get("m", 0.0)) * (1 - b1)
        s["v"] = s.get("v", 0.0) + (g * g - s.get("v", 0.0)) * (1 - b2)
        return p - s["m"] * lr_t / (np.sqrt(s["v"]) + eps)
    _assert_trained(tf.train.AdamOptimizer(0.01, 0.8, 0.95, 1e-3), update, dict)


@pytest.mark.parametrize("centered", [False, True])
def test_rmsprop_matches_tf1s_kernel_with_ms_starting_at_one(centered):
    lr, rho, mu, eps = f32(0.01), f32(0.9), f32(0.5), f32(1e-6)

    def update(p, g, s, t):
        s["ms"] = s.get("ms", 1.0) + (g * g - s.get("ms", 1.0)) * (1 - rho)
        denom = s["ms"] + eps
        if centered:
            s["mg"] = s.get("mg", 0.0) + (g - s.get("mg", 0.0)) * (1 - rho)
            denom = s["ms"] - s["mg"] ** 2 + eps
        s["mom"] = s.get("mom", 0.0) * mu + g * lr / np.sqrt(denom)
        return p - s["mom"]
    _assert_trained(tf.train.RMSPropOptimizer(0.01, decay=0.9, momentum=0.5, epsilon=1e-6, centered=centered),
                    update, dict)


def test_adam_in_float32_stays_float32_and_counts_global_steps():
    losses, w, b, step = _train(tf.train.AdamOptimizer(0.01), steps=20, dtype=np.float32, use_global_step=True)
    assert w.dtype == np.float32 and step == 20 and losses[-1] < losses[0]


def test_slots_compute_and_apply_gradients_and_var_list():
    x = tf.placeholder(tf.float64, shape=(None, 2), name="x")
    w = tf.Variable(np.ones((2, 1)), name="w")
    frozen = tf.Variable(np.ones((1,)), name="frozen")
    loss = tf.reduce_sum(tf.matmul(x, w) + frozen)
    opt = tf.train.AdamOptimizer(0.1)
    grads_and_vars = opt.compute_gradients(loss, var_list=[w])
    assert [v for _, v in grads_and_vars] == [w]
    train_op = opt.apply_gradients([(g * 2.0, v) for g, v in grads_and_vars])
    assert opt.get_slot_names() == ["m", "v"] and opt.get_slot(w, "m").name == "w/Adam"
    assert opt.get_slot(frozen, "m") is None and not opt.get_slot(w, "v").trainable
    assert w in tf.trainable_variables() and opt.get_slot(w, "m") not in tf.trainable_variables()
    sess = _session()
    sess.run(train_op, {x: np.ones((3, 2))})
    np.testing.assert_allclose(sess.run(opt.get_slot(w, "m")), (1 - f32(0.9)) * 2 * 3 * np.ones((2, 1)), rtol=1e-15)
    np.testing.assert_array_equal(sess.run(frozen), [1.0])


class TorchAdam(tf.train.Optimizer):
    """PyTorch's Adam written on TF1's hooks: the pattern fit's static mode uses."""

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(name="TorchAdam")
        self.lr, self.betas, self.eps = lr, betas, eps

    def _create_slots(self, var_list):
        self._create_non_slot_variable(0.0, "step", var_list[0])
        for v in var_list:
            self._zeros_slot(v, "m", "exp_avg")
            self._zeros_slot(v, "v", "exp_avg_sq")

    def _apply_dense(self, grad, var):
        b1, b2 = self.betas
        t = self._get_non_slot_variable("step", var.graph) + 1.0
        m, v = self._slot(var, "m"), self._slot(var, "v")
        m_t = m.assign(m * b1 + grad * (1 - b1))
        v_t = v.assign(v * b2 + grad * grad * (1 - b2))
        step_size = self.lr / (1.0 - tf.pow(tf.constant(b1, var.dtype), t))
        denom = tf.sqrt(v_t) / tf.sqrt(1.0 - tf.pow(tf.constant(b2, var.dtype), t)) + self.eps
        return var.assign_sub(step_size * m_t / denom)

    def _finish(self, update_ops, name):
        step = self._get_non_slot_variable("step", update_ops[0].graph)
        return tf.train.Optimizer._finish(self, list(update_ops) + [step.assign_add(1.0)], name)


def test_an_optimizer_subclass_with_pytorchs_adam():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8

    def update(p, g, s, t):
        s["m"] = s.get("m", 0.0) * b1 + g * (1 - b1)
        s["v"] = s.get("v", 0.0) * b2 + g * g * (1 - b2)
        denom = np.sqrt(s["v"]) / np.sqrt(1 - b2 ** t) + eps
        return p - (lr / (1 - b1 ** t)) * s["m"] / denom
    _assert_trained(TorchAdam(lr, (b1, b2), eps), update, dict)


def test_compat_v1_names():
    assert tf.compat.v1 is tf and tf.compat.v1.train.AdamOptimizer is tf.train.AdamOptimizer
    tf.compat.v1.disable_eager_execution()
    assert tf.compat.v1.placeholder(tf.float32, [None, 2]).shape == (None, 2)


def test_default_session_eval_run_and_more_tf_names():
    x = tf.placeholder(tf.float32, shape=(None, 3), name="x")
    w = tf.Variable(tf.truncated_normal((3, 2), stddev=0.1, seed=1), name="w")
    u = tf.Variable(tf.random_uniform((200,), -1.0, 1.0), name="u")
    y = tf.clip_by_value(tf.matmul(x, w), -0.05, 0.05)
    loss = tf.reduce_min(tf.abs(tf.identity(y) + 1.0)) + tf.nn.l2_loss(w)
    train = tf.train.GradientDescentOptimizer(0.5).minimize(loss, var_list=[w])
    feed = {x: np.ones((2, 3), np.float32)}
    with tf.Session(seed=0) as sess:
        sess.run(tf.global_variables_initializer())
        w0, u0 = w.eval(), u.eval()
        assert np.abs(w0).max() <= 0.2 and -1.0 <= u0.min() and u0.max() < 1.0 and u0.std() > 0.4
        expected = np.abs(np.clip(np.ones((2, 3)) @ w0, -0.05, 0.05) + 1.0).min() + 0.5 * (w0.astype(np.float64) ** 2).sum()
        assert loss.eval(feed) == pytest.approx(expected, rel=1e-6)
        train.run(feed)
        assert tf.get_default_session() is sess
    assert tf.get_default_session() is None
    with pytest.raises(ValueError, match="no default Session"):
        w.eval()
    sess = tf.InteractiveSession()
    sess.run(tf.global_variables_initializer())
    np.testing.assert_array_equal(w.eval(), w0)          # seed=1: the same draw in every Session
    sess.close()
    tf.set_random_seed(3)
    a, b = tf.Session(), tf.Session()
    a.run(tf.global_variables_initializer())
    b.run(tf.global_variables_initializer())
    np.testing.assert_array_equal(a.run(u), b.run(u))   # the graph's seed seeds every Session on it


def test_assign_functions_group_and_no_op():
    a, b = tf.Variable(1.0, name="a"), tf.Variable(np.array([2.0, 3.0]), name="b")
    step = tf.group(tf.assign(a, a * 2.0), [tf.assign_add(b, [1.0, 1.0])], name="step")
    shrink = tf.assign_sub(b, np.ones(2))
    sess = _session()
    assert sess.run(step) is None and sess.run(tf.no_op()) is None
    assert sess.run(a) == 2.0
    np.testing.assert_array_equal(sess.run(shrink), [2.0, 3.0])
    with pytest.raises(TypeError, match="ref must be a Variable"):
        tf.assign(a * 1.0, 3.0)
    with pytest.raises(TypeError, match="is not a node"):
        tf.group(a, 5)


def test_the_mlp_workload_trains_as_its_numpy_reference():
    """benchmarks/bench_static_tf.py's mlp graph (tf.nn xent, AdamOptimizer) against its hand-written numpy."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        from bench_static_tf import NumpyMLP, StaticMLP, make_data
    finally:
        sys.path.pop(0)
    x, y, params = make_data()
    ref, static = NumpyMLP(params), StaticMLP(params)
    for _ in range(10):
        np.testing.assert_allclose(static.step(x, y), ref.step(x, y), rtol=1e-5)
    for got, want in zip(static.weights(), ref.params):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_zeros_like_and_ones_like_of_a_batch_with_inf():
    x = tf.placeholder(tf.float32, shape=(None, 2), name="x")
    z, o, oi = tf.zeros_like(x), tf.ones_like(x), tf.ones_like(x, dtype=tf.int32)
    with tf.Session() as sess:
        zv, ov, oiv = sess.run([z, o, oi], {x: np.array([[np.inf, np.nan], [1.0, -2.0]], np.float32)})
    np.testing.assert_array_equal(zv, np.zeros((2, 2)))
    np.testing.assert_array_equal(ov, np.ones((2, 2)))
    assert zv.dtype == np.float32 and oiv.dtype == np.int32 and zv.flags.writeable
