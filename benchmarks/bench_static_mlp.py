"""The ``mlp`` workload as a TF1 static graph vs the same step written by hand in numpy, interleaved.

    python benchmarks/bench_static_mlp.py                # 1 thread, 300 steps after warm-up
    python benchmarks/bench_static_mlp.py --steps 1000 --rewrites all

Model: Dense 64 -> 128 -> 128 -> 10 with ReLU, softmax cross-entropy (mean over the batch), TF1's
AdamOptimizer (lr 1e-3), batch 32, float32, fed through placeholders.  The numpy row is what a
competent user writes for the same step: forward, backward by hand, TF1's Adam update in place.
Both rows start from the same weights and are checked to agree before timing.  Reports medians and
the ratio static / numpy.  (The ``bench`` suite owns the workload table; this is the static side's
timing script and the reference implementation it can import.)
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


def measure(steps: int = 300, rewrites=()) -> dict:
    x, y, params = make_data()
    ref, static = NumpyMLP(params), StaticMLP(params, rewrites)
    for _ in range(5):   # agree first: same losses and weights (float32 rounding apart)
        np.testing.assert_allclose(static.step(x, y), ref.step(x, y), rtol=1e-5)
    for got, want in zip(static.weights(), ref.params):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    rows = {"numpy": lambda: ref.step(x, y), "static": lambda: static.step(x, y)}
    times = {k: [] for k in rows}
    warm = max(20, steps // 10)
    for i in range(warm + steps):
        order = list(rows.items()) if i % 2 else list(rows.items())[::-1]   # rotate: A B, B A, ...
        for name, run in order:
            start = time.perf_counter()
            run()
            if i >= warm:
                times[name].append(time.perf_counter() - start)
    us = {k: float(np.median(v)) * 1e6 for k, v in times.items()}
    ratios = np.array(times["static"]) / np.array(times["numpy"])
    return {"steps": steps, "us": us, "static/numpy": us["static"] / us["numpy"],
            "median of per-step ratios": float(np.median(ratios))}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--threads", default="1", help="a number, or 'default'")
    parser.add_argument("--rewrites", default="", help="opt-in compiler rewrites: 'all' or comma-separated names")
    args = parser.parse_args(argv)
    rewrites = "all" if args.rewrites == "all" else tuple(n for n in args.rewrites.split(",") if n)
    if args.threads == "default":
        row = measure(args.steps, rewrites)
    else:
        from threadpoolctl import threadpool_limits
        with threadpool_limits(limits=int(args.threads)):
            row = measure(args.steps, rewrites)
    us = row["us"]
    print(f"mlp threads={args.threads} numpy {us['numpy']:8.1f} us  static {us['static']:8.1f} us  "
          f"static/numpy {row['static/numpy']:.3f} (median of per-step ratios {row['median of per-step ratios']:.3f})")


if __name__ == "__main__":
    main()
