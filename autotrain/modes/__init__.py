"""The training modes, by the names a config uses: ``MODES``, ``make_mode``, ``build_mode`` and the mode
classes (``autotrain.modes.registry``), the network they train (``ModelSpec``, ``autotrain.modes.base``) and
the names every layer shares (``autotrain.modes.names``).

The names resolve on first use (PEP 562), so ``autotrain.modes.names`` imports without numpy or the modes:
the CLI reads its choices from it at start-up.
"""
from __future__ import annotations

_HOMES = {
    **dict.fromkeys(("MODES", "make_mode", "build_mode", "ManualMode", "AutogradMode", "CustomReluMode",
                     "StaticMode", "CompiledMode"), "registry"),
    **dict.fromkeys(("Mode", "ModelSpec", "OptimizerSpec", "spec_from_config"), "base"),
    "Problem": "problem",
}


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'autotrain.modes' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"autotrain.modes.{home}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_HOMES])


__all__ = ["MODES", "Mode", "ModelSpec", "OptimizerSpec", "spec_from_config", "build_mode", "make_mode", "ManualMode",
           "AutogradMode", "CustomReluMode", "StaticMode", "CompiledMode"]
