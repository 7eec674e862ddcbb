"""Evaluation metrics of a classifier, against the class-prior baseline, with calibration.

:func:`classification_metrics` gives everything a report shows: accuracy, balanced
accuracy, log-loss, ROC AUC (binary), per-class precision/recall/F1, the confusion
matrix, the expected calibration error with its reliability bins
(:mod:`lrnet.calibration`), and the same metrics for the **class-prior baseline** -- a
model that ignores the inputs and predicts the training class frequencies for every
row -- with a warning for each metric the model does not beat.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

from .calibration import DEFAULT_BINS, expected_calibration_error, reliability_bins


def classification_metrics(
    y_true, proba: np.ndarray, classes: np.ndarray, priors=None, order=None
) -> dict:
    """The model's metrics, the class-prior baseline's, and its calibration.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels, all among ``classes``.
    proba : ndarray of shape (n_samples, n_classes)
        Predicted probabilities, columns in the order of ``classes``.
    classes : ndarray of shape (n_classes,)
        The model's classes.
    priors : array-like of shape (n_classes,) or None
        Training-row counts (or frequencies) of ``classes``: the class-prior baseline
        (see :func:`baseline_metrics`).  ``None``: the frequencies of ``y_true``.
    order : sequence of str or None
        Class names in the order to show them (an ordered categorical target's
        categories); classes it does not name follow in ``classes`` order.

    Returns
    -------
    dict
        JSON-compatible: ``n_samples``, ``accuracy``, ``balanced_accuracy`` (mean recall
        over the classes present in ``y_true``), ``log_loss``, ``roc_auc`` (binary
        problems with both classes present; else None), ``macro_f1`` (over the classes
        that occur in ``y_true`` or in the predictions), ``classes`` (as strings, in
        display order), ``per_class`` (list of dicts), ``confusion_matrix`` (rows: true
        class, columns: predicted class), ``baseline`` (:func:`baseline_metrics`),
        ``calibration`` (``ece``, ``n_bins`` and the reliability ``bins``) and
        ``warnings`` (:func:`baseline_warnings`).
    """
    y_true = np.asarray(y_true)
    classes = np.asarray(classes)
    y_pred = classes[np.argmax(proba, axis=1)]
    shown = classes[display_order(classes, order)]
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=shown, zero_division=0
    )
    # classes neither in the data nor predicted have no F1 to average
    present = np.isin(shown, np.union1d(np.unique(y_true), np.unique(y_pred)))
    names = [str(c) for c in shown]
    per_class = [
        {
            "class": names[i],
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i in range(len(shown))
    ]
    y_index = np.searchsorted(classes, y_true) if _sorted(classes) else _index(classes, y_true)
    bins = reliability_bins(proba, y_index)
    metrics = {
        "n_samples": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(np.mean(recall[support > 0])),
        "log_loss": float(log_loss(y_true, proba, labels=classes)),
        "roc_auc": _roc_auc(y_true, proba, classes),
        "macro_f1": float(np.mean(f1[present])),
        "classes": names,
        "per_class": per_class,
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=shown).tolist(),
        "baseline": baseline_metrics(y_true, classes, priors),
        "calibration": {
            "ece": expected_calibration_error(bins),
            "n_bins": DEFAULT_BINS,
            "bins": bins,
        },
    }
    metrics["warnings"] = baseline_warnings(metrics)
    return metrics


def _sorted(classes: np.ndarray) -> bool:
    try:
        return bool(np.all(classes[:-1] < classes[1:]))
    except TypeError:
        return False


def _index(classes: np.ndarray, y: np.ndarray) -> np.ndarray:
    lookup = {c: i for i, c in enumerate(classes.tolist())}
    return np.array([lookup[v] for v in y.tolist()], dtype=np.intp)


def display_order(classes, order=None) -> np.ndarray:
    """Indices of ``classes`` in display order: those ``order`` names first, in its order."""
    names = [str(c) for c in classes]
    if not order:
        return np.arange(len(names))
    rank = {str(name): i for i, name in enumerate(order)}
    return np.array(
        sorted(range(len(names)), key=lambda i: (rank.get(names[i], len(rank)), i)), dtype=np.intp
    )


def _roc_auc(y_true, proba, classes) -> float | None:
    """ROC AUC of ``classes[1]``'s probability, for two classes that both occur."""
    if len(classes) != 2 or len(np.unique(y_true)) != 2:
        return None
    return float(roc_auc_score(y_true == classes[1], proba[:, 1]))


