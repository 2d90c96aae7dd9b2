"""Extract the seed tutorial's programs, so tests run exactly what the contract says.

Tests read only the copy in ``tests/data`` (a fresh clone has everything it needs); the contract also
lives in ``shared/seed/`` beside the repository where there is one, and test_seed.py's
``test_seed_copy_matches_shared_contract`` fails if the two ever differ (it is skipped without it).
"""
from __future__ import annotations

import re
from pathlib import Path

SHARED_SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "learning-pytorch-autograd.md"
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
