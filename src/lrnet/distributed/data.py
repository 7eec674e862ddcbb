"""A fit's dask data: row-aligned dask arrays, their labels, and each chunk made ready.

:func:`dask_data` turns what the user passed (a ``dask.array`` or a numeric
``dask.dataframe`` for X; a dask array or series, or a NumPy array, for y and
``sample_weight``) into :class:`DaskData`: three arrays with the same row chunks and
one column chunk for X.  :class:`Prepare` is what every chunk goes through where it
lives (on a worker, or here when streaming): X as a C-contiguous float array checked
for NaN and inf, the target matrix of its labels, and its row weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import dask.array as da
import numpy as np
from pandas.api.types import is_numeric_dtype
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets

from .. import targets
from ..heads import head_for
from ..validation import check_class_weight, check_finite


@dataclass(frozen=True)
class DaskData:
    """X, y and sample_weight (or None) as dask arrays with the same row chunks."""

    X: da.Array
    y: da.Array
    sample_weight: da.Array | None
    feature_names: np.ndarray | None = None

    @property
    def n_samples(self) -> int:
        """Rows of X."""
        return int(self.X.shape[0])

    @property
    def dtype(self) -> np.dtype:
        """The training dtype: float32 stays float32, anything else trains in float64."""
        return np.dtype(np.float32 if self.X.dtype == np.float32 else np.float64)

    def chunks(self) -> list[tuple]:
        """``(x, y, sw)`` delayed objects of each row chunk, in row order."""
        xs = self.X.to_delayed().ravel()
        ys = self.y.to_delayed().ravel()
        sws = [None] * len(xs) if self.sample_weight is None else self.sample_weight.to_delayed()
        return list(zip(xs, ys, np.ravel(sws), strict=True))

    @property
    def chunk_rows(self) -> tuple[int, ...]:
        """Rows of each chunk."""
        return tuple(int(r) for r in self.X.chunks[0])


def _as_array(obj, name: str, lengths: bool = True) -> da.Array:
    """A dask array from a dask array, dataframe or series; a clear error otherwise."""
    if isinstance(obj, da.Array):
        return obj
    to_array = getattr(obj, "to_dask_array", None)
    if to_array is None:
        raise TypeError(
            f"{name} is a {type(obj).__name__}; with dask input, expected a dask.array, "
            "a dask.dataframe or a dask series. Convert it with dask.array.from_array or "
            "dask.dataframe.from_pandas."
        )
    return to_array(lengths=lengths)


def _numeric_frame(X) -> np.ndarray | None:
    """The column names of a dask dataframe after checking that every column is numeric."""
    if isinstance(X, da.Array) or not hasattr(X, "dtypes"):
        return None
    bad = [str(c) for c, t in X.dtypes.items() if not is_numeric_dtype(t)]
    if bad:
        raise ValueError(
            f"X has non-numeric columns {bad[:5]}; a dask dataframe must be numeric to train "
            "on. Encode them first (e.g. dask_ml.preprocessing.Categorizer + DummyEncoder), "
            "or drop them."
        )
    names = np.asarray([str(c) for c in X.columns], dtype=object)
    return names if all(isinstance(c, str) for c in X.columns) else None


def dask_data(X, y, sample_weight=None) -> DaskData:
    """Row-aligned dask arrays of a fit's inputs; a ``ValueError`` says what does not fit."""
    if y is None:
        raise ValueError(
            "LRNClassifier requires y to be passed, but the target y is None. "
            "Pass the class labels as the second argument of fit."
        )
    names = _numeric_frame(X)
    X = _as_array(X, "X")
    if X.ndim != 2:
        raise ValueError(
            f"X has {X.ndim} dimension(s) and shape {X.shape}; expected a 2-D dask array of "
            "shape (n_samples, n_features). Reshape it, e.g. X.reshape(-1, 1) for one feature."
        )
    if np.isnan(X.shape[0]):
        X = X.compute_chunk_sizes()
    if not np.issubdtype(X.dtype, np.number) and X.dtype != bool:
        raise ValueError(
            f"X has dtype {X.dtype}; expected numbers. Convert it with X.astype(float)."
        )
    X = X.rechunk({1: -1})  # one column chunk: a row chunk is a block of whole rows
    rows = X.chunks[0]
    y = _aligned(y, "y", rows)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel().rechunk((rows,))
    if y.ndim != 1:
        raise ValueError(
            f"y has shape {y.shape}; with dask input lrnet trains on one label per row (a "
            "1-D array). Multi-label indicator matrices are supported in memory only: pass "
            "NumPy arrays, or one label column."
        )
    sw = None if sample_weight is None else _aligned(sample_weight, "sample_weight", rows)
    if sw is not None and sw.ndim != 1:
        raise ValueError(
            f"sample_weight has shape {sw.shape}; expected one weight per row, shape "
            f"({X.shape[0]},)."
        )
    return DaskData(X, y, sw, names)


