"""Checks on user input, each failing with what was received, what was expected and the fix."""

from __future__ import annotations

import difflib
import math
from numbers import Number

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import _num_samples, column_or_1d, validate_data

_IMPUTE_HINT = (
    "Impute or drop them first, for example with sklearn.impute.SimpleImputer in a Pipeline, "
    "or train with the `lrnet train` command, which imputes missing values automatically."
)


#: arrays up to this many values are checked in Python (a single-row prediction: 0.4 us)
_TINY_SIZE = 32
#: arrays up to this many values are checked value by value (exact, about 1 us)
_SMALL = 1 << 16
#: block size of the value-by-value check of large arrays (bounded scratch memory)
_BLOCK = 1 << 20


def all_finite(values: np.ndarray) -> bool:
    """True when every value is finite (no NaN, no infinity).

    Small arrays: ``isfinite().all()``, exact and warning-free.  Large arrays: a finite
    sum proves every value finite without allocating anything; only when the sum is
    not finite (a bad value, or an overflow of large finite ones) are the values
    checked one by one, in blocks, so a 60k x 784 X never needs a 47 MB mask.
    """
    if values.size <= _TINY_SIZE:
        return all(map(math.isfinite, values.ravel().tolist()))
    if values.size <= _SMALL:
        return bool(np.isfinite(values).all())
    with np.errstate(over="ignore", invalid="ignore"):
        if math.isfinite(values.sum()):
            return True
    flat = values.reshape(-1)
    return all(bool(np.isfinite(flat[i : i + _BLOCK]).all()) for i in range(0, flat.size, _BLOCK))


def check_finite(X, name: str = "X") -> None:
    """Raise ``ValueError`` naming NaN or infinity, how many and where the first one is."""
    values = X.data if sp.issparse(X) else X
    if values.dtype.kind != "f":
        return
    if all_finite(values):
        return
    bad = ~np.isfinite(values)
    n_nan = int(np.isnan(values).sum())
    what = "NaN" if n_nan else "infinity"
    count = n_nan if n_nan else int(bad.sum())
    where = ""
    if not sp.issparse(X) and values.ndim == 2:
        r, c = np.argwhere(bad)[0]
        where = f"; the first at row {r}, column {c}"
    hint = _IMPUTE_HINT if n_nan else "Replace or clip the infinite values before fitting."
    raise ValueError(
        f"Input {name} contains {what} ({count} value(s){where}); LRNClassifier expects "
        f"finite numbers. {hint}"
    )


def check_lengths(X, y, names: tuple[str, str] = ("X", "y")) -> None:
    """X and y must describe the same rows."""
    n_x, n_y = _num_samples(X), _num_samples(y)
    if n_x != n_y:
        x, yname = names
        raise ValueError(
            f"{x} has {n_x} rows but {yname} has {n_y} labels: they must have the same length "
            f"(found input variables with inconsistent numbers of samples: [{n_x}, {n_y}]). "
            f"Check that {x} and {yname} are taken from the same rows."
        )


def _column_names(X, kinds: str) -> list[str]:
    """The columns of ``X`` (a frame, or an array as a whole) whose dtype kind is in ``kinds``."""
    if hasattr(X, "dtypes") and hasattr(X.dtypes, "items"):
        return [str(c) for c, t in X.dtypes.items() if getattr(t, "kind", "O") in kinds]
    dtype = getattr(X, "dtype", None)
    return ["(all)"] if dtype is not None and dtype.kind in kinds else []


def unsupported_features(X, name: str = "X") -> ValueError | None:
    """The error for date, time-span or complex features in ``X``, or ``None``.

    Checked on the input as given, before any conversion: NumPy would otherwise turn
    dates into nanoseconds without a word, or print the whole array in its error.
    """
    for kinds, what, fix in (
        (
            "mM",
            "dates or time spans",
            "Convert them to numbers first, e.g. seconds since a reference date "
            "((X[c] - X[c].min()).dt.total_seconds()) or calendar features (year, month, "
            "day of week), or drop them.",
        ),
        (
            "c",
            "complex numbers",
            "Split each into real numbers first, e.g. np.column_stack([X.real, X.imag]) "
            "or the magnitude np.abs(X).",
        ),
    ):
        columns = _column_names(X, kinds)
        if columns:
            dtypes = X.dtypes if hasattr(X, "dtypes") else None
            if columns == ["(all)"]:
                where = f"{name} has dtype {X.dtype}"
            else:
                shown = ", ".join(f"{c!r} ({dtypes[c]})" for c in columns[:10])
                more = f" and {len(columns) - 10} more" if len(columns) > 10 else ""
                where = f"{name} column(s) {shown}{more} hold {what}"
            # scikit-learn's words first: its estimator checks match them
            prefix = "Complex data not supported: " if kinds == "c" else ""
            return ValueError(
                f"{prefix}{where}: LRNClassifier needs real numbers, not {what}. {fix}"
            )
    return None