def baseline_metrics(y_true, classes, priors=None) -> dict:
    """The metrics of the class-prior baseline: a model that ignores the inputs.

    It predicts the class frequencies ``priors`` for every row (its log-loss) and so
    always the most frequent class (its accuracy, balanced accuracy and ROC AUC 0.5).
    ``priors`` are the training rows' class counts: what a constant model fitted to
    the training data would predict.  Without them (``None``) the frequencies of
    ``y_true`` are used, which flatters the baseline (its log-loss is then the entropy
    of the evaluated labels, the lowest any constant model can reach).

    Returns
    -------
    dict
        ``priors_from`` ('training data' or 'evaluated data'), ``priors`` (class name
        -> frequency, in the order of ``classes``), ``majority_class``,
        ``accuracy``, ``balanced_accuracy``, ``log_loss``, ``roc_auc`` (0.5 for a
        binary problem with both classes present, else None).
    """
    y_true = np.asarray(y_true)
    classes = np.asarray(classes)
    source = "training data"
    if priors is None:
        source = "evaluated data"
        priors = [np.sum(y_true == c) for c in classes]
    p = np.asarray(priors, dtype=np.float64)
    if p.shape != (len(classes),) or not np.all(p >= 0) or not p.sum() > 0:
        raise ValueError(
            f"priors {np.asarray(priors).tolist()!r}: expected {len(classes)} non-negative "
            "class counts or frequencies, not all zero."
        )
    p = p / p.sum()
    majority = classes[int(np.argmax(p))]
    present = np.unique(y_true)
    hit = np.mean(y_true == majority) if len(y_true) else float("nan")
    probabilities = np.maximum(p, np.finfo(np.float64).tiny)
    return {
        "priors_from": source,
        "priors": {str(c): float(v) for c, v in zip(classes, p, strict=True)},
        "majority_class": str(majority),
        "accuracy": float(hit),
        "balanced_accuracy": float((majority in present) / max(len(present), 1)),
        "log_loss": float(
            log_loss(y_true, np.tile(probabilities, (len(y_true), 1)), labels=classes)
        ),
        "roc_auc": 0.5 if len(classes) == 2 and len(present) == 2 else None,
    }


def baseline_warnings(metrics: dict) -> list[str]:
    """Sentences for the metrics that do not beat the class-prior baseline.

    The log-loss must be below the baseline's (the priors), and the accuracy at least
    the majority class's: a model on a 95%-majority table that scores 0.93 is worse
    than always answering the majority class, whatever its log-loss.
    """
    base, said = metrics["baseline"], []
    if not metrics["log_loss"] < base["log_loss"]:
        said.append(
            f"the model's log-loss {metrics['log_loss']:.4f} is no better than "
            f"{base['log_loss']:.4f}, that of predicting the class frequencies of the "
            f"{base['priors_from']} for every row: the inputs do not predict the target, or "
            "the model over-fits (try early stopping, a larger --alpha or a smaller network)."
        )
    if metrics["accuracy"] < base["accuracy"]:
        said.append(
            f"the model's accuracy {metrics['accuracy']:.4f} is below "
            f"{base['accuracy']:.4f}, that of always predicting the majority class "
            f"{base['majority_class']!r}."
        )
    return said


def summary_rows(metrics: dict) -> list[list]:
    """``[name, model value, baseline value]`` rows: the summary of the terminal and HTML.

    Values are floats (None where a metric does not apply); the baseline column is
    the class-prior baseline of :func:`baseline_metrics`.
    """
    base = metrics["baseline"]
    majority = f"always {base['majority_class']!r}"
    rows = [
        ["accuracy", metrics["accuracy"], base["accuracy"], majority],
        ["balanced accuracy", metrics["balanced_accuracy"], base["balanced_accuracy"], majority],
        ["log-loss", metrics["log_loss"], base["log_loss"], "class frequencies"],
    ]
    if metrics.get("roc_auc") is not None:
        rows.append(["ROC AUC", metrics["roc_auc"], base["roc_auc"], "no ranking"])
    rows.append(["macro F1", metrics["macro_f1"], None, ""])
    calibration = metrics["calibration"]
    rows.append([f"ECE ({calibration['n_bins']} bins)", calibration["ece"], None, ""])
    return rows
