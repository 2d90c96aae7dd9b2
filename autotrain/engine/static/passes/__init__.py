"""The compiler's passes, in the order they run: each a pure ``Program -> Program`` function.

``PIPELINE`` is the default (every value as the graph computes it, bit for bit); :func:`pipeline` adds
opt-in rewrites from ``REWRITES`` (each states its numeric effect) to the simplify pass.
"""
from .cse import eliminate_common
from .fold import fold_constants
from .fuse import fuse_elementwise
from .memory import plan_memory
from .prune import prune
from .rewrites import REWRITES, Rewrite, rules_for
from .simplify import simplify

PIPELINE = (prune, fold_constants, eliminate_common, simplify, fuse_elementwise, plan_memory)


def pipeline(rewrites=()) -> tuple:
    """The passes with the opt-in ``rewrites`` (names of ``REWRITES``, or ``"all"``) in the simplify pass."""
    rules = rules_for(rewrites)
    if not rules:
        return PIPELINE

    def simplify_with_rewrites(program):
        return simplify(program, rules)

    simplify_with_rewrites.__name__ = "simplify"
    return tuple(simplify_with_rewrites if p is simplify else p for p in PIPELINE)


__all__ = ["PIPELINE", "pipeline", "REWRITES", "Rewrite", "prune", "fold_constants", "eliminate_common", "simplify",
           "fuse_elementwise", "plan_memory"]
