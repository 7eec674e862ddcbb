"""Helpers shared by the commands: reading options, target column, model inputs."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api import types

from ..data.columns import ColumnOptions, header_looks_like_data
from ..data.readers import CsvOptions, DataError, file_kind
from .display import Output, UsageError, UserError, listing

#: a float target with more distinct non-integer values than this looks like regression
MAX_FLOAT_CLASSES = 20
#: an integer target with more classes than this, and more than
#: :data:`MAX_CLASS_SHARE` of the rows, looks like regression (a price, a count)
MAX_INT_CLASSES = 50
MAX_CLASS_SHARE = 0.1


def csv_options(args, model=None) -> CsvOptions:
    """The ``--sep`` / ``--encoding`` / ``--decimal`` / ``--header`` options.

    ``--decimal`` and ``--header`` not given take the value ``model`` was trained with
    (recorded in its preprocessing), so predict reads a file as train did.
    """
    sep = args.sep
    if sep is not None:
        sep = {"tab": "\t", "\\t": "\t"}.get(sep, sep)
    pre = getattr(model, "preprocessor", None)
    reading = pre.plan.reading if pre is not None else {}
    decimal = getattr(args, "decimal", None) or reading.get("decimal")
    header = getattr(args, "header", None)
    header = reading.get("header", True) if header is None else header
    return CsvOptions(sep=sep, encoding=args.encoding, decimal=decimal, header=header)


def column_options(args) -> ColumnOptions:
    """How ``lrnet train`` reads columns: ``--decimal``, ``--no-dates``, ``--no-log``, ...."""
    options = csv_options(args)
    return ColumnOptions(
        decimal=options.decimal,
        dates=not args.no_dates,
        log=not args.no_log,
        max_categories=args.max_categories,
        header=options.header,
    )


def note_header(frame: pd.DataFrame, args, source: str, out: Output) -> None:
    """A note when the header line of a text file looks like a row of data."""
    if args.data is None or not csv_options(args).header or file_kind(args.data) != "csv":
        return
    why = header_looks_like_data(frame)
    if why:
        out.note(
            f"{source}: the first line may be data, not a header: {why}. If the file has "
            "no header line, pass --no-header (the columns are then col_0, col_1, ...)."
        )


def unknown_column(name: str, columns, source: str, what: str = "column") -> UserError:
    """An error naming the closest column and listing the others."""
    columns = [str(c) for c in columns]
    close = difflib.get_close_matches(name, columns, n=1, cutoff=0.5)
    if not close:
        lowered = {c.lower(): c for c in columns}
        close = [lowered[name.lower()]] if name.lower() in lowered else []
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return UserError(f"{source} has no {what} {name!r}.{hint} Columns: {listing(columns, 12)}.")


def choose_target(frame: pd.DataFrame, target: str | None, source: str, out: Output) -> str:
    """``target`` if the table has it; without one, the last column (with a note)."""
    if target is None:
        target = str(frame.columns[-1])
        out.note(f"no --target given: using the last column {target!r} as the target.")
    elif target not in frame.columns:
        raise unknown_column(target, frame.columns, source, "target column")
    if frame.shape[1] < 2:
        raise DataError(
            f"{source}: only one column ({target!r}); lrnet needs feature "
            "columns besides the target. Check the delimiter (--sep)."
        )
    return target


def target_labels(series: pd.Series, source: str) -> np.ndarray:
    """Class labels from a target column without missing values, with a plain dtype.

    Booleans stay ``bool``, integers (and floats that are all whole numbers, as a CSV
    column with gaps becomes) ``int64``, anything else ``str``.
    """
    name = series.name
    if types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=bool)
    if types.is_integer_dtype(series.dtype):
        return series.to_numpy(dtype=np.int64)
    if types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            raise DataError(
                f"{source}: target column {name!r} holds {int(bad.sum())} infinite value(s); "
                "class labels must be finite. Fix or drop those rows."
            )
        # whole numbers that int64 holds exactly; larger ones stay labels as text
        if np.all(values == np.round(values)) and np.abs(values).max() < 2**53:
            return values.astype(np.int64)
        n_distinct = len(np.unique(values))
        if n_distinct > MAX_FLOAT_CLASSES:
            raise DataError(
                f"{source}: target column {name!r} holds {n_distinct} distinct non-integer "
                "numbers; it looks like a regression target, and lrnet classifies. Choose "
                "a column of class labels with --target."
            )
    return series.astype(str).to_numpy(dtype=str)


def check_output_file(path: Path, option: str, inputs=()) -> None:
    """Refuse an output path we cannot or must not write, before any work.

    Its folder must exist and be writable; it must not be a folder, nor one of the
    input files (which writing would destroy).
    """
    if path.is_dir():
        raise UsageError(f"{option} {path}: this is a folder; give a file name.")
    if not path.parent.is_dir():
        raise UsageError(f"{option} {path}: the folder {path.parent} does not exist.")
    if not os.access(path.parent, os.W_OK):
        raise UsageError(f"{option} {path}: cannot write in the folder {path.parent}.")
    for source in inputs:
        if source is not None and Path(source).exists() and path.exists():
            if os.path.samefile(source, path):
                raise UsageError(
                    f"{option} {path}: this is an input file, and writing would destroy it. "
                    "Choose another name."
                )


def split_target(
    frame: pd.DataFrame, target: str, source: str, out: Output
) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows with a target value and their labels; rows without one are dropped (noted)."""
    present = frame[target].notna()
    if not present.any():
        raise DataError(f"{source}: the target column {target!r} is empty in every row.")
    missing = int((~present).sum())
    if missing:
        out.note(f"dropped {missing} row(s) whose target {target!r} is missing.")
        frame = frame.loc[present]  # the index keeps naming each row's line in the file
    return frame, target_labels(frame[target], source)


