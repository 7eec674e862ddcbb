"""Dask: training on dask arrays, on a cluster or streamed chunk by chunk.

``LRNClassifier.fit(X, y)`` with a ``dask.array`` (or a numeric ``dask.dataframe``)
comes here (:func:`lrnet.distributed.fit.fit_dask`).  With a ``distributed.Client``
active (``distributed.get_client()``, the dask-ml convention) the fit is data-parallel:
the partitions stay on the workers, and only parameters and sums travel.

- ``solver='lbfgs'``: every evaluation is a map over the partitions, each returning its
  float64 sums of weighted loss, gradient and weight, and one reduce on the client in
  partition order (:mod:`.lbfgs`).  The same optimum as the local fit.
- ``sgd``, ``adam``, ``adamw``, ``lion``: local SGD with periodic averaging
  (:mod:`.local_sgd`): each worker takes ``averaging_steps`` minibatch steps on its
  shard, then the parameters and optimizer moments are averaged, weighted by rows.

Without a client the chunks are computed one at a time on this machine (out of core):
minibatches through :class:`lrnet.sources.DaskArraySource`, lbfgs as the same
partition sums, streamed.  :mod:`.cluster` starts and connects to clusters; the code
that runs inside worker tasks is in :mod:`.tasks`.

Dask is an optional dependency (``pip install 'lrnet[dask]'``): nothing here imports it
until a dask collection is passed.
"""

from __future__ import annotations

import sys

__all__ = ["is_dask_collection"]


def is_dask_collection(obj) -> bool:
    """Whether ``obj`` is a dask collection (array, dataframe, series), without importing dask.

    If dask was never imported, no dask collection can exist.
    """
    dask = sys.modules.get("dask")
    return dask is not None and dask.is_dask_collection(obj)
