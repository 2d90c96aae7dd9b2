"""TF1 static graphs vs the same step written by hand in numpy: the seed and ``mlp``, interleaved.

    python benchmarks/bench_static_tf.py                       # both workloads, 1 thread
    python benchmarks/bench_static_tf.py --workload mlp --steps 1000 --threads default

Rows: ``numpy`` (the hand-written step), ``static`` (the default compiler: every value bit-identical to
the dynamic engine's), ``static+rewrites`` (``Session(rewrites="all")``: the opt-in rewrites that change
rounding, see ``autotrain/engine/static/passes/rewrites.py``).  Rounds rotate the row order; the report
gives medians and the median of per-round ratios.

seed: the tutorial's two-layer ReLU net (64x1000 -> 100 -> 10, float32, lr 1e-6), numpy as the seed writes it.
mlp: Dense 64 -> 128 -> 128 -> 10 with ReLU, softmax cross-entropy (mean over the batch), TF1's
AdamOptimizer (lr 1e-3), batch 32, float32, fed through placeholders; numpy writes forward, backward
and TF1's Adam update in place.  Both start from the same weights and are checked to agree first.
(The ``bench`` suite owns the workload table; this is the static side's timing script and reference.)
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import autotrain.engine.static as tf

SIZES = (64, 128, 128, 10)
BATCH, LR, BETA1, BETA2, EPS = 32, 1e-3, 0.9, 0.999, 1e-8


def make_data(seed: int = 0):
    """Inputs, one-hot labels and the initial weights (PyTorch's Linear distribution), float32."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    labels = rng.integers(0, SIZES[-1], BATCH)
    y = np.eye(SIZES[-1], dtype=np.float32)[labels]
    params = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:]):
        bound = 1 / np.sqrt(n_in)
        params += [rng.uniform(-bound, bound, (n_in, n_out)).astype(np.float32),
                   rng.uniform(-bound, bound, n_out).astype(np.float32)]
    return x, y, params


class NumpyMLP:
    """Forward, backward and TF1's Adam by hand, updating the weights in place."""

    def __init__(self, params):
        self.params = [p.copy() for p in params]
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, x, y) -> float:
        w1, b1, w2, b2, w3, b3 = self.params
        h1 = x @ w1 + b1
        a1 = np.maximum(h1, 0)
        h2 = a1 @ w2 + b2
        a2 = np.maximum(h2, 0)
        z = a2 @ w3 + b3
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        n = x.shape[0]
        loss = -(y * (z - np.log(s))).sum() / n
        dz = (e / s - y) / n
        da2 = dz @ w3.T
        da2[h2 <= 0] = 0
        da1 = da2 @ w2.T
        da1[h1 <= 0] = 0
        grads = [x.T @ da1, da1.sum(axis=0), a1.T @ da2, da2.sum(axis=0), a2.T @ dz, dz.sum(axis=0)]
        self.t += 1
        lr_t = np.float32(LR * np.sqrt(1 - BETA2 ** self.t) / (1 - BETA1 ** self.t))
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m += (g - m) * np.float32(1 - BETA1)
            v += (g * g - v) * np.float32(1 - BETA2)
            p -= lr_t * m / (np.sqrt(v) + np.float32(EPS))
        return float(loss)


class StaticMLP:
    """The same model as a TF1 graph: placeholders, Variables, tf.losses, AdamOptimizer.minimize."""

    def __init__(self, params, rewrites=()):
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.x = tf.placeholder(tf.float32, shape=(None, SIZES[0]), name="x")
            self.y = tf.placeholder(tf.float32, shape=(None, SIZES[-1]), name="y")
            self.vars = [tf.Variable(p, name=f"p{k}") for k, p in enumerate(params)]
            w1, b1, w2, b2, w3, b3 = self.vars
            a1 = tf.nn.relu(tf.matmul(self.x, w1) + b1)
            a2 = tf.nn.relu(tf.matmul(a1, w2) + b2)
            logits = tf.matmul(a2, w3) + b3
            self.loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=self.y, logits=logits))
            self.train_op = tf.train.AdamOptimizer(LR, BETA1, BETA2, EPS).minimize(self.loss)
            init = tf.global_variables_initializer()
        self.sess = tf.Session(self.graph, rewrites=rewrites)
        self.sess.run(init)
        self.fetches = [self.loss, self.train_op]

    def step(self, x, y) -> float:
        return float(self.sess.run(self.fetches, {self.x: x, self.y: y})[0])

    def weights(self):
        return self.sess.run(self.vars)


