"""``lrnet train FILE --dask ADDRESS``: the Dask workers read a Parquet or CSV file.

The run of ``--stream`` (:mod:`lrnet.cli.stream`), with each pass over the file split
into tasks over contiguous blocks of row groups that the workers run
(:mod:`lrnet.distributed.table`):

1. here: the file's metadata, and a sample of at most 100,000 rows to type the columns
   (as ``--stream``); a CSV file is first copied into a temporary Parquet file of
   50,000-row groups (here, so the workers of a remote cluster need a shared path);
2. the workers: the statistics pass, one task per block; the client merges the blocks'
   statistics in block order into the same preprocessing (exact means, scales and
   categories; medians from merged uniform samples);
3. the workers: each block's training rows (a seeded hash of the row number holds out
   the test and validation rows, as ``--stream``) become a partition of the distributed
   fit (:mod:`lrnet.distributed`), loaded where the task runs and recomputed from the
   file when a worker dies; the validation rows come here for early stopping;
4. the workers: the test rows are scored where they are read; their labels and
   probabilities come here for the metrics.

Blocks: :data:`BLOCKS_PER_WORKER` per worker, at most one per row group.
"""

from __future__ import annotations

import copy
import functools
import time

import numpy as np

from ..data.readers import file_kind
from ..progress import ProgressBar
from ..stream import split
from ..stream.files import STREAMED_KINDS
from . import refit, stream
from .common import csv_options
from .display import Output, UsageError, UserError

#: blocks of row groups per worker: partitions of the fit, tasks of each pass
BLOCKS_PER_WORKER = 2


def chosen(args) -> bool:
    """Whether the workers read the table: ``--dask`` with a Parquet or CSV file."""
    return bool(args.dask) and args.data is not None and file_kind(args.data) in STREAMED_KINDS


def _spec(rows, table):
    from ..distributed.table import TableRows

    return TableRows(str(table.path), table.source, table.attrs, rows.target, rows.how, rows.labels)


def _round(client, payload, task, spec, blocks, what: str, extra=lambda block: ()) -> list:
    """``task(spec, groups, payload, *extra(block))`` of every block on the workers, in order.

    ``payload`` travels once, as a scattered future (``cluster.compute_round``).
    """
    from ..distributed import cluster

    def submit(shared):
        return [
            client.submit(task, spec, groups, shared, *extra(b), pure=False)
            for b, groups in enumerate(blocks)
        ]

    return cluster.compute_round(client, payload, submit, what)


def _statistics(spec_of, client, blocks, seed: int, found: dict, out: Output):
    """The scanner of :func:`lrnet.cli.stream._prepare`: the statistics pass on the workers."""
    from ..distributed import table as worker

    def scanner(rows, plan):
        started = time.perf_counter()
        what = "the statistics pass"
        scans = _round(client, plan, worker.statistics, spec_of(rows), blocks, what, _seeded(seed))
        found["rows"] = [(s.rows(split.TRAIN), s.rows(split.VALIDATION)) for s in scans]
        out.note(
            f"statistics pass on the workers: {len(scans)} block(s), "
            f"{time.perf_counter() - started:.1f} s."
        )
        return worker.merged(scans)

    return scanner


def _seeded(seed: int):
    """The statistics task's extra arguments: the seed and the block's number."""
    return lambda block: (seed, block)


def _partitions(client, spec, blocks, counts, pre, classes):
    """The training rows as dask arrays persisted on the workers, a partition per block."""
    import dask
    import dask.array as da

    from ..distributed import table as worker

    # in the graph, not scattered: a partition lost with its worker is recomputed from the
    # file and this, which no worker's death can lose (one key for every partition)
    shared = dask.delayed(pre, pure=True, traverse=False)
    width = len(pre.feature_names_out)
    xs, ys = [], []
    for groups, n in zip(blocks, counts, strict=True):
        if n == 0:
            continue
        part = dask.delayed(worker.load, pure=True)(spec, groups, shared, (split.TRAIN,))
        xs.append(da.from_delayed(part[0], (n, width), np.float32))
        ys.append(da.from_delayed(part[1], (n,), classes.dtype))
    # loaded once, kept on the workers (and recomputed from the file if one dies)
    X, y = client.persist([da.concatenate(xs), da.concatenate(ys)])
    return X, y


