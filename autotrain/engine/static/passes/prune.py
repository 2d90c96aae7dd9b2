"""Pass 1: keep only what the fetches need (dead-node elimination)."""
from __future__ import annotations

from ..ir import Program, rebuild


def prune(program: Program) -> Program:
    """Drop every instr the outputs do not depend on (unfetched branches, unused gradient parts)."""
    return rebuild(program)
