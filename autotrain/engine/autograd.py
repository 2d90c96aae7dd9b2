"""The ``torch.autograd`` namespace: Function, backward, grad, gradcheck and grad modes.

Also home of the backward walker shared by ``Tensor.backward`` and ``grad``.
"""
from __future__ import annotations

import heapq

import numpy as np

from .backend import NUMPY as NP
from .function import FREED_MESSAGE, GRAD_MODE, _version_error, next_sequence_number, enable_grad, is_grad_enabled, no_grad, \
    set_grad_enabled
from .gradcheck import GradcheckError, gradcheck
from .ops import unbroadcast
from .tensor import Tensor, as_array, xp_of_array

__all__ = ["Function", "FunctionCtx", "backward", "grad", "gradcheck", "GradcheckError",
           "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]


# --------------------------------------------------------------------- the walk
def _writeable(array) -> bool:
    """numpy can mark arrays read-only (broadcast views); CuPy arrays have no such flag."""
    return getattr(array.flags, "writeable", True)


def _accumulate_leaf(leaf: Tensor, g, borrowed: bool) -> None:
    """``leaf.grad += g``; the first gradient is adopted without a copy when nothing else holds it."""
    current = leaf.grad
    if current is None:
        data = leaf._data
        if borrowed or g.base is not None or g.dtype != data.dtype or not _writeable(g):
            g = g.astype(data.dtype, copy=True)
        leaf.grad = Tensor._wrap(g)
    elif current._zeroed and not borrowed and g.base is None and g.dtype == current._data.dtype \
            and g.shape == current._data.shape and _writeable(g):
        # adding to zeros would be a copy: adopt the fresh array instead, and keep the zeroed one
        # as a spare that the next zero_() swaps back in rather than filling memory again
        current._spare, current._data = current._data, g
        current._zeroed = False
        current._version += 1  # the old array is left as it was, so no saved value changed
    else:
        target = current._data
        target += g
        current._zeroed = False
        current._version += 1
        GRAD_MODE.mutations += 1


def _pending_add(pending: dict, heap: list, node, index: int, g) -> None:
    """Add ``g`` to the gradient waiting at ``node`` (output ``index``); schedule the node once."""
    previous = pending.get(node)
    if previous is None:
        heapq.heappush(heap, (-node.seq, node))
        if node.n_outputs == 1:
            pending[node] = g
            return
        previous = pending[node] = [None] * node.n_outputs
    if node.n_outputs == 1:
        pending[node] = previous + g
    else:
        previous[index] = g if previous[index] is None else previous[index] + g


def run_backward(roots, root_grads, retain_graph: bool, capture=None):
    """Propagate ``root_grads`` from ``roots`` to the leaves.

    Nodes are visited from the most recently created down (a reverse topological
    order, as PyTorch's engine does), each once, after all its consumers.
    Without ``capture`` gradients accumulate into leaves' ``.grad``.  With a
    ``capture`` dict ``{id(tensor): None}`` (``autograd.grad``) they are returned
    in it instead, and ``.grad`` is left alone.
    """
    pending, heap = {}, []
    for root, g in zip(roots, root_grads):
        if root.grad_fn is None:
            _deliver(root, g, True, capture)
        else:
            _pending_add(pending, heap, root.grad_fn, root._output_nr, g)
    prev, GRAD_MODE.enabled = GRAD_MODE.enabled, False
    pop = heapq.heappop
    try:
        while heap:
            node = pop(heap)[1]
            g = pending.pop(node)
            if capture is not None:
                _capture_non_leaf(node, g, capture)
            first = g if node.n_outputs == 1 else next(x for x in g if x is not None)
            grads = node.run_backward(g, NP if type(first) is np.ndarray else xp_of_array(first))
            _send_to_inputs(node, g, grads, pending, heap, capture)
            if not retain_graph:
                node.release()
    finally:
        GRAD_MODE.enabled = prev


def _send_to_inputs(node, g, grads, pending, heap, capture) -> None:
    """Hand each input's gradient to the node that made it, or to the leaf's ``.grad``."""
    previous = None
    for parent, gi, need in zip(node.parents, grads, node.needs_input_grad):
        if gi is None or not need:
            continue
        # a rule may hand back its incoming gradient (add) or one array twice: then it is shared
        borrowed = gi is g or gi is previous
        previous = gi
        shape = parent._data.shape
        if gi.shape != shape:
            gi = unbroadcast(NP if type(gi) is np.ndarray else xp_of_array(gi), gi, shape)
        fn = parent.grad_fn
        if fn is None:
            _deliver(parent, gi, borrowed, capture)
        elif fn in pending or fn.n_outputs != 1:
            _pending_add(pending, heap, fn, parent._output_nr, gi)
        else:
            pending[fn] = gi
            heapq.heappush(heap, (-fn.seq, fn))


def _deliver(leaf, g, borrowed, capture):
    if capture is None:
        if leaf._requires_grad:
            _accumulate_leaf(leaf, g, borrowed)
    elif id(leaf) in capture:
        previous = capture[id(leaf)]
        capture[id(leaf)] = g if previous is None else previous + g


def _capture_non_leaf(node, g, capture):
    for key, (tensor, _) in capture.get("__non_leaf__", {}).items():
        if tensor.grad_fn is node:
            value = g if node.n_outputs == 1 else g[tensor._output_nr]
            if value is not None:
                capture[key] = value if capture[key] is None else capture[key] + value


# --------------------------------------------------------------------- public functions
def _root_grads(outputs, grad_outputs):
    grads = []
    for out, given in zip(outputs, grad_outputs):
        if not out._requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        if given is None:
            data = out._data
            if data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            grads.append(np.ones(data.shape, data.dtype) if type(data) is np.ndarray
                         else xp_of_array(data).ones(data.shape, data.dtype))
            continue
        arr = as_array(given, like=out._data)
        if arr.shape != out._data.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {tuple(arr.shape)} and "
                               f"output[0] has a shape of {tuple(out._data.shape)}.")
        grads.append(arr.astype(out._data.dtype, copy=True))
    return grads


