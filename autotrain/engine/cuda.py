"""``torch.cuda``: whether a CUDA device can be used (CuPy and an NVIDIA GPU)."""
from __future__ import annotations

from . import backend


def is_available() -> bool:
    """True when CuPy is installed and sees at least one GPU."""
    try:
        backend.check_device("cuda")
    except backend.DeviceUnavailableError:
        return False
    return True


def device_count() -> int:
    """The number of GPUs CuPy sees (0 without CuPy)."""
    if not is_available():
        return 0
    return int(backend.xp_for(backend.device("cuda")).cuda.runtime.getDeviceCount())
