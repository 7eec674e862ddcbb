"""``lrnet train DATA --stream``: train on a Parquet or CSV file larger than memory.

The run of :func:`lrnet.cli.train.run`, with the table read a row group at a time in
every pass (:mod:`lrnet.stream`) instead of loaded:

1. the columns are typed (numeric, categorical, dates, dropped) on up to
   :data:`PLAN_ROWS` rows of whole row groups drawn at random;
2. one pass fits the preprocessing (:mod:`lrnet.stream.stats`) and counts the labels;
   test and validation rows are held out by a seeded hash of the row number;
3. the network trains through the one training loop on a
   :class:`lrnet.stream.source.StreamSource` (lbfgs: one pass per evaluation), early
   stopping on the validation rows (held in memory when they fit in an eighth of
   ``--memory``, else streamed every epoch);
4. the test rows are scored in a last pass, and :func:`lrnet.cli.train.run` writes the
   model (the same format), the report and the metrics.

It is chosen automatically (with a note) when the table would not fit in ``--memory``
(default: a quarter of the RAM): see :func:`chosen`.
"""

from __future__ import annotations

import functools
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ..callbacks import EarlyStopping
from ..data.readers import COMPRESSIONS, DataError, file_kind
from ..errors import TrainingInterrupted
from ..holdout import make_validator
from ..metrics import classification_metrics
from ..progress import ProgressBar
from ..stream.progress import EpochSource, PassProgress
from . import defaults
from .common import choose_target, column_options, csv_options, note_header, target_labels
from .defaults import epochs_advice
from .display import Output, UsageError

#: rows (whole row groups drawn at random) on which the columns are typed
PLAN_ROWS = 100_000
#: with fewer row groups than this, the shuffle is mostly the buffer's (a note says so)
FEW_GROUPS = 100
#: at most this many test rows are scored (a uniform share of them beyond)
MAX_SCORED_ROWS = 1_000_000
#: the in-memory run needs about this many times the table's float64 size
IN_MEMORY_FACTOR = 2.0
#: a compressed text file holds about this many times its size in text
COMPRESSION_RATIO = 4.0


def default_memory() -> int:
    """A quarter of the machine's RAM."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def human(size: float) -> str:
    """``1.5 GB``: bytes in powers of 1024."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def in_memory_bytes(path) -> int:
    """About the memory the in-memory run needs for ``path`` (no pass over the data).

    Parquet: rows x columns x 8 bytes (the float64 table) from the file's metadata; text:
    the text's size (times :data:`COMPRESSION_RATIO` when compressed).  Both times
    :data:`IN_MEMORY_FACTOR` for the network's input and the copies of preprocessing.
    """
    if file_kind(path) == "parquet":
        import pyarrow.parquet as pq

        try:
            meta = pq.ParquetFile(path).metadata
        except Exception as err:  # pyarrow's errors have no common base with OSError
            raise DataError(f"{path}: not a valid Parquet file ({err}).") from None
        table = meta.num_rows * meta.num_columns * 8
    else:
        ratio = COMPRESSION_RATIO if Path(path).suffix.lower() in COMPRESSIONS else 1.0
        table = os.stat(path).st_size * ratio
    return int(table * IN_MEMORY_FACTOR)


def chosen(args, out: Output) -> bool:
    """Whether this run streams: ``--stream``, or a table too large for ``--memory``."""
    if args.stream is False or args.data is None:
        if args.stream and args.data is None:
            raise UsageError("--stream needs a DATA file (Parquet or CSV) to read in row groups.")
        return False
    args.memory = args.memory or default_memory()
    if args.stream:
        return True
    try:
        if file_kind(args.data) not in ("parquet", "csv") or not Path(args.data).is_file():
            return False  # the in-memory run says what is wrong with it
        need = in_memory_bytes(args.data)
    except (DataError, OSError):
        return False
    if need <= args.memory:
        return False
    out.note(
        f"{args.data} needs about {human(need)} in memory, more than --memory "
        f"{human(args.memory)}: streaming it in row groups (--stream; --no-stream loads it)."
    )
    args.stream = True
    return True


def check_options(
    args, flag: str = "--stream", instead: str = "train in memory with --no-stream"
) -> None:
    """Options ``--stream`` (or ``flag``) does not support, refused before any data is read."""
    refused = {
        "calibrate": "--calibrate",
        "resume": "--resume",
        "checkpoint_every": "--checkpoint-every",
    }
    for name, option in refused.items():
        if getattr(args, name):
            raise UsageError(f"{option} is not supported with {flag}. Drop {option}, or {instead}.")
    kind = file_kind(args.data)
    if kind not in ("parquet", "csv"):
        raise UsageError(
            f"--stream reads Parquet and CSV files (.parquet, .csv, .csv.gz), not {kind} "
            f"files such as {args.data}. Drop --stream, or convert the file to Parquet."
        )


