"""``tf.train``: TF1's optimizers, with the update formulas of TF1's kernels, built as ordinary graph nodes.

Every optimizer is an :class:`Optimizer`: ``minimize`` is ``compute_gradients`` (``tf.gradients`` of the
loss for each trainable Variable) followed by ``apply_gradients``, which calls four hooks a subclass
overrides, as in TF1:

``_create_slots(var_list)``
    make the per-variable state (``self._zeros_slot(var, "m", self._name)``) and any shared state
    (``self._create_non_slot_variable(value, "beta1_power", var_list[0])``);
``_prepare()``
    turn hyper-parameters into what the updates use (numbers stay numbers: they become inline
    constants of each variable's dtype);
``_apply_dense(grad, var)``
    return the node that updates ``var`` (``var.assign_sub(...)``, usually after ``slot.assign(...)``);
``_finish(update_ops, name)``
    return one node that runs all updates, plus any shared-state update (Adam's ``beta1_power``).

Reads in a run see the values from before the run, unless they read an ``assign``'s result (then the
new value): ``m_t = m.assign(...)`` followed by ``var.assign_sub(lr * m_t ...)`` uses the new ``m``.

A subclass with another update rule (PyTorch's Adam, say) only writes those hooks; see
:class:`AdamOptimizer` for the pattern.
"""
from __future__ import annotations

import numbers

import numpy as np

from .api import cast, sqrt, square
from .autodiff import gradients
from .graph import Node, Variable, constant, get_default_graph, group

__all__ = ["Optimizer", "GradientDescentOptimizer", "MomentumOptimizer", "AdamOptimizer", "RMSPropOptimizer",
           "get_global_step", "get_or_create_global_step", "create_global_step"]


