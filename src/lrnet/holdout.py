"""The validation data of a fit: a held-out split of X, or a set the user gives.

:func:`split_validation` holds out ``validation_fraction`` of the training rows
(stratified), as ``MLPClassifier`` does.  :func:`given_validation_set` checks an
``X_val, y_val, sample_weight_val`` passed to ``fit`` (the names and meaning of
``HistGradientBoostingClassifier.fit``).  :func:`make_validator` turns either into the
``validate(params) -> (loss, score)`` that the training loop calls after each epoch:
the mean cross-entropy against the targets as training sees them (label smoothing
included, no penalty) and the accuracy, both weighted by the validation sample
weights.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import validate_data

from . import targets
from .losses import cross_entropy
from .network import predict_logits
from .validation import (
    check_finite,
    check_indicator_values,
    check_lengths,
    explain_conversion_error,
)


def split_validation(X, Y, y, sample_weight, fraction: float, rng: np.random.Generator):
    """Hold out ``fraction`` of the rows (stratified by ``y`` when it is 1-D).

    Returns ``((X_train, Y_train, sw_train), (X_val, Y_val, y_val, sw_val))``, the
    training part contiguous (CSR when sparse).  Too small a split is an error that
    says how to fix it.
    """
    stratify = y if y.ndim == 1 else None
    seed = int(rng.integers(np.iinfo(np.int32).max))
    arrays = [X, Y, y] + ([] if sample_weight is None else [sample_weight])
    too_small = (
        f"The validation set is too small for validation_fraction={fraction} of "
        f"{X.shape[0]} samples"
    )
    fix = "Increase 'validation_fraction' or the size of your dataset."
    if not fraction:
        raise ValueError(f"{too_small}: it is empty. {fix}")
    try:
        parts = train_test_split(*arrays, test_size=fraction, random_state=seed, stratify=stratify)
    except ValueError as err:  # e.g. fewer validation rows than classes
        raise ValueError(f"{too_small} ({err}). {fix}") from None
    X_tr, X_val, Y_tr, Y_val, _, y_val = parts[:6]
    sw_tr, sw_val = (parts[6], parts[7]) if sample_weight is not None else (None, None)
    if X_val.shape[0] < 2:
        raise ValueError(f"{too_small} ({X_val.shape[0]} sample(s)). {fix}")
    if sw_val is not None and not sw_val.any():
        raise ValueError(
            f"Every one of the {X_val.shape[0]} validation samples has sample_weight 0, "
            f"so they cannot score the model. {fix} Or drop the rows of weight 0."
        )
    X_tr = X_tr.tocsr() if sp.issparse(X_tr) else np.ascontiguousarray(X_tr)
    return (X_tr, np.ascontiguousarray(Y_tr), sw_tr), (X_val, Y_val, y_val, sw_val)


def given_validation_set(estimator, X_val, y_val, sample_weight_val, dtype, head):
    """``(X_val, Y_val, y_val, sw_val)`` checked against the fitted ``estimator``.

    ``X_val`` must have X's columns (and names), ``y_val`` only labels of y's classes.
    Returns None when no validation set was given.
    """
    if X_val is None and y_val is None:
        if sample_weight_val is not None:
            raise ValueError(
                "sample_weight_val was given without X_val and y_val: pass the validation "
                "samples and labels too, or drop sample_weight_val."
            )
        return None
    if X_val is None or y_val is None:
        given, missing = ("X_val", "y_val") if y_val is None else ("y_val", "X_val")
        raise ValueError(
            f"{given} was given without {missing}: a validation set needs both the samples "
            "(X_val) and their labels (y_val). Pass both, or neither."
        )
    check_lengths(X_val, y_val, ("X_val", "y_val"))
    width = getattr(X_val, "shape", (None, None))
    if len(width) == 2 and width[1] != estimator.n_features_in_:
        raise ValueError(
            f"X_val has {width[1]} features, but X has {estimator.n_features_in_}: the "
            "validation set must have the same columns as the training data."
        )
    try:
        X_val, y_val = validate_data(
            estimator,
            X_val,
            y_val,
            reset=False,
            accept_sparse=["csr", "csc"],
            dtype=dtype,
            multi_output=True,
            ensure_all_finite=False,
            y_numeric=False,
        )
    except (ValueError, TypeError) as err:
        raise explain_conversion_error(err, X_val) from None
    check_finite(X_val, "X_val")
    if sp.issparse(X_val):
        X_val = X_val.tocsr()
    if sp.issparse(y_val):
        y_val = y_val.toarray()
    multilabel = head.label_type == targets.MULTILABEL
    if y_val.ndim == 2 and y_val.shape[1] == 1 and not multilabel:
        y_val = y_val.ravel()
    if y_val.ndim == 2 and not multilabel:
        raise ValueError(
            f"y_val has shape {y_val.shape}, but y was a 1-D array of labels: pass the "
            "validation labels the same way, one label per row."
        )
    if multilabel and y_val.ndim == 2:
        check_indicator_values(y_val, "y_val")
    Y_val = head.smooth(
        targets.encode(
            estimator._label_binarizer,
            y_val,
            dtype,
            "y_val",
            "of y. The validation labels must come from the training labels' classes.",
        ),
        estimator.label_smoothing,
    )
    sw_val = None
    if sample_weight_val is not None:
        sw_val = targets.sample_weight_array(sample_weight_val, X_val, "sample_weight_val", "X_val")
    return X_val, Y_val, y_val, sw_val


def make_validator(net, head, classes, X_val, Y_val, y_val, sw_val):
    """``validate(params) -> (mean cross-entropy, accuracy)`` on the validation set."""

    def validate(params):
        coefs, intercepts = net.layout.views(params)
        Z = predict_logits(coefs, intercepts, X_val, net.act)
        score = float(accuracy_score(y_val, head.decode(Z, classes), sample_weight=sw_val))
        return cross_entropy(Z, Y_val, sw_val, net.out_kind), score

    return validate
