"""The TF1-style graph: nodes that name an op of ``engine/ops.py``, with shapes inferred when they are built.

A :class:`Node` is plain data (op, inputs, attrs, shape, dtype, name).  Inputs are nodes or Python
scalars (kept inline, so numpy's weak-scalar promotion applies: ``float32_node * 2.0`` stays float32).
Shapes may hold ``None`` for dimensions a placeholder leaves open; they become concrete when a
Session compiles the graph for the shapes actually fed.
"""
from __future__ import annotations

import contextlib
import itertools
import warnings

import numpy as np

from autotrain.engine.ops import OPS, Op

_ids = itertools.count()


class GraphFinalizedError(RuntimeError):
    """Raised when a node is added to a finalized graph (the TF1 graph-growth trap)."""


class GraphGrowthWarning(UserWarning):
    """The graph kept growing between runs of a Session: nodes are probably built inside the loop."""


class NodeShape(tuple):
    """A shape that remembers the node it is the shape of, so ``None`` dims resolve when compiled."""

    node: "Node"

    @classmethod
    def of(cls, node: "Node") -> "NodeShape":
        shape = cls(node.shape)
        shape.node = node
        return shape


class Node:
    """One operation in a graph: ``op`` names an entry of ``OPS`` (or a source such as ``placeholder``).

    Nodes support ``+ - * / ** @`` and unary ``-`` with nodes, numpy arrays and Python scalars on
    either side, broadcasting as numpy does.  Nothing is computed until a Session runs the node.
    """

    __slots__ = ("op", "inputs", "attrs", "shape", "dtype", "name", "graph", "id", "__weakref__")
    __array_ufunc__ = None  # so that ``ndarray + node`` calls ``node.__radd__``

    def __init__(self, op, inputs, attrs, shape, dtype, name, graph):
        self.op, self.inputs, self.attrs = op, tuple(inputs), dict(attrs)
        self.shape, self.dtype, self.name, self.graph = shape, dtype, name, graph
        self.id = next(_ids)

    def __repr__(self) -> str:
        return f"<{self.op} '{self.name}' shape={format_shape(self.shape)} dtype={_fmt_dtype(self.dtype)}>"

    def get_shape(self):
        """The static shape (``None`` for dimensions fixed only when fed)."""
        return self.shape

    def eval(self, feed_dict=None, session=None):
        """The node's value, run in ``session`` or the default Session (``with tf.Session() as sess:``)."""
        return evaluate_node(self, feed_dict, session)

    def run(self, feed_dict=None, session=None) -> None:
        """Run the node (a train op, an initializer) in ``session`` or the default Session."""
        self.eval(feed_dict, session)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    # Python operators: the same ops as the tf.* functions, with TF1's dtype rules.
    def __add__(self, other): return tf_apply("add", self, other)
    def __radd__(self, other): return tf_apply("add", other, self)
    def __sub__(self, other): return tf_apply("sub", self, other)
    def __rsub__(self, other): return tf_apply("sub", other, self)
    def __mul__(self, other): return tf_apply("mul", self, other)
    def __rmul__(self, other): return tf_apply("mul", other, self)
    def __truediv__(self, other): return tf_apply("div", self, other)
    def __rtruediv__(self, other): return tf_apply("div", other, self)
    def __pow__(self, other): return tf_apply("pow", self, other)
    def __rpow__(self, other): return tf_apply("pow", other, self)
    def __matmul__(self, other): return tf_apply("matmul", self, other)
    def __rmatmul__(self, other): return tf_apply("matmul", other, self)
    def __neg__(self): return apply("neg", self)
    # comparisons make bool nodes, as TF1's Tensor (== stays identity: nodes are dict keys)
    def __lt__(self, other): return tf_apply("less", self, other)
    def __le__(self, other): return tf_apply("less_equal", self, other)
    def __gt__(self, other): return tf_apply("greater", self, other)
    def __ge__(self, other): return tf_apply("greater_equal", self, other)

    @property
    def T(self) -> "Node":
        return apply("transpose", self)


