"""A TensorFlow-1-style static graph on autotrain's op table: build once, compile once, run many times.

``import autotrain.engine.static as tf`` runs TF1 programs such as the seed's: placeholders,
Variables, ``tf.gradients`` (built from the same backward rules as the dynamic engine), ``tf.nn``,
``tf.losses``, ``tf.train`` optimizers and a Session whose compiler prunes, folds, merges, simplifies,
fuses and plans memory for each fetch set.  ``tf.compat.v1`` is this module too, so code written as
``tf = tensorflow.compat.v1`` runs with its import line changed.
"""
import sys as _sys
import types as _types

from . import losses, nn, train
from .api import (abs, add, argmax, assign, assign_add, assign_sub, group, no_op, bool_ as bool, cast, clip_by_value, cos, divide, equal, exp,  # noqa: A004
                  float16, float32, float64, global_variables, global_variables_initializer, greater, greater_equal,
                  identity, initialize_all_variables, int32, int64, less, less_equal, log, matmul, maximum, minimum,
                  multiply, negative, not_equal, one_hot, ones, ones_like, placeholder, pow, random_normal,
                  random_uniform, reduce_max, reduce_mean, reduce_min, reduce_sum, relu, reshape, set_random_seed,
                  sigmoid, sin, sqrt, square, truncated_normal,
                  stop_gradient, subtract, tanh, trainable_variables, transpose, uint8, variables_initializer,
                  where, zeros, zeros_like)
from .autodiff import gradients
from .graph import (Graph, GraphFinalizedError, GraphGrowthWarning, Node, Variable, constant, get_default_graph,
                    reset_default_graph)
from . import errors
from .errors import FailedPreconditionError
from .session import InteractiveSession, Session, get_default_session

Tensor = Node


def disable_eager_execution() -> None:
    """Nothing to do: this engine only has graphs (kept so TF2-era ``compat.v1`` programs run unchanged)."""


disable_v2_behavior = disable_eager_execution

#: ``tf.compat.v1`` is this module itself.
compat = _types.SimpleNamespace(v1=_sys.modules[__name__])

__all__ = [
    "float16", "float32", "float64", "int32", "int64", "uint8", "bool", "placeholder", "Variable", "constant",
    "zeros", "ones", "zeros_like", "ones_like", "random_normal", "matmul", "maximum", "minimum", "add", "subtract",
    "multiply", "divide", "negative", "square", "sqrt", "pow", "exp", "log", "tanh", "sigmoid", "relu", "where",
    "assign", "assign_add", "assign_sub", "group", "no_op", "truncated_normal", "random_uniform", "set_random_seed", "abs", "sin", "cos", "identity", "clip_by_value", "reduce_min", "InteractiveSession", "get_default_session",
    "equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "cast", "stop_gradient", "argmax",
    "one_hot", "reduce_sum", "reduce_mean", "reduce_max", "reshape", "transpose", "gradients", "nn", "losses",
    "train", "global_variables", "trainable_variables", "variables_initializer", "global_variables_initializer",
    "initialize_all_variables", "Session", "Graph", "get_default_graph", "reset_default_graph", "Node", "Tensor",
    "GraphFinalizedError", "GraphGrowthWarning", "FailedPreconditionError", "errors", "compat", "disable_eager_execution",
    "disable_v2_behavior",
]
