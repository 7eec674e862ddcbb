"""A table file read by the Dask workers, row groups by row groups (``lrnet train --dask``).

The passes of ``--stream`` (:mod:`lrnet.stream`), each split into tasks over contiguous
blocks of row groups (:func:`blocks`) that the workers run where the file is:

- :func:`statistics`: the preprocessing statistics and label counts of a block (a
  :class:`~lrnet.stream.rows.Scan`); the client merges them in block order;
- :func:`load`: a block's rows of some roles as the network's input, ``(X, labels)``;
  the training blocks become the partitions of the distributed fit, recomputed from
  the file when a worker dies;
- :func:`score`: a block's scored test rows, ``(labels, probabilities, unseen)``.

Only statistics, parameters and predictions travel to the client, never the rows
(the validation rows excepted: early stopping scores them here).  Every worker must
see the file at the same path (a shared filesystem).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from ..stream.files import StreamTable
from ..stream.rows import Rows, Scan, Split, scan
from ..stream.stats import TableStats


@dataclass(frozen=True)
class TableRows:
    """What a task needs to read a role's rows: the file, the target and the split."""

    path: str
    source: str
    attrs: dict
    target: str
    how: Split
    labels: Callable

    def open(self) -> Rows:
        """The rows of the file, opened where the task runs."""
        try:
            table = StreamTable(self.path, self.source, self.attrs)
        except OSError as err:
            raise DataError(
                f"{self.source}: a Dask worker cannot read {self.path} ({err}). With --dask the "
                "workers read the file themselves: give a path that every worker sees (a "
                "shared filesystem), or use --dask local:N."
            ) from None
        return Rows(table, self.target, self.how, self.labels)


def blocks(group_rows, n_blocks: int) -> list[list[int]]:
    """Contiguous blocks of row groups, about equal in rows, at most ``n_blocks``."""
    rows = np.asarray(group_rows, dtype=np.float64)
    ends = np.cumsum(rows)
    total = ends[-1] if len(ends) else 0.0
    n = max(1, min(int(n_blocks), len(rows)))
    # the block of a group: where its middle row falls among n equal shares of the rows
    which = np.minimum((ends - rows / 2) * n // max(total, 1.0), n - 1).astype(int)
    return [np.flatnonzero(which == b).tolist() for b in range(n) if (which == b).any()]


def statistics(spec: TableRows, groups: list[int], plan, seed: int, block: int) -> Scan:
    """The statistics pass over ``groups`` (block ``block``: its own seeded median samples)."""
    stats = TableStats(plan, np.random.default_rng([seed, 2, block]))
    return scan(spec.open(), stats, groups=groups)


def merged(scans: list[Scan]) -> Scan:
    """The scans of disjoint blocks added up, in block order: the scan of all of them."""
    total = scans[0]
    for other in scans[1:]:
        total.merge(other)
    return total


def _no_target_matrix(labels):
    return None


def load(spec: TableRows, groups: list[int], pre, roles: tuple) -> tuple:
    """``(X, labels)`` of the rows of ``roles`` in ``groups`` (float32 X, file order)."""
    rows = spec.open()
    xs, ys = [], []
    for g in groups:
        for X, _, _, y in rows.pieces(g, roles, _no_target_matrix, pre, spec.source):
            xs.append(X)
            ys.append(y)
    if not xs:
        return np.empty((0, len(pre.feature_names_out)), np.float32), np.empty(0)
    # one float32 copy of the pieces, contiguous
    return np.concatenate(xs, dtype=np.float32), np.concatenate(ys)


def score(spec: TableRows, groups: list[int], shared) -> tuple:
    """``(labels, probabilities, unseen)`` of the scored test rows of ``groups``.

    ``shared``: ``(preprocessor, fitted estimator)``.
    """
    pre, estimator = shared
    return spec.open().scores(groups, pre, estimator)
