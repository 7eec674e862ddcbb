"""Predictions on dask collections: lazy, one task per block of rows.

``LRNClassifier.predict``, ``predict_proba``, ``predict_log_proba`` and
``decision_function`` on a ``dask.array`` (or a numeric ``dask.dataframe``) return a
``dask.array`` with the input's row chunks, as dask-ml's ``ParallelPostFit`` does: the
rows are never gathered on the client, and ``.compute()`` (or ``.to_zarr``, ...) runs
the blocks where they live.  The columns are one chunk (rechunked if needed).  The
shape and dtype of the output come from the same method on one row of zeros, so
nothing is computed until asked.  The fitted estimator travels inside the task graph:
one copy per graph, the size of its weights.
"""

from __future__ import annotations

import numpy as np


def as_dask_array(X):
    """``X`` as a dask array with known row chunks and one column chunk."""
    if hasattr(X, "to_dask_array"):  # a dask dataframe: its partitions' lengths computed
        X = X.to_dask_array(lengths=True)
    if X.ndim != 2:
        raise ValueError(
            f"expected a 2-d dask array of shape (n_samples, n_features), got {X.ndim} "
            "dimension(s); reshape it, e.g. X.reshape(-1, 1) for one feature."
        )
    return X.rechunk({1: -1}) if len(X.chunks[1]) > 1 else X


def map_rows(method, X):
    """``method`` (a bound prediction method) applied to every block of rows of ``X``."""
    X = as_dask_array(X)
    sample = method(np.zeros((1, X.shape[1]), dtype=X.dtype))
    if sample.ndim == 1:
        return X.map_blocks(method, drop_axis=1, dtype=sample.dtype, meta=sample[:0])
    return X.map_blocks(
        method, chunks=(X.chunks[0], (sample.shape[1],)), dtype=sample.dtype, meta=sample[:0]
    )
