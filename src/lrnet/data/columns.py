"""Decide what each column of a table is: numeric, categorical, a date, or dropped (and why).

Text columns are read as a person means them: numbers written with a decimal comma,
thousands separators or a percent sign are numbers (:mod:`lrnet.data.numbers`), dates
and times become numeric date features (:mod:`lrnet.data.dates`).  Identifier-like
columns are dropped: an ID-like name (``id``, ``user_id``, ``customerId``), text with all
values unique or nearly a value per row, UUID or hash values, integers in increasing
order with many values, and distinct integers that fill their range (shuffled row
numbers).  Distinct integers spread over a wider range (counts, populations, amounts)
are kept as numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.api import types

from . import dates, numbers, skew
from .readers import DataError

#: names that mark a column as an identifier, matched case-insensitively
ID_NAME = re.compile(
    r"^(id|ids|uuid|guid|index|idx|key|row|rowid|row_?(id|num|number|index)|unnamed: ?\d+)$"
    r"|^id[_\-. ]|[_\-. ]id$",
    re.IGNORECASE,
)
#: camelCase identifiers such as ``customerId``
CAMEL_ID = re.compile(r"[a-z0-9]I[dD]$")
#: below this many rows, all-unique values are not taken as evidence of an ID
MIN_ID_ROWS = 20
#: a text column with at least this share of distinct values per present row is ID-like
ID_SHARE = 0.9
#: integers in increasing (or decreasing) order with this share of distinct values are a counter
COUNTER_SHARE = 0.5
#: distinct integers, one per row, within a range this many times their count are row
#: numbers in shuffled order; unique integers spread wider (populations, amounts) are kept
PERMUTATION_SPAN = 1.5
#: UUIDs and hex digests (MD5, SHA, ...)
UUID = re.compile(
    r"^\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$|^[0-9a-f]{16,}$"
)
#: Python types of nested cell values (Parquet lists, structs and maps) -> their name
NESTED = {list: "lists", tuple: "lists", np.ndarray: "lists", dict: "structs", set: "sets"}


@dataclass(frozen=True)
class ColumnOptions:
    """How columns are read: the ``lrnet train`` options of the same names.

    Attributes
    ----------
    decimal : {'.', ','} or None
        The decimal mark of numbers written as text; ``None`` detects it per column.
    dates : bool
        Read date and time columns as dates (``False``: ``--no-dates``).
    max_categories, min_frequency : int
        A categorical column with more values keeps its ``max_categories`` most
        frequent ones seen in at least ``min_frequency`` rows, plus "other"
        (:mod:`lrnet.data.categories`).
    header : bool
        Whether the file had a header row (recorded for predict).
    log : bool
        Read long-tailed numeric columns on a log scale (``False``: ``--no-log``;
        :mod:`lrnet.data.skew`).
    """

    decimal: str | None = None
    dates: bool = True
    max_categories: int = 30
    min_frequency: int = 5
    header: bool = True
    log: bool = True


@dataclass
class ColumnPlan:
    """The feature columns by kind, in table order, and the dropped ones with reasons.

    ``numeric`` and ``categorical`` are the transformer's columns; a date column's
    features (``dates[column]['features']``) are numeric columns that the table does
    not hold: :attr:`columns` lists what is read from a table.  ``numbers``, ``dates``,
    ``capped`` and ``logged`` (numeric columns read as ``sign(x) * log(1 + |x|)``) say
    how a column's values are read (stored with the model); ``notes`` say what was
    done, for the user (not stored).
    """

    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)
    numbers: dict[str, dict] = field(default_factory=dict)
    dates: dict[str, dict] = field(default_factory=dict)
    capped: dict[str, dict] = field(default_factory=dict)
    reading: dict = field(default_factory=dict)
    logged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def derived(self) -> set[str]:
        """The numeric columns made from date columns."""
        return {name for how in self.dates.values() for name in how["features"].values()}

    @property
    def columns(self) -> list[str]:
        """Every table column the preprocessing reads: numeric, dates, categorical."""
        derived = self.derived
        numeric = [c for c in self.numeric if c not in derived]
        return numeric + list(self.dates) + self.categorical

    @property
    def features(self) -> list[str]:
        """The transformer's input columns: numeric (date features included), categorical."""
        return self.numeric + self.categorical


def nested_values(series: pd.Series) -> str | None:
    """``'lists'``, ``'structs'`` or ``'sets'`` when cells hold such values, else ``None``.

    Parquet list, struct and map columns reach pandas as object columns of arrays,
    dicts and lists of pairs, which can be neither counted nor encoded.
    """
    if series.dtype != object:
        return None
    nested = tuple(NESTED)
    for value in series:
        if isinstance(value, nested):
            return next(name for kind, name in NESTED.items() if isinstance(value, kind))
    return None


