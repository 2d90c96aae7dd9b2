"""``static``: the seed's TensorFlow-1 program: build the graph once, run it with ``feed_dict`` each step."""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from autotrain.data import Problem
from autotrain.modes.base import copied


class StaticMode:
    """Placeholders, Variables, ``tf.gradients`` and ``assign`` in one private Graph, run by a Session."""

    name: ClassVar[str] = "static"

    def __init__(self, problem: Problem, lr: float, device: str = "cpu") -> None:
        import autotrain.engine.static as tf  # lazy: only this mode needs the static engine

        if device != "cpu":
            raise ValueError(f"mode 'static' runs on the cpu only, not on {device!r}")
        D_in, H = problem.w1.shape
        dtype = getattr(tf, problem.w1.dtype.name)
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.x = tf.placeholder(dtype, shape=(None, D_in))
            self.y = tf.placeholder(dtype, shape=(None, problem.w2.shape[1]))
            self.w1 = tf.Variable(copied(problem.w1))
            self.w2 = tf.Variable(copied(problem.w2))
            h = tf.matmul(self.x, self.w1)
            # As the seed: tf.maximum gives the whole gradient to h at h == 0, the clamp convention of
            # the other modes (tf.nn.relu would zero it there).
            h_relu = tf.maximum(h, tf.zeros(1, dtype=dtype))
            y_pred = tf.matmul(h_relu, self.w2)
            self.loss = tf.reduce_sum((self.y - y_pred) ** 2.0)
            grad_w1, grad_w2 = tf.gradients(self.loss, [self.w1, self.w2])
            self.new_w1 = self.w1.assign(self.w1 - lr * grad_w1)
            self.new_w2 = self.w2.assign(self.w2 - lr * grad_w2)
            # Built now, not in load_state: a graph must not grow while a Session runs it.
            self.w1_in = tf.placeholder(dtype, shape=(D_in, H))
            self.w2_in = tf.placeholder(dtype, shape=problem.w2.shape)
            self.load_ops = [self.w1.assign(self.w1_in), self.w2.assign(self.w2_in)]
            init = tf.global_variables_initializer()
        self.sess = tf.Session(graph=self.graph)
        self.sess.run(init)

    def prepare(self, x, y):
        return np.asarray(x), np.asarray(y)

    def step(self, x, y) -> float:
        loss, _, _ = self.sess.run([self.loss, self.new_w1, self.new_w2], feed_dict={self.x: x, self.y: y})
        return float(loss)

    def state(self) -> dict[str, np.ndarray]:
        w1, w2 = self.sess.run([self.w1, self.w2])
        return {"w1": copied(w1), "w2": copied(w2)}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.sess.run(self.load_ops, feed_dict={self.w1_in: state["w1"], self.w2_in: state["w2"]})

    def explain(self, x, y):
        """The static compiler's report for the training step (node counts per pass, fused groups, DOT)."""
        return self.sess.explain([self.loss, self.new_w1, self.new_w2], feed_dict={self.x: x, self.y: y})
