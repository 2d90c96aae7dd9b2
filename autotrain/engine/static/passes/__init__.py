"""The compiler's passes, in the order they run: each a pure ``Program -> Program`` function."""
from .cse import eliminate_common
from .fold import fold_constants
from .fuse import fuse_elementwise
from .memory import plan_memory
from .prune import prune
from .simplify import simplify

PIPELINE = (prune, fold_constants, eliminate_common, simplify, fuse_elementwise, plan_memory)

__all__ = ["PIPELINE", "prune", "fold_constants", "eliminate_common", "simplify", "fuse_elementwise",
           "plan_memory"]
