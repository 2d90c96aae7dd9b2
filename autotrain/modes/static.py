"""``static``: the network as a TensorFlow-1 program: the graph is built once from the layer list, every
(mini)batch is fed through placeholders, and the optimizer's ``minimize`` adds the update ops.

The seed's network builds the seed's graph exactly (``tf.maximum(h, 0)``, ``reduce_sum((y - y_pred) ** 2)``,
``w.assign(w - lr * grad)``), so its loss table is unchanged bit for bit.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from autotrain.data import Problem
from autotrain.modes.base import ModelSpec, copied


class StaticMode:
    """Placeholders, Variables, ``tf.gradients`` and ``assign`` in one private Graph, run by a Session."""

    name: ClassVar[str] = "static"

    def __init__(self, spec: ModelSpec | Problem, params: dict | float, device: str = "cpu") -> None:
        import autotrain.engine.static as tf  # lazy: only this mode needs the static engine

        if isinstance(spec, Problem):  # the seed's (problem, lr) form
            spec, params = ModelSpec.seed(*spec.w1.shape, spec.w2.shape[1], params), {"w1": spec.w1, "w2": spec.w2}
        if device != "cpu":
            raise ValueError(f"mode 'static' runs on the cpu only, not on {device!r}")
        self.spec, self.tf = spec, tf
        self.lr = spec.optimizer.lr
        shapes = spec.param_shapes()
        self.np_dtype = np.asarray(params["w1"]).dtype
        dtype = getattr(tf, self.np_dtype.name)
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.x = tf.placeholder(dtype, shape=(None, spec.sizes[0]))
            # classification labels are fed one-hot, as a TF1 program feeds softmax_cross_entropy_with_logits
            self.y = tf.placeholder(dtype, shape=(None, spec.sizes[-1]))
            # 1 / rows (mean losses): fed, because the batch size is unknown when the graph is built
            self.inv_rows = tf.placeholder(dtype, shape=())
            self.vars = {k: tf.Variable(copied(params[k])) for k in shapes}
            self.out = self._forward(tf, dtype)
            self.loss = self._loss(tf)
            self.optimizer = PyTorchFormulaOptimizer(tf, spec.optimizer, dtype)
            self.train_op = self.optimizer.minimize(self.loss, [self.vars[k] for k in shapes], names=list(shapes))
            # Built now, not in load_state: a graph must not grow while a Session runs it.
            self.state_vars = {**self.vars, **self.optimizer.state_variables()}
            self.inputs = {k: tf.placeholder(dtype if k != "step" else self.optimizer.step_dtype,
                                             shape=tuple(v.shape)) for k, v in self.state_vars.items()}
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
            return tf.reduce_sum((self.out - self.y) ** 2.0) * self.inv_rows / float(self.spec.sizes[-1])
        # cross entropy from logits: -sum(onehot * log_softmax(logits)) / rows.  The row maxima are fed as a
        # constant shift (log_softmax does not depend on them; exp never overflows).
        self.shift = tf.placeholder(self.out.dtype, shape=(None, 1))
        shifted = self.out - self.shift
        log_p = shifted - tf.log(tf.reduce_sum(tf.exp(shifted), axis=1, keepdims=True))
        return -tf.reduce_sum(self.y * log_p) * self.inv_rows

    # ------------------------------------------------------------ feeds
    def prepare(self, x, y):
        x = np.asarray(x)
        if self.spec.classify:
            labels = np.asarray(y)
            onehot = np.zeros((len(labels), self.spec.sizes[-1]), dtype=x.dtype)
            onehot[np.arange(len(labels)), labels] = 1
            y = onehot
        return x, np.asarray(y)

    def _feed(self, x, y) -> dict:
        feed = {self.x: x, self.y: y}
        if self.spec.loss != "sum_squares":
            feed[self.inv_rows] = np.array(1.0 / len(x), dtype=self.np_dtype)
        if self.spec.classify:
            feed[self.shift] = self._logits(x).max(axis=1, keepdims=True)
        return feed

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

    def optimizer_state(self) -> dict[str, np.ndarray]:
        names = list(self.optimizer.state_variables())
        values = self.sess.run([self.state_vars[k] for k in names]) if names else []
        out = {k: copied(v) for k, v in zip(names, values)}
        out["step"] = np.array(int(out["step"]), dtype=np.int64)
        return out

    def load_state(self, state: dict[str, np.ndarray], optimizer_state: dict[str, np.ndarray] | None = None) -> None:
        feed = {self.inputs[k]: state[k] for k in self.vars}
        ops = [op for k, op in zip(self.state_vars, self.load_ops) if k in self.vars]
        if optimizer_state:
            for k, op in zip(self.state_vars, self.load_ops):
                if k not in self.vars:
                    value = optimizer_state[k]
                    feed[self.inputs[k]] = np.asarray(value, dtype=self.optimizer.step_dtype if k == "step"
                                                      else self.np_dtype)
                    ops.append(op)
        self.sess.run(ops, feed_dict=feed)

    def explain(self, x, y):
        """The static compiler's report for the training step (node counts per pass, fused groups, DOT)."""
        return self.sess.explain([self.loss, self.train_op], feed_dict=self._feed(x, y))


