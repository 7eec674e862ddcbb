"""Where a training step's time goes: GEMMs against elementwise work, per kernel set.

One MNIST-sized step (784-256-128-10, relu, softmax, Adam, float32) is timed piece by
piece with the NumPy reference and the numba kernels, at the thread count given, and
the whole ``value_and_grad`` + update is timed too.  Usage::

    python benchmarks/kernel_profile.py --threads 2 --batch 128
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def best(fn, min_time=0.2, repeat=5):
    """Median-of-best: the fastest of ``repeat`` loops of at least ``min_time`` each, per call."""
    fn()
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t
        if dt > min_time / 5:
            break
        n *= 2
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t) / n)
    return min(times)


def measure(kernel_set: str, layout, X, Y, idx, m):
    """Per-piece timings (seconds) of one kernel set."""
    import numpy as np

    from lrnet.initializers import init_flat
    from lrnet.kernels import resolve
    from lrnet.network import Net, value_and_grad
    from lrnet.optim import adam

    units = layout.layer_units
    rng = np.random.default_rng(1)
    k = resolve(kernel_set)
    net = Net(layout, "relu", "softmax", k)
    params = init_flat(layout, "relu", np.random.default_rng(0), np.float32)
    grads = np.empty_like(params)
    work = net.workspace(m, np.float32)
    Xb, Yb = X[idx], Y[idx]
    opt = adam.adam(kernels=k)
    state = opt.init(params)
    Z = np.empty((m, units[1]), np.float32)
    b = params[-sum(units[1:]) :][: units[1]].copy()
    D = rng.standard_normal((m, units[1])).astype(np.float32)
    out = np.empty_like(Xb)
    logits = rng.standard_normal((m, units[-1])).astype(np.float32)
    fwd = k.layer_forward(net.act)
    bwd = k.layer_backward(net.act)

    def bias_act():
        if fwd is None:
            Z[...] += b
            net.act.forward(Z)
        else:
            fwd(Z, b)

    def deriv():
        if bwd is None:
            net.act.backward(Z, D)
        else:
            bwd(Z, D)

    def gather():
        if k.gather is None:
            np.take(X, idx, axis=0, out=out, mode="clip")
        else:
            k.gather(X, idx, out)

    def ce():
        net.cross_entropy(logits, Yb, None, work.deltas[-1], work.tmp, work.row, work.row2)

    def update():
        opt.update(params, grads, state, 1e-3)

    grads[...] = rng.standard_normal(grads.size).astype(np.float32) * 1e-3

    def step():
        value_and_grad(net, params, grads, Xb, Yb, None, 0.0, work)
        opt.update(params, grads, state, 1e-3)

    return {
        "adam update": best(update),
        f"bias+relu {m}x{units[1]}": best(bias_act),
        f"relu' x delta {m}x{units[1]}": best(deriv),
        f"softmax CE {m}x{units[-1]}": best(ce),
        f"gather {m}x{units[0]}": best(gather),
        "step (value_and_grad + adam)": best(step),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--units", default="784,256,128,10")
    args = p.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np
    from threadpoolctl import threadpool_limits

    from lrnet.network import Layout

    threadpool_limits(args.threads)
    units = tuple(int(u) for u in args.units.split(","))
    layout = Layout(units)
    rng = np.random.default_rng(0)
    m = args.batch
    X = rng.random((60000, units[0]), dtype=np.float32)
    Y = np.eye(units[-1], dtype=np.float32)[rng.integers(units[-1], size=60000)]
    idx = rng.permutation(60000)[:m]
    rows = [(name, measure(name, layout, X, Y, idx, m)) for name in ("numpy", "numba")]
    # the GEMMs alone: the step's eight products
    W = [
        rng.standard_normal((a, c)).astype(np.float32)
        for a, c in zip(units, units[1:], strict=False)
    ]
    A = [rng.standard_normal((m, u)).astype(np.float32) for u in units]

    def gemms():
        for i, w in enumerate(W):
            A[i] @ w  # forward
            A[i].T @ A[i + 1]  # weight gradient
            if i:
                A[i + 1] @ w.T  # delta

    g = best(gemms)
    print(f"threads={args.threads} batch={m} units={units}")
    names = list(rows[0][1])
    print(f"{'piece':34s} {'numpy us':>10s} {'numba us':>10s} {'ratio':>7s}")
    for key in names:
        a, c = rows[0][1][key] * 1e6, rows[1][1][key] * 1e6
        print(f"{key:34s} {a:10.1f} {c:10.1f} {a / c:7.2f}")
    print(f"{'the step GEMMs alone':34s} {g * 1e6:10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