class Optimizer:
    """TF1's ``tf.train.Optimizer``: the base every optimizer here subclasses (see the module docstring)."""

    def __init__(self, use_locking: bool = False, name: str = "Optimizer"):
        if not name:
            raise ValueError("Must specify the optimizer name")
        self._use_locking = use_locking
        self._name = name
        self._slots: dict[str, dict[int, Variable]] = {}
        self._non_slots: dict[tuple[int, str], Variable] = {}

    def _check_hyper(self, **values) -> None:
        """Each hyperparameter a real number or a node of the graph: a TypeError naming it otherwise (at
        construction, not at the first minimize)."""
        for label, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.generic, Node)):
                raise TypeError(f"{type(self).__name__}: {label} must be a number or a node, got "
                                f"{type(value).__name__} {value!r}")

    def get_name(self) -> str:
        return self._name

    # ----------------------------------------------------------------- the public API
    def minimize(self, loss, global_step=None, var_list=None, name=None, **unused) -> Node:
        """A node that, run once, takes one optimization step on ``loss`` (and adds 1 to ``global_step``).

        TF1's gating/aggregation keyword arguments are accepted and have no effect here.
        """
        grads_and_vars = self.compute_gradients(loss, var_list=var_list)
        if all(g is None for g, _ in grads_and_vars):
            raise ValueError("No gradients provided for any variable, check your graph for ops that do not support "
                             f"gradients, between variables {[v.name for _, v in grads_and_vars]} and loss {loss!r}.")
        return self.apply_gradients(grads_and_vars, global_step=global_step, name=name)

    def compute_gradients(self, loss, var_list=None, **unused) -> list[tuple[Node | None, Variable]]:
        """``[(gradient, variable)]`` for every Variable of ``var_list`` (default: the trainable ones of
        ``loss``'s graph); the gradient is ``None`` where the loss does not depend on the variable."""
        if not isinstance(loss, Node):
            raise TypeError(f"compute_gradients: loss must be a node of the graph, got {loss!r}")
        if loss.dtype is None or loss.dtype.kind != "f":
            raise TypeError(f"compute_gradients: loss {loss!r} must be a floating-point value")
        var_list = loss.graph.trainable_variables if var_list is None else list(var_list)
        if not var_list:
            raise ValueError("No variables to optimize.")
        for v in var_list:
            if not isinstance(v, Variable):
                raise TypeError(f"compute_gradients: var_list holds {v!r}, which is not a Variable")
        return list(zip(gradients(loss, var_list), var_list))

    def apply_gradients(self, grads_and_vars, global_step=None, name=None) -> Node:
        """A node that updates every variable that has a gradient (and adds 1 to ``global_step``)."""
        pairs = _checked_pairs(grads_and_vars)
        var_list = [v for _, v in pairs]
        self._graph = var_list[0].graph
        with self._graph.as_default():
            self._create_slots(var_list)
            self._prepare()
            updates = [self._apply_dense(self._grad_like(g, v), v) for g, v in pairs]
            finish = self._finish(updates, name or self._name)
            if global_step is None:
                return finish
            if not isinstance(global_step, Variable) or global_step.dtype.kind not in "iu":
                raise TypeError(f"apply_gradients: global_step must be an integer Variable, got {global_step!r}")
            return group([finish, global_step.assign_add(1)], name=name or self._name)

    def get_slot(self, var: Variable, name: str) -> Variable | None:
        """The slot Variable ``name`` this optimizer keeps for ``var`` (``None`` if there is none)."""
        return self._slots.get(name, {}).get(var.id)

    def get_slot_names(self) -> list[str]:
        return sorted(self._slots)

    def variables(self) -> list[Variable]:
        """Every Variable this optimizer created (slots and shared state such as ``beta1_power``)."""
        slots = [v for table in self._slots.values() for v in table.values()]
        return slots + list(self._non_slots.values())

    # ----------------------------------------------------------------- hooks (subclasses override)
    def _create_slots(self, var_list) -> None:
        """Make the per-variable state; the base keeps none."""

    def _prepare(self) -> None:
        """Convert hyper-parameters before the updates are built; the base does nothing."""

    def _apply_dense(self, grad: Node, var: Variable) -> Node:
        raise NotImplementedError(f"{type(self).__name__} must implement _apply_dense(grad, var)")

    def _finish(self, update_ops, name_scope) -> Node:
        """One node that runs every update."""
        return group(update_ops, name=name_scope)

    # ----------------------------------------------------------------- helpers for hooks
    def _zeros_slot(self, var: Variable, slot_name: str, op_name: str) -> Variable:
        """The slot ``slot_name`` of ``var``: zeros of its shape and dtype, made once."""
        return self._get_or_make_slot(var, np.zeros(var.shape, var.dtype), slot_name, op_name)

    def _get_or_make_slot(self, var: Variable, value, slot_name: str, op_name: str) -> Variable:
        table = self._slots.setdefault(slot_name, {})
        if var.id not in table:
            table[var.id] = Variable(constant(np.asarray(value, dtype=var.dtype), graph=var.graph),
                                     trainable=False, name=f"{var.name}/{op_name}")
        return table[var.id]

    def _slot(self, var: Variable, slot_name: str) -> Variable:
        return self._slots[slot_name][var.id]

    def _create_non_slot_variable(self, initial_value, name: str, colocate_with: Variable, dtype=None) -> Variable:
        """A scalar state shared by all variables of one graph (Adam's ``beta1_power``), made once, of
        ``dtype`` (default: ``colocate_with``'s)."""
        key = (id(colocate_with.graph), name)
        if key not in self._non_slots:
            value = np.asarray(initial_value, dtype=colocate_with.dtype if dtype is None else dtype)
            self._non_slots[key] = Variable(constant(value, graph=colocate_with.graph), trainable=False, name=name)
        return self._non_slots[key]

    def _get_non_slot_variable(self, name: str, graph=None) -> Variable:
        return self._non_slots[(id(graph or get_default_graph()), name)]

    @staticmethod
    def _hyper(value, var: Variable, what: str):
        """A hyper-parameter as TF1's optimizers use it in ``var``'s update: a number becomes a float32
        tensor first (TF1's ``convert_to_tensor``), then is cast to the variable's dtype, so a float64 model
        trains with ``lr = float32(0.1) = 0.10000000149...`` exactly as in TF1; a node is cast.  The result
        is a Python number (an inline constant) or a node."""
        if isinstance(value, Node):
            return value if value.dtype == var.dtype else cast(value, var.dtype)
        if isinstance(value, (numbers.Real, np.generic)) and not isinstance(value, bool):
            return float(var.dtype.type(np.float32(value)))
        raise TypeError(f"{what} must be a number or a node, got {value!r}")

    @classmethod
    def _one_minus(cls, value, var: Variable, what: str) -> float:
        """``1 - value`` computed in the variable's dtype from the float32 hyper-parameter (TF1's kernels)."""
        if isinstance(value, Node):
            raise TypeError(f"{what} must be a number here, got {value!r}")
        return float(var.dtype.type(1) - var.dtype.type(cls._hyper(value, var, what)))

    @staticmethod
    def _grad_like(grad: Node, var: Variable) -> Node:
        if tuple(grad.shape) != tuple(var.shape) and None not in grad.shape:
            raise ValueError(f"apply_gradients: gradient {grad!r} does not have the shape of {var!r}")
        if grad.dtype != var.dtype:
            raise TypeError(f"apply_gradients: gradient {grad!r} has dtype {grad.dtype.name}, {var!r} needs "
                            f"{var.dtype.name}")
        return grad


