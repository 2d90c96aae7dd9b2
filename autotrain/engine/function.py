"""Grad mode and graph nodes: what a forward pass records and ``backward`` replays.

Two kinds of node share one small interface (``parents``, ``needs_input_grad``,
``n_outputs``, ``run_backward(grads)``, ``release()``):

* :class:`Node` — a primitive from ``ops.OPS``; it doubles as the rule's ``ctx``;
* :class:`FunctionCtx` — a user-defined :class:`Function` (PyTorch's
  ``torch.autograd.Function``), with ``save_for_backward``/``saved_tensors``.
"""
from __future__ import annotations

import functools
import itertools

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after they have "
    "already been freed). Saved intermediate values of the graph are freed when you call .backward() or "
    "autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or "
    "if you need to access saved tensors after calling backward.")


#: Nodes are numbered as they are created; inputs are always created before their consumers,
#: so walking nodes from the highest number down is a valid reverse topological order.
next_sequence_number = itertools.count().__next__


class _GradMode:
    # ``mutations`` counts in-place changes to any tensor: a node created when it had the same
    # value as now has nothing to version-check, which keeps the check off the hot path.
    __slots__ = ("enabled", "mutations")

    def __init__(self):
        self.enabled = True
        self.mutations = 0


GRAD_MODE = _GradMode()


def is_grad_enabled() -> bool:
    """True when operations record a graph for ``backward``."""
    return GRAD_MODE.enabled


class _GradSwitch:
    """Base of no_grad/enable_grad/set_grad_enabled: a context manager that also decorates functions."""

    mode = True

    def _switched(self) -> "_GradSwitch":
        return self.__class__()

    def __enter__(self):
        self.prev = GRAD_MODE.enabled
        GRAD_MODE.enabled = self.mode
        return self

    def __exit__(self, *exc):
        GRAD_MODE.enabled = self.prev

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self._switched():
                return func(*args, **kwargs)
        return wrapper


class no_grad(_GradSwitch):
    """Disable graph recording: ``with no_grad():`` or ``@no_grad()``."""
    mode = False


class enable_grad(_GradSwitch):
    """Enable graph recording inside a ``no_grad`` region."""
    mode = True


class set_grad_enabled(_GradSwitch):
    """Turn graph recording on or off: as a plain call (takes effect at once), a context manager or a decorator."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self.prev = GRAD_MODE.enabled
        GRAD_MODE.enabled = self.mode

    def _switched(self) -> "_GradSwitch":
        return self.__class__(self.mode)

    def __enter__(self):
        return self  # the switch already happened in __init__; __exit__ restores it

    def __call__(self, func):
        GRAD_MODE.enabled = self.prev  # used as a decorator: the constructor's switch must not leak
        return super().__call__(func)


def _version_error(tensor, saved_version: int) -> RuntimeError:
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace operation: "
        f"[{tensor.dtype} tensor of shape {tuple(tensor.shape)}] is at version {tensor._version}; expected "
        f"version {saved_version} instead. Hint: do the in-place update after backward(), or use an "
        "out-of-place operation.")


class Node:
    """A recorded primitive op: the graph edge to its inputs and the ``ctx`` its backward rule reads."""

    __slots__ = ("op", "parents", "attrs", "needs_input_grad", "inputs", "output", "versions", "out_ref", "seq",
                 "epoch")
    n_outputs = 1

    def __init__(self, op, parents, attrs, needs_input_grad):
        self.op = op
        self.parents = parents
        self.attrs = attrs
        self.needs_input_grad = needs_input_grad
        self.inputs = self.output = self.versions = self.out_ref = None
        self.seq = next_sequence_number()
        self.epoch = GRAD_MODE.mutations

    def name(self) -> str:
        return f"{type(self).__name__ if self.op is None else self.op.__name__}Backward"

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    @property
    def input_shapes(self):
        return tuple([getattr(p, "shape", None) for p in self.parents])

    @property
    def input_dtypes(self):
        return tuple([getattr(p, "dtype", None) for p in self.parents])

    @property
    def next_functions(self):
        """The nodes (or leaf tensors) that produced this node's inputs, as PyTorch names them."""
        return tuple((getattr(p, "grad_fn", None), 0) for p in self.parents or ())

    def check_versions(self):
        if self.versions is not None:
            for parent, version in zip(self.parents, self.versions):
                if getattr(parent, "_version", 0) != version:
                    raise _version_error(parent, version)
        if self.out_ref is not None:
            out = self.out_ref()
            if out is not None and out._version != 0:
                raise _version_error(out, 0)

    def run_backward(self, g, xp):
        """Gradients for each parent, from the op's backward rule."""
        if self.parents is None:
            raise RuntimeError(FREED_MESSAGE)
        if self.epoch != GRAD_MODE.mutations:
            self.check_versions()
        return self.op.backward(self, xp, g)

    def release(self):
        """Drop saved values and edges; a second backward then raises FREED_MESSAGE."""
        self.parents = self.inputs = self.output = self.out_ref = None
