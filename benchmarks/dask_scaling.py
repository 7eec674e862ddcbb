"""Dask data-parallel training on MNIST: 1 and 2 workers on a LocalCluster against local.

Measures, for the same network and seed:

- local SGD (adam): seconds per epoch, the communication share of a round (a round's
  wall time minus its busiest worker's step time, over the wall time), test accuracy
  and training log-loss after the same number of epochs as the local fit;
- lbfgs: seconds per full-batch evaluation (loss and gradient over all 60,000 rows),
  local and on the cluster.

Usage::

    python benchmarks/dask_scaling.py [--epochs 3] [--averaging-steps 16] [--json out.json]

The numbers come from one run on whatever machine runs it; on a shared machine they
are noisy.  Each worker is one single-threaded process (one BLAS thread); the local fit
runs with one BLAS thread too, so that 1 worker against local measures the overhead.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).parent))

from mnist import load_mnist  # noqa: E402

from lrnet import LRNClassifier  # noqa: E402
from lrnet.distributed import cluster, fit, local_sgd  # noqa: E402

HIDDEN = (100,)


def model(args, **kw) -> LRNClassifier:
    params = dict(
        hidden_layer_sizes=HIDDEN,
        solver="adam",
        random_state=0,
        max_iter=args.epochs,
        batch_size=200,
        averaging_steps=args.averaging_steps,
    )
    params.update(kw)
    return LRNClassifier(**params)


def scores(m, X, y, X_test, y_test) -> dict:
    from sklearn.metrics import log_loss

    return {
        "test_accuracy": float(m.score(X_test, y_test)),
        "train_log_loss": float(log_loss(y, m.predict_proba(X))),
        "seconds_per_epoch": float(np.mean([h["time"] for h in m.history_])),
    }


def capture_shards():
    """Wrap local_sgd.epoch so that the run's Shards (and their timings) can be read."""
    seen = {}
    original = local_sgd.epoch

    def epoch(run):
        seen["shards"] = run.source
        return original(run)

    fit.local_sgd.epoch = epoch
    return seen


def lbfgs_evaluations(X, y, n: int, client=None) -> float:
    """Seconds per full-batch evaluation: local, or over partitions on ``client``."""
    import dask.array as da

    from lrnet.distributed import data, lbfgs
    from lrnet.heads import head_for
    from lrnet.initializers import init_flat
    from lrnet.network import Layout, Net, full_batch_value_and_grad
    from lrnet.training import lbfgs_block_rows

    layout = Layout((X.shape[1], *HIDDEN, 10))
    net = Net(layout, "relu", "softmax")
    params = init_flat(layout, "relu", np.random.default_rng(0), X.dtype)
    grads = np.empty_like(params)
    if client is None:
        binarizer = data.fit_labels(data.dask_data(da.from_array(X), da.from_array(y)))
        Y = head_for(binarizer.y_type_).smooth(binarizer.transform(y).astype(X.dtype), 0.0)
        work = net.workspace(lbfgs_block_rows(X), X.dtype)
        block = np.empty_like(params)

        def evaluate():
            full_batch_value_and_grad(net, params, grads, X, Y, None, 1e-4, work, block)
    else:
        d = data.dask_data(*on_workers(client, X, y, 8))
        prepare = data.Prepare(data.fit_labels(d), X.dtype)
        workers = sorted(client.scheduler_info()["workers"])
        parts = fit._load_parts(client, d, prepare, workers)
        objective = lbfgs.objective(net, 1e-4, lbfgs.cluster_sums(client, net, parts))

        def evaluate():
            objective(params, grads)

    evaluate()  # warm-up: loads the partitions, compiles the kernels
    started = time.perf_counter()
    for _ in range(n):
        evaluate()
    return (time.perf_counter() - started) / n


def on_workers(client, X, y, n_parts: int):
    """X and y as dask arrays whose partitions were loaded once onto the workers."""
    import dask.array as da

    bounds = np.linspace(0, X.shape[0], n_parts + 1).astype(int)
    slices = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    xs = client.scatter([X[s] for s in slices])
    ys = client.scatter([y[s] for s in slices])
    Xd = da.concatenate(
        [
            da.from_delayed(f, (s.stop - s.start, X.shape[1]), X.dtype)
            for f, s in zip(xs, slices, strict=True)
        ]
    )
    yd = da.concatenate(
        [da.from_delayed(f, (s.stop - s.start,), y.dtype) for f, s in zip(ys, slices, strict=True)]
    )
    return Xd, yd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--averaging-steps", type=int, default=16)
    parser.add_argument("--evaluations", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    X, y, X_test, y_test = load_mnist()
    results = {"epochs": args.epochs, "averaging_steps": args.averaging_steps, "runs": {}}
    with threadpool_limits(1):
        local = model(args).fit(X, y)
        results["runs"]["local"] = scores(local, X, y, X_test, y_test)
        results["runs"]["local"]["lbfgs_seconds_per_evaluation"] = lbfgs_evaluations(
            X, y, args.evaluations
        )
    print("local", results["runs"]["local"], flush=True)
    seen = capture_shards()
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp, cluster.local_cluster(workers, tmp) as client:
            Xd, yd = on_workers(client, X, y, 8)
            m = model(args).fit(Xd, yd)
            run = scores(m, X, y, X_test, y_test)
            timings = np.asarray(seen["shards"].timings)
            wall, busy = timings.sum(axis=0)
            run["rounds"] = len(timings)
            run["seconds_per_round"] = float(wall / len(timings))
            run["communication_share"] = float(1.0 - busy / wall)
            run["lbfgs_seconds_per_evaluation"] = lbfgs_evaluations(X, y, args.evaluations, client)
            results["runs"][f"{workers}_workers"] = run
        print(f"{workers} worker(s)", run, flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
