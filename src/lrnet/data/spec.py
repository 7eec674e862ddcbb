"""The plain-data form of a fitted preprocessing: :func:`to_dict` and :func:`from_dict`.

A model file stores the fitted transformer as plain data: medians, means, scales,
category lists, the columns with a missing-value indicator, and a probe (three
synthetic rows and the fitted transformer's output on them).

:func:`from_dict` rebuilds it without unpickling anything and without running code
from the file: the stored numbers are checked for type and shape (and the output
width against the network's first layer), fresh scikit-learn transformers are fitted
on two synthetic rows with the same columns and missing-value indicators, the encoder
being handed the stored categories (so scikit-learn sets up its own structure, in
time proportional to the stored data, never to a number written in it), their fitted
statistics (``statistics_``, ``mean_``, ``var_``, ``scale_``, ``categories_``) are
replaced by the stored ones, and the result must reproduce the stored probe output.

Version 2 adds how values are read before the transformer (each part only when used):
``numbers`` (text columns read as numbers, :mod:`lrnet.data.numbers`), ``dates`` (date
columns and the numeric features made from them, :mod:`lrnet.data.dates`), ``capped``
(the kept categories of high-cardinality columns, :mod:`lrnet.data.categories`) and
``reading`` (the ``--decimal`` / ``--no-header`` options predict repeats).  Version 3
adds ``logged``: the numeric columns read as ``sign(x) * log(1 + |x|)`` before the
transformer (:mod:`lrnet.data.skew`).  A spec is written with the lowest version that
holds its parts (1 without any of them), so older lrnet versions read what they can
and refuse, by its version, a spec whose transform they would skip.

Both functions work on the parts of a :class:`~lrnet.data.preprocessing.Preprocessor`
(column plan, fitted ``ColumnTransformer``, target name), so this module never
imports it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer

from ..errors import SpecError
from .columns import ColumnPlan
from .dates import PARTS
from .numbers import FORMATS
from .transform import build_transformer

SPEC_VERSION = 3
#: the parts of version 2: how values are read before the transformer
READING_PARTS = ("numbers", "dates", "capped", "reading")
UNSEEN = "\x00unseen category"
#: rows of the probe: shifted values, missing values, unseen categories
PROBE_ROWS = 3
#: limits of a rebuild, whose cost is scikit-learn's per column and per category: all
#: three reached take about 1 s of CPU on a 2-core EPYC; a model file cannot demand more
MAX_NUMERIC_COLUMNS = 5_000
MAX_CATEGORICAL_COLUMNS = 500
MAX_CATEGORIES = 50_000


# ---------------------------------------------------------------------- writing
def to_dict(plan: ColumnPlan, transformer: ColumnTransformer, target: str | None) -> dict:
    """The fitted preprocessing as JSON-compatible plain data.

    Parameters
    ----------
    plan : ColumnPlan
        The numeric, categorical and dropped columns.
    transformer : sklearn.compose.ColumnTransformer
        Fitted on ``plan`` (see :func:`lrnet.data.transform.build_transformer`).
    target : str or None
        Name of the target column.

    Returns
    -------
    dict
        Keys ``version``, ``target``, ``dropped``, ``feature_names_out``, ``numeric``
        and ``categorical`` (each only when it has columns), ``numbers``, ``dates``,
        ``capped`` and ``reading`` (each only when used; version 2), ``logged``
        (when used; version 3) and ``probe``.
    """
    reading = {
        "numbers": plan.numbers,
        "dates": plan.dates,
        "capped": plan.capped,
        "reading": plan.reading,
    }
    reading = {k: _plain_data(v) for k, v in reading.items() if v}
    if plan.logged:
        reading["logged"] = [str(name) for name in plan.logged]
    spec = {
        "version": SPEC_VERSION if plan.logged else 2 if reading else 1,
        "target": target,
        "dropped": dict(plan.dropped),
        "feature_names_out": [str(n) for n in transformer.get_feature_names_out()],
    }
    parts = transformer.named_transformers_
    if plan.numeric:
        imputer, scaler = parts["num"]["impute"], parts["num"]["scale"]
        spec["numeric"] = {
            "columns": list(plan.numeric),
            "medians": [float(v) for v in imputer.statistics_],
            "missing_indicator": _indicator_features(imputer),
            "mean": scaler.mean_.tolist(),
            "var": scaler.var_.tolist(),
            "scale": scaler.scale_.tolist(),
            "n_samples_seen": int(scaler.n_samples_seen_),
        }
    if plan.categorical:
        imputer, encoder = parts["cat"]["impute"], parts["cat"]["onehot"]
        spec["categorical"] = {
            "columns": list(plan.categorical),
            "most_frequent": [str(v) for v in imputer.statistics_],
            "missing_indicator": _indicator_features(imputer),
            "categories": [[_plain(v) for v in c] for c in encoder.categories_],
        }
    spec.update(reading)
    spec["probe"] = _probe(transformer, spec)
    return spec


def _probe(transformer: ColumnTransformer, spec: dict) -> dict:
    """Synthetic input and the fitted transformer's output on it, to check a rebuild."""
    probe = probe_frame(spec)
    out = transformer.transform(probe)
    inputs = {c: [None if pd.isna(v) else _plain(v) for v in probe[c]] for c in probe}
    return {"input": inputs, "output": np.asarray(out, dtype=np.float64).tolist()}


