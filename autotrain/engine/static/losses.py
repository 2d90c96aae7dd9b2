"""``tf.losses``: the TF1 losses a tutorial uses, as means over every element (TF1's default reduction)."""
from __future__ import annotations

from . import nn
from .api import reduce_mean, square
from .graph import Node, as_node, tf_apply


def mean_squared_error(labels, predictions, weights=1.0, name=None) -> Node:
    """mean((predictions - labels) ** 2) over every element, times ``weights`` (a number)."""
    predictions = as_node(predictions)
    loss = reduce_mean(square(tf_apply("sub", predictions, labels)), name=None if weights != 1.0 else name)
    return loss if weights == 1.0 else tf_apply("mul", loss, weights, name=name)


def softmax_cross_entropy(onehot_labels, logits, weights=1.0, name=None) -> Node:
    """The mean over rows of ``tf.nn.softmax_cross_entropy_with_logits`` (no gradient into the labels)."""
    rows = nn.softmax_cross_entropy_with_logits(labels=onehot_labels, logits=logits)
    loss = reduce_mean(rows, name=None if weights != 1.0 else name)
    return loss if weights == 1.0 else tf_apply("mul", loss, weights, name=name)


def sparse_softmax_cross_entropy(labels, logits, weights=1.0, name=None) -> Node:
    """The mean over rows of ``tf.nn.sparse_softmax_cross_entropy_with_logits``."""
    rows = nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    loss = reduce_mean(rows, name=None if weights != 1.0 else name)
    return loss if weights == 1.0 else tf_apply("mul", loss, weights, name=name)


__all__ = ["mean_squared_error", "softmax_cross_entropy", "sparse_softmax_cross_entropy"]