def _as_tuple(value):
    if value is None:
        return None
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves they depend on."""
    if create_graph:
        raise NotImplementedError("create_graph=True (higher-order gradients) is not supported by this engine")
    tensors = _as_tuple(tensors)
    grad_tensors = _as_tuple(grad_tensors) or (None,) * len(tensors)
    run_backward(tensors, _root_grads(tensors, grad_tensors), bool(retain_graph))


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned as a tuple; ``.grad`` is not touched."""
    if create_graph:
        raise NotImplementedError("create_graph=True (higher-order gradients) is not supported by this engine")
    outputs, inputs = _as_tuple(outputs), _as_tuple(inputs)
    grad_outputs = _as_tuple(grad_outputs) or (None,) * len(outputs)
    for i, t in enumerate(inputs):
        if not t._requires_grad:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) does not require grad")
    capture = {id(t): None for t in inputs}
    capture["__non_leaf__"] = {id(t): (t, None) for t in inputs if t.grad_fn is not None}
    run_backward(outputs, _root_grads(outputs, grad_outputs), bool(retain_graph), capture)
    results = []
    for i, t in enumerate(inputs):
        value = capture[id(t)]
        if value is None and not allow_unused:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) appears to not have been used in "
                               "the graph. Set allow_unused=True if this is the desired behavior.")
        results.append(None if value is None else Tensor._wrap(value.astype(t._data.dtype, copy=True)))
    return tuple(results)


