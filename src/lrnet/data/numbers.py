"""Numbers written as text: a decimal comma, thousands separators, a percent sign.

A CSV column such as ``39,1`` (in a ``;``-separated file), ``1,234,567``,
``1.234.567,5`` or ``12.5%`` reaches pandas as text.  :func:`number_format` finds the
one way of writing that reads every value of such a column as a number, and
:func:`parse_numbers` reads a column that way (in training and at predict time alike:
the format is stored with the model).

Rules (``decimal=None``, detected):

- a format is a decimal mark (``.`` or ``,``) and a thousands separator (``,``, ``.``,
  a space, ``'`` or none), with an optional trailing ``%`` (the value is then divided
  by 100: ``12.5%`` reads 0.125, and ``12.5`` in that column too);
- it must read *every* present value of the column; otherwise the column stays text;
- when several formats read every value (``1,234`` is 1234 or 1.234), the decimal
  point wins (``1,234`` reads 1234) and a note says so; ``--decimal ,`` decides the
  other way.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from pandas.api import types

from .readers import DataError, row_name

#: thousands separators: none, comma, point, (non-breaking / narrow) space, apostrophe
SPACES = " \u00a0\u202f"
#: (decimal mark, thousands separator) in order of preference when several read a column
FORMATS = (
    (".", ""),
    (".", ","),
    (".", SPACES),
    (".", "'"),
    (",", ""),
    (",", "."),
    (",", SPACES),
    (",", "'"),
)
#: at most this many characters in a number written as text
MAX_CHARS = 40


def _pattern(decimal: str, thousands: str) -> re.Pattern:
    dec = re.escape(decimal)
    whole = r"\d+"
    if thousands:
        sep = "[" + re.escape(thousands) + "]"
        whole = rf"(?:[1-9]\d{{0,2}}(?:{sep}\d{{3}})+|\d+)"  # never '0,125'.
    return re.compile(rf"^[+-]?(?:{whole}(?:{dec}\d*)?|{dec}\d+)\s*%?$")


PATTERNS = {fmt: _pattern(*fmt) for fmt in FORMATS}


def describe(fmt: dict) -> str:
    """``'decimal comma, thousands "."'`` and the like, for notes and messages."""
    parts = ["decimal comma"] if fmt["decimal"] == "," else []
    if fmt["thousands"]:
        shown = "space" if fmt["thousands"] == SPACES else repr(fmt["thousands"])
        parts.append(f"thousands separator {shown}")
    if fmt["percent"]:
        parts.append("percent sign (12.5% reads 0.125)")
    return " and ".join(parts) or "decimal point"


def number_format(series: pd.Series, decimal: str | None = None) -> tuple[dict, bool] | None:
    """The format that reads every present value of a text column, or ``None``.

    Parameters
    ----------
    series : pandas.Series
        A text column (other columns give ``None``).
    decimal : {'.', ','} or None
        The decimal mark, when the user gave it; ``None`` detects it.

    Returns
    -------
    (dict, bool) or None
        ``{'decimal', 'thousands', 'percent'}`` and whether another format would also
        have read every value (the choice was a guess), or ``None``.
    """
    if types.is_numeric_dtype(series.dtype) or types.is_bool_dtype(series.dtype):
        return None
    present = series.dropna()
    if present.empty or not all(isinstance(v, str) for v in present.iloc[:100]):
        return None
    try:
        values = pd.Series(present.unique(), dtype=object).astype(str).str.strip()
    except (TypeError, ValueError):
        return None
    if (values.str.len() > MAX_CHARS).any() or not values.str.contains(r"\d").all():
        return None
    fits = [fmt for fmt in FORMATS if decimal is None or fmt[0] == decimal]
    for sample in (values.iloc[:1000], values):  # most text columns fail on a few values
        fits = [fmt for fmt in fits if sample.str.fullmatch(PATTERNS[fmt]).all()]
    if not fits:
        return None
    fits = _simplest(fits, values)
    guessed = len(fits) > 1
    if guessed:  # '1,234': a thousands separator, or a decimal mark?
        fits, guessed = _thousands_or_decimal(fits, values)
    dec, sep = fits[0]
    fmt = {"decimal": dec, "thousands": sep, "percent": bool(values.str.endswith("%").any())}
    return fmt, guessed


def _thousands_or_decimal(fits: list[tuple[str, str]], values: pd.Series):
    """Order two formats that both read the column; say whether the first is a guess.

    A comma read as a thousands separator by one, as the decimal mark by the other, is
    a thousands separator when every value written without it is below 1000 (as a
    program that writes separators writes them); a value of four digits or more without
    it makes it the decimal mark.  With no value written without it, thousands is a
    guess (noted to the user).  A point (``1.500%``) is the decimal point, noted.
    """
    point, comma = fits  # decimal '.' first, then decimal ','
    if point[1] != ",":  # '1.500': the decimal point, unless another value says otherwise
        return fits, True
    thousands, decimal = point, comma
    bare = values[~values.str.contains(",", regex=False)]
    digits = bare.str.extract(r"(\d+)", expand=False).str.len()
    if (digits > 3).any():
        return [decimal, thousands], True
    return [thousands, decimal], bare.empty


def _simplest(fits: list[tuple[str, str]], values: pd.Series) -> list[tuple[str, str]]:
    """Per decimal mark, the first format whose thousands separator some value uses."""
    used = [
        (dec, sep)
        for dec, sep in fits
        if not sep or values.str.contains("[" + re.escape(sep) + "]").any()
    ]
    best = {}
    for dec, sep in used:
        best.setdefault(dec, (dec, sep))
    return list(best.values())


def parse_numbers(series: pd.Series, fmt: dict, source: str) -> np.ndarray:
    """The float64 values of a column written in ``fmt`` (see :func:`number_format`).

    Numbers the reader already parsed are taken as they are (divided by 100 in a
    percent column); text is read in ``fmt``.

    Raises
    ------
    DataError
        Naming the row of the first value that ``fmt`` does not read.
    """
    scale = 0.01 if fmt["percent"] else 1.0
    if types.is_numeric_dtype(series.dtype) and not types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return values * scale
    text = series.astype(object).where(series.notna())
    cleaned = text.astype("string").str.strip().str.removesuffix("%").str.strip()
    if fmt["thousands"]:
        cleaned = cleaned.str.replace("[" + re.escape(fmt["thousands"]) + "]", "", regex=True)
    if fmt["decimal"] == ",":
        cleaned = cleaned.str.replace(",", ".", regex=False)
    ok = cleaned.str.fullmatch(r"[+-]?(?:\d+\.?\d*|\.\d+)").fillna(True).astype(bool)
    values = pd.to_numeric(cleaned.where(ok), errors="coerce")
    bad = ~ok.to_numpy() | (values.isna().to_numpy() & series.notna().to_numpy())
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        where = row_name(series.index[position], series.attrs)
        raise DataError(
            f"{source}: column {series.name!r} holds numbers written with a "
            f"{describe(fmt)}, as in training, but {where} holds "
            f"{series.iloc[position]!r}. Fix that value, or leave the cell empty."
        )
    return values.to_numpy(dtype=np.float64, na_value=np.nan) * scale