def seed_rows():
    """The seed's numpy step and its TF1 graph (default and with every opt-in rewrite)."""
    from autotrain.training.data import make_problem
    from bench_static import numpy_step

    p = make_problem(64, 1000, 100, 10, dtype="float32", seed=0)
    w1, w2 = p.w1.copy(), p.w2.copy()
    rows = {"numpy": lambda: numpy_step(p.x, p.y, w1, w2, 1e-6)}
    for label, rewrites in (("static", ()), ("static+rewrites", "all")):
        graph = tf.Graph()
        with graph.as_default():
            x = tf.placeholder(tf.float32, shape=(None, 1000))
            y = tf.placeholder(tf.float32, shape=(None, 10))
            v1, v2 = tf.Variable(p.w1), tf.Variable(p.w2)
            h_relu = tf.maximum(tf.matmul(x, v1), tf.zeros(1))
            loss = tf.reduce_sum((y - tf.matmul(h_relu, v2)) ** 2.0)
            g1, g2 = tf.gradients(loss, [v1, v2])
            fetches = [loss, v1.assign(v1 - 1e-6 * g1), v2.assign(v2 - 1e-6 * g2)]
            sess = tf.Session(graph, rewrites=rewrites)
            sess.run(tf.global_variables_initializer())
        feed = {x: p.x, y: p.y}
        rows[label] = (lambda s, f, d: lambda: s.run(f, d)[0])(sess, fetches, feed)
    return rows


def mlp_rows():
    x, y, params = make_data()
    ref, static, fast = NumpyMLP(params), StaticMLP(params), StaticMLP(params, "all")
    for _ in range(5):   # agree first: same losses and weights (float32 rounding apart)
        want = ref.step(x, y)
        np.testing.assert_allclose([static.step(x, y), fast.step(x, y)], [want, want], rtol=1e-5)
    for got, want in zip(static.weights(), ref.params):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    return {"numpy": lambda: ref.step(x, y), "static": lambda: static.step(x, y),
            "static+rewrites": lambda: fast.step(x, y)}


def measure(workload: str, steps: int = 300) -> dict:
    rows = seed_rows() if workload == "seed" else mlp_rows()
    names = list(rows)
    times = {k: [] for k in names}
    warm = max(20, steps // 10)
    for i in range(warm + steps):
        order = names[i % len(names):] + names[:i % len(names)]   # rotate the order every round
        for name in order:
            start = time.perf_counter()
            rows[name]()
            if i >= warm:
                times[name].append(time.perf_counter() - start)
    us = {k: float(np.median(v)) * 1e6 for k, v in times.items()}
    ratios = {k: float(np.median(np.array(times[k]) / np.array(times["numpy"]))) for k in names if k != "numpy"}
    return {"workload": workload, "steps": steps, "us": us, "ratio": ratios}


def main(argv=None) -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))   # bench_static's numpy seed step
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=("seed", "mlp"), action="append")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--threads", default="1", help="a number, or 'default'")
    args = parser.parse_args(argv)
    for workload in args.workload or ["seed", "mlp"]:
        if args.threads == "default":
            row = measure(workload, args.steps)
        else:
            from threadpoolctl import threadpool_limits
            with threadpool_limits(limits=int(args.threads)):
                row = measure(workload, args.steps)
        us, ratio = row["us"], row["ratio"]
        print(f"{workload:4s} threads={args.threads:7s} numpy {us['numpy']:7.1f} us  static {us['static']:7.1f} us "
              f"({ratio['static']:.3f}x)  static+rewrites {us['static+rewrites']:7.1f} us "
              f"({ratio['static+rewrites']:.3f}x)   [median of per-round ratios to numpy]", flush=True)


if __name__ == "__main__":
    main()
