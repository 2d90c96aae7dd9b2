"""The arrays a mode trains on: the seed's problem ``x, y, w1, w2``.

Every mode takes a :class:`Problem`; ``autotrain.training.data`` makes one from a config or a user's file.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Problem(NamedTuple):
    """Inputs ``x`` (N, D_in), targets ``y`` (N, D_out) and initial weights ``w1`` (D_in, H), ``w2`` (H, D_out)."""

    x: np.ndarray
    y: np.ndarray
    w1: np.ndarray
    w2: np.ndarray


def make_problem(N: int, D_in: int, H: int, D_out: int, dtype: str = "float32", seed: int = 0) -> Problem:
    """Standard-normal x, y, w1, w2 like the seed's ``randn`` calls, from ``np.random.default_rng(seed)``.

    The numbers are drawn in float64 and then cast, so a float32 run starts from the float64 run's
    values rounded, and the two can be compared.

    >>> p = make_problem(4, 3, 2, 1, "float64", seed=0)
    >>> p.x.shape, p.w2.shape, p.w1.dtype
    ((4, 3), (2, 1), dtype('float64'))
    """
    rng = np.random.default_rng(seed)
    draw = lambda *shape: rng.standard_normal(shape).astype(dtype, copy=False)  # noqa: E731
    # Same order as the seed: x, y, w1, w2.
    return Problem(draw(N, D_in), draw(N, D_out), draw(D_in, H), draw(H, D_out))


def save_problem(path, problem: Problem) -> None:
    """Write the arrays to an ``.npz`` so anyone can replay a run in another framework."""
    with open(path, "wb") as f:
        np.savez(f, **problem._asdict())


def load_problem(path) -> Problem:
    """Read what ``save_problem`` wrote (no pickles)."""
    with np.load(path, allow_pickle=False) as z:
        return Problem(*(np.array(z[k]) for k in Problem._fields))
