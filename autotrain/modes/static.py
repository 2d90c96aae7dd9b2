"""``static``: the network as a TensorFlow-1 program: the graph is built once from the layer list, every
(mini)batch is fed through placeholders, and the optimizer's ``minimize`` adds the update ops.

The seed's network builds the seed's graph exactly (``tf.maximum(h, 0)``, ``reduce_sum((y - y_pred) ** 2)``,
``w.assign(w - lr * grad)``), so its loss table is unchanged bit for bit.
"""
from __future__ import annotations

import functools
from typing import ClassVar

import numpy as np

from autotrain.modes.base import Mode, ModelSpec, copied


class StaticMode(Mode):
    """Placeholders, Variables, ``tf.gradients`` and ``assign`` in one private Graph, run by a Session."""

    name: ClassVar[str] = "static"

    def __init__(self, spec: ModelSpec, params: dict, device: str = "cpu") -> None:
        import autotrain.engine.static as tf  # lazy: only this mode needs the static engine

        if device != "cpu":
            raise ValueError(f"mode 'static' runs on the cpu only, not on {device!r}")
        super().__init__(spec, params, device)
        self.tf = tf
        shapes = spec.param_shapes()
        self.np_dtype = np.asarray(params["w1"]).dtype
        dtype = getattr(tf, self.np_dtype.name)
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.x = tf.placeholder(dtype, shape=(None, spec.sizes[0]))
            # class indices (sparse_softmax_cross_entropy_with_logits), or targets
            self.y = (tf.placeholder(tf.int64, shape=(None,)) if spec.classify
                      else tf.placeholder(dtype, shape=(None, spec.sizes[-1])))
            self.vars = {k: tf.Variable(copied(params[k])) for k in shapes}
            self.out = self._forward(tf, dtype)
            self.loss = self._loss(tf)
            self.optimizer = torch_rule_optimizer(tf)(spec.optimizer)
            self.train_op = self.optimizer.minimize(self.loss, var_list=[self.vars[k] for k in shapes])
            # Built now, not in load_state: a graph must not grow while a Session runs it.
            self.state_vars = {**self.vars, **self.optimizer.state_variables(self.vars)}
            self.inputs = {k: tf.placeholder(v.dtype, shape=tuple(v.shape)) for k, v in self.state_vars.items()}
            self.load_ops = [v.assign(self.inputs[k]) for k, v in self.state_vars.items()]
            init = tf.global_variables_initializer()
        self.sess = tf.Session(graph=self.graph)
        self.sess.run(init)

    def _forward(self, tf, dtype):
        spec, a = self.spec, self.x
        for i in range(1, spec.layers + 1):
            a = tf.matmul(a, self.vars[f"w{i}"])
            if spec.bias:
                a = a + self.vars[f"b{i}"]
            if i < spec.layers:
                if spec.activation == "relu":
                    # As the seed: tf.maximum gives the whole gradient to h at h == 0, the clamp convention of
                    # the other modes (tf.nn.relu would zero it there).
                    a = tf.maximum(a, tf.zeros(1, dtype=dtype))
                else:
                    a = tf.tanh(a) if spec.activation == "tanh" else tf.sigmoid(a)
        return a

    def _loss(self, tf):
        kind = self.spec.loss
        if kind == "sum_squares":
            return tf.reduce_sum((self.y - self.out) ** 2.0)
        if kind == "mse":
            return tf.reduce_mean(tf.square(self.out - self.y))
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=self.y, logits=self.out))

    # ------------------------------------------------------------ feeds
    def prepare(self, x, y):
        return np.asarray(x), np.asarray(y)

    def _feed(self, x, y) -> dict:
        return {self.x: x, self.y: y}

    def _logits(self, x) -> np.ndarray:
        return self.sess.run(self.out, feed_dict={self.x: x})

    # ------------------------------------------------------------ the step
    def step(self, x, y) -> float:
        loss, _ = self.sess.run([self.loss, self.train_op], feed_dict=self._feed(x, y))
        return float(loss)

    def evaluate(self, x, y) -> tuple[float, np.ndarray]:
        loss, out = self.sess.run([self.loss, self.out], feed_dict=self._feed(x, y))
        return float(loss), np.array(out, copy=True)

    def predict(self, x) -> np.ndarray:
        return np.array(self._logits(np.asarray(x, dtype=self.np_dtype)), copy=True)

    # ------------------------------------------------------------ state
    def state(self) -> dict[str, np.ndarray]:
        names = list(self.vars)
        return {k: copied(v) for k, v in zip(names, self.sess.run([self.vars[k] for k in names]))}

    def _optimizer_arrays(self):
        names = [k for k in self.state_vars if k not in self.vars]
        out = {k: copied(v) for k, v in zip(names, self.sess.run([self.state_vars[k] for k in names]))}
        return out.pop("step"), out

    def load_state(self, state: dict[str, np.ndarray], optimizer_state: dict[str, np.ndarray] | None = None) -> None:
        feed = {self.inputs[k]: state[k] for k in self.vars}
        ops = [op for k, op in zip(self.state_vars, self.load_ops) if k in self.vars]
        if optimizer_state and "step" in optimizer_state:
            for k, op in zip(self.state_vars, self.load_ops):
                if k not in self.vars:
                    feed[self.inputs[k]] = np.asarray(optimizer_state[k], dtype=self.state_vars[k].dtype)
                    ops.append(op)
        self.sess.run(ops, feed_dict=feed)

    def explain(self, x, y):
        """The static compiler's report for the training step (node counts per pass, fused groups, DOT)."""
        return self.sess.explain([self.loss, self.train_op], feed_dict=self._feed(x, y))


