"""Calibration: temperature scaling of the logits, and the expected calibration error.

**Temperature scaling** (Guo et al. 2017, "On calibration of modern neural networks")
divides the decision logits by one number ``T > 0`` before the output link:
``p = softmax(z / T)`` or ``p = sigmoid(z / T)``.  ``T > 1`` softens an over-confident
model, ``T < 1`` sharpens an under-confident one; the predicted labels never change
(``argmax`` and the sign of a logit are scale-free).  ``T`` minimises the mean
cross-entropy of ``z / T`` on held-out data the weights were not trained on:

``T = argmin_T  sum_i w_i CE(z_i / T, y_i) / sum_i w_i``

a 1-D bounded problem (Brent's method on ``log T`` within :data:`TEMPERATURE_BOUNDS`;
the loss is convex in ``1 / T``, so it has one minimum).  A multi-label model gets one
shared ``T`` for all its sigmoid outputs: one parameter cannot over-fit a small
validation split, and the model file, the estimator and the ONNX graph carry a scalar.

**Expected calibration error** (the same paper): the rows are put into
:data:`DEFAULT_BINS` equal-width bins of their top-class confidence ``max_k p_k``
(bin ``b`` holds confidences in ``(b/B, (b+1)/B]``, the first bin also 0), and

``ECE = sum_b (n_b / n) |accuracy_b - confidence_b|``

where ``accuracy_b`` is the share of rows of bin ``b`` whose top class is the true one
and ``confidence_b`` their mean confidence.  The reliability diagram plots the same
bins.

Every function here is pure: arrays in, numbers out.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize_scalar

from .losses import cross_entropy

#: the range searched for T: wide enough for label smoothing and heavy over-fitting,
#: narrow enough that a validation split the model classifies perfectly cannot push the
#: logits to infinity
TEMPERATURE_BOUNDS = (0.05, 20.0)
#: equal-width bins of the top-class confidence for the ECE and the reliability diagram
DEFAULT_BINS = 15


def scaled_logits(Z: np.ndarray, temperature: float | None) -> np.ndarray:
    """``Z / temperature`` in ``Z``'s dtype; ``Z`` itself when ``temperature`` is None."""
    if temperature is None:
        return Z
    return Z / np.asarray(temperature, dtype=Z.dtype)


def temperature_loss(temperature: float, Z, Y, link: str, sample_weight=None) -> float:
    """Mean cross-entropy (weighted) of the logits ``Z / temperature`` against ``Y``.

    Parameters
    ----------
    temperature : float
        ``T > 0``.
    Z : ndarray of shape (n_samples, n_outputs)
        Decision logits (the network's raw output).
    Y : ndarray of shape (n_samples, n_outputs)
        Targets: one-hot rows for softmax, 0/1 for sigmoid outputs.
    link : {'softmax', 'logistic'}
        The output link.
    sample_weight : ndarray of shape (n_samples,) or None
        Row weights.
    """
    Z = np.asarray(Z, dtype=np.float64) / float(temperature)
    Y = np.asarray(Y, dtype=np.float64)
    return cross_entropy(Z, Y, sample_weight, link)


def fit_temperature(
    Z, Y, link: str, sample_weight=None, bounds: tuple[float, float] = TEMPERATURE_BOUNDS
) -> float:
    """The temperature ``T`` that minimises :func:`temperature_loss` on ``(Z, Y)``.

    Bounded Brent search on ``log T`` within ``bounds``.  ``T = 1`` (no change) is
    returned when the search finds nothing better, so the fitted loss is never above
    the unscaled one.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_outputs)
        Decision logits on held-out data.
    Y : ndarray of shape (n_samples, n_outputs)
        Their targets (one-hot, or 0/1 per sigmoid output).
    link : {'softmax', 'logistic'}
        The output link.
    sample_weight : ndarray of shape (n_samples,) or None
        Row weights.
    bounds : (float, float)
        The range of ``T``; both positive.

    Returns
    -------
    float
        ``T`` within ``bounds``.
    """
    Z = np.asarray(Z, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if Z.ndim != 2 or Z.shape != Y.shape or Z.shape[0] == 0:
        raise ValueError(
            f"logits of shape {Z.shape} and targets of shape {Y.shape}: expected the same "
            "non-empty (n_samples, n_outputs) shape for both."
        )
    if not np.isfinite(Z).all():
        raise ValueError("the logits hold non-finite values; no temperature can be fitted.")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.shape != (Z.shape[0],) or not sample_weight.sum() > 0:
            raise ValueError(
                f"sample_weight of shape {sample_weight.shape} summing to "
                f"{sample_weight.sum():g}: expected one weight per row ({Z.shape[0]}) and a "
                "positive total. Give the held-out rows positive weights."
            )
    low, high = bounds
    if not 0 < low < high:
        raise ValueError(f"bounds {bounds!r}: expected 0 < low < high.")

    def loss(log_t: float) -> float:
        return temperature_loss(math.exp(log_t), Z, Y, link, sample_weight)

    best = minimize_scalar(
        loss, bounds=(math.log(low), math.log(high)), method="bounded", options={"xatol": 1e-5}
    )
    temperature = float(math.exp(best.x))
    if not loss(best.x) < loss(0.0):
        return 1.0
    return temperature


def reliability_bins(proba, y_index, n_bins: int = DEFAULT_BINS) -> dict:
    """Per confidence bin: rows, mean top-class confidence, accuracy (see the module).

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        Predicted probabilities.
    y_index : ndarray of shape (n_samples,)
        Column of ``proba`` that holds each row's true class.
    n_bins : int
        Equal-width bins on [0, 1].

    Returns
    -------
    dict
        ``edges`` (n_bins + 1 floats), and per bin ``count`` (int), ``confidence``
        and ``accuracy`` (floats, None for an empty bin): lists, JSON-ready.
    """
    proba = np.asarray(proba, dtype=np.float64)
    y_index = np.asarray(y_index)
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y_index
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # bin b holds (edges[b], edges[b+1]]; a confidence of exactly 0 goes to the first
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    conf_sum = np.bincount(which, weights=confidence, minlength=n_bins)
    hit_sum = np.bincount(which, weights=correct.astype(np.float64), minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf, accuracy = conf_sum / count, hit_sum / count
    return {
        "edges": edges.tolist(),
        "count": count.astype(int).tolist(),
        "confidence": [float(v) if n else None for v, n in zip(mean_conf, count, strict=True)],
        "accuracy": [float(v) if n else None for v, n in zip(accuracy, count, strict=True)],
    }


def expected_calibration_error(bins: dict) -> float:
    """``sum_b (n_b / n) |accuracy_b - confidence_b|`` of :func:`reliability_bins`."""
    total = sum(bins["count"])
    if total == 0:
        return float("nan")
    return float(
        math.fsum(
            n * abs(a - c)
            for n, a, c in zip(bins["count"], bins["accuracy"], bins["confidence"], strict=True)
            if n
        )
        / total
    )
