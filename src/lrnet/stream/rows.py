"""The rows of a streamed table by role, and the statistics pass over them.

:class:`Rows` reads a row group of a :class:`~.files.StreamTable` and keeps the rows of
one role (training, validation, test: :mod:`.split`) whose target is present, with
their labels.  :func:`scan` is the first pass: the preprocessing statistics of the
training and validation rows (the in-memory run fits its preprocessing on both) and
the label counts of every role.  :meth:`Rows.prepared` turns a group into the network's
arrays with a fitted preprocessing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.transform import read_values
from . import split
from .files import StreamTable
from .stats import TableStats


@dataclass(frozen=True)
class Split:
    """How rows are held out: see :mod:`.split`."""

    seed: int
    test_fraction: float
    validation_fraction: float
    #: the share of the test rows scored (1: all)
    scored_share: float = 1.0

    def roles(self, rows: np.ndarray) -> np.ndarray:
        """The role of each row number."""
        return split.roles(rows, self.seed, self.test_fraction, self.validation_fraction)


class Rows:
    """Rows of one role with a target value, group by group.

    Parameters
    ----------
    table : StreamTable
        The file.
    target : str
        The target column.
    how : Split
        Which rows are held out.
    labels : callable
        ``labels(series) -> array``: class labels of the target's present values (the
        CLI's ``target_labels``).
    """

    def __init__(self, table: StreamTable, target: str, how: Split, labels: Callable):
        self.table, self.target, self.how, self.labels = table, target, how, labels

    def frames(self, group: int, roles) -> Iterator[tuple[pd.DataFrame, np.ndarray, np.ndarray]]:
        """``(frame, labels, role of each row)`` of the rows of ``roles`` in ``group``."""
        for frame in self.table.read_group(group):
            role = self.how.roles(frame.index.to_numpy())
            keep = np.isin(role, roles) & frame[self.target].notna().to_numpy()
            if not keep.all():
                frame, role = frame.loc[keep], role[keep]
            if len(frame):
                yield frame, self.labels(frame[self.target]), role

    def test_frames(self, group: int):
        """The scored test rows of ``group``: all of them, or a uniform share."""
        for frame, y, _ in self.frames(group, (split.TEST,)):
            if self.how.scored_share < 1.0:
                keep = split.scored(
                    frame.index.to_numpy(),
                    self.how.seed,
                    self.how.test_fraction,
                    self.how.scored_share,
                )
                frame, y = frame.loc[keep], y[keep]
            if len(frame):
                yield frame, y

    def scores(self, groups, preprocessor, estimator) -> tuple:
        """``(labels, probabilities, unseen)`` of the scored test rows of ``groups``.

        Rows of a class the model never saw are counted in ``unseen`` and left out.
        """
        ys, probas, unseen = [], [], 0
        for g in groups:
            for frame, y in self.test_frames(g):
                known = np.isin(y, estimator.classes_)
                unseen += int((~known).sum())
                if not known.all():
                    frame, y = frame.loc[known], y[known]
                if len(y):
                    ys.append(y)
                    X = preprocessor.transform(frame, self.table.source)
                    probas.append(estimator.predict_proba(X))
        if not ys:
            return np.empty(0), np.empty((0, len(estimator.classes_))), unseen
        return np.concatenate(ys), np.concatenate(probas), unseen

    def pieces(self, group: int, roles, encode: Callable, preprocessor, source: str):
        """``(X, Y, None, labels)`` of the rows of ``roles`` in ``group``, batch by batch.

        ``encode(labels) -> Y`` builds the target matrix.  Memory holds one decoded
        batch (:data:`~.files.BATCH_ROWS` rows), never the whole row group.
        """
        for frame, y, _ in self.frames(group, roles):
            yield preprocessor.transform(frame, source), encode(y), None, y

    def prepared(self, group: int, roles, encode: Callable, preprocessor, source: str):
        """The :meth:`pieces` of ``group`` in one ``(X, Y, None, labels)`` (maybe no rows)."""
        parts = [
            (X, Y, y) for X, Y, _, y in self.pieces(group, roles, encode, preprocessor, source)
        ]
        if not parts:
            width = len(preprocessor.feature_names_out)
            X = np.empty((0, width), np.float32)
            return X, np.empty((0, 0), np.float32), None, np.empty(0)
        if len(parts) == 1:
            X, Y, y = parts[0]
            return X, Y, None, y
        X, Y, y = (np.concatenate([p[k] for p in parts]) for k in range(3))
        return X, Y, None, y


@dataclass
class Scan:
    """What the first pass found: feature statistics and label counts per role."""

    stats: TableStats
    labels: dict  # role -> Counter of labels
    missing_target: int
    order: list | None = None  # the target's categories when it is an ordered categorical

    def merge(self, other: Scan) -> None:
        """Add what a pass over other row groups found (their statistics and labels)."""
        self.stats.merge(other.stats)
        for role, counts in other.labels.items():
            self.labels[role].update(counts)
        self.missing_target += other.missing_target

    def rows(self, role: int) -> int:
        """The rows of ``role`` (with a target) that the pass saw."""
        return sum(self.labels[role].values())


def scan(
    rows: Rows,
    stats: TableStats,
    on_group: Callable[[int], None] | None = None,
    groups: Iterable[int] | None = None,
) -> Scan:
    """One pass: statistics of the training and validation rows, labels of every role.

    ``groups``: the row groups to read (default: all); :meth:`Scan.merge` adds up the
    scans of disjoint groups.
    """
    counts = {r: Counter() for r in (split.TRAIN, split.VALIDATION, split.TEST)}
    missing = 0
    source, plan = rows.table.source, stats.plan
    fit_roles = (split.TRAIN, split.VALIDATION)
    for group in range(rows.table.n_groups) if groups is None else groups:
        for frame in rows.table.read_group(group):
            present = frame[rows.target].notna().to_numpy()
            missing += int((~present).sum())
            if not present.all():
                frame = frame.loc[present]
            if not len(frame):
                continue
            role = rows.how.roles(frame.index.to_numpy())
            y = rows.labels(frame[rows.target])
            for r in counts:
                values, n = np.unique(y[role == r], return_counts=True)
                counts[r].update(dict(zip(values.tolist(), n.tolist(), strict=True)))
            fit = np.isin(role, fit_roles)
            if fit.any():
                part = frame.loc[fit] if not fit.all() else frame
                stats.update(read_values(part, plan, source), source)
        if on_group is not None:
            on_group(group)
    return Scan(stats, counts, missing)