class Variable(Node):
    """A value that persists across ``Session.run`` calls; set by its initializer or by ``assign``."""

    __slots__ = ("initial_value", "initializer", "trainable")

    def __init__(self, initial_value, trainable=True, name=None, dtype=None):
        if dtype is not None:
            dtype = checked_dtype(dtype, "Variable")
        init = as_node(initial_value, dtype=dtype)
        if dtype is not None and init.dtype != dtype:
            init = apply("cast", init, dtype=dtype)
        checked_dtype(init.dtype, "Variable")
        if any(d is None for d in init.shape):
            raise ValueError(f"Variable needs a fully defined initial shape, got {format_shape(init.shape)} from {init!r}")
        graph = init.graph
        super().__init__("variable", (), {}, tuple(init.shape), init.dtype, graph.unique_name(name or "Variable"), graph)
        self.initial_value = init
        self.trainable = bool(trainable)
        graph.add(self)
        self.initializer = _assign_node(self, init, "set", name=f"{self.name}/Assign")

    def assign(self, value, name=None) -> Node:
        """A node that sets the variable to ``value`` in place when run, and yields the new value."""
        return _assign_node(self, value, "set", name)

    def assign_add(self, value, name=None) -> Node:
        """A node that adds ``value`` to the variable in place when run, and yields the new value."""
        return _assign_node(self, value, "add", name)

    def assign_sub(self, value, name=None) -> Node:
        """A node that subtracts ``value`` from the variable in place when run, and yields the new value."""
        return _assign_node(self, value, "sub", name)


class Graph:
    """A list of nodes plus the variables among them; ``with graph.as_default():`` builds into it."""

    def __init__(self):
        self.nodes: list[Node] = []
        self.variables: list[Variable] = []
        self.global_step: Variable | None = None
        self.seed: int | None = None   # tf.set_random_seed
        self._names: dict[str, int] = {}
        self.finalized = False

    def __repr__(self) -> str:
        return f"<Graph nodes={len(self.nodes)} variables={len(self.variables)}>"

    def unique_name(self, base: str) -> str:
        """``base``, or ``base_1``, ``base_2`` … when taken (TF1's naming)."""
        if not isinstance(base, str):
            raise TypeError(f"name must be a string, got {type(base).__name__} {base!r}")
        count = self._names.get(base, 0)
        self._names[base] = count + 1
        return base if count == 0 else f"{base}_{count}"

    def add(self, node: Node) -> Node:
        if self.finalized:
            raise GraphFinalizedError(
                f"Graph is finalized and cannot be modified (adding {node!r}); build every node before the "
                "training loop and only run them inside it")
        self.nodes.append(node)
        if isinstance(node, Variable):
            self.variables.append(node)
        return node

    @property
    def trainable_variables(self) -> list[Variable]:
        """The Variables created with ``trainable=True`` (what optimizers update by default)."""
        return [v for v in self.variables if v.trainable]

    def finalize(self) -> None:
        """Make the graph read-only: adding a node afterwards raises GraphFinalizedError."""
        self.finalized = True

    def get_node(self, name: str) -> Node:
        """The node called ``name`` (a ``:0`` suffix, as TF prints tensor names, is accepted)."""
        name = name[:-2] if name.endswith(":0") else name
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"The name '{name}' refers to no node in this graph")

    @contextlib.contextmanager
    def as_default(self):
        """Make this the graph that new nodes go into, inside the ``with`` block."""
        _stack.append(self)
        try:
            yield self
        finally:
            _stack.pop()


_stack: list[Graph] = [Graph()]


def _no_sessions(node, feed_dict, session):
    raise RuntimeError("node.eval() needs autotrain.engine.static.session (import autotrain.engine.static)")


#: How ``Node.eval`` runs a node; session.py installs its own when imported (a graph knows no Session).
evaluate_node = _no_sessions


def get_default_graph() -> Graph:
    """The graph new nodes are added to."""
    return _stack[-1]


def reset_default_graph() -> None:
    """Start a fresh default graph (not allowed inside ``with graph.as_default():``)."""
    if len(_stack) > 1:
        raise AssertionError("Do not use reset_default_graph() inside a `with graph.as_default():` block")
    _stack[0] = Graph()


def post_order(roots, inputs_of) -> list:
    """Everything reachable from ``roots``, each item after its inputs (depth-first post-order with an
    explicit stack, so deep graphs never hit the recursion limit). ``inputs_of(item)`` lists the
    item's own graph inputs; items are told apart by their ``id`` attribute."""
    order, seen, stack = [], set(), [(r, False) for r in reversed(roots)]
    while stack:
        item, expanded = stack.pop()
        if expanded:
            order.append(item)
            continue
        if item.id in seen:
            continue
        seen.add(item.id)
        stack.append((item, True))
        stack.extend((v, False) for v in reversed(inputs_of(item)) if v.id not in seen)
    return order


