"""User-defined differentiable operations: ``torch.autograd.Function`` and its ``ctx``.

A Function's ``ctx`` (:class:`FunctionCtx`) is also its node in the graph: it offers the walker
the same interface as :class:`~.graph.Node` (``edges``, ``needs_input_grad``, ``n_outputs``,
``run_backward(g, xp)``, ``release()``).
"""
from __future__ import annotations

from .graph import FREED_MESSAGE, GRAD_MODE, next_sequence_number, version_error
from .ops import unbroadcast
from .tensor import Tensor, new_tensor, as_array, xp_of_array

__all__ = ["Function", "FunctionCtx"]


class FunctionCtx:
    """The ``ctx`` of a user-defined Function; it is also that Function's node in the graph."""

    __slots__ = ("fn", "parents", "edges", "needs_input_grad", "n_outputs", "_saved", "_saved_versions", "_out_meta",
                 "seq", "__dict__")

    retained = None  # weak references to outputs that called retain_grad(), as Node.retained

    def __init__(self, fn, args):
        self.fn = fn
        self.parents = args
        self.needs_input_grad = tuple([isinstance(a, Tensor) and a.requires_grad for a in args])
        self.edges = tuple([a.gradient_edge() if need else None for a, need in zip(args, self.needs_input_grad)])
        self.n_outputs = 1
        self._saved = ()
        self._saved_versions = ()
        self._out_meta = ()
        self.seq = next_sequence_number()

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    def name(self) -> str:
        return f"{self.fn.__name__}Backward"

    def save_for_backward(self, *tensors) -> None:
        """Keep tensors for ``backward``; in-place changes to them before then are reported."""
        self._saved = tensors
        # no counter yet means version 0 (the first in-place change creates it at 1), as _record saves versions
        self._saved_versions = tuple([(0 if t._vc is None else t._vc.n) if isinstance(t, Tensor) else None
                                      for t in tensors])

    @property
    def saved_tensors(self) -> tuple:
        if self._saved is None:
            raise RuntimeError(FREED_MESSAGE)
        for t, version in zip(self._saved, self._saved_versions):
            if version is not None and (0 if t._vc is None else t._vc.n) != version:
                raise version_error(t.shape, t.dtype, t._version, version)
        return tuple(self._saved)

    @property
    def next_functions(self):
        return tuple((e[0], e[1]) if type(e) is tuple else (e, 0) for e in self.edges or ())

    def run_backward(self, g, xp):
        if self.parents is None:
            raise RuntimeError(FREED_MESSAGE)
        if self.n_outputs == 1:
            result = self.fn.backward(self, new_tensor(g))
        else:  # outputs that got no gradient receive zeros, as PyTorch's materialize_grads
            result = self.fn.backward(self, *(new_tensor(x if x is not None else xp.zeros(shape, dtype))
                                              for x, (shape, dtype) in zip(g, self._out_meta)))
        if type(result) is not tuple:
            result = (result,)
        if len(result) == 1 and len(self.parents) == 1 and isinstance(result[0], Tensor) \
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
        self.parents = self.edges = None
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
    if out._base is not None or any([out is a for a in args]):  # an input (or a view) returned: its own identity
        out = new_tensor(out._data)
    out.grad_fn = ctx
    out._requires_grad = True
    out._output_nr = index
    return out