def _validation(args, client, spec, blocks, pre, n_val: int) -> dict:
    """``X_val``/``y_val`` for early stopping, read by the workers; bounded in size."""
    from ..distributed import table as worker

    if n_val == 0:
        return {}
    width = len(pre.feature_names_out)
    size, budget = n_val * (width + 2) * 4, (args.memory or stream.default_memory()) // 8
    if size > budget:
        raise UsageError(
            f"--dask: the {n_val:,} validation rows need {stream.human(size)} here, more than "
            f"an eighth of --memory ({stream.human(budget)}). Use a smaller "
            "--validation-fraction, or raise --memory."
        )
    roles = (split.VALIDATION,)
    parts = _round(
        client, pre, worker.load, spec, blocks, "the validation rows", lambda b: (roles,)
    )
    return {
        "X_val": np.concatenate([p[0] for p in parts]),
        "y_val": np.concatenate([p[1] for p in parts if len(p[1])]),
    }


def _train(args, client, spec, blocks, prep, counts, out: Output):
    """Fit on the workers' partitions: ``(estimator, seconds, interruption)``."""
    from ..distributed import cluster
    from .train import make_estimator

    bar = ProgressBar(enabled=False if args.quiet else None)
    estimator = make_estimator(args, bar, out, hold_out=False)
    validation = _validation(args, client, spec, blocks, prep.pre, prep.n_rows[1])
    data = list(_partitions(client, spec, blocks, counts, prep.pre, prep.classes))

    def fit():
        with client.as_current():
            estimator.fit(*data, **validation)

    try:
        seconds, interrupted = stream.fit_with_notes(fit, estimator, bar, out)
    except cluster.ClusterError as err:
        raise UserError(str(err)) from None
    data.clear()  # the workers free the partitions when no future refers to them
    return estimator, seconds, interrupted


def _score(client, spec, blocks, pre, estimator, out: Output):
    """Labels and probabilities of the scored test rows, predicted by the workers."""
    from ..distributed import table as worker

    model = copy.copy(estimator)
    model.callbacks = None  # the progress display stays here
    parts = _round(client, (pre, model), worker.score, spec, blocks, "the test rows")
    y = np.concatenate([p[0] for p in parts])
    proba = np.concatenate([p[1] for p in parts])
    unseen = sum(p[2] for p in parts)
    return stream.scored_or_refused(y, proba, unseen, spec.source, out)


def train_and_score(args, out: Output):
    """Type the columns here; statistics, training and scoring on the workers: a ``Run``."""
    from ..stream.files import open_table
    from .dask_ import session

    stream.check_options(args, "--dask on a file", "drop --dask")
    source = str(args.data)
    # the cluster first: an unreachable scheduler is said before a CSV file is copied
    with session(args.dask) as client, open_table(args.data, csv_options(args)) as table:
        workers = max(1, len(client.scheduler_info()["workers"]))
        blocks = worker_blocks(table, workers)
        out.note(
            f"training on the Dask cluster {args.dask}: its {workers} worker(s) read "
            f"{source} ({table.n_rows:,} rows, {table.n_groups:,} row group(s)) in "
            f"{len(blocks)} block(s)."
        )
        found: dict = {}
        spec_of = functools.partial(_spec, table=table)
        scanner = _statistics(spec_of, client, blocks, args.seed, found, out)
        prep = stream._prepare(args, table, source, out, scanner)
        counts = [n_train for n_train, _ in found["rows"]]
        spec = spec_of(prep.rows)
        estimator, seconds, interrupted = _train(args, client, spec, blocks, prep, counts, out)
        scored = spec_of(stream._scored_rows(args, table, prep, out))
        y_test, proba = _score(client, scored, blocks, prep.pre, estimator, out)
    if args.refit:
        out.note(refit.skipped(args, interrupted is not None, True))
    return stream.scored_run(args, prep, estimator, seconds, interrupted, (y_test, proba), out)


def worker_blocks(table, workers: int) -> list[list[int]]:
    """The blocks of row groups of ``table`` for ``workers`` workers."""
    from ..distributed.table import blocks

    return blocks(table.group_rows, BLOCKS_PER_WORKER * workers)
