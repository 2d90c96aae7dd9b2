"""Workload ``mlp``: ``Linear(64,128) ReLU Linear(128,128) ReLU Linear(128,10)``,
``CrossEntropyLoss``, ``Adam`` (lr 1e-3, PyTorch's defaults), batch 32, float32.

Rows, all from the same data and initial weights (``mlp_problem``):
- ``numpy``: forward, backward and Adam written by hand: vectorised, in place where natural (the reference);
- ``engine``: ``autotrain.engine.nn`` + ``optim``, written as a PyTorch user writes it;
- ``static``: the same model as a TF1 graph, ``tf.train.AdamOptimizer(...).minimize(loss)``, one Session;
- ``torch eager``: the very program of the ``engine`` row, on real PyTorch;
- ``jax jit``: the step (value_and_grad + Adam) under ``jax.jit`` with donated state.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from _rows import REFERENCE, RowTable, Skip, Step, import_jax, import_torch

BETAS, EPS = (0.9, 0.999), 1e-8  # PyTorch's (and optax's) Adam defaults


class MLPProblem(NamedTuple):
    """Inputs (rows, D_in) float32, integer class labels (rows,), per layer (weight (out, in), bias (out,)),
    and the minibatches: a tuple of row-index arrays that steps cycle through, or None (every step the
    whole of x, y: the ``mlp`` workload)."""

    x: np.ndarray
    y: np.ndarray
    layers: tuple
    batches: tuple | None = None


def mlp_problem(sizes, seed: int = 0) -> MLPProblem:
    """Standard-normal inputs, uniform labels, and ``nn.Linear``'s default initialisation drawn as the
    engine's RNG contract draws it: per layer the weight (out, in), then the bias, each
    ``uniform(-1/sqrt(in), 1/sqrt(in))`` in float64, cast to float32."""
    n, *widths = sizes
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, widths[0])).astype(np.float32)
    y = rng.integers(0, widths[-1], n).astype(np.int64)
    layers = []
    for d_in, d_out in zip(widths[:-1], widths[1:]):
        bound = 1 / math.sqrt(d_in)
        w = rng.uniform(-bound, bound, (d_out, d_in)).astype(np.float32)
        b = rng.uniform(-bound, bound, d_out).astype(np.float32)
        layers.append((w, b))
    return MLPProblem(x, y, tuple(layers))


def mlp_flops(sizes) -> int:
    """Matmul flops: forward 2·N·in·out per layer; backward the weight gradient of every layer and the
    input gradient of every layer but the first (no gradient for x)."""
    n, *widths = sizes
    pairs = list(zip(widths[:-1], widths[1:]))
    per = [2 * n * a * b for a, b in pairs]
    return sum(per) * 2 + sum(per[1:])


def batch_source(problem: MLPProblem, convert=lambda a: a):
    """A function returning the next (x, y) minibatch, converted by ``convert``: the same fixed pair
    every step without minibatches (converted once), else the next row-index set, gathered each step
    as a training loop does."""
    if problem.batches is None:
        pair = convert(problem.x), convert(problem.y)
        return lambda: pair
    x, y, batches = problem.x, problem.y, problem.batches
    i = -1

    def next_batch():
        nonlocal i
        i = (i + 1) % len(batches)
        rows = batches[i]
        return convert(x[rows]), convert(y[rows])
    return next_batch


def numpy_step(problem: MLPProblem, lr: float, threads=None) -> Step:
    """The step by hand for any depth: weights kept as (in, out) so a layer is ``a @ W + b``; a numerically
    stable softmax cross-entropy (mean over the batch); ReLU's gradient zero where the input is <= 0
    (as PyTorch); Adam exactly as ``torch.optim.Adam`` computes it (m, v, bias corrections, eps after
    the square root), in place, with one scratch array per parameter."""
    next_batch = batch_source(problem)
    weights = [np.ascontiguousarray(w.T) for w, _ in problem.layers]
    biases = [b.copy() for _, b in problem.layers]
    params = [p for pair in zip(weights, biases) for p in pair]
    grads = [np.empty_like(p) for p in params]
    g_weights, g_biases = grads[0::2], grads[1::2]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    scratch = [np.empty_like(p) for p in params]
    beta1, beta2 = BETAS
    last = len(weights) - 1
    t = 0

    def step() -> float:
        nonlocal t
        x, y = next_batch()
        n = x.shape[0]
        # forward: keep each layer's input and pre-activation for the backward pass
        inputs, pre = [], []
        a = x
        for i, (w, b) in enumerate(zip(weights, biases)):
            inputs.append(a)
            z = a @ w
            z += b
            pre.append(z)
            a = np.maximum(z, 0) if i < last else z
        logits = a
        # cross-entropy: log-sum-exp of the shifted logits minus the target's logit
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        total = probs.sum(axis=1, keepdims=True)
        rows = np.arange(n)
        loss = np.log(total).mean() - logits[rows, y].mean()
        # backward: d loss / d logits = (softmax - onehot) / N, then layer by layer
        probs /= total
        probs[rows, y] -= 1
        probs /= n
        d = probs
        for i in range(last, -1, -1):
            np.matmul(inputs[i].T, d, out=g_weights[i])
            d.sum(axis=0, out=g_biases[i])
            if i:
                d = d @ weights[i].T
                d *= pre[i - 1] > 0
        # Adam
        t += 1
        step_size = lr / (1 - beta1 ** t)
        bias_correction2_sqrt = math.sqrt(1 - beta2 ** t)
        for p, g, m_, v_, s in zip(params, grads, m, v, scratch):
            np.subtract(g, m_, out=s)  # m = lerp(m, g, 1 - beta1), as torch
            s *= 1 - beta1
            m_ += s
            v_ *= beta2
            np.multiply(g, g, out=s)
            s *= 1 - beta2
            v_ += s
            np.sqrt(v_, out=s)
            s /= bias_correction2_sqrt
            s += EPS
            np.divide(m_, s, out=s)
            s *= step_size
            p -= s
        return float(loss)
    return step


def pytorch_program(torch, problem: MLPProblem, lr: float, compiled: bool = False) -> Step:
    """The step as a PyTorch user writes it; ``torch`` is PyTorch or ``autotrain.engine``."""
    nn, optim = torch.nn, torch.optim
    # For the mlp workload: nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
    # nn.Linear(128, 10)); built from the problem's layer shapes so other widths (digits) reuse it.
    modules = []
    for w, _ in problem.layers:
        modules += [nn.Linear(w.shape[1], w.shape[0]), nn.ReLU()]
    model = nn.Sequential(*modules[:-1])
    arrays = [a for layer in problem.layers for a in layer]  # the workload's initial weights
    model.load_state_dict({name: torch.from_numpy(a.copy()) for (name, _), a in zip(model.named_parameters(), arrays)})
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=lr)
    next_batch = batch_source(problem, torch.from_numpy)

    def train(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    train_step = torch.compile(train) if compiled else train

    def step() -> float:
        return train_step(*next_batch()).item()
    return step


def compiled_step(problem: MLPProblem, lr: float, threads=None) -> Step:
    """``pytorch_program`` on autotrain's engine with its training step under ``torch.compile``."""
    import autotrain.engine as engine

    return pytorch_program(engine, problem, lr, compiled=True)