def run_dependencies(node: "Node") -> list:
    """The nodes ``node`` needs to run: its inputs, and the nodes whose run-time shape an attribute names
    (``zeros_like(x)`` needs ``x``'s batch size, not its values)."""
    deps = [v for v in node.inputs if isinstance(v, Node)]
    deps += [v.node for v in node.attrs.values() if isinstance(v, NodeShape) and None in v]
    return deps


# --------------------------------------------------------------------- building nodes
def format_shape(shape) -> str:
    return "()" if shape is None else str(tuple(shape))


def _fmt_dtype(dtype) -> str:
    return "None" if dtype is None else np.dtype(dtype).name


def graph_of(values) -> Graph:
    graphs = {id(v.graph): v.graph for v in values if isinstance(v, Node)}
    if len(graphs) > 1:
        named = ", ".join(repr(v) for v in values if isinstance(v, Node))
        raise ValueError(f"inputs come from different graphs: {named}")
    return next(iter(graphs.values())) if graphs else get_default_graph()


def as_node(value, dtype=None, graph: Graph | None = None) -> Node:
    """``value`` as a node: nodes pass through, arrays and numbers become constants."""
    if isinstance(value, Node):
        return value
    return constant(value, dtype=dtype, graph=graph)


def checked_dtype(dtype, what: str) -> np.dtype:
    """``dtype`` as a numpy dtype the engine computes on (bool, integers, floats), or a TypeError naming ``what``."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{what}: {dtype!r} is not a dtype (use tf.float32, tf.float64, tf.int32, ...)") from None
    if dtype.kind not in "biuf":
        raise TypeError(f"{what}: dtype {dtype.name} is not supported; the engine computes on bool, integer and "
                        "float values only")
    return dtype


def _is_scalar(value) -> bool:
    return isinstance(value, (bool, int, float, np.generic)) or (isinstance(value, np.ndarray) and value.ndim == 0)


def scalar_like(value, like: "Node", what: str):
    """A Python or numpy scalar as an op input next to ``like``: TF1 converts it to the tensor's dtype.

    Returned as a plain Python number of that kind (numpy then keeps the tensor's dtype, as a weak
    scalar).  A non-integral number next to an integer tensor is refused, as TF1 refuses it.
    """
    item = value.item() if isinstance(value, (np.generic, np.ndarray)) else value
    if not isinstance(item, (bool, int, float)):
        raise TypeError(f"{what}: {value!r} is not a number")
    kind = like.dtype.kind
    if kind == "f":
        return float(item)
    if kind in "iu":
        if isinstance(item, float) and not item.is_integer():
            raise TypeError(f"{what}: cannot convert {value!r} to {like.dtype.name}, the dtype of {like!r} "
                            "(TF1 does not mix integer tensors and fractions: use tf.cast)")
        return int(item)
    return bool(item)


def tf_input(value, like, graph, what="op input"):
    """An op input: nodes stay as they are, scalars become Python numbers of ``like``'s kind (kept inline,
    as a TF constant of the other operand's dtype); arrays and lists become constants (of ``like``'s dtype
    when they convert to it, as TF1 converts them)."""
    if isinstance(value, Node):
        return value
    if like is not None and _is_scalar(value):
        return scalar_like(value, like, what)
    if like is None:
        return constant(value, graph=graph)
    array = _checked_array(value, None, what)
    if array.dtype.kind == like.dtype.kind or (like.dtype.kind == "f" and array.dtype.kind in "biu"):
        return constant(array.astype(like.dtype, copy=False), graph=graph)
    raise TypeError(f"{what}: a {array.dtype.name} array cannot be converted to {like.dtype.name}, the dtype of "
                    f"{like!r} (use tf.cast)")


def _as_input(value, like, graph):
    """An input of an internal node (gradients, rewrites): numpy's rules, Python scalars kept inline."""
    if isinstance(value, Node):
        return value
    if _is_scalar(value):
        return value.item() if isinstance(value, (np.generic, np.ndarray)) else value
    array = _checked_array(value, None, "op input")
    if like is not None and array.dtype.kind in "fiu" and like.dtype.kind == "f":
        array = array.astype(like.dtype)
    return constant(array, graph=graph)


