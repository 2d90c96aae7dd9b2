"""``tf.nn``: activations, softmax and the cross-entropy losses, on the same ops as the dynamic engine."""
from __future__ import annotations

from .api import relu, sigmoid, tanh
from .graph import Node, apply, as_node, tf_apply


def softmax(logits, axis=-1, name=None) -> Node:
    """exp(logits) normalised to sum to 1 along ``axis`` (computed without overflow)."""
    x = as_node(logits)
    return apply("softmax", x, axis=_axis(x, axis, "softmax"), name=name)


def log_softmax(logits, axis=-1, name=None) -> Node:
    """logits - log(sum(exp(logits))) along ``axis`` (log-sum-exp taken after subtracting the maximum)."""
    x = as_node(logits)
    return apply("log_softmax", x, axis=_axis(x, axis, "log_softmax"), name=name)


def softmax_cross_entropy_with_logits_v2(labels=None, logits=None, axis=-1, name=None) -> Node:
    """-sum(labels * log_softmax(logits)) along ``axis``, one value per row; gradients reach labels too.

    The gradient with respect to logits is ``softmax(logits) * sum(labels) - labels`` (TF's kernel
    writes ``softmax - labels``: the same whenever each row of labels sums to 1).
    """
    labels, logits = _pair("softmax_cross_entropy_with_logits_v2", labels, logits)
    axis = _axis(logits, axis, "softmax_cross_entropy_with_logits_v2")
    picked = tf_apply("mul", labels, log_softmax(logits, axis))
    return apply("neg", apply("sum", picked, axis=axis), name=name)


def softmax_cross_entropy_with_logits(labels=None, logits=None, axis=-1, name=None) -> Node:
    """TF1's first version: as ``_v2``, but no gradient flows into ``labels``."""
    labels, logits = _pair("softmax_cross_entropy_with_logits", labels, logits)
    return softmax_cross_entropy_with_logits_v2(apply("stop_gradient", labels), logits, axis, name)


def sparse_softmax_cross_entropy_with_logits(labels=None, logits=None, name=None) -> Node:
    """The cross-entropy of integer class ``labels`` (shape ``logits.shape[:-1]``) against ``logits``."""
    if labels is None or logits is None:
        raise ValueError("sparse_softmax_cross_entropy_with_logits needs labels= and logits=")
    labels, logits = as_node(labels), as_node(logits)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"sparse_softmax_cross_entropy_with_logits: labels {labels!r} must be integers "
                        f"(class indices), not {labels.dtype.name}")
    if len(labels.shape) != len(logits.shape) - 1:
        raise ValueError(f"sparse_softmax_cross_entropy_with_logits: labels {labels!r} must have rank "
                         f"{len(logits.shape) - 1} (logits {logits!r} minus its last axis)")
    depth = logits.shape[-1]
    if depth is None:
        raise ValueError(f"sparse_softmax_cross_entropy_with_logits: the class axis of {logits!r} must be known")
    onehot = apply("one_hot", labels, depth=depth, dtype=logits.dtype, labels=True)
    return softmax_cross_entropy_with_logits_v2(onehot, logits, -1, name)


def l2_loss(t, name=None) -> Node:
    """sum(t ** 2) / 2."""
    t = as_node(t)
    return apply("mul", apply("sum", apply("square", t)), 0.5, name=name)


def bias_add(value, bias, name=None) -> Node:
    """``value + bias`` with ``bias`` along the last axis."""
    return tf_apply("add", value, bias, name=name)


def _pair(what, labels, logits):
    if labels is None or logits is None:
        raise ValueError(f"{what} needs labels= and logits= (TF1 takes them by keyword)")
    logits = as_node(logits)
    labels = as_node(labels, dtype=logits.dtype) if not isinstance(labels, Node) else labels
    if labels.dtype != logits.dtype:
        raise TypeError(f"{what}: labels {labels!r} and logits {logits!r} must share a dtype (use tf.cast)")
    return labels, logits


def _axis(x: Node, axis, what):
    if x.dtype.kind != "f":
        raise TypeError(f"{what}: {x!r} must be floating-point, not {x.dtype.name} (use tf.cast)")
    rank = len(x.shape)
    if isinstance(axis, bool) or not isinstance(axis, int) or not -rank <= axis < rank:
        raise ValueError(f"{what}: axis {axis!r} is out of range for {x!r} of rank {rank}")
    return axis


__all__ = ["relu", "sigmoid", "tanh", "softmax", "log_softmax", "l2_loss", "bias_add", "softmax_cross_entropy_with_logits_v2",
           "softmax_cross_entropy_with_logits", "sparse_softmax_cross_entropy_with_logits"]
