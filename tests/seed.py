"""Extract the seed tutorial's programs, so tests run exactly what the contract says.

The contract lives in ``shared/seed/`` beside the repository; ``tests/data`` keeps a
copy for checkouts without it, and a test fails if the two ever differ.
"""
from __future__ import annotations

import re
from pathlib import Path

SHARED_SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "learning-pytorch-autograd.md"
LOCAL_SEED = Path(__file__).resolve().parent / "data" / "learning-pytorch-autograd.md"
_BLOCK = re.compile(r"```py\n(.*?)```", re.S)


def seed_text() -> str:
    return (SHARED_SEED if SHARED_SEED.exists() else LOCAL_SEED).read_text(encoding="utf-8")


def seed_programs() -> list[str]:
    """The ```py blocks of the seed, in order: autograd, custom Function, TensorFlow."""
    return _BLOCK.findall(seed_text())


def ported(program: str, import_line: str, replacement: str) -> str:
    """``program`` with only its framework import line changed."""
    assert import_line in program, f"seed program lacks {import_line!r}"
    return program.replace(import_line, replacement, 1)