def probe_frame(spec: dict) -> pd.DataFrame:
    """Three synthetic rows: shifted values, missing values, unseen categories."""
    data = {}
    num = spec.get("numeric")
    if num:
        for name, median, scale in zip(
            num["columns"], num["medians"], num["scale"], strict=False
        ):  # scale also covers the indicators
            data[name] = np.array([median + scale, np.nan, median - 0.5 * scale])
    cat = spec.get("categorical")
    if cat:
        for name, cats in zip(cat["columns"], cat["categories"], strict=False):
            data[name] = np.array([cats[0], np.nan, UNSEEN], dtype=object)
    return pd.DataFrame(data)


def _indicator_features(imputer: SimpleImputer) -> list[int]:
    indicator = imputer.indicator_
    return [] if indicator is None else [int(i) for i in indicator.features_]


def _plain_data(value):
    """A copy of nested dicts and lists, as JSON gives them back."""
    if isinstance(value, dict):
        return {str(k): _plain_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_data(v) for v in value]
    return _plain(value)


def _plain(value):
    """A JSON-compatible Python scalar."""
    if isinstance(value, np.generic):
        return value.item()
    return value


# ---------------------------------------------------------------------- reading
def from_dict(
    spec: dict, source: str = "model", n_features: int | None = None
) -> tuple[ColumnPlan, ColumnTransformer, str | None]:
    """Validate ``spec`` and rebuild the fitted transformer, probe-checked.

    The work is proportional to the size of ``spec`` (its columns, categories and
    probe), never to a number written in it: the transformer is fitted on two
    synthetic rows, with the stored categories given to the encoder.

    Parameters
    ----------
    spec : dict
        Data written by :func:`to_dict` (read back from JSON).
    source : str
        Where the data came from, for error messages.
    n_features : int or None
        The width the output must have (the network's first layer), checked before
        anything is built.

    Returns
    -------
    plan : ColumnPlan
        The numeric, categorical and dropped columns.
    transformer : sklearn.compose.ColumnTransformer
        Fitted, holding the stored statistics.
    target : str or None
        Name of the target column.

    Raises
    ------
    ValueError
        When the data is malformed, its width is not ``n_features``, or the rebuilt
        transformer does not reproduce the stored probe output.
    """
    try:
        plan, num, cat = _read_spec(spec)
        width = output_width(num, cat)
        _require(
            n_features is None or width == n_features,
            f"the preprocessing makes {width} features but the network's first layer "
            f"takes {n_features}",
        )
        names = spec.get("feature_names_out")
        _require(
            names is None or len(names) == width,
            f"feature_names_out holds {len(names or [])} names for {width} features",
        )
        probe = _read_probe(plan, spec["probe"], width)
        transformer = _rebuild(plan, num, cat)
        target = spec.get("target")
        _check_probe(transformer, *probe)
    except SpecError as err:
        raise ValueError(f"{source}: invalid preprocessing data: {err}") from None
    except (KeyError, TypeError, IndexError, ValueError) as err:
        raise ValueError(
            f"{source}: invalid preprocessing data ({type(err).__name__}: {err})."
        ) from None
    return plan, transformer, target