def column_kind(series: pd.Series) -> str:
    """``'numeric'``, ``'categorical'`` or ``'unsupported'``."""
    dtype = series.dtype
    if nested_values(series):
        return "unsupported"
    if types.is_bool_dtype(dtype):
        return "categorical"
    if types.is_complex_dtype(dtype):
        return "unsupported"
    if types.is_numeric_dtype(dtype):
        return "numeric"
    if types.is_datetime64_any_dtype(dtype) or types.is_timedelta64_dtype(dtype):
        return "unsupported"
    return "categorical"


def looks_like_id_name(name: str) -> bool:
    """True for names such as ``id``, ``user_id``, ``customerId``, ``Unnamed: 0``."""
    return bool(ID_NAME.search(name) or CAMEL_ID.search(name))


def drop_reason(series: pd.Series, kind: str) -> str | None:
    """Why the column should not be a feature, or ``None`` to keep it."""
    if kind == "unsupported":
        nested = nested_values(series)
        return f"unsupported type ({nested})" if nested else f"unsupported type {series.dtype}"
    n_unique = series.nunique(dropna=False)
    if n_unique == 1:
        value = series.iloc[0]
        return f"constant (always {value.item() if hasattr(value, 'item') else value!r})"
    discrete = types.is_integer_dtype(series.dtype) or kind == "categorical"
    if not discrete or types.is_bool_dtype(series.dtype):
        return None
    if looks_like_id_name(str(series.name)):
        return "ID-like name"
    integers = types.is_integer_dtype(series.dtype)
    if len(series) >= MIN_ID_ROWS and n_unique == len(series) and not integers:
        if not series.hasnans:
            return f"ID-like: all {len(series)} values are unique"
    return _id_values(series) if len(series) >= MIN_ID_ROWS else None


def _id_values(series: pd.Series) -> str | None:
    """Why the values of a discrete column look like identifiers, or ``None``."""
    present = series.dropna()
    if types.is_integer_dtype(series.dtype):
        distinct = present.nunique()
        order = "increasing" if present.is_monotonic_increasing else "decreasing"
        ordered = present.is_monotonic_increasing or present.is_monotonic_decreasing
        if ordered and distinct >= COUNTER_SHARE * len(present):
            return f"ID-like: {distinct:,} integers in {order} order (a row number or counter)"
        span = int(present.max()) - int(present.min()) + 1 if distinct else 0
        if distinct == len(series) and span <= PERMUTATION_SPAN * distinct:
            return (
                f"ID-like: {distinct:,} distinct integers filling the range "
                f"{present.min()}..{present.max()} (shuffled row numbers)"
            )
        return None
    if present.empty or present.dtype == bool:
        return None
    text = present.astype(str)
    if text.head(1000).str.lower().str.fullmatch(UUID).all() and (
        text.str.lower().str.fullmatch(UUID).all()
    ):
        return "ID-like: UUID or hash values"
    distinct = present.nunique()
    if len(present) >= MIN_ID_ROWS and distinct >= ID_SHARE * len(present):
        return f"ID-like: {distinct:,} distinct values in {len(present):,} rows"
    return None


def read_as(series: pd.Series, options: ColumnOptions) -> tuple[str, dict, bool] | None:
    """How to read a column of numbers written as text, or of dates; else ``None``.

    ``('number', format, guessed)`` (see :func:`lrnet.data.numbers.number_format`) or
    ``('date', how, False)`` (see :func:`lrnet.data.dates.date_format`).
    """
    if column_kind(series) == "numeric" or types.is_bool_dtype(series.dtype):
        return None
    if not types.is_datetime64_any_dtype(series.dtype):
        found = numbers.number_format(series, options.decimal)
        if found is not None:
            return ("number", *found)
    if options.dates:
        how = dates.date_format(series)
        if how is not None:
            return ("date", how, False)
    return None


def _read_note(name: str, kind: str, how: dict, guessed: bool) -> str:
    if kind == "date":
        shown = how["format"] or "a datetime type"
        parts = "year, month, weekday" + (", hour" if how["time"] else "")
        return (
            f"column {name!r}: read as dates ({shown}); features: days since 1970, {parts} "
            "(--no-dates to leave it as text)."
        )
    note = f"column {name!r}: read as numbers written with a {numbers.describe(how)}"
    if guessed:
        other = "," if how["decimal"] == "." else "."
        note += f" (it could also be read with a decimal {other!r}: pass --decimal {other} then)"
    return note + "."


