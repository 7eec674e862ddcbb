"""Date and time columns: detected, parsed with one format, turned into numbers.

A text column whose every present value is a date in one format that pandas can
guess (``2013-01-01``, ``01/31/2020``, ``31.01.2020 14:05``, ISO 8601 with a time zone,
...), or a column that is already of a datetime type (Parquet), is read as dates.  The
format holds a year, a month and a day; day-first is chosen when month-first does not
read every value.  Its features, numeric:

``days``
    days since 1970-01-01 (a fraction with a time of day; UTC for time zones);
``year``, ``month``, ``weekday``
    the calendar parts (weekday: 0 = Monday);
``hour``
    the hour of day (with minutes as a fraction), only when the values have a time.

Missing dates give missing features (imputed with the training median, with an
indicator).  The format is stored with the model so predict reads dates the same way.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from pandas.api import types
from pandas.tseries.api import guess_datetime_format

from .readers import DataError, row_name

#: the features of a date column, in order; ``hour`` only with a time part
PARTS = ("days", "year", "month", "weekday", "hour")
#: a value longer than this is not taken for a date
MAX_CHARS = 40
EPOCH = pd.Timestamp("1970-01-01")


def _has_date(fmt: str | None) -> bool:
    return bool(
        fmt
        and ("%Y" in fmt or "%y" in fmt)
        and any(m in fmt for m in ("%m", "%b", "%B"))
        and "%d" in fmt
    )


def _parse(values: pd.Series, fmt: str | None) -> pd.Series:
    """Datetimes (naive; time zones converted to UTC), NaT where a value does not parse."""
    if types.is_datetime64_any_dtype(values.dtype):
        parsed = values
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas' notes on format inference
            parsed = pd.to_datetime(
                values.astype(object),
                format=fmt or "ISO8601",
                errors="coerce",
                utc=bool(fmt and "%z" in fmt),
            )
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed


def date_format(series: pd.Series) -> dict | None:
    """How a column holds dates, or ``None`` when it does not.

    Returns
    -------
    dict or None
        ``{'format': str or None, 'time': bool}``: the strptime format of a text column
        (``None`` for a datetime column), and whether the values have a time of day.
    """
    if types.is_datetime64_any_dtype(series.dtype):
        parsed = _parse(series.dropna(), None)
        time = bool((parsed != parsed.dt.normalize()).any())
        return {"format": None, "time": time}
    if types.is_numeric_dtype(series.dtype) or types.is_bool_dtype(series.dtype):
        return None
    present = series.dropna()
    if present.empty or not all(isinstance(v, str) for v in present.iloc[:100]):
        return None
    values = pd.Series(present.unique(), dtype=object).astype(str).str.strip()
    if (values.str.len() > MAX_CHARS).any() or not values.str.contains(r"\d").all():
        return None
    first = values.iloc[0]
    candidates = []
    for dayfirst in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas' note when day-first does not apply
            fmt = guess_datetime_format(first, dayfirst=dayfirst)
        if _has_date(fmt) and fmt not in candidates:
            candidates.append(fmt)
    for fmt in candidates:
        if _parse(values.iloc[:1000], fmt).notna().all() and _parse(values, fmt).notna().all():
            return {"format": fmt, "time": "%H" in fmt or "%I" in fmt}
    return None


def feature_names(column: str, how: dict, taken) -> dict[str, str]:
    """``part -> feature name`` (``'when_year'``, ...), avoiding the names in ``taken``."""
    names = {}
    for part in PARTS:
        if part == "hour" and not how["time"]:
            continue
        name = f"{column}_{part}"
        while name in taken:
            name += "_"
        names[part] = name
    return names


def date_features(series: pd.Series, how: dict, source: str) -> dict[str, np.ndarray]:
    """``feature name -> float64 values`` of a date column read as ``how`` says.

    Parameters
    ----------
    series : pandas.Series
        The column, as text or as datetimes.
    how : dict
        ``{'format', 'time', 'features'}``: the format (see :func:`date_format`) and
        ``part -> feature name`` (see :func:`feature_names`).
    source : str
        Where the table came from, for error messages.

    Raises
    ------
    DataError
        Naming the row of the first value that is not a date in the format.
    """
    if types.is_numeric_dtype(series.dtype) and series.notna().any():
        raise _not_a_date(series, int(np.flatnonzero(series.notna().to_numpy())[0]), how, source)
    parsed = _parse(series, how["format"])
    bad = (parsed.isna() & series.notna()).to_numpy()
    if bad.any():
        raise _not_a_date(series, int(np.flatnonzero(bad)[0]), how, source)
    parts = {
        "days": lambda: (parsed - EPOCH) / pd.Timedelta(days=1),
        "year": lambda: parsed.dt.year,
        "month": lambda: parsed.dt.month,
        "weekday": lambda: parsed.dt.day_of_week,
        "hour": lambda: parsed.dt.hour + parsed.dt.minute / 60,
    }
    return {
        name: parts[part]().to_numpy(dtype=np.float64, na_value=np.nan)
        for part, name in how["features"].items()
    }


def _not_a_date(series: pd.Series, position: int, how: dict, source: str) -> DataError:
    shown = f"in the format {how['format']}" if how["format"] else "(ISO 8601)"
    return DataError(
        f"{source}: column {series.name!r} holds dates {shown}, as in training, but "
        f"{row_name(series.index[position], series.attrs)} holds {series.iloc[position]!r}. "
        "Fix that value, or leave the cell empty."
    )