def _checked_pairs(grads_and_vars) -> list[tuple[Node, Variable]]:
    pairs = list(grads_and_vars)
    if not pairs:
        raise ValueError("No variables provided.")
    for pair in pairs:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise TypeError(f"apply_gradients: expected (gradient, variable) pairs, got {pair!r}")
        g, v = pair
        if not isinstance(v, Variable):
            raise TypeError(f"apply_gradients: {v!r} is not a Variable")
        if g is not None and not isinstance(g, Node):
            raise TypeError(f"apply_gradients: the gradient of {v.name} is {g!r}, not a node")
    kept = [(g, v) for g, v in pairs if g is not None]
    if not kept:
        raise ValueError(f"No gradients provided for any variable: {[v.name for _, v in pairs]}")
    return kept


class GradientDescentOptimizer(Optimizer):
    """``var -= learning_rate * grad``."""

    def __init__(self, learning_rate, use_locking=False, name="GradientDescent"):
        super().__init__(use_locking, name)
        self._check_hyper(learning_rate=learning_rate)
        self._learning_rate = learning_rate

    def _apply_dense(self, grad, var):
        return var.assign_sub(grad * self._hyper(self._learning_rate, var, "learning_rate"))


class MomentumOptimizer(Optimizer):
    """TF1's momentum: ``accum = accum * momentum + grad``; ``var -= lr * accum`` (Nesterov:
    ``var -= lr * grad + lr * momentum * accum``).  Note ``lr`` multiplies the accumulator, not the gradient
    (PyTorch's SGD differs when the learning rate changes over time)."""

    def __init__(self, learning_rate, momentum, use_locking=False, name="Momentum", use_nesterov=False):
        super().__init__(use_locking, name)
        self._check_hyper(learning_rate=learning_rate, momentum=momentum)
        self._learning_rate, self._momentum, self._use_nesterov = learning_rate, momentum, use_nesterov

    def _create_slots(self, var_list):
        for v in var_list:
            self._zeros_slot(v, "momentum", self._name)

    def _apply_dense(self, grad, var):
        lr = self._hyper(self._learning_rate, var, "learning_rate")
        momentum = self._hyper(self._momentum, var, "momentum")
        accum = self._slot(var, "momentum")
        accum_t = accum.assign(accum * momentum + grad)
        if self._use_nesterov:
            return var.assign_sub(grad * lr + accum_t * momentum * lr)
        return var.assign_sub(accum_t * lr)


