"""A TensorFlow-1-style static graph on autotrain's op table: build once, compile once, run many times.

``import autotrain.engine.static as tf`` runs TF1 programs such as the seed's: placeholders,
Variables, ``tf.gradients`` (built from the same backward rules as the dynamic engine) and a
Session whose compiler prunes, folds, merges, simplifies, fuses and plans memory for each fetch set.
"""
from . import nn
from .api import (add, divide, exp, float32, float64, global_variables_initializer, log, matmul, maximum,
                  minimum, multiply, ones, placeholder, pow, random_normal, reduce_mean, reduce_sum, relu,
                  reshape, sigmoid, square, subtract, tanh, transpose, zeros)
from .autodiff import gradients
from .graph import (Graph, GraphFinalizedError, GraphGrowthWarning, Node, Variable, constant, get_default_graph,
                    reset_default_graph)
from .session import FailedPreconditionError, Session

__all__ = [
    "float32", "float64", "placeholder", "Variable", "constant", "zeros", "ones", "random_normal",
    "matmul", "maximum", "minimum", "add", "subtract", "multiply", "divide", "square", "pow", "exp", "log",
    "tanh", "sigmoid", "nn", "relu", "reduce_sum", "reduce_mean", "reshape", "transpose", "gradients",
    "global_variables_initializer", "Session", "Graph", "get_default_graph", "reset_default_graph",
    "Node", "GraphFinalizedError", "GraphGrowthWarning", "FailedPreconditionError",
]