class PyTorchFormulaOptimizer:
    """``minimize(loss, var_list)`` as a TF1 optimizer: ``tf.gradients``, slot Variables, ``assign`` ops.

    The update formulas are PyTorch's (torch/optim, single-tensor), not TF1's: TF1's Adam puts epsilon
    inside the bias correction ("epsilon hat") and its RMSProp starts the mean square at 1, so TF1's own
    classes would not agree with the other modes to 1e-9.  For sgd the assign is the seed's
    ``w.assign(w - lr * grad)``.
    """

    def __init__(self, tf, spec, dtype):
        self.tf, self.o, self.dtype = tf, spec, dtype
        self.slots: dict[str, dict[str, object]] = {}
        # the step count lives in a Variable of the model's dtype (pow takes it as an exponent; float32 counts
        # exactly to 2**24 steps)
        self.step_dtype = np.dtype(dtype.name if hasattr(dtype, "name") else dtype)
        self.t = None

    def state_variables(self) -> dict:
        out = {"step": self.t}
        for slot, by_name in self.slots.items():
            out.update({f"{slot}.{k}": v for k, v in by_name.items()})
        return out

    def minimize(self, loss, var_list, names):
        tf, o = self.tf, self.o
        grads = tf.gradients(loss, var_list)
        self.t = tf.Variable(np.array(0.0, dtype=self.step_dtype))
        t1 = self.t + 1.0
        updates = [self.t.assign(t1)]
        zeros = {k: np.zeros(tuple(v.shape), dtype=self.step_dtype) for k, v in zip(names, var_list)}
        for slot in o.slots():
            self.slots[slot] = {k: tf.Variable(zeros[k].copy()) for k in names}
        lr, wd = o.lr, o.weight_decay
        for k, w, g in zip(names, var_list, grads):
            if wd and o.name != "adamw":
                g = g + wd * w
            if o.name == "sgd":
                updates.append(w.assign(w - lr * g))
            elif o.name == "momentum":
                buf = self.slots["momentum_buffer"][k]
                # PyTorch: the first buffer is the gradient itself; then buf * momentum + g
                first = tf.minimum(self.t, 1.0)  # 0 on the first step, 1 after
                new_buf = buf * (o.momentum * first) + g
                updates += [buf.assign(new_buf), w.assign(w - lr * new_buf)]
            elif o.name == "rmsprop":
                sq = self.slots["square_avg"][k]
                new_sq = sq * o.alpha + (1 - o.alpha) * g * g
                updates += [sq.assign(new_sq), w.assign(w - lr * g / (tf.pow(new_sq, 0.5) + o.eps))]
            else:
                m, v = self.slots["exp_avg"][k], self.slots["exp_avg_sq"][k]
                b1, b2 = o.betas
                w0 = w * (1 - lr * wd) if o.name == "adamw" else w
                new_m = m + (1 - b1) * (g - m)
                new_v = v * b2 + (1 - b2) * g * g
                step_size = lr / (1.0 - tf.pow(b1, t1))
                denom = tf.pow(new_v, 0.5) / tf.pow(1.0 - tf.pow(b2, t1), 0.5) + o.eps
                updates += [m.assign(new_m), v.assign(new_v), w.assign(w0 - step_size * new_m / denom)]
        return updates
