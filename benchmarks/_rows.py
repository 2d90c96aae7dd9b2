"""The rows the suite times for the two-layer workloads (seed, tiny, wide): each factory returns a
zero-argument ``step()`` that trains one SGD step and returns the loss.

Every row starts from the same ``Problem`` (data and initial weights from ``autotrain.training.data``) and owns
private copies of the weights, so rows can be interleaved and rebuilt without touching each other.
Optional frameworks (PyTorch, JAX) raise ``Skip`` with a note when they are not installed.
A ``RowTable`` bundles a workload family's rows with its reference, floor, problem and flop count, so
the suite handles the two-layer, ``mlp`` and ``digits`` families alike.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from autotrain.training.data import Problem, make_problem

Step = Callable[[], float]
ENGINE_MODES = ("autograd", "custom-relu", "static", "compiled")  # the modes that run on autotrain's engine
REFERENCE = "numpy"  # the hand-written numpy step every ratio is taken against
FLOOR = "5 matmuls"  # the five matmuls alone: the floor for these shapes


class Skip(Exception):
    """A row that cannot run here (a framework or engine feature that is missing); the message says why."""


@dataclass(frozen=True)
class RowTable:
    """One workload family: its rows (name -> ``factory(problem, lr, threads=None) -> step``, in table
    order), the reference every ratio is taken against, the matmul floor row (or None), how to make the
    problem from the workload's sizes, the step's matmul flops, and a one-line description."""

    rows: dict[str, Callable[..., Step]]
    reference: str
    floor: str | None
    problem: Callable[[tuple], Any]
    flops: Callable[[tuple], int]
    describe: Callable[[tuple], str]
    alloc_threshold: Callable[[Any], int]  # bytes: the smallest activation, for arrays/step
    twin: str | None = None  # a row computing the very same step as the reference: the table's self-check


def reference_step(problem: Problem, lr: float, threads=None) -> Step:
    """The tutorial's hand-written numpy step, line for line (without its needless ``grad_h.copy()``):
    the reference every ratio is taken against."""
    x, y = problem.x, problem.y
    w1, w2 = problem.w1.copy(), problem.w2.copy()

    def step() -> float:
        nonlocal w1, w2  # the in-place updates below rebind the names
        h = x.dot(w1)
        h_relu = np.maximum(h, 0)
        y_pred = h_relu.dot(w2)
        loss = np.square(y_pred - y).sum()
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.T.dot(grad_y_pred)
        grad_h = grad_y_pred.dot(w2.T)
        grad_h[h < 0] = 0
        grad_w1 = x.T.dot(grad_h)
        w1 -= lr * grad_w1
        w2 -= lr * grad_w2
        return loss.item()
    return step


def floor_step(problem: Problem, lr: float, threads=None) -> Step:
    """Only the five matmuls a step needs (no gradient for x), into preallocated outputs.

    The operands have the seed's layouts (``h_relu.T``, ``w2.T``, ``x.T`` are transposed views), so
    BLAS sees exactly the calls the hand-written step makes, minus allocation and elementwise work.
    """
    x, w1, w2 = problem.x, problem.w1, problem.w2
    n, h = x.shape[0], w1.shape[1]
    h_act = np.empty((n, h), x.dtype)
    y_pred = np.empty((n, w2.shape[1]), x.dtype)
    grad_w2, grad_h, grad_w1 = np.empty_like(w2), np.empty_like(h_act), np.empty_like(w1)

    def step() -> float:
        np.matmul(x, w1, out=h_act)
        np.matmul(h_act, w2, out=y_pred)
        np.matmul(h_act.T, y_pred, out=grad_w2)
        np.matmul(y_pred, w2.T, out=grad_h)
        np.matmul(x.T, grad_h, out=grad_w1)
        return 0.0
    return step


def mode_step(name: str) -> Callable[..., Step]:
    """A factory for autotrain mode ``name``, built the way users run it: make_mode, prepare, step."""
    def build(problem: Problem, lr: float, threads=None) -> Step:
        from autotrain.modes import make_mode

        mode = make_mode(name, problem, lr)
        x, y = mode.prepare(problem.x, problem.y)
        return lambda: mode.step(x, y)
    return build


def static_rewrites_step(problem: Problem, lr: float, threads=None) -> Step:
    """The seed's TF program (as the static mode builds it) on a Session with every opt-in compiler
    rewrite on (``rewrites="all"``: faster forms that round differently from the graph as written)."""
    import autotrain.engine.static as tf

    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, shape=(None, problem.x.shape[1]))
        y = tf.placeholder(tf.float32, shape=(None, problem.y.shape[1]))
        w1, w2 = tf.Variable(problem.w1.copy()), tf.Variable(problem.w2.copy())
        h_relu = tf.maximum(tf.matmul(x, w1), tf.zeros(1))
        loss = tf.reduce_sum((y - tf.matmul(h_relu, w2)) ** 2.0)
        grad_w1, grad_w2 = tf.gradients(loss, [w1, w2])
        fetches = [loss, w1.assign(w1 - lr * grad_w1), w2.assign(w2 - lr * grad_w2)]
        init = tf.global_variables_initializer()
    try:
        sess = tf.Session(graph=graph, rewrites="all")
    except TypeError:
        raise Skip("this static engine has no opt-in rewrites (Session(rewrites=...))") from None
    sess.run(init)
    feed = {x: problem.x, y: problem.y}
    return lambda: float(sess.run(fetches, feed_dict=feed)[0])


def import_torch(threads: int | None):
    """PyTorch with its own pool pinned to ``threads`` (threadpoolctl does not reliably reach it)."""
    try:
        import torch
    except ImportError:
        raise Skip("PyTorch not installed (pip install torch for this row)") from None
    if not _TORCH_DEFAULT_THREADS:
        _TORCH_DEFAULT_THREADS.append(torch.get_num_threads())
    torch.set_num_threads(threads or _TORCH_DEFAULT_THREADS[0])
    return torch


_TORCH_DEFAULT_THREADS: list[int] = []


def import_jax():
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        raise Skip("JAX not installed (pip install jax for this row)") from None
    return jax, jnp


def torch_step(problem: Problem, lr: float, threads: int | None = None) -> Step:
    """The seed's PyTorch eager autograd program on CPU; ``threads`` pins torch's own pool."""
    torch = import_torch(threads)
    x, y = torch.from_numpy(problem.x), torch.from_numpy(problem.y)
    w1 = torch.from_numpy(problem.w1.copy()).requires_grad_()
    w2 = torch.from_numpy(problem.w2.copy()).requires_grad_()

    def step() -> float:
        nonlocal w1, w2  # the in-place updates below rebind the names
        loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            w1 -= lr * w1.grad
            w2 -= lr * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
        return loss.item()
    return step


@functools.lru_cache(maxsize=None)
def _jax_update(lr: float):
    """One jitted SGD update per learning rate, so rebuilding the row each round does not recompile."""
    jax, jnp = import_jax()

    def loss_fn(w1, w2, x, y):
        return jnp.sum((jnp.maximum(x @ w1, 0) @ w2 - y) ** 2)

    def update(w1, w2, x, y):
        loss, (g1, g2) = jax.value_and_grad(loss_fn, argnums=(0, 1))(w1, w2, x, y)
        return loss, w1 - lr * g1, w2 - lr * g2

    return jax.jit(update, donate_argnums=(0, 1))


def jax_step(problem: Problem, lr: float, threads: int | None = None) -> Step:
    """The same step under ``jax.jit`` with donated weights (updated in place, JAX's best case)."""
    jax, _ = import_jax()
    update = _jax_update(lr)
    x, y, w1, w2 = (jax.device_put(a.copy()) for a in problem)
    state = [w1, w2]

    def step() -> float:
        loss, state[0], state[1] = update(state[0], state[1], x, y)
        return float(loss)
    return step


def step_flops(sizes) -> int:
    """Matmul flops in one step: forward 2·N·D_in·H + 2·N·H·D_out; backward grad_w2, grad_h, grad_w1.

    No gradient for x, so the backward pass is two N·H·D_out matmuls and one N·D_in·H.
    """
    n, d_in, h, d_out = sizes
    forward = 2 * n * d_in * h + 2 * n * h * d_out
    backward = 2 * n * h * d_out * 2 + 2 * n * d_in * h
    return forward + backward


# name -> factory(problem, lr, threads=None) -> step.  Order is the table's order.
ROWS: dict[str, Callable[..., Step]] = {
    REFERENCE: reference_step,
    FLOOR: floor_step,
    **{name: mode_step(name) for name in ("manual", "autograd", "custom-relu", "static", "compiled")},
    "static rewrites": static_rewrites_step,
    "torch eager": torch_step,
    "jax jit": jax_step,
}

TWO_LAYER = RowTable(
    rows=ROWS, reference=REFERENCE, floor=FLOOR,
    problem=lambda sizes: make_problem(*sizes, dtype="float32", seed=0),
    flops=step_flops,
    describe=lambda sizes: "N, D_in, H, D_out = %s, float32, SGD" % ", ".join(map(str, sizes)),
    alloc_threshold=lambda p: p.x.shape[0] * p.y.shape[1] * p.x.itemsize,  # the smallest activation: y_pred
    twin="manual",  # the manual mode is the same numpy step, written as a class
)


def check_step(step: Step) -> Step:
    """One trial step now, so a row that fails is skipped with its error, not mid-timing."""
    step()
    return step


def try_build(factory, problem, lr, threads) -> tuple[Step | None, str | None]:
    """``(step, None)``, or ``(None, why)`` for a row that cannot run here."""
    try:
        return check_step(factory(problem, lr, threads=threads)), None
    except Skip as why:
        return None, str(why)
    except Exception as error:  # a broken mode must not take the whole suite down
        return None, f"failed: {type(error).__name__}: {error}"
