"""The training modes, by the names a config uses: ``MODES``, ``make_mode``, ``build_mode`` and the mode
classes (``autotrain.modes.registry``), the network they train (``ModelSpec``, ``autotrain.modes.base``) and
the names every layer shares (``autotrain.modes.names``).

The names resolve on first use (PEP 562), so ``autotrain.modes.names`` imports without numpy or the modes:
the CLI reads its choices from it at start-up.
"""
from __future__ import annotations

from autotrain import lazy_names

_HOMES = {
    **dict.fromkeys(("MODES", "make_mode", "build_mode", "ManualMode", "AutogradMode", "CustomReluMode",
                     "StaticMode", "CompiledMode"), "registry"),
    **dict.fromkeys(("Mode", "ModelSpec", "OptimizerSpec", "spec_from_config"), "base"),
    "Problem": "problem",
}

__getattr__, __dir__ = lazy_names("autotrain.modes", _HOMES)


__all__ = ["MODES", "Mode", "ModelSpec", "OptimizerSpec", "spec_from_config", "build_mode", "make_mode", "ManualMode",
           "AutogradMode", "CustomReluMode", "StaticMode", "CompiledMode"]
