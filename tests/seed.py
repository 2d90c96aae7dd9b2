"""Extract the seed tutorial's programs, so tests run exactly what the contract says.

Tests read only the copy in ``tests/data`` (a fresh clone has everything it needs); test_seed.py pins
that copy by its sha256, taken from the contract (``shared/seed/``) when it was copied.
"""
from __future__ import annotations

import re
from pathlib import Path

LOCAL_SEED = Path(__file__).resolve().parent / "data" / "learning-pytorch-autograd.md"
_BLOCK = re.compile(r"```py\n(.*?)```", re.S)


def seed_text() -> str:
    return LOCAL_SEED.read_text(encoding="utf-8")


def seed_programs() -> list[str]:
    """The ```py blocks of the seed, in order: autograd, custom Function, TensorFlow."""
    return _BLOCK.findall(seed_text())


def ported(program: str, import_line: str, replacement: str) -> str:
    """``program`` with only its framework import line changed."""
    assert import_line in program, f"seed program lacks {import_line!r}"
    return program.replace(import_line, replacement, 1)
