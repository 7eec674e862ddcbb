"""Assemble a table from chunks in compact dtypes, in about the memory of the result.

``lrnet train`` reads its table this way (:func:`lrnet.data.readers.read_table` with
``compact=True``): each chunk is shrunk as it arrives and the columns are joined one at
a time, so the peak is the compact table plus one column and one chunk, never the
float64 table, nor pandas' whole-file token buffer.

- float64 columns become float32 when that keeps their values (whole numbers below
  2**24, halves, ...) or changes them by less than ``2**-16`` of their spread: the
  network reads float32 anyway, and a value rounded to float32 keeps ~7 digits, so a
  column such as Unix seconds over a few minutes (large values, a small spread) stays
  float64.  Values beyond float32's range stay float64 too.
- integer columns take the smallest integer type that holds each chunk (joined chunks
  take the widest); the values are unchanged.
- Text and other columns are joined as they are.  A column that is numbers in some
  chunks and text in others is read again as text, as a whole-file read gives it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
from pandas.api import types

#: a float32 value may differ from the float64 one by this fraction of the chunk's spread
MAX_ROUNDING = 2.0**-16
#: float32's rounding, relative to the value
FLOAT32_EPS = float(np.finfo(np.float32).eps)
#: beyond this a value stays float64 (float32 overflows at 3.4e38)
FLOAT32_SAFE = 1e37
INT_TYPES = (np.int8, np.int16, np.int32)
#: ``frame.attrs`` key of the readers: at most this many rows in the file
ROWS_AT_MOST = "lrnet_rows_at_most"


def compact_floats(values: np.ndarray) -> np.ndarray:
    """``values`` (float64) as float32 when that keeps them, else a float64 copy.

    Always a new array: a view would keep the chunk's whole float64 block alive.
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return values.astype(np.float32)  # NaN and infinities are exact in float32
    largest = float(np.abs(finite).max())
    if largest > FLOAT32_SAFE:
        return values.copy()
    small = values.astype(np.float32)
    if np.array_equal(small, values, equal_nan=True):
        return small
    if largest * FLOAT32_EPS <= MAX_ROUNDING * float(finite.std()):
        return small
    return values.copy()


def compact_ints(values: np.ndarray) -> np.ndarray:
    """``values`` (int64) in the smallest signed type that holds them; always a new array."""
    if values.size == 0:
        return values.copy()
    low, high = int(values.min()), int(values.max())
    for kind in INT_TYPES:
        info = np.iinfo(kind)
        if info.min <= low and high <= info.max:
            return values.astype(kind)
    return values.copy()


def compact_column(series: pd.Series):
    """One chunk's column in its compact form: an array, or the series itself."""
    dtype = series.dtype
    if dtype == np.float64:
        return compact_floats(series.to_numpy())
    if types.is_integer_dtype(dtype) and isinstance(dtype, np.dtype) and dtype.kind == "i":
        return compact_ints(series.to_numpy())
    return series


def _is_number_array(piece) -> bool:
    return isinstance(piece, np.ndarray) and piece.dtype.kind in "iuf"


def _join(pieces: list, name: str, reread: Callable[[str], pd.Series] | None):
    """The column from its chunks: one array, or a series when it holds text."""
    if all(_is_number_array(p) for p in pieces):
        return np.concatenate(pieces) if len(pieces) > 1 else pieces[0]
    if any(_is_number_array(p) for p in pieces) and reread is not None:
        return reread(name)  # numbers in some chunks, text in others
    series = [p if isinstance(p, pd.Series) else pd.Series(p) for p in pieces]
    joined = pd.concat(series, ignore_index=True) if len(series) > 1 else series[0]
    return joined.reset_index(drop=True)