def header_looks_like_data(frame: pd.DataFrame) -> str | None:
    """Why the column names of a table read from a text file look like a row of data.

    The names are numbers (half of them or more), or every name has its column's type:
    a number over a numeric column, one of the column's own values over a text column.

    Returns
    -------
    str or None
        A short reason, e.g. ``"the column names '5.1', '3.5' are numbers"``.
    """
    names = [str(c) for c in frame.columns]
    numeric = [n for n in names if _is_number(n)]
    shown = ", ".join(map(repr, numeric[:4])) + (" ..." if len(numeric) > 4 else "")
    if numeric and len(numeric) * 2 >= len(names):
        return f"the column names {shown} are numbers"
    if not numeric:
        return None
    for name in names:
        column = frame[name]
        if types.is_numeric_dtype(column.dtype) and not types.is_bool_dtype(column.dtype):
            if not _is_number(name):
                return None
        elif name not in set(column.dropna().astype(str).head(10_000)):
            return None
    return f"every column name has its column's type (names {shown} are numbers)"


def _is_number(text: str) -> bool:
    try:
        float(text.strip())
    except ValueError:
        return False
    return True


def plan_columns(
    frame: pd.DataFrame,
    target: str | None,
    source: str = "data",
    options: ColumnOptions = ColumnOptions(),
) -> ColumnPlan:
    """Sort the feature columns of ``frame`` into numeric, categorical, dates and dropped.

    Parameters
    ----------
    frame : pandas.DataFrame
        The training table.
    target : str or None
        The target column, left out of the features.
    source : str, default='data'
        Where the table came from, for error messages.
    options : ColumnOptions
        Decimal mark, dates or not (the plan records them in ``reading``).

    Returns
    -------
    ColumnPlan
        The feature columns by kind, the dropped columns with the reason, and how
        text numbers and dates are read (with a note on each).

    Raises
    ------
    DataError
        When a column is empty in every row, when no feature column is left, or when
        the target holds lists or structs.
    """
    nested = nested_values(frame[target]) if target in frame.columns else None
    if nested:
        raise DataError(
            f"{source}: the target column {target!r} holds {nested}, not class labels; "
            "choose a column of plain values with --target."
        )
    features = [c for c in frame.columns if c != target]
    empty = [c for c in features if frame[c].isna().all()]
    if empty:
        raise DataError(
            f"{source}: column(s) {', '.join(map(repr, empty))} are empty in every row; "
            "there is nothing to learn from them. Remove them from the file."
        )
    plan = ColumnPlan(reading=_reading(options))
    date_columns = []
    for name in features:
        series = frame[name]
        read = read_as(series, options)
        kind = "numeric" if read is not None else column_kind(series)
        reason = drop_reason(series, kind)
        if reason is not None:
            plan.dropped[name] = reason
        elif read is not None:
            what, how, guessed = read
            plan.notes.append(_read_note(name, what, how, guessed))
            if what == "date":
                date_columns.append((name, how))
            else:
                plan.numbers[name] = how
                plan.numeric.append(name)
        elif kind == "numeric":
            plan.numeric.append(name)
        else:
            plan.categorical.append(name)
    if options.log:
        _log_long_tails(frame, plan)
    taken = set(map(str, frame.columns))
    for name, how in date_columns:
        names = dates.feature_names(name, how, taken)
        taken.update(names.values())
        plan.dates[name] = {**how, "features": names}
        plan.numeric.extend(names.values())
    if not plan.columns:
        raise DataError(
            f"{source}: no feature column is left after dropping {len(plan.dropped)} "
            f"column(s) ({_reasons(plan.dropped)}); lrnet needs at least one feature."
        )
    return plan


def _log_long_tails(frame: pd.DataFrame, plan: ColumnPlan) -> None:
    """Put the long-tailed numeric columns (:mod:`lrnet.data.skew`) in ``plan.logged``; a note."""
    found = []
    for name in plan.numeric:
        series = frame[name]
        if name in plan.numbers:
            try:
                values = numbers.parse_numbers(series, plan.numbers[name], "data")
            except DataError:  # reported, with its row, when the column is read
                continue
        else:
            values = pd.to_numeric(series, errors="coerce")
        values = np.asarray(values, dtype=np.float64)
        tail = skew.long_tailed(values)
        if tail is not None:
            plan.logged.append(name)
            found.append(f"{name!r} ({tail:.1f})")
    if found:
        plan.notes.append(
            f"read on a log scale, log(1 + x), {len(found)} long-tailed column(s) "
            "(skewness shown): " + ", ".join(found) + " (--no-log to keep their scale)."
        )


def _reading(options: ColumnOptions) -> dict:
    """The reading options that predict must repeat: only those not by default."""
    reading = {}
    if options.decimal is not None:
        reading["decimal"] = options.decimal
    if not options.header:
        reading["header"] = False
    return reading


def _reasons(dropped: dict[str, str]) -> str:
    return "; ".join(f"{name}: {why}" for name, why in dropped.items()) or "none"