def _aligned(v, name: str, rows: tuple[int, ...]) -> da.Array:
    """``v`` (dask or NumPy) as a dask array chunked like X's rows; lengths checked."""
    if not hasattr(v, "dask"):
        v = np.asarray(v)
        arr = da.from_array(v, chunks=(rows,) + v.shape[1:])
    else:
        arr = _as_array(v, name)
        if np.isnan(arr.shape[0]):
            arr = arr.compute_chunk_sizes()
    n = sum(rows)
    if arr.shape[0] != n:
        raise ValueError(
            f"X has {n} rows but {name} has {arr.shape[0]}: they must describe the same "
            "samples. Check that both come from the same table."
        )
    return arr.rechunk((rows,) + arr.shape[1:])


def fit_labels(data: DaskData):
    """The ``LabelBinarizer`` of y's classes (found with one reduction of y)."""
    classes = np.asarray(da.unique(data.y).compute())
    check_classification_targets(classes)
    if classes.size < 2:
        raise ValueError(
            f"y contains only one class ({classes.tolist()[0]!r}) among {data.n_samples} "
            "samples; a classifier needs at least 2 classes. Check the target column, or "
            "add samples of the other classes."
        )
    return targets.fit_labels(classes, None, False)


def class_weight_map(class_weight, data: DaskData, classes: np.ndarray) -> dict | None:
    """``class_weight`` as an explicit ``{class: weight}`` ('balanced' from y's counts)."""
    if class_weight is None:
        return None
    if class_weight == "balanced":
        labels, counts = da.unique(data.y, return_counts=True)
        labels, counts = (np.asarray(a) for a in da.compute(labels, counts))
        y_counts = np.repeat(labels, counts.astype(np.int64))  # one entry per row: exact
        weights = compute_class_weight("balanced", classes=classes, y=y_counts)
        return dict(zip(classes.tolist(), weights.tolist(), strict=True))
    check_class_weight(class_weight)
    return dict(class_weight)


@dataclass(frozen=True)
class Prepare:
    """One chunk as training arrays: ``(X, Y, sample_weight)`` in the training dtype.

    Picklable and small (the label binarizer and a few settings), so it travels inside
    task graphs.  NaN or inf in X is the same error as in memory.
    """

    binarizer: object
    dtype: np.dtype
    label_smoothing: float = 0.0
    class_weight: dict | None = None

    def __call__(self, x, y, sw=None):
        """``(X, Y, sw)`` of one chunk; ``sw`` is None without weights."""
        X = np.ascontiguousarray(x, dtype=self.dtype)
        check_finite(X)
        y = np.asarray(y).ravel()
        head = head_for(self.binarizer.y_type_)
        Y = head.smooth(targets.encode(self.binarizer, y, self.dtype), self.label_smoothing)
        if sw is not None:
            sw = targets.sample_weight_array(np.asarray(sw).ravel(), X)
        if self.class_weight is not None:
            cw = compute_sample_weight(self.class_weight, y).astype(self.dtype)
            sw = cw if sw is None else sw * cw
        return X, Y, sw
