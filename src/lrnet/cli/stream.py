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
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ..callbacks import EarlyStopping
from ..data.readers import COMPRESSIONS, DataError, file_kind
from ..errors import TrainingInterrupted
from ..holdout import make_validator
from ..metrics import classification_metrics
from ..progress import ProgressBar
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


def check_options(args) -> None:
    """Options ``--stream`` does not support, refused before any data is read."""
    refused = {
        "calibrate": "--calibrate",
        "resume": "--resume",
        "checkpoint_every": "--checkpoint-every",
    }
    for name, flag in refused.items():
        if getattr(args, name):
            raise UsageError(
                f"{flag} is not supported with --stream. Drop {flag}, or train in memory "
                "with --no-stream."
            )
    kind = file_kind(args.data)
    if kind not in ("parquet", "csv"):
        raise UsageError(
            f"--stream reads Parquet and CSV files (.parquet, .csv, .csv.gz), not {kind} "
            f"files such as {args.data}. Drop --stream, or convert the file to Parquet."
        )


class PassProgress:
    """A bar over the rows of each pass: rows/s and the time left (ETA), on stderr.

    Drawn only when stderr is a terminal and the run is not ``--quiet``; the ETA comes
    from the file's row count (Parquet metadata, or the rows of a CSV file's copy).
    """

    def __init__(self, enabled: bool, group_rows: np.ndarray):
        from rich.console import Console

        self.console = Console(stderr=True)
        self.enabled = enabled and self.console.is_terminal
        self.group_rows = group_rows
        self.progress = self.task = None
        self.started = self.done = 0

    def start(self, label: str) -> None:
        """Begin a pass over every row of the file."""
        if not self.enabled:
            return
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.close()
        self.progress = Progress(
            TextColumn(f"[bold blue]{label}"),
            BarColumn(),
            TextColumn("{task.completed:,.0f}/{task.total:,.0f} rows  {task.fields[rate]}"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.progress.start()
        total = float(self.group_rows.sum())
        self.task = self.progress.add_task(label, total=total, rate="")
        self.started, self.done = time.perf_counter(), 0

    def group(self, i: int) -> None:
        """A row group was read."""
        if self.progress is None:
            return
        self.done += int(self.group_rows[i])
        rate = self.done / max(time.perf_counter() - self.started, 1e-9)
        self.progress.update(self.task, advance=int(self.group_rows[i]), rate=f"{rate:,.0f} rows/s")

    def close(self) -> None:
        """Stop drawing; safe to call twice."""
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


class EpochSource:
    """A batch source that starts a progress pass at every epoch (same attributes)."""

    def __init__(self, source, progress: PassProgress):
        self.source, self.progress = source, progress
        self.n_samples, self.batch_size = source.n_samples, source.batch_size
        self.epochs = 0

    def epoch(self, rng):
        """The source's epoch, with its bar."""
        self.epochs += 1
        self.progress.start(f"epoch {self.epochs}")
        try:
            yield from self.source.epoch(rng)
        finally:
            self.progress.close()


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
    ys, probas, unseen = [], [], 0
    for g in range(groups):
        for frame, y in rows.test_frames(g):
            known = np.isin(y, estimator.classes_)
            unseen += int((~known).sum())
            if not known.all():
                frame, y = frame.loc[known], y[known]
            if len(y):
                ys.append(y)
                probas.append(estimator.predict_proba(pre.transform(frame, source)))
    if unseen:
        out.note(
            f"{source}: {unseen} test row(s) with classes never seen in training are left out."
        )
    if not ys:
        raise DataError(
            f"{source}: no test row has a class seen in training. Use more rows, or "
            "--test-fraction 0."
        )
    return np.concatenate(ys), np.concatenate(probas)


def train_and_score(args, out: Output):
    """Read in row groups, fit the preprocessing and the network, score: a ``Run``."""
    from ..stream import split
    from ..stream.files import open_table
    from ..stream.fit import encoder, fit_stream, label_binarizer, streamed_objective
    from ..stream.rows import Rows, Split, scan
    from ..stream.source import StreamSource
    from ..stream.stats import TableStats, fitted_preprocessor
    from .scoring import target_order
    from .train import Run, make_estimator, note_dropped, validation_metrics, validation_table

    check_options(args)
    source = str(args.data)
    with open_table(args.data, csv_options(args)) as table:
        out.note(
            f"streaming {source}: {table.n_rows:,} rows in {table.n_groups:,} row groups, "
            f"--memory {human(args.memory)}."
        )
        sample = table.sample(PLAN_ROWS, np.random.default_rng([args.seed, 1]))
        note_header(sample, args, source, out)
        target = choose_target(sample, args.target, source, out)
        valid_frame = validation_table(args, target)
        args.early_stopping_auto = args.early_stopping is None
        defaults.resolve(args, round(table.n_rows * (1 - args.test_fraction)), out)
        val_fraction = 0.0 if args.solver == "lbfgs" else args.validation_fraction
        if args.test_fraction == 0:
            out.note("--test-fraction 0: the metrics below are on the training data.")
        how = Split(args.seed, args.test_fraction, val_fraction)
        labels = lambda series: target_labels(series, source)  # noqa: E731
        rows = Rows(table, target, how, labels)
        from ..data.columns import plan_columns

        plan = plan_columns(
            sample.loc[sample[target].notna()], target, source, column_options(args)
        )
        order = target_order(sample[target])
        del sample
        _release()
        progress = PassProgress(not args.quiet, table.group_rows)
        progress.start("statistics")
        try:
            found = scan(
                rows, TableStats(plan, np.random.default_rng([args.seed, 2])), progress.group
            )
        finally:
            progress.close()
        pre = fitted_preprocessor(found.stats, target, column_options(args), source)
        found.stats = None  # the median samples: freed before training
        note_dropped(pre.plan.dropped, out)
        for note in pre.plan.notes:
            out.note(note)
        if found.missing_target:
            out.note(f"dropped {found.missing_target} row(s) whose target {target!r} is missing.")
        n_train, n_val, n_test = (sum(found.labels[r].values()) for r in (0, 1, 2))
        fit_counts = found.labels[split.TRAIN] + found.labels[split.VALIDATION]
        classes, counts = _classes(fit_counts, target, source)
        out.note(
            f"held out by a hash of the row number: {n_test:,} test and {n_val:,} validation "
            f"rows; training on {n_train:,} rows."
        )
        if n_test > MAX_SCORED_ROWS:
            how = Split(
                how.seed, how.test_fraction, how.validation_fraction, MAX_SCORED_ROWS / n_test
            )
            rows.how = how
            out.note(f"the metrics are on a uniform sample of about {MAX_SCORED_ROWS:,} test rows.")
        if args.test_fraction == 0:  # scored on the training rows
            rows_scored = Rows(table, target, Split(args.seed, 1.0, 0.0), labels)
        else:
            rows_scored = rows

        bar = ProgressBar(enabled=False if args.quiet else None)
        estimator = make_estimator(args, bar, out, hold_out=False)
        encode = encoder(label_binarizer(classes), estimator.label_smoothing)
        width = len(pre.feature_names_out)
        n_out = encode(classes[:1]).shape[1]
        groups = table.n_groups

        def load(g):
            return (p[:3] for p in rows.pieces(g, (split.TRAIN,), encode, pre, source))

        row_bytes = (width + n_out + 1) * 4
        buffer = buffer_rows(args, n_train, row_bytes, out) if args.solver != "lbfgs" else 1
        if args.solver != "lbfgs" and buffer < n_train and groups < FEW_GROUPS:
            out.note(
                f"{source} has {groups} row group(s): each epoch shuffles their order and "
                f"mixes rows within the {buffer:,}-row buffer only. For a better shuffle, "
                f"write the file with more, smaller row groups (e.g. 100,000 rows)."
            )
        stream = StreamSource(
            groups,
            load,
            n_train,
            args.batch_size,
            buffer,
            (width, n_out, False),
            on_group=progress.group,
        )
        objective, passes = None, []
        if args.solver == "lbfgs":

            def blocks():
                passes.append(1)
                progress.start("lbfgs evaluation")
                try:
                    for g in range(groups):
                        yield from load(g)
                        progress.group(g)
                finally:
                    progress.close()

            objective = lambda net, alpha: streamed_objective(net, alpha, blocks)  # noqa: E731
        validation = _validation(rows, groups, encode, pre, source, n_val, args.memory)
        fit = functools.partial(
            fit_stream,
            estimator,
            EpochSource(stream, progress),
            classes,
            counts,
            width,
            validation,
            objective,
        )
        del stream
        seconds, interrupted = fit_with_notes(
            fit,
            estimator,
            bar,
            out,
        )
        read = n_train * (len(passes) if passes else max(estimator.n_iter_, 1))
        unit = f"{len(passes)} evaluations" if passes else "the epochs"
        out.note(
            f"trained in {seconds:.1f} s: {read:,} rows read in {unit} "
            f"({read / max(seconds, 1e-9):,.0f} rows/s)."
        )
        del fit  # the shuffle buffer: freed before scoring
        y_test, proba = _score(estimator, rows_scored, groups, pre, source, out)
        priors = (counts / counts.sum()).tolist()
        metrics = classification_metrics(y_test, proba, estimator.classes_, priors, order)
        valid = validation_metrics(args, valid_frame, pre, estimator, target, out, priors, order)
    evaluated_on = "training data" if args.test_fraction == 0 else "test set"
    return Run(
        source,
        target,
        pre,
        estimator,
        seconds,
        n_train + n_val,
        evaluated_on,
        metrics,
        valid,
        interrupted,
        None,
    )