class AdamOptimizer(Optimizer):
    """TF1's Adam (Kingma & Ba's "epsilon hat" form, as TF1's ApplyAdam kernel computes it)::

        lr_t = learning_rate * sqrt(1 - beta2^t) / (1 - beta1^t)
        m    = m + (grad - m) * (1 - beta1)
        v    = v + (grad^2 - v) * (1 - beta2)
        var -= m * lr_t / (sqrt(v) + epsilon)

    ``beta1^t`` and ``beta2^t`` are the float32 Variables ``beta1_power`` and ``beta2_power`` (starting at
    beta1 and beta2), multiplied by beta1 and beta2 after every step, as in TF1.  PyTorch's Adam puts epsilon outside the
    bias correction (``sqrt(v / (1 - beta2^t)) + eps``): the two differ while ``sqrt(v)`` is near epsilon.
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, use_locking=False, name="Adam"):
        super().__init__(use_locking, name)
        self._check_hyper(learning_rate=learning_rate, beta1=beta1, beta2=beta2, epsilon=epsilon)
        self._lr, self._beta1, self._beta2, self._epsilon = learning_rate, beta1, beta2, epsilon

    def _create_slots(self, var_list):
        first = var_list[0]   # TF1: the powers are float32 Variables (made from Python floats), whatever the model
        self._create_non_slot_variable(np.float32(self._beta1), "beta1_power", first, dtype=np.float32)
        self._create_non_slot_variable(np.float32(self._beta2), "beta2_power", first, dtype=np.float32)
        for v in var_list:
            self._zeros_slot(v, "m", self._name)
            self._zeros_slot(v, "v", self._name + "_1")

    def _powers(self):
        return (self._get_non_slot_variable("beta1_power", self._graph),
                self._get_non_slot_variable("beta2_power", self._graph))

    def _apply_dense(self, grad, var):
        beta1_power, beta2_power = (p if p.dtype == var.dtype else cast(p, var.dtype) for p in self._powers())
        lr = self._hyper(self._lr, var, "learning_rate")
        keep1 = self._one_minus(self._beta1, var, "beta1")   # (1 - beta1) in the variable's dtype, as the kernel
        keep2 = self._one_minus(self._beta2, var, "beta2")
        eps = self._hyper(self._epsilon, var, "epsilon")
        lr_t = lr * sqrt(1.0 - beta2_power) / (1.0 - beta1_power)
        m, v = self._slot(var, "m"), self._slot(var, "v")
        m_t = m.assign(m + (grad - m) * keep1)
        v_t = v.assign(v + (square(grad) - v) * keep2)
        return var.assign_sub(m_t * lr_t / (sqrt(v_t) + eps))

    def _finish(self, update_ops, name_scope):
        beta1_power, beta2_power = self._powers()
        return group(list(update_ops) + [beta1_power.assign(beta1_power * float(np.float32(self._beta1))),
                                         beta2_power.assign(beta2_power * float(np.float32(self._beta2)))],
                     name=name_scope)


class RMSPropOptimizer(Optimizer):
    """TF1's RMSProp (ApplyRMSProp kernel)::

        ms  = ms + (grad^2 - ms) * (1 - decay)          # ms starts at 1 (TF1), not 0 (PyTorch)
        mom = mom * momentum + lr * grad / sqrt(ms + epsilon)
        var -= mom

    ``centered=True`` also tracks ``mg = mg + (grad - mg) * (1 - decay)`` and divides by
    ``sqrt(ms - mg^2 + epsilon)``.
    """

    def __init__(self, learning_rate, decay=0.9, momentum=0.0, epsilon=1e-10, use_locking=False, centered=False,
                 name="RMSProp"):
        super().__init__(use_locking, name)
        self._check_hyper(learning_rate=learning_rate, decay=decay, momentum=momentum, epsilon=epsilon)
        self._lr, self._decay, self._momentum, self._epsilon = learning_rate, decay, momentum, epsilon
        self._centered = centered

    def _create_slots(self, var_list):
        for v in var_list:
            self._get_or_make_slot(v, np.ones(v.shape, v.dtype), "rms", self._name)
            if self._centered:
                self._zeros_slot(v, "mg", self._name + "_mg")
            self._zeros_slot(v, "momentum", self._name + "_1")

    def _apply_dense(self, grad, var):
        lr = self._hyper(self._lr, var, "learning_rate")
        keep = self._one_minus(self._decay, var, "decay")
        momentum = self._hyper(self._momentum, var, "momentum")
        eps = self._hyper(self._epsilon, var, "epsilon")
        ms = self._slot(var, "rms")
        ms_t = ms.assign(ms + (square(grad) - ms) * keep)
        if self._centered:
            mg = self._slot(var, "mg")
            mg_t = mg.assign(mg + (grad - mg) * keep)
            denom = ms_t - square(mg_t) + eps
        else:
            denom = ms_t + eps
        mom = self._slot(var, "momentum")
        mom_t = mom.assign(mom * momentum + grad * lr / sqrt(denom))
        return var.assign_sub(mom_t)


# --------------------------------------------------------------------- the global step
def get_global_step(graph=None) -> Variable | None:
    """The graph's global step Variable, or ``None`` if none was created."""
    return (graph or get_default_graph()).global_step


def create_global_step(graph=None) -> Variable:
    """A new int64 Variable ``global_step`` (0, not trainable) registered as the graph's global step."""
    graph = graph or get_default_graph()
    if graph.global_step is not None:
        raise ValueError("global_step already exists.")
    with graph.as_default():
        graph.global_step = Variable(np.int64(0), trainable=False, name="global_step")
    return graph.global_step


def get_or_create_global_step(graph=None) -> Variable:
    """The graph's global step, created (int64, 0) on first use."""
    return get_global_step(graph) or create_global_step(graph)