def engine_step(problem: MLPProblem, lr: float, threads=None) -> Step:
    """``pytorch_program`` on autotrain's engine."""
    import autotrain.engine as engine

    missing = [name for name in ("nn", "optim") if not hasattr(engine, name)]
    if missing:
        raise Skip(f"autotrain.engine has no {' or '.join(missing)}")
    return pytorch_program(engine, problem, lr)


def torch_step(problem: MLPProblem, lr: float, threads=None) -> Step:
    """``pytorch_program`` on real PyTorch, its pool pinned to ``threads``."""
    return pytorch_program(import_torch(threads), problem, lr)


def static_step(problem: MLPProblem, lr: float, threads=None) -> Step:
    """The model as a TF1 graph: placeholders, Variables, ``tf.nn.relu``, sparse softmax cross-entropy,
    ``tf.train.AdamOptimizer(lr).minimize(loss)`` (TF1's Adam: its epsilon-hat form), one Session."""
    import autotrain.engine.static as tf

    needed = {"tf.train.AdamOptimizer": lambda: tf.train.AdamOptimizer,
              "tf.nn.sparse_softmax_cross_entropy_with_logits": lambda: tf.nn.sparse_softmax_cross_entropy_with_logits,
              "tf.int64": lambda: tf.int64}
    missing = []
    for name, get in needed.items():
        try:
            get()
        except AttributeError:
            missing.append(name)
    if missing:
        raise Skip(f"autotrain.engine.static has no {', '.join(missing)}")
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, shape=(None, problem.x.shape[1]))
        y = tf.placeholder(tf.int64, shape=(None,))
        h = x
        for i, (w, b) in enumerate(problem.layers):
            h = tf.matmul(h, tf.Variable(np.ascontiguousarray(w.T))) + tf.Variable(b.copy())
            if i < len(problem.layers) - 1:
                h = tf.nn.relu(h)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=h))
        train = tf.train.AdamOptimizer(lr, *BETAS, EPS).minimize(loss)
        init = tf.global_variables_initializer()
    sess = tf.Session(graph=graph)
    sess.run(init)
    next_batch = batch_source(problem)
    fetches = [loss, train]

    def step() -> float:
        xb, yb = next_batch()
        return float(sess.run(fetches, feed_dict={x: xb, y: yb})[0])
    return step


