"""Static graph vs the seed's hand-written numpy step, in one process, interleaved (A B A B ...).

    python benchmarks/bench_static.py                 # seed + wide, 1 thread and default threads
    python benchmarks/bench_static.py --workload seed --steps 500

Thread counts are set with threadpoolctl when it is installed; otherwise the 1-thread rows run in a
child process started with OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1.  Reports medians after warm-up
and the ratios static / numpy and static / (the five matmuls alone).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

import autotrain.engine.static as tf
from autotrain.training.data import make_problem

WORKLOADS = {"seed": ((64, 1000, 100, 10), 500, 1e-6), "wide": ((1024, 4096, 2048, 256), 10, 1e-9),
             "tiny": ((8, 16, 16, 4), 2000, 1e-3)}


def numpy_step(x, y, w1, w2, lr):
    """The seed's numpy program, one step (float32 arrays in, weights updated in place)."""
    h = x.dot(w1)
    h_relu = np.maximum(h, 0)
    y_pred = h_relu.dot(w2)
    loss = np.square(y_pred - y).sum()
    grad_y_pred = 2.0 * (y_pred - y)
    grad_w2 = h_relu.T.dot(grad_y_pred)
    grad_h_relu = grad_y_pred.dot(w2.T)
    grad_h = grad_h_relu.copy()
    grad_h[h < 0] = 0
    grad_w1 = x.T.dot(grad_h)
    w1 -= lr * grad_w1
    w2 -= lr * grad_w2
    return loss


def static_step(p, lr):
    """The seed's TF program: graph, session, initializer; returns the per-step callable."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, shape=(None, p.x.shape[1]))
        y = tf.placeholder(tf.float32, shape=(None, p.y.shape[1]))
        w1, w2 = tf.Variable(p.w1), tf.Variable(p.w2)
        h_relu = tf.maximum(tf.matmul(x, w1), tf.zeros(1))
        loss = tf.reduce_sum((y - tf.matmul(h_relu, w2)) ** 2.0)
        grad_w1, grad_w2 = tf.gradients(loss, [w1, w2])
        fetches = [loss, w1.assign(w1 - lr * grad_w1), w2.assign(w2 - lr * grad_w2)]
        sess = tf.Session(graph)
        sess.run(tf.global_variables_initializer())
    feed = {x: p.x, y: p.y}
    return lambda: sess.run(fetches, feed_dict=feed)[0]


def matmuls_step(p):
    """The five matmuls a step needs (no gradient for x), into preallocated buffers: the floor."""
    x, w1, w2 = p.x, p.w1.copy(), p.w2.copy()
    h = np.empty((x.shape[0], w1.shape[1]), np.float32)
    yp = np.empty((x.shape[0], w2.shape[1]), np.float32)
    gh, gw1, gw2 = np.empty_like(h), np.empty_like(w1), np.empty_like(w2)

    def step():
        np.matmul(x, w1, out=h)
        np.matmul(h, w2, out=yp)
        np.matmul(yp, w2.T, out=gh)
        np.matmul(h.T, yp, out=gw2)
        np.matmul(x.T, gh, out=gw1)
    return step


def measure(workload: str, steps: int | None = None) -> dict:
    sizes, default_steps, lr = WORKLOADS[workload]
    steps = steps or default_steps
    p = make_problem(*sizes, dtype="float32", seed=0)
    w1, w2 = p.w1.copy(), p.w2.copy()
    runners = {"numpy": lambda: numpy_step(p.x, p.y, w1, w2, lr), "static": static_step(p, lr),
               "matmuls": matmuls_step(p)}
    times = {k: [] for k in runners}
    warm = max(2, steps // 10)
    for i in range(warm + steps):
        for name, run in runners.items():   # interleaved: machine drift hits all three alike
            start = time.perf_counter()
            run()
            if i >= warm:
                times[name].append(time.perf_counter() - start)
    med = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
    return {"workload": workload, "steps": steps, "ms": med, "static/numpy": med["static"] / med["numpy"],
            "static/matmuls": med["static"] / med["matmuls"], "numpy/matmuls": med["numpy"] / med["matmuls"]}


def _limited(threads, fn):
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    with threadpool_limits(limits=threads):
        return fn()


def run_all(workloads, steps, threads_list) -> list[dict]:
    rows = []
    for threads in threads_list:
        for workload in workloads:
            if threads == "default":
                row = measure(workload, steps)
            else:
                row = _limited(int(threads), lambda: measure(workload, steps)) or _child(workload, steps, threads)
            rows.append({"threads": threads, **row})
            _print(rows[-1])
    return rows


def _child(workload, steps, threads) -> dict:
    """Without threadpoolctl: a child process with the BLAS thread count set in its environment."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    cmd = [sys.executable, __file__, "--workload", workload, "--json-only"] + (["--steps", str(steps)] if steps else [])
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _print(row) -> None:
    ms = row["ms"]
    print(f"{row['workload']:5s} threads={row['threads']!s:7s} numpy {ms['numpy']:9.4f} ms  static {ms['static']:9.4f} ms"
          f"  matmuls {ms['matmuls']:9.4f} ms   static/numpy {row['static/numpy']:.3f}"
          f"  static/matmuls {row['static/matmuls']:.3f}  numpy/matmuls {row['numpy/matmuls']:.3f}", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=sorted(WORKLOADS), action="append")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--threads", action="append", help="'default' or a number (repeatable)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--json-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    workloads = args.workload or ["seed", "wide"]
    if args.json_only:
        print(json.dumps(measure(workloads[0], args.steps)))
        return
    rows = run_all(workloads, args.steps, args.threads or ["1", "default"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
