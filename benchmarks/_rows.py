"""The rows the suite times: each is a zero-argument ``step()`` that trains one SGD step and returns the loss.

Every row starts from the same ``Problem`` (data and initial weights from ``autotrain.data``) and owns
private copies of the weights, so rows can be interleaved without touching each other's state.
Optional frameworks (PyTorch, JAX) raise ``Skip`` with a note when they are not installed.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from autotrain.data import Problem

Step = Callable[[], float]
ENGINE_MODES = ("autograd", "custom-relu", "static")  # the modes that run on autotrain's engine
REFERENCE = "numpy"  # the hand-written numpy step every ratio is taken against
FLOOR = "5 matmuls"  # the five matmuls alone: the floor for these shapes


class Skip(Exception):
    """A row that cannot run here (a framework that is not installed); the message says why."""


def reference_step(problem: Problem, lr: float) -> Step:
    """The seed's hand-written numpy program, line for line: the reference every ratio is taken against."""
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


def floor_step(problem: Problem, lr: float) -> Step:
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


def mode_step(name: str) -> Callable[[Problem, float], Step]:
    """A factory for autotrain mode ``name``, built the way users run it: make_mode, prepare, step."""
    def build(problem: Problem, lr: float) -> Step:
        from autotrain.modes import make_mode

        mode = make_mode(name, problem, lr)
        x, y = mode.prepare(problem.x, problem.y)
        return lambda: mode.step(x, y)
    return build


def torch_step(problem: Problem, lr: float, threads: int | None = None) -> Step:
    """The seed's PyTorch eager autograd program on CPU; ``threads`` pins torch's own pool."""
    try:
        import torch
    except ImportError:
        raise Skip("PyTorch not installed (pip install torch for this row)") from None
    _pin_torch_threads(torch, threads)
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


_TORCH_DEFAULT_THREADS: list[int] = []


def _pin_torch_threads(torch, threads: int | None) -> None:
    """torch keeps its own thread pool, which threadpoolctl does not reliably reach: set it directly."""
    if not _TORCH_DEFAULT_THREADS:
        _TORCH_DEFAULT_THREADS.append(torch.get_num_threads())
    torch.set_num_threads(threads or _TORCH_DEFAULT_THREADS[0])


def jax_step(problem: Problem, lr: float, threads: int | None = None) -> Step:
    """The same step under ``jax.jit`` with donated weights (updated in place, JAX's best case)."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        raise Skip("JAX not installed (pip install jax jaxlib for this row)") from None

    def loss_fn(w1, w2, x, y):
        return jnp.sum((jnp.maximum(x @ w1, 0) @ w2 - y) ** 2)

    def update(w1, w2, x, y):
        loss, (g1, g2) = jax.value_and_grad(loss_fn, argnums=(0, 1))(w1, w2, x, y)
        return loss, w1 - lr * g1, w2 - lr * g2

    update = jax.jit(update, donate_argnums=(0, 1))
    x, y, w1, w2 = (jax.device_put(a.copy()) for a in problem)
    state = [w1, w2]

    def step() -> float:
        loss, state[0], state[1] = update(state[0], state[1], x, y)
        return float(loss)
    return step


# name -> factory(problem, lr) -> step.  Order is the table's order.
ROWS: dict[str, Callable] = {
    REFERENCE: reference_step,
    FLOOR: floor_step,
    **{name: mode_step(name) for name in ("manual", "autograd", "custom-relu", "static")},
    "torch eager": torch_step,
    "jax jit": jax_step,
}
THREAD_AWARE = {"torch eager", "jax jit"}  # factories that take threads= (their own pools)


def build_rows(names, problem: Problem, lr: float, threads: int | None) -> tuple[dict[str, Step], dict[str, str]]:
    """The steps for ``names`` (the reference always first) and a note for each row that was skipped."""
    steps, skipped = {}, {}
    for name in [REFERENCE, *(n for n in names if n != REFERENCE)]:
        kwargs = {"threads": threads} if name in THREAD_AWARE else {}
        try:
            step = ROWS[name](problem, lr, **kwargs)
            step()  # one trial step here, so a row that fails is skipped with its error, not mid-timing
            steps[name] = step
        except Skip as why:
            skipped[name] = str(why)
        except Exception as error:  # a broken mode must not take the whole suite down
            skipped[name] = f"failed: {type(error).__name__}: {error}"
    return steps, skipped
