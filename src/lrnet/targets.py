"""Labels <-> target matrices, and the weights of the rows (class and sample weights).

The estimator keeps a fitted ``LabelBinarizer`` (scikit-learn's, so its label types
and its ``classes_`` are exactly scikit-learn's); this module fits it, encodes ``y``
with it, rebuilds it from a model file, and combines ``sample_weight`` with
``class_weight``.  Every error names what was received and the fix.
"""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import compute_sample_weight
from sklearn.utils.multiclass import type_of_target, unique_labels

from .validation import check_class_weight, check_sample_weight_values

MULTILABEL = "multilabel-indicator"


def fit_labels(y, classes, incremental: bool) -> LabelBinarizer:
    """The ``LabelBinarizer`` of a new fit: from ``y``, or from ``classes`` in partial_fit."""
    binarizer = LabelBinarizer()
    y_type = type_of_target(y)
    if incremental and not y_type.startswith("multilabel"):
        if classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: the full list "
                "of labels, e.g. classes=np.unique(y_all)."
            )
        binarizer.fit(classes)
    else:
        binarizer.fit(y)
    if binarizer.y_type_ != MULTILABEL and len(binarizer.classes_) < 2:
        raise ValueError(
            f"y contains only one class ({binarizer.classes_.tolist()[0]!r}) among {len(y)} "
            "samples; a classifier needs at least 2 classes. Check the target column, or "
            "add samples of the other classes."
        )
    return binarizer


def check_same_classes(classes, known: np.ndarray) -> None:
    """Later partial_fit calls may repeat ``classes`` but not change them."""
    given = unique_labels(classes)
    if not np.array_equal(given, known):
        raise ValueError(
            f"classes={given.tolist()} is not the same as on the first call to "
            f"partial_fit, {known.tolist()}. The classes are fixed by that call; "
            "to change them, start over with fit or a fresh estimator."
        )


#: how the unknown-label error ends for the training labels (partial_fit fixes classes)
_FIX_CLASSES = (
    "this model knows. On the first partial_fit call, pass every label of the problem in `classes`."
)


def encode(binarizer: LabelBinarizer, y, dtype, name: str = "y", fix: str = _FIX_CLASSES):
    """The target matrix of ``y`` (one column per output unit) in ``dtype``.

    A label outside the fitted classes is an error naming ``name``; ``fix`` ends it.
    """
    classes = binarizer.classes_
    if binarizer.y_type_ == MULTILABEL:
        if y.ndim != 2 or y.shape[1] != len(classes):
            raise ValueError(
                f"{name} has shape {y.shape}, but this model was fitted on a multi-label "
                f"indicator matrix with {len(classes)} columns."
            )
        return np.ascontiguousarray(y, dtype=dtype)
    unknown = np.setdiff1d(unique_labels(y), classes)
    if unknown.size:
        raise ValueError(
            f"{name} has label(s) {unknown.tolist()} that are not among the classes "
            f"{classes.tolist()} {fix}"
        )
    return binarizer.transform(y).astype(dtype)


def restore_labels(label_type: str, classes: np.ndarray) -> LabelBinarizer:
    """The fitted ``LabelBinarizer`` of a model file's label type and classes.

    Object-dtype ``classes`` (a model fitted on a pandas column of objects) are fitted
    as the native array a model file stores, and kept as objects, as in training.
    """
    keep_objects = classes.dtype == object
    if keep_objects:
        classes = np.array(classes.tolist())
    binarizer = LabelBinarizer()
    if label_type == MULTILABEL:
        # two rows of zeros: the same fit as an identity matrix, in O(labels), not O(labels**2)
        binarizer.fit(np.zeros((2, len(classes)), dtype=int))
    else:
        binarizer.fit(classes)
    if binarizer.y_type_ != label_type or not np.array_equal(binarizer.classes_, classes):
        raise ValueError(f"classes {classes.tolist()!r} do not fit label type {label_type!r}")
    if keep_objects:
        binarizer.classes_ = classes.astype(object)
    return binarizer


def row_weights(sample_weight, class_weight, X, y, incremental: bool = False):
    """The weight of each row in X's dtype (or None): sample weight times class weight.

    ``sample_weight`` is already checked (:func:`sample_weight_array`) or None.
    """
    sw = sample_weight
    if class_weight is not None:
        if y.ndim == 2:
            raise ValueError(
                "class_weight is not supported for multi-label y. Pass per-sample "
                "weights in sample_weight instead."
            )
        check_class_weight(class_weight)
        cw = compute_sample_weight(class_weight, y).astype(X.dtype)
        sw = cw if sw is None else sw * cw
        if not sw.any():
            raise ValueError(
                f"With class_weight={class_weight!r} every row of this batch weighs "
                "0. Give the classes present in y a positive weight."
            )
    if sw is not None and y.ndim == 1 and not incremental:
        # partial_fit batches may hold one class: the others were fixed by `classes`
        live = np.unique(y[sw > 0])
        if live.size < 2:
            raise ValueError(
                f"After weighting, only the class {live.tolist()} has a positive weight; "
                "a classifier needs at least 2 classes with positive sample_weight."
            )
    return sw


def sample_weight_array(sample_weight, X, name: str = "sample_weight", of: str = "X"):
    """``sample_weight`` as finite weights >= 0 in X's dtype, one per row."""
    try:
        sw = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a 1-D array of numbers, one per row of {of}, got "
            f"{type(sample_weight).__name__}. Pass e.g. a NumPy array or a list."
        ) from None
    if sw.ndim == 0:
        sw = np.full(X.shape[0], sw)
    if sw.shape != (X.shape[0],):
        raise ValueError(
            f"{name} has shape {sw.shape}, expected ({X.shape[0]},): one weight per row of {of}."
        )
    check_sample_weight_values(sw, name)
    cast = sw.astype(X.dtype)
    if not np.isfinite(cast).all():
        raise ValueError(
            f"{name} has values up to {sw.max():g}, beyond the range of {of}'s "
            f"dtype {X.dtype}. Divide the weights by a constant, or pass {of} as float64."
        )
    return cast