def check_classes(y: np.ndarray, target: str, source: str) -> None:
    """At least two classes, or a clear error."""
    classes = np.unique(y)
    if len(classes) == len(y) > 2:
        raise DataError(
            f"{source}: the target column {target!r} has a different value in each of its "
            f"{len(y)} rows, so no class could be learned: it looks like an ID, a date or free "
            "text. Choose the column of class labels with --target."
        )
    if len(classes) < 2:
        raise DataError(
            f"{source}: the target column {target!r} has only one class "
            f"({classes[0].item()!r}) in {len(y)} rows; a classifier needs at least 2."
        )
    if y.dtype.kind in "iu" and len(classes) > max(MAX_INT_CLASSES, MAX_CLASS_SHARE * len(y)):
        raise DataError(
            f"{source}: the target column {target!r} holds {len(classes):,} distinct integers "
            f"in {len(y):,} rows (more than {MAX_INT_CLASSES} classes, and more than "
            f"{MAX_CLASS_SHARE:.0%} of the rows): it looks like a regression target (a "
            "price, a count), and lrnet classifies. Choose a column of class labels with "
            "--target, or bin the values into classes first."
        )


def model_inputs(model, frame: pd.DataFrame, source: str, target: str | None) -> np.ndarray:
    """The network input for ``frame``: through the model's preprocessing if any."""
    if model.preprocessor is not None:
        return model.preprocessor.transform(frame, source)
    estimator = model.estimator
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        absent = [n for n in names if n not in frame.columns]
        if absent:
            raise DataError(
                f"{source}: missing {len(absent)} feature column(s) the model was "
                f"trained on: {listing(absent, 10)}."
            )
        frame = frame[list(names)]
    elif target is not None and target in frame.columns:
        frame = frame.drop(columns=[target])
    if frame.shape[1] != estimator.n_features_in_:
        raise DataError(
            f"{source}: {frame.shape[1]} feature columns, but the model expects "
            f"{estimator.n_features_in_} (it has no saved preprocessing)."
        )
    try:
        if names is not None:  # a frame, so that the names are checked without a warning
            return frame.astype(np.float32)
        return frame.to_numpy(dtype=np.float32)
    except (TypeError, ValueError):
        raise DataError(
            f"{source}: the model has no saved preprocessing, so every feature "
            "column must be numeric."
        ) from None


def note_columns(model, columns, source: str, out: Output, ignore=()) -> None:
    """Note the columns the model does not use (ignored), once per file."""
    if model.preprocessor is None or model.preprocessor.missing_columns(columns):
        return  # a missing column is an error, raised by the transform
    extra = [c for c in model.preprocessor.extra_columns(columns) if c not in ignore]
    dropped = set(model.preprocessor.plan.dropped)
    unused = [c for c in extra if c not in dropped]
    if unused:
        out.note(
            f"{source}: ignoring {len(unused)} column(s) the model does not use: {listing(unused)}."
        )


def model_target(model, override: str | None) -> str | None:
    """The target column: ``--target`` if given, else the one saved in the model."""
    if override:
        return override
    if model.preprocessor is not None:
        return model.preprocessor.target
    return model.metadata.get("target")