def output_width(num: dict | None, cat: dict | None) -> int:
    """Features out of checked numeric and categorical parts (indicators included)."""
    width = len(num["columns"]) + len(num["missing"]) if num else 0
    return width + (sum(len(c) for c in cat["categories"]) if cat else 0)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise SpecError(message)


def _within(count: int, limit: int, what: str) -> None:
    _require(
        count <= limit,
        f"{count} {what}, more than the {limit} that lrnet rebuilds (its cost grows with "
        "them); drop columns, or group rare categories into one, before training",
    )


def _strings(value, what: str) -> list[str]:
    _require(
        isinstance(value, list) and all(isinstance(v, str) for v in value),
        f"{what} must be a list of strings",
    )
    return value


def _numbers(value, n: int, what: str, positive: bool = False) -> np.ndarray:
    _require(
        isinstance(value, list)
        and len(value) == n
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value),
        f"{what} must be a list of {n} numbers",
    )
    array = np.asarray(value, dtype=np.float64)
    _require(bool(np.isfinite(array).all()), f"{what} holds a non-finite number")
    _require(not positive or bool((array > 0).all()), f"{what} must be positive")
    return array


def _indices(value, n: int, what: str) -> list[int]:
    _require(
        isinstance(value, list)
        and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < n for v in value)
        and value == sorted(set(value)),
        f"{what} must be sorted column indices",
    )
    return value


def _read_spec(spec: dict):
    _require(isinstance(spec, dict), "expected an object")
    version = spec.get("version")
    _require(
        isinstance(version, int) and 1 <= version <= SPEC_VERSION,
        f"unsupported preprocessing version {version!r:.40}",
    )
    dropped = spec.get("dropped", {})
    _require(isinstance(dropped, dict), "dropped must be an object")
    num, cat = spec.get("numeric"), spec.get("categorical")
    plan = ColumnPlan(dropped={str(k): str(v) for k, v in dropped.items()})
    if num is not None:
        plan.numeric = _strings(num["columns"], "numeric columns")
        _within(len(plan.numeric), MAX_NUMERIC_COLUMNS, "numeric columns")
        num = _read_numeric(num)
    if cat is not None:
        plan.categorical = _strings(cat["columns"], "categorical columns")
        _within(len(plan.categorical), MAX_CATEGORICAL_COLUMNS, "categorical columns")
        cat = _read_categorical(cat)
    _require(len(set(plan.features)) == len(plan.features), "duplicate column names")
    plan.numbers = _read_numbers(spec.get("numbers", {}), plan)
    plan.dates = _read_dates(spec.get("dates", {}), plan)
    plan.capped = _read_capped(spec.get("capped", {}), plan, cat)
    plan.reading = _read_reading(spec.get("reading", {}))
    plan.logged = _read_logged(spec.get("logged", []), plan)
    _require(bool(plan.columns), "no input columns")
    _require(len(set(plan.columns)) == len(plan.columns), "duplicate column names")
    return plan, num, cat


def _object(value, what: str) -> dict:
    _require(isinstance(value, dict), f"{what} must be an object")
    return value


def _read_numbers(numbers, plan: ColumnPlan) -> dict:
    """Text columns read as numbers: each a numeric column with a known format."""
    out, numeric = {}, set(plan.numeric)  # a set: the lists may hold thousands
    for name, fmt in _object(numbers, "numbers").items():
        fmt = _object(fmt, f"the number format of {name!r:.60}")
        _require(name in numeric, f"numbers: {name!r:.60} is not a numeric column")
        _require(
            (fmt.get("decimal"), fmt.get("thousands")) in FORMATS
            and isinstance(fmt.get("percent"), bool)
            and len(fmt) == 3,
            f"the number format of {name!r:.60} must hold a known decimal, thousands and percent",
        )
        out[name] = dict(fmt)
    return out


def _read_dates(dates, plan: ColumnPlan) -> dict:
    """Date columns: a format and the numeric columns of their features."""
    out, used = {}, set()
    numeric, features = set(plan.numeric), set(plan.features)
    for name, how in _object(dates, "dates").items():
        how = _object(how, f"the dates of {name!r:.60}")
        fmt, time, features = how.get("format"), how.get("time"), how.get("features")
        _require(
            (fmt is None or isinstance(fmt, str) and 0 < len(fmt) <= 100)
            and isinstance(time, bool)
            and isinstance(features, dict)
            and len(how) == 3,
            f"the dates of {name!r:.60} must hold a format, a time flag and features",
        )
        expected = [p for p in PARTS if p != "hour" or time]
        _require(
            list(features) == expected, f"the date features of {name!r:.60} must be {expected}"
        )
        names = _strings(list(features.values()), f"the date features of {name!r:.60}")
        _require(
            all(n in numeric and n not in used for n in names),
            f"the date features of {name!r:.60} must be numeric columns, each used once",
        )
        _require(name not in features, f"the date column {name!r:.60} is also a feature")
        used.update(names)
        out[name] = {"format": fmt, "time": time, "features": dict(features)}
    return out


