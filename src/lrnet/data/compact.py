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


def compact_table(
    chunks: Iterable[pd.DataFrame], reread: Callable[[str], pd.Series] | None = None
) -> pd.DataFrame:
    """Join ``chunks`` (same columns) into one table of compact dtypes.

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
    columns: dict[str, list] = {}
    attrs: dict = {}
    rows = 0
    for i, chunk in enumerate(chunks):
        if i == 0:
            attrs = dict(chunk.attrs)
            columns = {name: [] for name in chunk.columns}
        for name in chunk.columns:
            columns[name].append(compact_column(chunk[name]))
        rows += len(chunk)
        del chunk
    data = {}
    for name in list(columns):
        pieces = columns.pop(name)  # each column's chunks are freed once joined
        column = _join(pieces, name, reread)
        del pieces
        data[name] = column
    frame = pd.DataFrame(data, index=pd.RangeIndex(rows))
    frame.attrs.update(attrs)
    return frame
