"""Session.run(fetches, feed_dict): compile a fetch set once, then run its plan again and again.

A Session owns the variables' values.  Every fetched array is the caller's own: no later run changes
it.  It is handed over without a copy: a Session writes each run's results (and each Variable's new
value) into a buffer the caller no longer holds, with two buffers per value taking turns, so the
usual loop (``loss, _, _ = sess.run([loss, step_w1, step_w2])``) allocates nothing once warm.
Computed arrays are writable; a Variable's value (a fetched Variable or an assign's result) is a
read-only view, since it is the Variable's memory (copy it to write to it).
"""
from __future__ import annotations

import contextlib
import sys

import numpy as np

from .compiler import bind, closure, optimize
from .errors import FailedPreconditionError, InvalidArgumentError
from .passes import pipeline
from . import graph as graph_module
from .graph import Graph, Node, format_shape, get_default_graph, post_order, run_dependencies, warn_growth

_GROWTH_RUNS = 10   # runs in a row with a growing graph before the graph-growth warning


class _Fetch:
    """One fetch structure: its flat node list, how to rebuild the structure, its compiled plans by feed shapes."""

    __slots__ = ("nodes", "build", "placeholders", "placeholder_set", "plans", "last_shapes", "last_plan", "report")

    def __init__(self, nodes, build):
        self.nodes, self.build = nodes, build
        needed = post_order([n for n in nodes if n is not None], run_dependencies)
        self.placeholders = [n for n in needed if n.op == "placeholder"]
        self.placeholder_set = set(self.placeholders)
        self.plans: dict = {}
        self.last_shapes = self.last_plan = self.report = None