def _place(columns: dict, name: str, piece, start: int, capacity: int) -> None:
    """Write one chunk's column into its preallocated array, widening its dtype if needed.

    Arrays are made with ``np.empty(capacity)``: pages past the last row are never
    touched, so an over-estimate of the rows costs address space, not memory.
    """
    column = columns.get(name)
    if isinstance(column, list) or not _is_number_array(piece):
        if column is None or isinstance(column, np.ndarray):  # text: kept as pieces
            column = [] if column is None else [column[:start]]
            columns[name] = column
        column.append(piece)
        return
    if column is None:
        column = columns[name] = np.empty(capacity, dtype=piece.dtype)
    dtype = np.promote_types(column.dtype, piece.dtype)
    if dtype != column.dtype:  # float32 then float64, int8 then int16, ...
        wider = np.empty(capacity, dtype=dtype)
        wider[:start] = column[:start]
        column = columns[name] = wider
    column[start : start + len(piece)] = piece


def compact_table(
    chunks: Iterable[pd.DataFrame], reread: Callable[[str], pd.Series] | None = None
) -> pd.DataFrame:
    """Join ``chunks`` (same columns) into one table of compact dtypes.

    When the first chunk's ``attrs`` bound the number of rows (``lrnet_rows_at_most``,
    set by the CSV and Parquet readers), numeric columns are written into arrays of
    that length as the chunks arrive: the peak is the table and one chunk.  Otherwise
    each column's chunks are concatenated at the end, one column at a time.

    Parameters
    ----------
    chunks : iterable of pandas.DataFrame
        The table in chunks of rows, as :func:`lrnet.data.readers.iter_table` yields it.
    reread : callable or None
        ``reread(name)`` reads the column ``name`` again, as text, for a column that
        is numbers in some chunks and text in others.

    Returns
    -------
    pandas.DataFrame
        With a fresh ``RangeIndex`` and the first chunk's ``attrs``.
    """
    columns: dict = {}
    attrs: dict = {}
    rows, capacity = 0, None
    for i, chunk in enumerate(chunks):
        if i == 0:
            attrs = dict(chunk.attrs)
            capacity = attrs.pop(ROWS_AT_MOST, None)
        if capacity is not None and rows + len(chunk) > capacity:
            raise RuntimeError("lrnet bug: the file holds more rows than its scan counted")
        for name in chunk.columns:
            piece = compact_column(chunk[name])
            if capacity is None:
                columns.setdefault(name, []).append(piece)
            else:
                _place(columns, name, piece, rows, capacity)
        rows += len(chunk)
        del chunk
    data = {}
    for name in list(columns):
        column = columns.pop(name)  # each column's chunks are freed once joined
        if isinstance(column, np.ndarray):
            data[name] = column[:rows]
        else:
            data[name] = _join(column, name, reread)
        del column
    frame = pd.DataFrame(data, index=pd.RangeIndex(rows), copy=False)  # a dict copies
    frame.attrs.update(attrs)
    return frame


def take_rows(frame: pd.DataFrame, *indices: np.ndarray) -> list[pd.DataFrame]:
    """The rows ``indices[k]`` (positions) of ``frame`` as new tables, a column at a time.

    Each column of ``frame`` is removed once copied (``frame`` is left without
    columns), so a split costs the table plus one column, not two tables.  The parts
    keep ``frame``'s index labels (the rows' lines in the file) and ``attrs``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table; emptied of its columns.
    *indices : numpy.ndarray
        Row positions of each part.

    Returns
    -------
    list of pandas.DataFrame
        One table per ``indices``, with ``frame``'s columns in order.
    """
    parts: list[dict] = [{} for _ in indices]
    labels = [frame.index[rows] for rows in indices]
    attrs = dict(frame.attrs)
    for name in list(frame.columns):
        column = frame.pop(name)
        for part, rows in zip(parts, indices, strict=True):
            part[name] = column.iloc[rows].reset_index(drop=True)
        del column
    tables = []
    for part, index in zip(parts, labels, strict=True):
        table = pd.DataFrame(part, copy=False)
        table.index = index
        table.attrs.update(attrs)
        tables.append(table)
    return tables