@functools.cache
def torch_rule_optimizer(tf):
    """``TorchRuleOptimizer``, a ``tf.train.Optimizer`` subclass, made on first use (the static engine loads
    lazily)."""

    class TorchRuleOptimizer(tf.train.Optimizer):
        """A TF1 optimizer (``minimize`` = ``compute_gradients`` + ``apply_gradients``, slot Variables) whose
        update formulas are PyTorch's (torch/optim, single-tensor), as the other modes use.

        TF1's own classes differ: ``tf.train`` converts every hyper-parameter to float32 first (a float64
        model trains with lr = float32(lr)), its Adam puts epsilon inside the bias correction ("epsilon hat")
        and its RMSProp starts the mean square at 1 -- none would agree with the other modes to 1e-9.  The
        step number is a float Variable of the model's dtype, so Adam's bias corrections are computed in
        the graph in that dtype.
        """

        def __init__(self, spec, name: str = "TorchRule"):
            super().__init__(name=name)
            self.spec = spec

        def state_variables(self, named: dict) -> dict:
            """{"step": ..., "<slot>.<param>": ...} for checkpoints (empty for sgd)."""
            if not self.spec.slots():
                return {}
            out = {"step": self._step}
            for slot in self.spec.slots():
                out.update({f"{slot}.{k}": self.get_slot(v, slot) for k, v in named.items()})
            return out

        def _create_slots(self, var_list) -> None:
            for var in var_list:
                for slot in self.spec.slots():
                    self._zeros_slot(var, slot, self._name)
            if self.spec.slots():  # sgd needs no step count: its graph stays the seed's
                # steps taken, in the variables' dtype (an exponent of beta ** t; exact to 2**24 in float32)
                self._step = self._create_non_slot_variable(0.0, "step", var_list[0])
                self._t1 = self._step + 1.0  # this step's number, read before the run's assigns

        def _apply_dense(self, grad, var):
            """PyTorch's formula (``autotrain/engine/optim/formulas.py``, the engine's ``torch.optim`` runs it
            on arrays) built as graph nodes; the new parameter and slots are assigned."""
            slots = {name: self.get_slot(var, name) for name in self.spec.slots()}
            state = dict(slots)
            if "momentum_buffer" in state:
                # A graph has no first-step branch: the buffer, scaled by min(step, 1), is 0 at the first step,
                # so momentum * b + g is g there, PyTorch's first buffer.
                state["momentum_buffer"] = state["momentum_buffer"] * tf.minimum(self._step, 1.0)
            step = self._t1 if slots else None
            new_var, new_state = self.spec.rule()(var, grad, state, step, **self.spec.hyper(), ops=tf_ops(tf))
            if not slots:
                return var.assign(new_var)   # sgd: the seed's ``w.assign(w - lr * grad)``
            return tf.group(var.assign(new_var), *(slots[name].assign(new_state[name]) for name in slots))

        def _finish(self, update_ops, name_scope):
            extra = [self._step.assign(self._t1)] if self.spec.slots() else []
            return super()._finish(list(update_ops) + extra, name_scope)

    return TorchRuleOptimizer


@functools.cache
def tf_ops(tf):
    """The formulas' functional ops on graph nodes (``tf.sqrt``, ``tf.maximum`` and operators)."""
    from autotrain.engine.optim.formulas import FunctionalOps

    return FunctionalOps(tf)