def explain_conversion_error(err: Exception, X) -> Exception:
    """Reword numpy's "could not convert string to float" for non-numeric X."""
    unsupported = unsupported_features(X)
    if unsupported is not None:
        return unsupported
    msg = str(err)
    # numpy's message is followed by the whole array; a list of complex numbers fails in float()
    if msg.startswith("Complex data not supported") or "not 'complex'" in msg:
        return ValueError(
            "Complex data not supported: X holds complex numbers, and LRNClassifier needs real "
            "numbers. Split each into "
            "real numbers first, e.g. np.column_stack([X.real, X.imag]) or the magnitude "
            "np.abs(X)."
        )
    if "could not convert" not in msg and "must be a string" not in msg:
        return err
    dtypes = ""
    if hasattr(X, "dtypes"):
        # ``kind`` also exists on pandas extension dtypes (StringDtype: "O"), which
        # np.issubdtype cannot interpret
        bad = [str(c) for c, t in X.dtypes.items() if getattr(t, "kind", "O") not in "biufc"]
        dtypes = f" Non-numeric columns: {bad}."
    text = (
        f"X must be numeric, but it contains values that are not numbers ({msg}).{dtypes} "
        "Encode categorical columns first, for example with sklearn.preprocessing.OneHotEncoder "
        "in a ColumnTransformer, or train with the `lrnet train` command, which encodes them."
    )
    return type(err)(text)


def check_sample_weight_values(sample_weight: np.ndarray, name: str = "sample_weight") -> None:
    """Weights must be finite and non-negative."""
    if not np.isfinite(sample_weight).all():
        n = int((~np.isfinite(sample_weight)).sum())
        raise ValueError(
            f"{name} contains {n} non-finite value(s) (NaN or infinity); expected "
            "finite weights >= 0. Replace them, e.g. with 0 to drop those rows."
        )
    if (sample_weight < 0).any():
        n = int((sample_weight < 0).sum())
        raise ValueError(
            f"{name} contains {n} negative value(s) (min {sample_weight.min():g}); "
            "expected weights >= 0. A weight of 0 drops a row; clip or fix the negative ones."
        )
    if not sample_weight.any():
        raise ValueError(
            f"{name} sums to zero: every row would be ignored. Give at least some rows a "
            "positive weight."
        )


def _numbers(values, name: str, expected: str) -> list[float]:
    """``values`` (a number or a flat sequence) as floats, or a message naming ``name``."""
    if isinstance(values, (str, bytes, dict)):
        raise ValueError(f"{name} must be {expected}, got {values!r}.")
    items = [values] if np.ndim(values) == 0 else values
    try:
        return [float(v) for v in items]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {expected}, got {values!r}.") from None


def check_hidden_layer_sizes(sizes) -> tuple[int, ...]:
    """Normalise to a tuple of positive ints."""
    expected = "a positive integer or a sequence of them, e.g. (100,) or (128, 64)"
    values = _numbers(sizes, "hidden_layer_sizes", expected)
    if any(not v.is_integer() or v <= 0 for v in values):
        raise ValueError(
            f"hidden_layer_sizes must be > 0, got {tuple(sizes) if np.ndim(sizes) else sizes}. "
            "Each entry is the number of units of one hidden layer and must be a positive "
            "integer; use () for no hidden layer (plain logistic regression)."
        )
    return tuple(int(v) for v in values)


def check_dropout(rates, n_hidden: int) -> list[float] | None:
    """One dropout rate per hidden layer, each in [0, 1); None when all are 0."""
    if rates is None:
        return None
    expected = f"a rate in [0, 1) or one rate per hidden layer ({n_hidden} here)"
    values = _numbers(rates, "dropout", expected)
    if np.ndim(rates) == 0:
        values = values * n_hidden
    if len(values) != n_hidden or any(not 0.0 <= r < 1.0 for r in values):
        raise ValueError(f"dropout must be {expected}, got {rates!r}.")
    return values if any(values) else None


def check_class_weight(class_weight) -> None:
    """A class_weight dict holds finite weights >= 0 (all zero is caught per batch)."""
    if not isinstance(class_weight, dict):
        return
    bad = {k: v for k, v in class_weight.items() if not (np.isfinite(v) and v >= 0)}
    if bad:
        raise ValueError(
            f"class_weight must map each class to a finite weight >= 0, got {bad!r}. A weight "
            "of 0 ignores a class; use a positive number for the others."
        )