class Session:
    """Runs nodes of one graph (the default graph unless ``graph=`` is given).

    >>> import autotrain.engine.static as tf
    >>> x = tf.placeholder(tf.float32, shape=(None, 2))
    >>> with tf.Session() as sess:
    ...     print(sess.run(tf.reduce_sum(x * 2.0), feed_dict={x: [[1.0, 2.0]]}))
    6.0
    """

    def __init__(self, graph: Graph | None = None, seed: int | None = None, rewrites=()):
        """``rewrites``: opt-in compiler rewrites that change rounding for speed (names of
        ``passes.REWRITES``, or ``"all"``); by default every value is computed as the graph says."""
        if graph is not None and not isinstance(graph, Graph):
            raise TypeError(f"Session: graph must be a Graph, got {graph!r}")
        self.graph = graph or get_default_graph()
        self._pipeline = pipeline(rewrites)
        self._vars: dict[int, _Buffers] = {}
        self._initialized: set[int] = set()
        self._fetches: dict = {}
        self._flat: dict = {}   # (list or tuple, *nodes) -> the entry of that flat fetch list
        self._rng = np.random.default_rng(seed if seed is not None else self.graph.seed)
        self._closed = False
        self._seen_nodes, self._growth, self._warned = len(self.graph.nodes), 0, False

    def __enter__(self) -> "Session":
        _default_sessions.append(self)   # ``node.eval()`` and ``op.run()`` inside the block use this Session
        return self

    def __exit__(self, *exc) -> None:
        if _default_sessions and _default_sessions[-1] is self:
            _default_sessions.pop()
        self.close()

    def as_default(self):
        """``with sess.as_default():`` makes ``node.eval()`` and ``op.run()`` use this Session (without closing it)."""
        return _as_default(self)

    def close(self) -> None:
        """Free the variables and compiled plans; the Session cannot run afterwards."""
        self._closed = True
        self._vars.clear()
        self._fetches.clear()
        self._flat.clear()

    # ----------------------------------------------------------------- run
    def run(self, fetches, feed_dict=None):
        """Compute ``fetches`` (a node, or a list/tuple/dict of them) with placeholders bound by ``feed_dict``.

        Returns the values in the structure of ``fetches``: numpy scalars for 0-d values, arrays otherwise,
        each the caller's own (a Variable's value read-only, see the module docstring); ``None`` for an
        operation (an initializer, a train op).  Running an assign updates its Variable.
        """
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        self._watch_growth()
        entry = self._entry(fetches)
        values = self._feeds(entry, feed_dict or {})
        if not entry.nodes:   # sess.run([]): nothing to compute, an empty structure back (as TF1)
            return entry.build(())
        plan = self._plan(entry, values)
        result = plan.call(*values)
        if plan.initializes:
            self._initialized.update(v.id for v in plan.initializes)
            plan.initializes = ()
        return entry.build(result)

    def _buffers(self, var) -> "_Buffers":
        buffers = self._vars.get(var.id)
        if buffers is None:
            buffers = self._vars[var.id] = _Buffers(var.shape, var.dtype)
        return buffers

    def _attach(self, plan) -> None:
        """Give a new plan this Session's buffers (each read and written Variable's, shared by all plans, and
        a pair per fetched array, the plan's own) through ``plan.call(*feeds)``: a small generated function
        that picks the buffers, runs the plan and commits the new values, with no loop of its own."""
        ns = {"run": plan.run, "refcount": _refcount, "UNHELD": _UNHELD}
        feeds = [f"f{k}" for k in range(len(plan.feeds))]
        lines, reads, writes, outs, commits = [], [], [], [], []
        for k, var in enumerate(plan.writes):   # chosen first: a read argument would count as a holder
            ns[f"W{k}"] = self._buffers(var)
            if var in plan.distinct:
                lines.append(f"w{k} = W{k}.target(True)")
                commits.append(f"W{k}.commit()")
            else:   # the usual case, an update in place, written out (two method calls a Variable saved):
                # the same test as ``target`` makes (holder's attribute, this local, the call's argument)
                lines += [f"w{k} = W{k}.current",
                          f"if w{k} is None or refcount(w{k}) > UNHELD:",
                          f"    w{k} = None",   # not a holder while ``target`` counts
                          f"    w{k} = W{k}.target(False)"]
                commits.append(f"if W{k}.next is not None: W{k}.commit()")
            writes.append(f"w{k}")
        for k, (shape, dtype) in enumerate(plan.outs):
            ns[f"O{k}"] = _Buffers(shape, dtype)
            lines.append(f"o{k} = O{k}.target(False)")
            outs.append(f"o{k}")
            commits.append(f"O{k}.commit()")
        for k, var in enumerate(plan.reads):
            ns[f"R{k}"] = self._buffers(var)
            reads.append(f"R{k}.current")
        lines.append(f"result = run({', '.join(feeds + reads + writes + outs)})")
        source = f"def call({', '.join(feeds)}):\n" + "".join(f"    {line}\n" for line in lines + commits) + \
            "    return result\n"
        plan.call = closure(source, ns, "call")   # names as closure cells: fast from the first run (see compiler)

    def explain(self, fetches, feed_dict=None):
        """The compiler's report for ``fetches``: instr counts per pass, fused groups, bytes planned, DOT text.

        Without ``feed_dict`` the last compiled shapes are used, or 1 for each open placeholder dimension.
        """
        entry = self._entry(fetches)
        if feed_dict is None and entry.report is not None:
            return entry.report
        shapes = {p: tuple(1 if d is None else d for d in p.shape) for p in entry.placeholders}
        if feed_dict is not None:
            shapes = {p: np.shape(v) for p, v in zip(entry.placeholders, self._feeds(entry, feed_dict))}
        program, report = optimize(self.graph, [n for n in entry.nodes if n is not None], shapes, self._pipeline)
        report.code = bind(program, entry.placeholders, rng=self._rng).source   # written, never run
        return report

    def _watch_growth(self) -> None:
        count = len(self.graph.nodes)
        if count == self._seen_nodes:
            self._growth = 0
            return
        self._growth, grew = self._growth + 1, count - self._seen_nodes
        self._seen_nodes = count
        if self._growth >= _GROWTH_RUNS and not self._warned:
            self._warned = True
            warn_growth(self.graph, grew)

    # ----------------------------------------------------------------- fetches
    def _entry(self, fetches) -> _Fetch:
        kind = type(fetches)
        if kind is list or kind is tuple:   # the usual case, a flat list of nodes: one dict lookup
            try:
                entry = self._flat.get((kind, *fetches))
            except TypeError:   # an unhashable item (a nested list or dict)
                entry = None
            if entry is not None:
                return entry
        key = _fetch_key(fetches)
        entry = self._fetches.get(key)
        if entry is None:
            nodes, build = self._flatten(fetches)
            entry = self._fetches[key] = _Fetch(nodes, build)
            if (kind is list or kind is tuple) and all(isinstance(f, Node) for f in fetches):
                self._flat[(kind, *fetches)] = entry
        return entry

    def _flatten(self, fetches):
        if isinstance(fetches, (list, tuple)):
            parts = [self._flatten(f) for f in fetches]
            return _join(parts, type(fetches))
        if isinstance(fetches, dict):
            keys = list(fetches)
            nodes, build = _join([self._flatten(fetches[k]) for k in keys], list)
            return nodes, lambda values: dict(zip(keys, build(values)))
        return [self._node(fetches)], _leaf

    def _node(self, fetch) -> Node:
        if isinstance(fetch, str):
            try:
                return self.graph.get_node(fetch)
            except KeyError as exc:
                raise ValueError(f"Fetch argument {fetch!r} cannot be interpreted: {exc.args[0]}") from None
        if not isinstance(fetch, Node):
            raise TypeError(f"Fetch argument {fetch!r} has invalid type {type(fetch).__name__}, must be a node "
                            "(or a node's name), a list, a tuple or a dict of them")
        if fetch.graph is not self.graph:
            raise ValueError(f"Fetch argument {fetch!r} is not an element of this graph (it belongs to another "
                             "Graph; build it in the Session's graph or open a Session on its graph)")
        return fetch

    # ----------------------------------------------------------------- feeds
    def _feeds(self, entry: _Fetch, feed_dict) -> list:
        known = entry.placeholder_set
        for key in feed_dict:
            if key not in known and not (isinstance(key, Node) and key.graph is self.graph
                                         and key.op == "placeholder"):
                self._bad_feed_key(key)
        values = []
        for ph in entry.placeholders:
            value = feed_dict.get(ph, _MISSING)
            if value is _MISSING:
                raise InvalidArgumentError(f"You must feed a value for placeholder '{ph.name}' "
                               f"(shape {format_shape(ph.shape)}, {ph.dtype.name})")
            if type(value) is not np.ndarray or value.dtype != ph.dtype:
                value = _convert(ph, value)
            values.append(value)
        return values

    def _bad_feed_key(self, key):
        if isinstance(key, Node) and key.graph is not self.graph:
            raise ValueError(f"Cannot feed {key!r}: it is not an element of this graph")
        if isinstance(key, Node):
            raise ValueError(f"Cannot feed {key!r}: only placeholders can be fed")
        raise TypeError(f"unknown feed key {key!r}: feed_dict keys must be placeholders of this graph")

    def _plan(self, entry: _Fetch, values):
        shapes = tuple([v.shape for v in values])
        if shapes == entry.last_shapes:
            return entry.last_plan
        plan = entry.plans.get(shapes)
        if plan is None:
            for ph, shape in zip(entry.placeholders, shapes):
                _check_shape(ph, shape)
            plan = entry.plans[shapes] = self._compile(entry, shapes)
        entry.last_shapes, entry.last_plan = shapes, plan
        return plan

    def _compile(self, entry: _Fetch, shapes):
        program, report = optimize(self.graph, [n for n in entry.nodes if n is not None],
                                   dict(zip(entry.placeholders, shapes)), self._pipeline)
        self._check_initialized(program)
        entry.report = report
        plan = bind(program, entry.placeholders, rng=self._rng)
        self._attach(plan)
        report.code = plan.source
        return plan

    # ----------------------------------------------------------------- variables
    def _check_initialized(self, program) -> None:
        """Refuse a plan that reads a variable no run has initialized yet (only setting it is fine)."""
        for ins in program.instrs:
            if ins.op != "variable" or ins.node.id in self._initialized:
                continue
            readers = [u for u in program.instrs if any(a is ins for a in u.args)]
            if ins in program.outputs or any(u.op != "assign" or u.args[1] is ins for u in readers):
                raise FailedPreconditionError(
                    f"Attempting to use uninitialized value {ins.node.name} ({ins.node!r}); run "
                    "global_variables_initializer() (or the variable's initializer) first")

