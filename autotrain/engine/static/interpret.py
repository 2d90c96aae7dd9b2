"""The reference interpreter: a program run naively, fresh arrays everywhere, each op by its forward.

It is the oracle the passes and the compiled plans are tested against (tests/test_static_passes.py).
"""
from __future__ import annotations

import numpy as np

from autotrain.engine.ops import OPS

from .ir import Instr, Program, draw


def run_chain(xp, chain, args, out=None):
    """Run a fused chain: each step is ``(op, arg_refs, attrs)``; ref ``-1`` is the previous step's value."""
    value = None
    for op, refs, attrs in chain:
        inputs = [value if r == -1 else (args[r] if isinstance(r, int) else r.value) for r in refs]
        value = OPS[op].forward(xp, *inputs, out=out, **attrs)
    return value


def evaluate(program: Program, feeds: dict, variables: dict, rng=None) -> list:
    """Run ``program`` naively (fresh arrays everywhere): the oracle the passes are tested against.

    ``feeds`` maps placeholder nodes to arrays; ``variables`` maps Variable nodes to arrays and is
    updated by assigns (reads in the same run see the values from before the run).
    """
    state = InterpreterState(feeds, variables, rng if rng is not None else np.random.default_rng())
    env: dict[int, object] = {}
    for ins in program.instrs:
        args = [env[a.id] if isinstance(a, Instr) else a for a in ins.args]
        rule = EVALUATE.get(ins.op)
        env[ins.id] = rule(ins, args, state) if rule is not None else OPS[ins.op].forward(np, *args, **ins.attrs)
    return [env[o.id] for o in program.outputs]


class InterpreterState:
    """What the reference interpreter's instructions read and write besides their arguments."""

    __slots__ = ("feeds", "variables", "rng")

    def __init__(self, feeds, variables, rng):
        self.feeds, self.variables, self.rng = feeds, variables, rng


def _assign(ins, args, state):
    new = np.array(np.broadcast_to(args[1], ins.shape), dtype=ins.dtype)
    state.variables[ins.args[0].node] = new
    return new


def _random(ins, args, state):
    a = ins.attrs
    return draw(state.rng, a["dist"], ins.shape, ins.dtype, a["a"], a["b"])


#: instruction -> its value, from its args and the run's state (every other instr is an op's forward)
EVALUATE = {
    "feed": lambda ins, args, state: np.asarray(state.feeds[ins.node], dtype=ins.dtype),
    "variable": lambda ins, args, state: state.variables[ins.node],
    "const": lambda ins, args, state: ins.attrs["value"],
    "random": _random,
    "assign": _assign,
    "group": lambda ins, args, state: None,
    "fused": lambda ins, args, state: run_chain(np, ins.attrs["chain"], args),
}