def check_indicator_values(y: np.ndarray, name: str = "y") -> None:
    """A multi-label target is a 0/1 indicator matrix."""
    values = np.unique(y)
    if not np.isin(values, (0, 1)).all():
        raise ValueError(
            f"A multi-label {name} must be an indicator matrix of 0 and 1, got the values "
            f"{values.tolist()[:10]}. Convert it first, e.g. (y > 0).astype(int)."
        )


def suggest_option(err: InvalidParameterError, params: dict, options: dict) -> Exception:
    """Add "did you mean ...?" to scikit-learn's message for a mistyped string option."""
    for name, valid in options.items():
        value = params.get(name)
        if isinstance(value, str) and value not in valid:
            close = difflib.get_close_matches(value, sorted(valid), n=1)
            if close:
                return InvalidParameterError(f"{err} Did you mean {name}={close[0]!r}?")
    return err


def validate_fit_data(estimator, X, y, reset: bool):
    """``X`` (float32/64, CSR when sparse) and ``y`` of a fit, checked with messages.

    scikit-learn's ``validate_data`` (which sets ``n_features_in_`` and the feature
    names on ``estimator`` when ``reset``), then finiteness, the kind of target, and
    0/1 values for a multi-label indicator matrix.
    """
    if y is None:
        raise ValueError(
            "LRNClassifier requires y to be passed, but the target y is None. "
            "Pass the class labels as the second argument of fit."
        )
    check_lengths(X, y)
    unsupported = unsupported_features(X)
    if unsupported is not None:
        raise unsupported
    check_label_values(y)
    try:
        X, y = validate_data(
            estimator,
            X,
            y,
            reset=reset,
            accept_sparse=["csr", "csc"],
            dtype=[np.float64, np.float32],
            multi_output=True,
            ensure_all_finite=False,
            y_numeric=False,
        )
    except (ValueError, TypeError) as err:
        raise explain_conversion_error(err, X) from None
    check_finite(X)
    if sp.issparse(X):
        X = X.tocsr()
        X.sort_indices()
    if sp.issparse(y):
        y = y.toarray()  # a sparse indicator matrix: n_samples x n_labels, small
    check_classification_targets(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    if y.ndim == 2 and type_of_target(y).startswith("multilabel"):
        check_indicator_values(y)
    return X, y


def _labels_as_objects(y) -> np.ndarray | None:
    """A 1-D object array of ``y``'s labels when they may mix types, else ``None``."""
    if isinstance(y, list | tuple):
        try:
            values = np.asarray(y, dtype=object)
        except ValueError:  # ragged nested lists: scikit-learn's check explains them
            return None
    elif getattr(getattr(y, "dtype", None), "kind", None) == "O":  # objects, pandas strings
        values = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
    else:
        return None
    return values if values.ndim == 1 else None


def check_label_values(y, name: str = "y") -> None:
    """Class labels must be present, and of one kind: all numbers or all strings.

    A list that mixes ``0`` and ``'a'`` would become the strings ``'0'`` and ``'a'``,
    and ``None`` would be a class of its own (or an "unknown label type" error).
    """
    values = _labels_as_objects(y)
    if values is None or values.size == 0:
        return
    types = set(map(type, values.tolist()))
    if type(None) in types or float in types:
        missing = np.array([v is None or (isinstance(v, float) and v != v) for v in values])
        if missing.any():
            first = int(np.flatnonzero(missing)[0])
            raise ValueError(
                f"{name} holds {int(missing.sum())} missing label(s) (None or NaN), the first "
                f"at position {first}; every sample needs a class label. Drop those samples "
                f"first (e.g. keep = {name}.notna(); X, {name} = X[keep], {name}[keep]), or "
                "give them a class of their own."
            )
    strings = sorted({t.__name__ for t in types if issubclass(t, str | bytes)})
    numbers = sorted({t.__name__ for t in types if issubclass(t, Number | np.number)})
    if strings and numbers:
        text = next(v for v in values if isinstance(v, str | bytes))
        number = next(v for v in values if isinstance(v, Number | np.number))
        raise ValueError(
            f"{name} mixes numbers and strings (e.g. {number!r} and {text!r}; types "
            f"{', '.join(numbers + strings)}); the labels of one target must share one "
            f"type. Convert them all first, e.g. {name} = np.asarray({name}).astype(str), "
            "or map the strings to numbers."
        )