class InteractiveSession(Session):
    """A Session that makes itself the default as soon as it is created (for shells and notebooks)."""

    def __init__(self, graph: Graph | None = None, seed: int | None = None, rewrites=()):
        super().__init__(graph, seed, rewrites)
        _default_sessions.append(self)

    def close(self) -> None:
        if self in _default_sessions:
            _default_sessions.remove(self)
        super().close()


_default_sessions: list[Session] = []


@contextlib.contextmanager
def _as_default(sess: Session):
    _default_sessions.append(sess)
    try:
        yield sess
    finally:
        _default_sessions.remove(sess)


def get_default_session() -> Session | None:
    """The Session of the innermost ``with tf.Session() as sess:`` (or InteractiveSession), else None."""
    return _default_sessions[-1] if _default_sessions else None


def evaluate(node, feed_dict=None, session=None):
    """``node.eval()`` / ``op.run()``: run ``node`` in ``session`` or the default Session."""
    session = session or get_default_session()
    if session is None:
        raise ValueError(f"Cannot evaluate {node!r}: no default Session is registered. Use `with tf.Session() "
                         "as sess:` or pass session=sess (or call sess.run(node))")
    if session.graph is not node.graph:
        raise ValueError(f"Cannot evaluate {node!r}: it belongs to another graph than the default Session's")
    return session.run(node, feed_dict)


