"""``lrnet train --dask``: fit on a Dask cluster, a remote scheduler or ``local:N``.

A Parquet or CSV file is read by the workers themselves (:mod:`lrnet.cli.dask_table`).
Other data (the bundled digits, Excel, JSON) is read and preprocessed here, as without
``--dask``; the training rows are then scattered once to the workers, in one partition
per worker, and the fit runs data-parallel there (:mod:`lrnet.distributed`): lbfgs
exact, the stochastic solvers by local SGD with averaging.  ``local:N`` starts N
single-threaded worker processes on 127.0.0.1 and stops them at the end, also on errors
and Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import re

import numpy as np

from .display import UserError

_LOCAL = re.compile(r"local:(\d+)")


def check_address(text: str) -> str:
    """``local:N`` (N >= 1) or a scheduler address (the ``--dask`` option's type)."""
    local = _LOCAL.fullmatch(text)
    if local is not None and int(local.group(1)) >= 1:
        return text
    if local is None and re.fullmatch(r"(tcp|tls|ucx|inproc)://\S+|[\w.-]+:\d+", text):
        return text
    raise argparse.ArgumentTypeError(
        f"expected local:N (N worker processes here, N >= 1) or a scheduler address such "
        f"as tcp://host:8786, got {text!r}"
    )


@contextlib.contextmanager
def session(address: str):
    """A client of ``address`` (``local:N``: a fresh local cluster), closed at the end."""
    from lrnet.distributed import cluster

    local = _LOCAL.fullmatch(address)
    try:
        if local is not None:
            with cluster.local_cluster(int(local.group(1))) as client:
                yield client
            return
        client = cluster.connect(address)
    except cluster.ClusterError as err:
        raise UserError(str(err)) from None
    try:
        cluster.prepare_workers(client)
        yield client
    finally:
        client.close()


def scatter_rows(client, X, y, n_parts: int):
    """``X`` and ``y`` as dask arrays whose partitions were sent once to the workers."""
    import dask.array as da

    bounds = np.linspace(0, X.shape[0], n_parts + 1).astype(int)
    rows = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
    xs = client.scatter([X[r] for r in rows])
    ys = client.scatter([np.asarray(y)[r] for r in rows])
    shape = X.shape[1]
    Xd = da.concatenate(
        [
            da.from_delayed(f, (r.stop - r.start, shape), X.dtype)
            for f, r in zip(xs, rows, strict=True)
        ]
    )
    yd = da.concatenate(
        [
            da.from_delayed(f, (r.stop - r.start,), np.asarray(y).dtype)
            for f, r in zip(ys, rows, strict=True)
        ]
    )
    return Xd, yd


def fit(estimator, X, y, address: str, validation: dict | None) -> None:
    """Fit ``estimator`` on the cluster of ``address``.

    Callbacks that need validation data get a stratified ``validation_fraction`` held
    out here (seeded by ``random_state``), as the in-memory fit holds it out itself.
    """
    from lrnet.distributed import cluster

    if validation is None and any(
        getattr(cb, "requires_validation", False) for cb in estimator.callbacks or ()
    ):
        from sklearn.model_selection import train_test_split

        X, X_val, y, y_val = train_test_split(
            X,
            y,
            test_size=estimator.validation_fraction,
            stratify=y,
            random_state=estimator.random_state,
        )
        validation = {"X_val": X_val, "y_val": y_val}
    with session(address) as client:
        n_parts = max(1, len(client.scheduler_info()["workers"]))
        Xd, yd = scatter_rows(client, X, y, n_parts)
        try:
            with client.as_current():
                estimator.fit(Xd, yd, **(validation or {}))
        except cluster.ClusterError as err:
            raise UserError(str(err)) from None