@functools.lru_cache(maxsize=None)
def _jax_update(lr: float):
    """Adam written in jax.numpy (as optax.adam computes it), jitted once per learning rate."""
    jax, jnp = import_jax()
    beta1, beta2 = BETAS

    def loss_fn(params, x, y):
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w + b
            if i < len(params) - 1:
                h = jnp.maximum(h, 0)
        logp = jax.nn.log_softmax(h)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    def update(params, m, v, t, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        t = t + 1
        m = jax.tree.map(lambda m_, g: beta1 * m_ + (1 - beta1) * g, m, grads)
        v = jax.tree.map(lambda v_, g: beta2 * v_ + (1 - beta2) * g * g, v, grads)
        step_size = lr / (1 - beta1 ** t)
        bc2_sqrt = jnp.sqrt(1 - beta2 ** t)
        params = jax.tree.map(lambda p, m_, v_: p - step_size * m_ / (jnp.sqrt(v_) / bc2_sqrt + EPS), params, m, v)
        return loss, params, m, v, t

    return jax.jit(update, donate_argnums=(0, 1, 2))


def jax_step(problem: MLPProblem, lr: float, threads=None) -> Step:
    """The step under ``jax.jit`` (weights as (in, out)), parameters and Adam state donated."""
    jax, jnp = import_jax()
    update = _jax_update(lr)
    params = [(jnp.asarray(np.ascontiguousarray(w.T)), jnp.asarray(b)) for w, b in problem.layers]
    state = [params, jax.tree.map(jnp.zeros_like, params), jax.tree.map(jnp.zeros_like, params),
             jnp.asarray(0.0, jnp.float32)]
    next_batch = batch_source(problem._replace(y=problem.y.astype(np.int32)), jnp.asarray)

    def step() -> float:
        loss, state[0], state[1], state[2], state[3] = update(*state, *next_batch())
        return float(loss)
    return step


MLP = RowTable(
    rows={REFERENCE: numpy_step, "engine": engine_step, "compiled": compiled_step, "static": static_step, "torch eager": torch_step,
          "jax jit": jax_step},
    reference=REFERENCE, floor=None,
    problem=mlp_problem, flops=mlp_flops,
    describe=lambda sizes: "Linear %d-%d-%d-%d, ReLU, cross-entropy, Adam, batch %d, float32" % (*sizes[1:], sizes[0]),
    alloc_threshold=lambda p: p.x.shape[0] * p.layers[-1][0].shape[0] * p.x.itemsize,  # the logits
)
