"""The CLI starts without the library: `autotrain --help` (and every command's parse) loads typer and the
light name modules its choices come from, never numpy, pydantic or the engine -- each command imports
what it runs.  A module-level import of the library in autotrain/cli/ would triple the start-up time."""
from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import autotrain.cli
heavy = ("numpy", "pydantic", "yaml", "autotrain.engine", "autotrain.training.config", "autotrain.store.catalog",
         "autotrain.sweep.local", "autotrain.modes.registry")
print(" ".join(m for m in heavy if m in sys.modules))
"""


def test_importing_the_cli_loads_none_of_the_library():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert done.stdout.split() == [], f"autotrain.cli imports at start-up: {done.stdout.strip()}"


def test_the_probe_sees_a_heavy_import():
    """The check can fail: the library's config module pulls in pydantic."""
    probe = PROBE.replace("import autotrain.cli", "import autotrain.cli, autotrain.training.config")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "pydantic" in done.stdout.split()