def _read_capped(capped, plan: ColumnPlan, cat: dict | None) -> dict:
    """High-cardinality columns: the kept categories and the name of the others."""
    out = {}
    for name, how in _object(capped, "capped").items():
        how = _object(how, f"the capped categories of {name!r:.60}")
        _require(name in plan.categorical, f"capped: {name!r:.60} is not a categorical column")
        kept = _strings(how.get("kept"), f"the kept categories of {name!r:.60}")
        other = how.get("other")
        _within(len(kept), MAX_CATEGORIES, "kept categories")
        _require(
            isinstance(other, str) and other not in kept and len(how) == 2,
            f"the capped categories of {name!r:.60} must hold kept and other",
        )
        categories = cat["categories"][plan.categorical.index(name)]
        _require(
            set(categories) <= {*kept, other},
            f"the categories of {name!r:.60} must be among its kept ones and {other!r:.60}",
        )
        out[name] = {"kept": list(kept), "other": other}
    return out


def _read_logged(logged, plan: ColumnPlan) -> list[str]:
    """The numeric columns of the table read on a log scale (not date features)."""
    names = _strings(logged, "logged")
    table_numeric = set(plan.numeric) - plan.derived
    _require(len(set(names)) == len(names), "logged: duplicate column names")
    for name in names:
        _require(name in table_numeric, f"logged: {name!r:.60} is not a numeric column")
    return names


def _read_reading(reading) -> dict:
    """The reading options predict repeats: ``decimal`` and ``header``."""
    reading = _object(reading, "reading")
    _require(
        set(reading) <= {"decimal", "header"}
        and reading.get("decimal", ".") in (".", ",")
        and reading.get("header", False) in (True, False),
        "reading must hold a decimal ('.' or ',') and a header flag",
    )
    return dict(reading)


def _read_numeric(num: dict) -> dict:
    n = len(num["columns"])
    missing = _indices(num["missing_indicator"], n, "numeric missing_indicator")
    width = n + len(missing)
    seen = num["n_samples_seen"]
    _require(
        isinstance(seen, int) and not isinstance(seen, bool) and seen > 0,
        "n_samples_seen must be a positive integer",
    )
    return {
        "columns": num["columns"],
        "missing": missing,
        "n_samples_seen": seen,
        "medians": _numbers(num["medians"], n, "medians"),
        "mean": _numbers(num["mean"], width, "mean"),
        "var": _numbers(num["var"], width, "var"),
        "scale": _numbers(num["scale"], width, "scale", positive=True),
    }


def _read_categorical(cat: dict) -> dict:
    n = len(cat["columns"])
    missing = _indices(cat["missing_indicator"], n, "categorical missing_indicator")
    categories = cat["categories"]
    _require(
        isinstance(categories, list)
        and len(categories) == n + len(missing)
        and all(isinstance(c, list) for c in categories),
        f"categories must hold {n + len(missing)} lists",
    )
    _within(sum(len(c) for c in categories[:n]), MAX_CATEGORIES, "categories in all")
    for i, values in enumerate(categories[:n]):
        _strings(values, f"categories of column {i}")
        _require(
            len(values) > 0 and values == sorted(set(values)),
            f"categories of column {i} must be sorted and unique",
        )
    for values in categories[n:]:
        _require(values == [False, True], "indicator categories must be [false, true]")
    frequent = _strings(cat["most_frequent"], "most_frequent")
    _require(len(frequent) == n, f"most_frequent must hold {n} values")
    return {
        "columns": cat["columns"],
        "missing": missing,
        "categories": categories,
        "most_frequent": frequent,
    }