def _checked_array(value, dtype, what: str) -> np.ndarray:
    if isinstance(value, Node):
        raise TypeError(f"{what}: {value!r} is already a node (a constant holds values, not nodes)")
    try:
        array = np.array(value, dtype=dtype)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{what}: cannot make a tensor of {_short_repr(value)}: {exc}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{what}: cannot make a tensor of {_short_repr(value)} (dtype {array.dtype}); the engine "
                        "computes on bool, integer and float values only")
    return array


def _short_repr(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _tf_default_dtype(value, array: np.ndarray) -> np.ndarray:
    """TF1's dtype for Python values: floats are float32, ints int32 (int64 when they do not fit)."""
    if isinstance(value, (np.ndarray, np.generic)):
        return array
    if array.dtype == np.float64:
        return array.astype(np.float32)
    if array.dtype == np.int64 and (array.size == 0 or (array.min() >= -2**31 and array.max() < 2**31)):
        return array.astype(np.int32)
    return array


def broadcast_dims(shapes) -> tuple:
    """numpy broadcasting over shapes that may hold ``None`` (unknown until fed)."""
    shapes = [() if s is None else tuple(s) for s in shapes]
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for dims in zip(*(((1,) * (ndim - len(s))) + s for s in shapes)):
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise ValueError(f"shapes {' and '.join(format_shape(s) for s in shapes)} do not broadcast")
        out.append(known.pop() if known else (None if None in dims else 1))
    return tuple(out)


def infer_shape(op: str, shapes, attrs) -> tuple:
    """The output shape of ``op`` from its input shapes (``None`` entries for scalars)."""
    rule = OPS[op].shape
    if rule is Op.shape:   # elementwise: numpy broadcasting, with None dims allowed
        return broadcast_dims(shapes)
    if op in ("reshape", "broadcast_to") and (None in shapes[0] or None in tuple(attrs["shape"])):
        return tuple(None if n in (-1, None) else n for n in attrs["shape"])   # checked when compiled
    return tuple(rule(*shapes, **attrs))


def infer_dtype(op: str, inputs, attrs):
    kind = OPS[op].result_dtype
    if kind == "attr":
        return np.dtype(attrs["dtype"])
    if kind is not None:
        return np.dtype(kind)
    return np.result_type(*(v.dtype if isinstance(v, Node) else v for v in inputs))


def apply(op: str, *inputs, name: str | None = None, **attrs) -> Node:
    """Add a node computing ``OPS[op]`` of ``inputs``; the shape is checked now, not at run time."""
    graph = graph_of(inputs)
    like = next((v for v in inputs if isinstance(v, Node)), None)
    inputs = tuple(_as_input(v, like, graph) for v in inputs)
    shapes = [v.shape if isinstance(v, Node) else None for v in inputs]
    try:
        shape = infer_shape(op, shapes, attrs)
        dtype = infer_dtype(op, inputs, attrs)
    except (ValueError, TypeError) as exc:
        named = " and ".join(repr(v) for v in inputs)
        message = str(exc)
        prefix = "" if message.startswith(f"{op}:") else f"{op}: "  # the op rule may have named itself
        raise ValueError(f"{prefix}{message}; inputs: {named}") from None
    return graph.add(Node(op, inputs, attrs, shape, dtype, graph.unique_name(name or op), graph))


def tf_apply(op: str, *inputs, name: str | None = None, **attrs) -> Node:
    """A user-facing op (``tf.add``, ``x * 2.0``...) with TF1's dtype rules, then :func:`apply`.

    TF1 never promotes: every tensor input must have the same dtype (a TypeError says which differ and
    points to ``tf.cast``); numbers and arrays are converted to that dtype.  ``where``'s condition is bool.
    """
    if _numpy_rules:   # gradient rules of ops.py run on nodes: numpy's promotion, as on arrays
        return apply(op, *inputs, name=name, **attrs)
    nodes = [v for v in inputs[1 if op == "where" else 0:] if isinstance(v, Node)]
    like = nodes[0] if nodes else None
    graph = graph_of(inputs)
    converted = tuple(v if isinstance(v, Node) or (op == "where" and k == 0)
                      else tf_input(v, like, graph, f"{op}: input {k}") for k, v in enumerate(inputs))
    if like is None:   # only numbers: the first becomes a constant, the others follow its dtype
        first = as_node(inputs[0], graph=graph)
        return tf_apply(op, first, *inputs[1:], name=name, **attrs)
    for v in nodes[1:]:
        if v.dtype != like.dtype:
            raise TypeError(f"{op}: input {v!r} has dtype {v.dtype.name} that does not match dtype "
                            f"{like.dtype.name} of {like!r} (TF1 does not convert tensors: use tf.cast)")
    if op == "div" and like.dtype.kind in "iu":
        # TF1's ``/`` (truediv) on integers: int8/16 and uint8/16 divide in float32, int32/64 in float64
        wide = np.float64 if like.dtype.itemsize >= 4 else np.float32
        converted = tuple(apply("cast", v, dtype=np.dtype(wide)) if isinstance(v, Node) else v for v in converted)
    return apply(op, *converted, name=name, **attrs)


_numpy_rules = False


@contextlib.contextmanager
def numpy_rules():
    """Inside, Node operators promote as numpy does: the backward rules of ``ops.py`` (written for arrays)
    replayed on nodes, e.g. relu's ``g * (x > 0)`` multiplies a float by a bool."""
    global _numpy_rules
    saved, _numpy_rules = _numpy_rules, True
    try:
        yield
    finally:
        _numpy_rules = saved


def source(op: str, shape, dtype, name: str | None, graph: Graph | None = None, **attrs) -> Node:
    """Add a node with no inputs (placeholder, constant, random draw)."""
    graph = graph or get_default_graph()
    shape = tuple(None if d is None else int(d) for d in shape)
    return graph.add(Node(op, (), attrs, shape, np.dtype(dtype), graph.unique_name(name or op), graph))


def constant(value, dtype=None, shape=None, name=None, graph: Graph | None = None) -> Node:
    """A node holding a fixed array (copied now, so later changes to ``value`` do not leak in).

    Dtypes as TF1: Python floats give float32, Python ints int32; numpy values keep their dtype.
    Strings and objects are refused.
    """
    if dtype is not None:
        dtype = checked_dtype(dtype, "constant")
    array = _checked_array(value, dtype, "constant")
    if dtype is None:
        array = _tf_default_dtype(value, array)
    if shape is not None:
        try:
            array = np.broadcast_to(array, tuple(shape)).copy()
        except (ValueError, TypeError):
            raise ValueError(f"constant: a value of shape {array.shape} does not fill shape {shape!r}") from None
    array.flags.writeable = False
    return source("const", array.shape, array.dtype, name or "Const", graph, value=array)


def _assign_node(var: Variable, value, mode: str, name=None) -> Node:
    value = tf_input(value, var, var.graph, f"assign to {var.name}")
    shape = value.shape if isinstance(value, Node) else ()
    if len(shape) != len(var.shape) or any(a is not None and b is not None and a != b
                                           for a, b in zip(shape, var.shape)):
        # TF1 (validate_shape=True): the value must have the variable's shape; no broadcasting
        raise ValueError(f"Shapes {format_shape(var.shape)} and {format_shape(shape)} are incompatible: "
                         f"assign to {var!r} needs a value of its shape")
    if isinstance(value, Node) and value.dtype != var.dtype:
        raise TypeError(f"assign: value {value!r} has dtype {value.dtype.name}, {var!r} needs {var.dtype.name}")
    graph = var.graph
    return graph.add(Node("assign", (var, value), {"mode": mode}, var.shape, var.dtype,
                          graph.unique_name(name or f"{var.name}/assign"), graph))


def group(inputs, name=None) -> Node:
    """A node that runs all ``inputs`` and yields ``None`` (used by the initializer)."""
    graph = graph_of(inputs) if inputs else get_default_graph()
    return graph.add(Node("group", tuple(inputs), {}, (), None, graph.unique_name(name or "group"), graph))


def warn_growth(graph: Graph, grew_by: int) -> None:
    warnings.warn(
        f"the graph has grown between Session.run calls again and again (+{grew_by} nodes last time, now "
        f"{len(graph.nodes)}): nodes are being built inside the training loop, so memory grows and every run "
        "compiles anew. Build the graph once before the loop; graph.finalize() makes this an error.",
        GraphGrowthWarning, stacklevel=3)
