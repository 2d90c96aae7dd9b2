"""The array-module switch: numpy on the CPU, CuPy on CUDA devices.

This is the only module in autotrain that imports cupy.  Op rules never test the
device; they receive ``xp`` (numpy or cupy) and call it.
"""
from __future__ import annotations

import re

import numpy as np

CUDA_HINT = "install CuPy with: pip install 'autotrain[cuda]'"
_DEVICE_RE = re.compile(r"^(cpu|cuda)(?::(\d+))?$")


class DeviceUnavailableError(RuntimeError):
    """Raised when a CUDA device is asked for but CuPy or a GPU is missing."""


class device:
    """A device name as PyTorch spells it: ``device("cpu")``, ``device("cuda")``, ``device("cuda:0")``."""

    __slots__ = ("type", "index")

    def __init__(self, spec: "str | device" = "cpu", index: int | None = None):
        if isinstance(spec, device):
            self.type, self.index = spec.type, spec.index
            return
        match = _DEVICE_RE.match(str(spec).strip())
        if match is None:
            raise ValueError(f"Expected one of cpu, cuda, cuda:N device type at start of device string: {spec!r}")
        self.type = match.group(1)
        parsed = int(match.group(2)) if match.group(2) is not None else index
        if self.type == "cpu" and parsed not in (None, 0):
            raise ValueError(f"cpu device has no index {parsed}")
        self.index = parsed if self.type == "cuda" else None

    def __repr__(self) -> str:
        return f"device(type='{self.type}'" + (f", index={self.index})" if self.index is not None else ")")

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index or 0) == (other.type, other.index or 0)

    def __hash__(self) -> int:
        return hash((self.type, self.index or 0))


CPU = device("cpu")


class FastNumpy:
    """numpy as the op rules' ``xp``, with C-level spellings of the functions they call most.

    numpy's module-level ``reshape``, ``sum``, ``swapaxes`` and ``broadcast_to`` are Python
    wrappers costing 0.5-2.5 us each on small arrays; the array methods (and a zero-stride
    view) do the same work in 0.1-0.9 us, which is most of the engine's per-op overhead.
    Every other name is numpy's own.
    """

    def __getattr__(self, name):
        value = getattr(np, name)
        setattr(self, name, value)  # cached: later lookups are plain attribute hits
        return value

    @staticmethod
    def reshape(a, shape):
        return a.reshape(shape)

    @staticmethod
    def swapaxes(a, axis1, axis2):
        return a.swapaxes(axis1, axis2)

    @staticmethod
    def transpose(a, axes=None):
        return a.transpose(axes)

    @staticmethod
    def sum(a, axis=None, keepdims=False, out=None):
        return a.sum(axis=axis, keepdims=keepdims, out=out)

    @staticmethod
    def broadcast_to(a, shape):
        shape = tuple(shape)
        if a.shape == shape:
            return a
        if a.ndim == 0 and a.flags.c_contiguous:
            view = np.ndarray(shape, a.dtype, buffer=a, strides=(0,) * len(shape))
            view.flags.writeable = False
            return view
        return np.broadcast_to(a, shape)


NUMPY = FastNumpy()


def _import_cupy():
    try:
        import cupy  # noqa: PLC0415 - optional dependency, imported on demand
    except ImportError as exc:
        raise DeviceUnavailableError(f"device 'cuda' needs CuPy, which is not installed; {CUDA_HINT}") from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver missing or broken
        raise DeviceUnavailableError(f"device 'cuda' needs a working NVIDIA GPU and driver ({exc}); {CUDA_HINT}") from exc
    if count == 0:
        raise DeviceUnavailableError(f"device 'cuda' needs an NVIDIA GPU, and none was found; {CUDA_HINT}")
    return cupy


def check_device(spec: "str | device") -> device:
    """Parse ``spec`` and make sure it can be used here; raise DeviceUnavailableError with a hint if not."""
    dev = device(spec)
    if dev.type == "cuda":
        cupy = _import_cupy()
        count = cupy.cuda.runtime.getDeviceCount()
        if (dev.index or 0) >= count:
            raise DeviceUnavailableError(f"device '{dev}' does not exist: this machine has {count} GPU(s)")
    return dev


def xp_for(dev: device):
    """The array module that holds arrays of ``dev``: numpy for cpu, cupy for cuda."""
    if dev.type == "cpu":
        return NUMPY
    return _import_cupy()


def xp_of(array):
    """The array module an array belongs to: numpy (as :data:`NUMPY`) unless it is a CuPy array.

    The one place that answers this; the engine, its optimizers and the modes all ask it.
    """
    if type(array) is np.ndarray or isinstance(array, np.ndarray) or np.isscalar(array):   # the first test: speed
        return NUMPY
    module = type(array).__module__
    if module.startswith("cupy"):
        return _import_cupy()
    return np


def device_of(array) -> device:
    """The device an array lives on."""
    if xp_of(array) is NUMPY:
        return CPU
    return device("cuda", int(array.device.id))


def to_numpy(array) -> np.ndarray:
    """A numpy copy (or view, on the CPU) of ``array`` wherever it lives."""
    if isinstance(array, np.ndarray):
        return array
    if xp_of(array) is NUMPY:
        return np.asarray(array)
    return array.get()


def to_device(array, dev: device):
    """``array`` moved to ``dev`` (no copy when it is already there)."""
    if dev.type == "cpu":
        return to_numpy(array)
    cupy = _import_cupy()
    with cupy.cuda.Device(dev.index or 0):
        return cupy.asarray(array)
