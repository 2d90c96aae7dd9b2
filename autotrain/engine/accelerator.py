"""``torch.accelerator``: the device-agnostic question "is there an accelerator?" (here: a CUDA GPU via CuPy)."""
from __future__ import annotations

from . import backend, cuda


def is_available() -> bool:
    """True when a CUDA device can be used."""
    return cuda.is_available()


def current_accelerator(check_available: bool = False):
    """``device("cuda")`` when a GPU can be used, else None (the CPU is not an accelerator)."""
    return backend.device("cuda") if cuda.is_available() else None


def device_count() -> int:
    """How many accelerators there are (0 without a GPU)."""
    return cuda.device_count()