# --------------------------------------------------------------------- user-defined Functions
class FunctionCtx:
    """The ``ctx`` of a user-defined Function; it is also that Function's node in the graph."""

    __slots__ = ("fn", "parents", "needs_input_grad", "n_outputs", "_saved", "_saved_versions", "_out_meta",
                 "seq", "__dict__")

    def __init__(self, fn, args):
        self.fn = fn
        self.parents = args
        self.needs_input_grad = tuple([type(a) is Tensor and a._requires_grad for a in args])
        self.n_outputs = 1
        self._saved = ()
        self._saved_versions = ()
        self._out_meta = ()
        self.seq = next_sequence_number()

    def __repr__(self) -> str:
        return f"<{self.fn.__name__}Backward>"

    def name(self) -> str:
        return f"{self.fn.__name__}Backward"

    def save_for_backward(self, *tensors) -> None:
        """Keep tensors for ``backward``; in-place changes to them before then are reported."""
        self._saved = tensors
        self._saved_versions = tuple(getattr(t, "_version", None) for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        if self._saved is None:
            raise RuntimeError(FREED_MESSAGE)
        for t, version in zip(self._saved, self._saved_versions):
            if version is not None and t._version != version:
                raise _version_error(t, version)
        return tuple(self._saved)

    @property
    def next_functions(self):
        return tuple((getattr(p, "grad_fn", None), 0) for p in self.parents or ())

    def run_backward(self, g, xp):
        if self.parents is None:
            raise RuntimeError(FREED_MESSAGE)
        if self.n_outputs == 1:
            result = self.fn.backward(self, Tensor._wrap(g))
        else:  # outputs that got no gradient receive zeros, as PyTorch's materialize_grads
            result = self.fn.backward(self, *(Tensor._wrap(x if x is not None else xp.zeros(shape, dtype))
                                              for x, (shape, dtype) in zip(g, self._out_meta)))
        if type(result) is not tuple:
            result = (result,)
        if len(result) == 1 and len(self.parents) == 1 and type(result[0]) is Tensor \
                and result[0]._data.shape == self.parents[0]._data.shape:
            return (result[0]._data,)  # the common case: one input, a gradient of its shape
        return self._check_grads(result)

    def _check_grads(self, result):
        name = self.name()
        if len(result) != len(self.parents):
            raise RuntimeError(f"function {name} returned an incorrect number of gradients "
                               f"(expected {len(self.parents)}, got {len(result)})")
        arrays = []
        for i, (arg, gi) in enumerate(zip(self.parents, result)):
            if gi is None:
                arrays.append(None)
                continue
            if not isinstance(arg, Tensor):
                raise RuntimeError(f"function {name} returned a gradient different than None at position {i}, "
                                   "but the corresponding forward input was not a Tensor")
            arr = as_array(gi, like=arg._data)
            if arr.shape != arg._data.shape:
                try:
                    arr = unbroadcast(xp_of_array(arr), arr, arg._data.shape)
                except ValueError:
                    arr = None
                if arr is None or arr.shape != arg._data.shape:
                    raise RuntimeError(f"Function {name} returned an invalid gradient at index {i} - got "
                                       f"{list(as_array(gi).shape)} but expected shape compatible with "
                                       f"{list(arg._data.shape)}")
            arrays.append(arr)
        return tuple(arrays)

    def release(self):
        self.parents = None
        self._saved = None


class Function:
    """Base class for user-defined differentiable operations (``torch.autograd.Function``).

    Subclass it with static ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)``
    and call ``MyFunction.apply(*args)``.  ``forward`` runs without recording a graph;
    ``backward`` returns one gradient (or ``None``) per forward argument.

    Example::

        class Square(Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return 2 * x * g
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement the backward function for custom autograd.Function.")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` and, when any Tensor argument requires grad, record this Function in the graph."""
        ctx = FunctionCtx(cls, args)
        prev, GRAD_MODE.enabled = GRAD_MODE.enabled, False
        try:
            outputs = cls.forward(ctx, *args, **kwargs)
        finally:
            GRAD_MODE.enabled = prev
        if not (prev and any(ctx.needs_input_grad)):
            return outputs
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        if single:
            return _link_output(ctx, outputs, 0, args)
        ctx.n_outputs = len(outs)
        ctx._out_meta = tuple((o._data.shape, o._data.dtype) if isinstance(o, Tensor) else ((), None) for o in outs)
        return tuple(_link_output(ctx, out, i, args) for i, out in enumerate(outs))


def _link_output(ctx, out, index, args):
    if not isinstance(out, Tensor):
        return out
    if any(out is a for a in args):  # an input returned as is: give the output its own identity
        out = Tensor._wrap(out._data)
    out.grad_fn = ctx
    out._requires_grad = True
    out._output_nr = index
    return out
