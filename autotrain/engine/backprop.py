"""The backward walker: gradients from roots to leaves over the recorded edges.

Arrays in, arrays out: the walker knows nodes (``graph.Node``, ``function.FunctionCtx``) and
hands each leaf its gradient through ``leaf.accumulate_grad(g, borrowed)``; it imports no
Tensor, so ``tensor.py`` can import it without a cycle.
"""
from __future__ import annotations

import heapq

import numpy as np

from .backend import NUMPY as NP, xp_of
from .graph import GRAD_MODE
from .ops import unbroadcast


def _pending_add(pending: dict, heap: list, node, index: int, g) -> None:
    """Add ``g`` to the gradient waiting at ``node`` (output ``index``); schedule the node once."""
    previous = pending.get(node)
    if node.n_outputs == 1:
        if previous is None:
            heapq.heappush(heap, (-node.seq, node))
            pending[node] = g
        else:
            pending[node] = previous + g
        return
    if previous is None:
        heapq.heappush(heap, (-node.seq, node))
        previous = pending[node] = [None] * node.n_outputs
    previous[index] = g if previous[index] is None else previous[index] + g


class ArrayPass:
    """How the eager pass computes: arrays for gradients, grad mode off, leaves accumulate in place.
    ``higher.GraphPass`` is the same three methods on Tensors, recording (``create_graph=True``)."""

    grad_mode = False

    @staticmethod
    def node_grads(node, g):
        """The node's input gradients from its backward rule, on the gradient's array module."""
        first = g if node.n_outputs == 1 else next(x for x in g if x is not None)
        return node.run_backward(g, NP if type(first) is np.ndarray else xp_of(first))

    @staticmethod
    def fit(gi, data):
        """``gi`` summed to ``data``'s shape (a broadcast input) and cast to its dtype (a promoted one)."""
        if gi.shape != data.shape:
            gi = unbroadcast(NP if type(gi) is np.ndarray else xp_of(gi), gi, data.shape)
        return gi.astype(data.dtype) if gi.dtype != data.dtype else gi

    @staticmethod
    def accumulate(leaf, g, borrowed: bool) -> None:
        leaf.accumulate_grad(g, borrowed)


ARRAYS = ArrayPass()


def run_backward(roots, root_grads, retain_graph: bool, capture=None, walk=ARRAYS) -> None:
    """Propagate ``root_grads`` from ``roots`` (tensors) to the leaves, computing as ``walk`` says
    (arrays by default, :class:`ArrayPass`).

    Nodes are visited from the most recently created down (a reverse topological order, as
    PyTorch's engine does), each once, after all its consumers.  Without ``capture`` gradients
    accumulate into leaves' ``.grad``.  With a :class:`Capture` they are collected in it instead
    and ``.grad`` is left alone (``autograd.grad``).
    """
    pending, heap = {}, []
    for root, g in zip(roots, root_grads):
        edge = root.gradient_edge()
        if type(edge) is tuple:
            _pending_add(pending, heap, edge[0], edge[1], g)
        elif edge is root:
            _deliver(root, g, True, capture, walk)
        else:  # output 0 of its node
            _pending_add(pending, heap, edge, 0, g)
    prev, GRAD_MODE.enabled = GRAD_MODE.enabled, walk.grad_mode
    pop, node_grads = heapq.heappop, walk.node_grads
    try:
        with np.errstate(all="ignore"):  # inf/nan gradients are values, as in PyTorch, not warnings
            while heap:
                node = pop(heap)[1]
                g = pending.pop(node)
                if capture is not None:
                    capture.at_node(node, g)
                elif node.retained is not None:
                    _retain(node, g, walk)
                _send_to_inputs(node, g, node_grads(node, g), pending, heap, capture, walk)
                if not retain_graph:
                    node.release()
    finally:
        GRAD_MODE.enabled = prev


def _send_to_inputs(node, g, grads, pending, heap, capture, walk) -> None:
    """Hand each input's gradient along its edge: to the node that made it, or to the leaf."""
    previous = None
    for parent, edge, gi in zip(node.parents, node.edges, grads):
        if gi is None or edge is None:
            continue
        # a rule may hand back its incoming gradient (add) or one array twice: then it is shared
        borrowed = gi is g or gi is previous
        previous = gi
        data = parent._data
        if gi.shape != data.shape or gi.dtype != data.dtype:
            gi = walk.fit(gi, data)
        if edge is parent:  # a leaf is its own edge (PyTorch's AccumulateGrad)
            _deliver(edge, gi, borrowed, capture, walk)
        elif type(edge) is tuple:
            _pending_add(pending, heap, edge[0], edge[1], gi)
        else:
            _pending_add(pending, heap, edge, 0, gi)


def _retain(node, g, walk) -> None:
    """The gradient of an output that called ``retain_grad()``, accumulated into its ``.grad``."""
    for ref, nr in node.retained:
        tensor = ref()
        value = g if node.n_outputs == 1 else g[nr]
        if tensor is not None and value is not None:
            walk.accumulate(tensor, value, True)


def _deliver(leaf, g, borrowed, capture, walk) -> None:
    if capture is None:
        if leaf._requires_grad:
            walk.accumulate(leaf, g, borrowed)
    else:
        capture.at_leaf(leaf, g)


class Capture:
    """Where ``autograd.grad`` collects the gradients of its inputs instead of touching ``.grad``."""

    def __init__(self, inputs):
        self.grads = [None] * len(inputs)
        self._leaves = {id(t): i for i, t in enumerate(inputs) if t.gradient_edge() is t}
        self._nodes = {}
        for i, t in enumerate(inputs):
            edge = t.gradient_edge()
            if edge is not t:
                node, nr = edge if type(edge) is tuple else (edge, 0)
                self._nodes.setdefault(node, []).append((i, nr))

    def _add(self, i, g):
        self.grads[i] = g if self.grads[i] is None else self.grads[i] + g

    def at_leaf(self, leaf, g) -> None:
        i = self._leaves.get(id(leaf))
        if i is not None:
            self._add(i, g)

    def at_node(self, node, g) -> None:
        for i, nr in self._nodes.get(node, ()):
            value = g if node.n_outputs == 1 else g[nr]
            if value is not None:
                self._add(i, value)