def buffer_rows(args, n_fit: int, row_bytes: int, out: Output) -> int:
    """``--shuffle-buffer``, or the rows that fit in an eighth of ``--memory``.

    An eighth: the rest of ``--memory`` holds Python and the libraries (about 220 MiB),
    two decoded row groups with the preprocessing's copies, and the scored test rows.
    """
    budget = args.memory // 8
    if args.shuffle_buffer is None:
        rows = max(1, min(n_fit, budget // row_bytes))
        out.note(f"shuffle buffer: {rows:,} rows ({human(rows * row_bytes)}).")
        return rows
    if args.shuffle_buffer * row_bytes > args.memory // 2:
        raise UsageError(
            f"--shuffle-buffer {args.shuffle_buffer:,} rows of {row_bytes} bytes need "
            f"{human(args.shuffle_buffer * row_bytes)}, more than half of --memory "
            f"{human(args.memory)}. Use at most {args.memory // 2 // row_bytes:,} rows, or "
            "raise --memory."
        )
    return args.shuffle_buffer


def _release() -> None:
    """Give Arrow's free memory back to the system (RSS after a large read)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def fit_with_notes(fit, estimator, progress, out: Output):
    """Run ``fit()``; warnings become notes, as :func:`lrnet.cli.train.fit` does."""
    started = time.perf_counter()
    interrupted = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit()
        except TrainingInterrupted as err:
            interrupted = err
        finally:
            progress.close()
    for warning in caught:
        if issubclass(warning.category, RuntimeWarning):
            continue
        if interrupted is not None and str(warning.message) == str(interrupted):
            continue
        if issubclass(warning.category, ConvergenceWarning):
            stops = any(isinstance(cb, EarlyStopping) for cb in estimator.callbacks or ())
            out.note(epochs_advice(estimator.history_, estimator.max_iter, stops))
        else:
            out.note(str(warning.message).splitlines()[0])
    return time.perf_counter() - started, interrupted


def _classes(counts, target: str, source: str) -> tuple[np.ndarray, np.ndarray]:
    """The sorted classes of the training rows and their counts; two at least."""
    classes = np.array(sorted(counts))
    if len(classes) < 2:
        shown = classes[0].item() if len(classes) else None
        raise DataError(
            f"{source}: the target column {target!r} has only one class ({shown!r}) in the "
            "training rows; a classifier needs at least 2."
        )
    return classes, np.array([counts[c] for c in classes.tolist()], dtype=np.float64)


def _validation(rows, groups, encode, pre, source, n_val: int, memory: int):
    """``validation(net, head, classes) -> validate`` on the validation rows, or None."""
    from ..stream import fit as stream_fit
    from ..stream import split

    if n_val == 0:
        return None
    width = len(pre.feature_names_out)

    def blocks():
        for g in range(groups):
            yield from rows.pieces(g, (split.VALIDATION,), encode, pre, source)

    if n_val * (width + 2) * 4 <= memory // 8:  # read once, kept
        parts = [b for b in blocks() if b[0].shape[0]]
        X = np.concatenate([p[0] for p in parts])
        Y = np.concatenate([p[1] for p in parts])
        y = np.concatenate([p[3] for p in parts])

        def held(net, head, classes):
            return make_validator(net, head, classes, X, Y, y, None)

        return held

    def streamed(net, head, classes):
        return stream_fit.streamed_validator(net, head, classes, blocks)

    return streamed


def _score(estimator, rows, groups, pre, source, out: Output):
    """Labels and probabilities of the scored test rows, streamed group by group."""
    y, proba, unseen = rows.scores(range(groups), pre, estimator)
    return scored_or_refused(y, proba, unseen, source, out)


def scored_or_refused(y, proba, unseen: int, source: str, out: Output):
    """``(y, proba)`` of the scored rows; a note on unseen classes; no row is an error."""
    if unseen:
        out.note(
            f"{source}: {unseen} test row(s) with classes never seen in training are left out."
        )
    if not len(y):
        raise DataError(
            f"{source}: no test row has a class seen in training. Use more rows, or "
            "--test-fraction 0."
        )
    return y, proba


@dataclass
class Prepared:
    """What the statistics pass gives the fit: the rows, the preprocessing, the classes."""

    target: str
    rows: object  # lrnet.stream.rows.Rows
    pre: object  # lrnet.data.preprocessing.Preprocessor
    classes: np.ndarray
    counts: np.ndarray
    n_rows: tuple  # training, validation, test rows with a target
    order: list | None
    valid_frame: object


def _prepare(args, table, source: str, out: Output, scanner) -> Prepared:
    """Type the columns on a sample, hold rows out, fit the preprocessing in one pass.

    ``scanner(rows, plan) -> Scan`` makes the pass: :func:`_scan_here` for ``--stream``,
    the workers for ``--dask`` (:mod:`lrnet.cli.dask_table`).
    """
    from ..data.columns import plan_columns
    from ..stream import split
    from ..stream.rows import Rows, Split
    from ..stream.stats import fitted_preprocessor
    from .scoring import target_order
    from .train import note_dropped, validation_table

    sample = table.sample(PLAN_ROWS, np.random.default_rng([args.seed, 1]))
    note_header(sample, args, source, out)
    target = choose_target(sample, args.target, source, out)
    valid_frame = validation_table(args, target)
    args.early_stopping_auto = args.early_stopping is None
    defaults.resolve(args, round(table.n_rows * (1 - args.test_fraction)), out, search=False)
    if args.test_fraction == 0:
        out.note("--test-fraction 0: the metrics below are on the training data.")
    val_fraction = 0.0 if args.solver == "lbfgs" else args.validation_fraction
    how = Split(args.seed, args.test_fraction, val_fraction)
    rows = Rows(table, target, how, functools.partial(target_labels, source=source))
    options = column_options(args)
    plan = plan_columns(_fit_share(sample, target, how), target, source, options)
    order = target_order(sample[target])
    del sample
    _release()
    found = scanner(rows, plan)
    pre = fitted_preprocessor(found.stats, target, options, source)
    found.stats = None  # the median samples: freed before training
    note_dropped(pre.plan.dropped, out)
    for note in pre.plan.notes:
        out.note(note)
    if found.missing_target:
        out.note(f"dropped {found.missing_target} row(s) whose target {target!r} is missing.")
    n_rows = tuple(sum(found.labels[r].values()) for r in (0, 1, 2))
    out.note(
        f"held out by a hash of the row number: {n_rows[2]:,} test and {n_rows[1]:,} "
        f"validation rows; training on {n_rows[0]:,} rows."
    )
    fit_counts = found.labels[split.TRAIN] + found.labels[split.VALIDATION]
    classes, counts = _classes(fit_counts, target, source)
    return Prepared(target, rows, pre, classes, counts, n_rows, order, valid_frame)


def _fit_share(sample, target: str, how) -> object:
    """The sampled rows the columns are planned on: a target, and not a test row.

    As in memory, where the plan is made on the rows left after the test split: which
    columns are dates, IDs, categories or long-tailed never depends on a test row.
    (The sample's index holds the file's row numbers, which decide the split.)
    """
    from ..stream import split

    keep = sample[target].notna().to_numpy() & (how.roles(sample.index.to_numpy()) != split.TEST)
    return sample.loc[keep] if keep.any() else sample.loc[sample[target].notna()]


def _scan_here(rows, plan, seed: int, progress: PassProgress):
    """The statistics pass over the whole file, in this process."""
    from ..stream.rows import scan
    from ..stream.stats import TableStats

    progress.start("statistics")
    try:
        return scan(rows, TableStats(plan, np.random.default_rng([seed, 2])), progress.group)
    finally:
        progress.close()


def _shuffle_note(args, source: str, groups: int, buffer: int, n_train: int, out) -> None:
    if args.solver != "lbfgs" and buffer < n_train and groups < FEW_GROUPS:
        out.note(
            f"{source} has {groups} row group(s): each epoch shuffles their order and "
            f"mixes rows within the {buffer:,}-row buffer only. For a better shuffle, "
            "write the file with more, smaller row groups (e.g. 100,000 rows)."
        )


def _train(args, table, prep: Prepared, source: str, out: Output, progress: PassProgress):
    """Fit the network on the training rows: ``(estimator, seconds, interruption)``."""
    from ..stream import split
    from ..stream.fit import encoder, fit_stream, label_binarizer
    from ..stream.source import StreamSource
    from .train import make_estimator

    rows, pre, groups, n_train = prep.rows, prep.pre, table.n_groups, prep.n_rows[0]
    bar = ProgressBar(enabled=False if args.quiet else None)
    estimator = make_estimator(args, bar, out, hold_out=False)
    encode = encoder(label_binarizer(prep.classes), estimator.label_smoothing)
    width, n_out = len(pre.feature_names_out), encode(prep.classes[:1]).shape[1]

    def load(g):
        return (p[:3] for p in rows.pieces(g, (split.TRAIN,), encode, pre, source))

    lbfgs = args.solver == "lbfgs"
    buffer = 1 if lbfgs else buffer_rows(args, n_train, (width + n_out + 1) * 4, out)
    _shuffle_note(args, source, groups, buffer, n_train, out)
    stream = StreamSource(
        groups,
        load,
        n_train,
        args.batch_size,
        buffer,
        (width, n_out, False),
        on_group=progress.group,
    )
    passes = []

    def blocks():  # lbfgs: one pass over the training rows per evaluation
        passes.append(1)
        progress.start("lbfgs evaluation")
        try:
            for g in range(groups):
                yield from load(g)
                progress.group(g)
        finally:
            progress.close()

    objective = functools.partial(_objective, blocks=blocks) if lbfgs else None
    validation = _validation(rows, groups, encode, pre, source, prep.n_rows[1], args.memory)
    fit = functools.partial(
        fit_stream,
        estimator,
        EpochSource(stream, progress),
        prep.classes,
        prep.counts,
        width,
        validation,
        objective,
    )
    del stream  # the shuffle buffer lives in ``fit`` only: freed when it returns
    seconds, interrupted = fit_with_notes(fit, estimator, bar, out)
    read = n_train * (len(passes) if lbfgs else max(estimator.n_iter_, 1))
    unit = f"{len(passes)} evaluations" if lbfgs else "the epochs"
    out.note(
        f"trained in {seconds:.1f} s: {read:,} rows read in {unit} "
        f"({read / max(seconds, 1e-9):,.0f} rows/s)."
    )
    return estimator, seconds, interrupted


def _objective(net, alpha, blocks):
    from ..stream.fit import streamed_objective

    return streamed_objective(net, alpha, blocks)


def _scored_rows(args, table, prep: Prepared, out: Output):
    """The rows the metrics are on, at most :data:`MAX_SCORED_ROWS` (a uniform share).

    The test rows; every row with a target under ``--test-fraction 0``.
    """
    from ..stream.rows import Rows, Split

    how = prep.rows.how
    if args.test_fraction == 0:
        how, n = Split(args.seed, 1.0, 0.0), sum(prep.n_rows)
    else:
        n = prep.n_rows[2]
    if n > MAX_SCORED_ROWS:
        how = Split(how.seed, how.test_fraction, how.validation_fraction, MAX_SCORED_ROWS / n)
        out.note(f"the metrics are on a uniform sample of about {MAX_SCORED_ROWS:,} rows.")
    return Rows(table, prep.target, how, prep.rows.labels)


def train_and_score(args, out: Output):
    """Read in row groups, fit the preprocessing and the network, score: a ``Run``."""
    from ..stream.files import open_table

    check_options(args)
    source = str(args.data)
    with open_table(args.data, csv_options(args)) as table:
        out.note(
            f"streaming {source}: {table.n_rows:,} rows in {table.n_groups:,} row groups, "
            f"--memory {human(args.memory)}."
        )
        progress = PassProgress(not args.quiet, table.group_rows)
        scanner = functools.partial(_scan_here, seed=args.seed, progress=progress)
        prep = _prepare(args, table, source, out, scanner)
        estimator, seconds, interrupted = _train(args, table, prep, source, out, progress)
        scored = _scored_rows(args, table, prep, out)
        y_test, proba = _score(estimator, scored, table.n_groups, prep.pre, source, out)
        return scored_run(args, prep, estimator, seconds, interrupted, (y_test, proba), out)


def scored_run(args, prep: Prepared, estimator, seconds, interrupted, scored, out: Output):
    """The ``Run`` of a fit on a file read in row groups; ``scored``: ``(y, proba)``."""
    from .train import Run, validation_metrics

    source = str(args.data)
    priors = (prep.counts / prep.counts.sum()).tolist()
    metrics = classification_metrics(*scored, estimator.classes_, priors, prep.order)
    valid = validation_metrics(
        args, prep.valid_frame, prep.pre, estimator, prep.target, out, priors, prep.order
    )
    evaluated_on = "training data" if args.test_fraction == 0 else "test set"
    n_fit = prep.n_rows[0] + prep.n_rows[1]
    return Run(
        source,
        prep.target,
        prep.pre,
        estimator,
        seconds,
        n_fit,
        evaluated_on,
        metrics,
        valid,
        interrupted,
        None,
    )
