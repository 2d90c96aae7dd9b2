"""Tensor factories with PyTorch's names: tensor, randn, zeros, ... and a reproducible global RNG."""
from __future__ import annotations

import numpy as np

from . import backend
from .tensor import Tensor, as_dtype, float32

_RNG = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the generator behind randn/rand, so programs are reproducible."""
    global _RNG
    _RNG = np.random.default_rng(int(seed))
    return _RNG


def _place(array: np.ndarray, device, requires_grad: bool) -> Tensor:
    dev = backend.check_device(device) if device is not None else backend.CPU
    t = Tensor._wrap(backend.to_device(array, dev) if dev.type != "cpu" else array)
    if requires_grad:
        t.requires_grad = True
    return t


def _size(size) -> tuple:
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (Python floats default to float32, as PyTorch)."""
    if isinstance(data, Tensor):
        data = backend.to_numpy(data._data)
    array = np.array(data, dtype=as_dtype(dtype), copy=True)
    if dtype is None and array.dtype == np.float64 and not isinstance(data, np.ndarray):
        array = array.astype(float32)
    return _place(array, device, requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with a numpy array."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return Tensor._wrap(array)


def _random(draw, size, dtype, device, requires_grad) -> Tensor:
    dtype = as_dtype(dtype) or float32
    return _place(draw(_size(size)).astype(dtype, copy=False), device, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    return _random(_RNG.standard_normal, size, dtype, device, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1)."""
    return _random(_RNG.random, size, dtype, device, requires_grad)


def _filled(fill, size, dtype, device, requires_grad) -> Tensor:
    return _place(np.full(_size(size), fill, dtype=as_dtype(dtype) or float32), device, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _filled(0, size, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _filled(1, size, dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _filled(fill_value, (size,), dtype, device, requires_grad)


def _like(t: Tensor, fill, dtype, device, requires_grad) -> Tensor:
    return _filled(fill, t.shape, dtype or t.dtype, device or t.device, requires_grad)


def zeros_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(t, 0, dtype, device, requires_grad)


def ones_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(t, 1, dtype, device, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    start, end = (0, start) if end is None else (start, end)
    return _place(np.arange(start, end, step, dtype=as_dtype(dtype)), device, requires_grad)
