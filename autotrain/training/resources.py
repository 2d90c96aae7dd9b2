"""What a config needs of this machine: memory (estimated up front) and the device it names.

``fit``, ``compare-modes`` and ``gradcheck`` refuse before they start what would fail mid-run.  Memory
comes from ``/proc`` (``MemAvailable``, the process's ``VmSize``/``VmData``) and ``resource.getrlimit``
(``ulimit -v``/``-d``); a GPU is probed through the engine's backend, lazily, since that may import CuPy.
"""
from __future__ import annotations

import os

from autotrain.modes.names import OPTIMIZER_SLOTS
from autotrain.training.issues import ConfigError, ConfigIssue
from autotrain.training.schema import FitConfig


def estimate_bytes(cfg: FitConfig, command: str = "fit", runners: int = 1) -> int:
    """Peak bytes a command needs, roughly: ``fit``, or ``compare-modes``/``gradcheck`` with ``runners`` modes.

    ``fit``: data, weights with grads and updates, activations, a checkpoint copy.  A comparison also
    keeps, per mode, a warm-up copy and a timed copy of its weights, gradients and buffers, and a copy
    of its final weights.  Measured (peak RSS above start-up, N=2000 D_in=3000 H=1500 D_out=500
    float64): fit 406 MiB (estimate 421), compare-modes with 4 modes 1055 MiB (estimate 1282) --
    2.6x fit's peak, so each command has its own estimate.
    """
    item = 4 if cfg.dtype == "float32" else 8
    sizes = [cfg.D_in, *cfg.hidden, cfg.D_out]
    weights = sum(a * b + (b if cfg.bias else 0) for a, b in zip(sizes, sizes[1:]))
    slots = len(OPTIMIZER_SLOTS[cfg.optimizer])
    rows = cfg.N or 0
    data = rows * (cfg.D_in + cfg.D_out) if cfg.synthetic else 0
    activations = 4 * rows * sum(cfg.hidden) + 3 * rows * cfg.D_out
    widest = max(a * b for a, b in zip(sizes, sizes[1:]))
    # data is drawn in float64 then cast (so float32 and float64 runs share their numbers): +8 bytes/element.
    fit = item * (data + (4 + slots) * weights + activations) + 8 * max(rows * cfg.D_in, widest)
    fit += fit // 8  # what the sum leaves out (temporaries of the update, the checkpoint's checksum pass)
    if command == "fit":
        return fit
    per_runner = item * weights * 5 // 2
    return fit + (2 * runners - 1) * per_runner + runners * item * weights


def process_headroom() -> int | None:
    """Bytes this process may still map under its own limits (``ulimit -v`` / ``-d``); None when unlimited."""
    try:
        import resource
    except ImportError:  # not on this platform
        return None
    room = None
    for limit, vm_field in ((resource.RLIMIT_AS, "VmSize"), (getattr(resource, "RLIMIT_DATA", None), "VmData")):
        if limit is None:
            continue
        soft, _ = resource.getrlimit(limit)
        if soft == resource.RLIM_INFINITY:
            continue
        left = max(soft - vm_bytes(vm_field), 0)
        room = left if room is None else min(room, left)
    return room


def vm_bytes(field: str) -> int:
    """This process's current VmSize/VmData from /proc (0 when unknown, i.e. the whole limit is counted)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def machine_available() -> int | None:
    """MemAvailable from /proc/meminfo (Linux), else free physical pages; None when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def available_bytes() -> int | None:
    """Memory this process can still use: the machine's available memory or its own limits, the lower."""
    machine = machine_available()
    room = process_headroom()
    known = [n for n in (machine, room) if n is not None]
    return min(known) if known else None


def size_text(n: int) -> str:
    """An integer for a message, or ``<a N-digit number>`` when it is too long to print."""
    text = str(n)
    return text if len(text) <= 24 else f"<a {len(text)}-digit number>"


def human_bytes(n: float) -> str:
    """``n`` bytes in binary units (``1.5 MiB``), capped at ``more than 1024 PiB``."""
    if n >= 1024 ** 6:  # also keeps a 4000-digit size from overflowing float()
        return "more than 1024 PiB"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"


def device_problem(device: str) -> str | None:
    """Why ``device`` cannot be used on this machine (no CuPy, no such GPU), or None when it can."""
    from autotrain.engine.backend import DeviceUnavailableError, check_device  # lazy: may import cupy

    try:
        check_device(device)
    except DeviceUnavailableError as exc:
        return str(exc)
    return None


def check_resources(cfg: FitConfig, source: str = "config", command: str = "fit", runners: int = 1) -> None:
    """Refuse up front what would fail mid-run: arrays that do not fit in memory (the machine's available
    memory or this process's limits, see ``ulimit -v``), a missing GPU.  ``command``/``runners``: see
    :func:`estimate_bytes`."""
    problems = []
    need, have = estimate_bytes(cfg, command, runners), available_bytes()
    if have is not None and need > have:
        sizes = ", ".join(f"{k}={size_text(getattr(cfg, k))}" for k in ("N", "D_in", "H", "D_out"))
        what = "" if command == "fit" else f" for {command} ({runners} modes)"
        problems.append(ConfigIssue(source, f"{sizes} ({cfg.dtype}) need about {human_bytes(need)} of memory{what}, and only "
                                        f"{human_bytes(have)} is available; use smaller sizes", key="N"))
    if cfg.mode == "static" and cfg.device != "cpu":
        problems.append(ConfigIssue(source, f"bad value {cfg.device!r} with mode 'static' (allowed: cpu; the "
                                        "static-graph Session runs on the cpu only)", key="device"))
    elif cfg.device != "cpu" and (why := device_problem(cfg.device)) is not None:
        problems.append(ConfigIssue(source, f"{cfg.device!r}: {why}", key="device"))
    if problems:
        raise ConfigError(problems)


__all__ = ["estimate_bytes", "available_bytes", "process_headroom", "machine_available", "vm_bytes",
           "device_problem", "check_resources", "human_bytes", "size_text"]