def _read_probe(plan: ColumnPlan, probe, width: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The probe's input rows and expected output, checked for shape before any use."""
    _require(
        isinstance(probe, dict) and isinstance(probe.get("input"), dict),
        "the probe must be an object with an input object",
    )
    rows = PROBE_ROWS
    frame = {}
    for name in plan.features:
        values = probe["input"].get(name)
        _require(
            isinstance(values, list) and len(values) == rows,
            f"the probe must hold {rows} values of column {name!r:.60}",
        )
        frame[name] = values
    for name in plan.numeric:
        frame[name] = np.array(frame[name], dtype=np.float64)
    for name in plan.categorical:
        _require(
            all(v is None or isinstance(v, str) for v in frame[name]),
            f"the probe's values of column {name!r:.60} must be strings or null",
        )
        frame[name] = np.array([math.nan if v is None else v for v in frame[name]], object)
    output = probe.get("output")
    _require(
        isinstance(output, list)
        and len(output) == rows
        and all(isinstance(row, list) and len(row) == width for row in output),
        f"the probe's output must be {rows} rows of {width} numbers",
    )
    return pd.DataFrame(frame), np.asarray(output, dtype=np.float64)


# ---------------------------------------------------------------------- rebuilding
def _rebuild(plan: ColumnPlan, num: dict | None, cat: dict | None) -> ColumnTransformer:
    """The transformer fitted on two synthetic rows, then given the stored statistics.

    Fitting lets scikit-learn set up its own fitted structure; two rows suffice
    because the encoder is handed the stored categories (and then set back to
    ``categories='auto'``, as built), and a missing value in the first row of each
    column with an indicator gives the imputers the same indicators.
    """
    transformer = build_transformer(plan.numeric, plan.categorical)
    if cat:
        transformer.set_params(cat__onehot__categories=cat["categories"])
    transformer.fit(_synthetic_frame(num, cat))
    if num:
        _restore_numeric(transformer.named_transformers_["num"], num)
    if cat:
        transformer.set_params(cat__onehot__categories="auto")
        _restore_categorical(transformer.named_transformers_["cat"], cat)
    return transformer


def _synthetic_frame(num: dict | None, cat: dict | None) -> pd.DataFrame:
    """Two rows: the first misses the columns with an indicator, the second has none."""
    parts = []
    if num:
        rows = np.tile(num["medians"], (2, 1))
        rows[0, num["missing"]] = np.nan
        parts.append(pd.DataFrame(rows, columns=num["columns"]))
    if cat:
        n = len(cat["columns"])
        rows = np.array([[c[0] for c in cat["categories"][:n]]] * 2, dtype=object)
        rows[0, cat["missing"]] = np.nan
        parts.append(pd.DataFrame(rows, columns=cat["columns"], dtype=object))
    return pd.concat(parts, axis=1) if len(parts) > 1 else parts[0]


def _restore_numeric(pipeline, num: dict) -> None:
    imputer, scaler = pipeline["impute"], pipeline["scale"]
    fitted = [] if imputer.indicator_ is None else imputer.indicator_.features_.tolist()
    _require(fitted == num["missing"], "numeric indicator columns do not rebuild")
    imputer.statistics_ = num["medians"].copy()
    scaler.mean_, scaler.var_ = num["mean"].copy(), num["var"].copy()
    scaler.scale_ = num["scale"].copy()
    scaler.n_samples_seen_ = num["n_samples_seen"]


def _restore_categorical(pipeline, cat: dict) -> None:
    imputer, encoder = pipeline["impute"], pipeline["onehot"]
    fitted = [] if imputer.indicator_ is None else imputer.indicator_.features_.tolist()
    _require(fitted == cat["missing"], "categorical indicator columns do not rebuild")
    _require(
        [list(c) for c in encoder.categories_] == cat["categories"], "categories do not rebuild"
    )
    imputer.statistics_ = np.array(cat["most_frequent"], dtype=object)
    encoder.categories_ = [np.array(c, dtype=object) for c in cat["categories"]]
    encoder.categories = "auto"  # as built; the fit was handed the stored ones


def _check_probe(transformer: ColumnTransformer, frame: pd.DataFrame, expected) -> None:
    out = transformer.transform(frame)
    _require(
        out.shape == expected.shape and bool(np.allclose(out, expected, rtol=1e-9, atol=1e-12)),
        "the rebuilt transformer does not reproduce the stored probe output (file "
        "tampered with, or written by an incompatible scikit-learn)",
    )
