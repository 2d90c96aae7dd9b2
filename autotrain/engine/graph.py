"""Grad mode and the recorded graph: what a forward pass records and ``backward`` replays.

A :class:`Node` is one recorded primitive from ``ops.OPS``; it doubles as the rule's ``ctx``.
User-defined Functions record a :class:`~.function.FunctionCtx`, which offers the same small
interface to the backward walker (``edges``, ``needs_input_grad``, ``n_outputs``,
``run_backward(g, xp)``, ``release()``).

Edges are taken when a node is recorded, as PyTorch's ``next_functions``: each input's
``grad_fn`` at that moment (or the leaf tensor itself, or ``None``).  An in-place change made
later to an input gives that tensor a new ``grad_fn`` but does not re-route this node.
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

    def __new__(cls, *args):
        # ``@no_grad`` without parentheses: the class is called with the function to decorate
        if cls is not set_grad_enabled and len(args) == 1 and callable(args[0]):
            return cls()(args[0])
        return super().__new__(cls)

    def __init__(self):
        self.prev = GRAD_MODE.enabled

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
    """Disable graph recording: ``with no_grad():``, ``@no_grad()`` or ``@no_grad``."""
    mode = False


class enable_grad(_GradSwitch):
    """Enable graph recording inside a ``no_grad`` region (also ``@enable_grad``)."""
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


def version_error(shape, dtype, version: int, saved_version: int) -> RuntimeError:
    """PyTorch's error for a saved tensor changed in place before backward."""
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace operation: "
        f"[{dtype} tensor of shape {tuple(shape)}] is at version {version}; expected version {saved_version} "
        "instead. Hint: do the in-place update after backward(), or use an out-of-place operation.")


class Node:
    """A recorded primitive op: the edges to its inputs and the ``ctx`` its backward rule reads.

    ``parents`` are the inputs as given (tensors or Python scalars: their shapes and dtypes),
    ``edges`` where each input's gradient goes (a Node, a leaf tensor, ``(node, output_nr)`` for a
    Function with several outputs, or ``None``), ``inputs`` the saved arrays and ``versions`` the
    saved tensors with their versions (``(tensor, version)``) and ``out_counter``/``out_version``
    the saved output's, when the op's backward reads them.
    """

    __slots__ = ("op", "parents", "edges", "attrs", "needs_input_grad", "inputs", "output", "versions",
                 "out_counter", "out_version", "seq", "epoch", "retained")
    n_outputs = 1

    def __init__(self, op, parents, edges, attrs, needs_input_grad):
        self.op = op
        self.parents = parents
        self.edges = edges
        self.attrs = attrs
        self.needs_input_grad = needs_input_grad
        self.inputs = self.output = self.versions = self.out_counter = self.retained = None
        self.out_version = 0
        self.seq = next_sequence_number()
        self.epoch = GRAD_MODE.mutations

    def name(self) -> str:
        return f"{self.op.__name__}Backward"

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
        """The nodes (or leaf tensors) that receive this node's input gradients, as PyTorch names them."""
        return tuple((e[0], e[1]) if type(e) is tuple else (e, 0) for e in self.edges or ())

    def check_versions(self):
        for tensor, version in self.versions or ():
            if (0 if tensor._vc is None else tensor._vc.n) != version:  # tensor._version, without the property call
                raise version_error(tensor.shape, tensor.dtype, tensor._version, version)
        counter = self.out_counter
        if counter is not None and counter.n != self.out_version:
            raise version_error(self.output.shape, self.output.dtype, counter.n, self.out_version)

    def versions_unchanged(self) -> bool:
        """The fast path of the version check: True when no tensor anywhere was changed in place since this
        node was recorded (the global mutation count is the one it was made with), so none of its saved
        tensors can have a new version and :meth:`check_versions` would pass.  Checked on every backward;
        ``tests/test_engine_fast_paths.py`` checks it against running the check."""
        return self.epoch == GRAD_MODE.mutations

    def run_backward(self, g, xp):
        """Gradients for each input, from the op's backward rule."""
        if self.parents is None:
            raise RuntimeError(FREED_MESSAGE)
        if not self.versions_unchanged():
            self.check_versions()
        return self.op.backward(self, xp, g)

    def release(self):
        """Drop saved values and edges; a second backward then raises FREED_MESSAGE."""
        self.parents = self.edges = self.inputs = self.output = None


class VersionCounter:
    """How many times a storage was changed in place; shared by a tensor, its views and ``detach()``."""

    __slots__ = ("n",)

    def __init__(self):
        self.n = 0