graph_module.evaluate_node = evaluate   # Node.eval() runs through here (graph.py does not import sessions)


class _Buffers:
    """The memory of one value that outlives a run (a Variable, or a fetched array): the current buffer
    and a spare.  A buffer is reused only when nobody else holds it (its reference count says so)."""

    __slots__ = ("shape", "dtype", "current", "spare", "next")

    def __init__(self, shape, dtype):
        self.shape, self.dtype = tuple(shape), dtype
        self.current = self.spare = self.next = None

    def target(self, distinct: bool):
        """A buffer for this run's new value: the current one if free (in place), else the spare if free,
        else a new one (the caller keeps the old ones)."""
        chosen = self.current
        if chosen is None or distinct or _refcount(chosen) > _UNHELD:
            chosen = self.spare
            if chosen is None or _refcount(chosen) > _UNHELD:
                chosen = np.empty(self.shape, self.dtype)
        self.next = chosen
        return chosen

    def commit(self) -> None:
        """The run wrote ``next``: it becomes current, and the old current the spare."""
        if self.next is not self.current:
            self.spare, self.current = self.current, self.next
        self.next = None


_refcount = sys.getrefcount


def _calibrate() -> int:
    """The reference count ``_Buffers.target`` sees for a buffer only its holder references (the holder's
    attribute, the local name, the call's argument); views of a buffer count too: numpy views hold their base."""
    def probe(holder):
        chosen = holder.current
        return _refcount(chosen)
    holder = _Buffers((1,), np.float64)
    holder.current = np.empty(1)
    return probe(holder)


_UNHELD = _calibrate()
_MISSING = object()


def _fetch_key(fetches):
    if isinstance(fetches, Node):
        return fetches
    if type(fetches) in (list, tuple):
        if all(isinstance(f, Node) for f in fetches):
            return (type(fetches), *fetches)
        return (type(fetches), *(_fetch_key(f) for f in fetches))
    if isinstance(fetches, dict):
        return (dict, *((k, _fetch_key(v)) for k, v in fetches.items()))
    return (type(fetches), fetches) if isinstance(fetches, str) else ("bad", id(fetches))


def _leaf(values):
    return values[0]


def _join(parts, kind):
    nodes, sizes = [], []
    for part_nodes, _ in parts:
        nodes.extend(part_nodes)
        sizes.append(len(part_nodes))

    def build(values):
        out, at = [], 0
        for (_, part_build), size in zip(parts, sizes):
            out.append(part_build(values[at:at + size]))
            at += size
        return kind(out) if kind is not list else out

    if all(build is _leaf for _, build in parts) and kind in (list, tuple):   # the common flat case: fast
        return nodes, (list if kind is list else tuple)
    return nodes, build


def _convert(ph: Node, value) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"Cannot feed {type(value).__name__} value for placeholder '{ph.name}' (shape "
                         f"{format_shape(ph.shape)}, {ph.dtype.name}): {exc}") from None
    if not np.can_cast(array.dtype, ph.dtype, "same_kind"):
        raise TypeError(f"Cannot feed value of dtype {array.dtype.name} and shape {array.shape} for placeholder "
                        f"'{ph.name}' of dtype {ph.dtype.name} and shape {format_shape(ph.shape)}")
    return array.astype(ph.dtype)


def _check_shape(ph: Node, shape) -> None:
    if len(shape) != len(ph.shape) or any(p is not None and p != s for p, s in zip(ph.shape, shape)):
        raise ValueError(f"Cannot feed value of shape {tuple(shape)} for placeholder '{ph.name}', "
                         f"which has shape {format_shape(ph.shape)}")
