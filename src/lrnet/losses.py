"""The logistic output layer and its cross-entropy, computed from logits.

Two output links cover every problem lrnet solves:

``"logistic"``
    one independent sigmoid per output unit: a binary problem (one unit) or a
    multi-label problem (one unit per label).  Loss per sample
    ``sum_k softplus(z_k) - y_k z_k`` with ``softplus(z) = max(z, 0) + log1p(exp(-|z|))``,
    which equals ``-[y log p + (1 - y) log(1 - p)]`` but never takes ``log(0)``.
``"softmax"``
    a multi-class problem.  Loss per sample ``logsumexp(z) - sum_k y_k z_k``, which
    equals ``-sum_k y_k log p_k`` when the targets of a row sum to one.

**The output shortcut.**  For both pairs (sigmoid + binary cross-entropy, softmax +
categorical cross-entropy) the derivative of the loss with respect to the logits is
exactly ``p - y``.  It holds only for these canonical link/loss pairs, and for softmax
only when each target row sums to one (one-hot or smoothed labels).  With sample
weights ``w`` the objective is ``sum_i w_i l_i / sum_i w_i``, so row ``i`` of the
output delta is ``(p_i - y_i) w_i / sum(w)``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

OUTPUT_KINDS = ("logistic", "softmax")


#: beyond this the logits of a prediction are clipped: every probability is already 0
#: or 1 to double precision there, and logsumexp's ``z - max(z)`` cannot overflow
LOGIT_BOUND = 1e300


def logits_in_bounds(Z: np.ndarray) -> bool:
    """Every logit is a number within +-LOGIT_BOUND (NaN fails the comparison).

    Checked in Python for the few values of a single-row prediction (about 0.4 us).
    """
    if Z.size <= 32:
        return all(-LOGIT_BOUND <= v <= LOGIT_BOUND for v in Z.ravel().tolist())
    # a Python float: comparing a float32 scalar with 1e300 would cast 1e300 to float32
    return float(np.abs(Z).max()) <= LOGIT_BOUND


def bounded_logits(Z: np.ndarray) -> np.ndarray:
    """``Z`` (float64) when in bounds; else clipped to +-LOGIT_BOUND, or an error for NaN.

    Only a network that overflowed gets here: an infinite logit becomes a huge finite
    one, with the same probabilities and finite logarithms.  A NaN logit (typically
    inf - inf inside the hidden layers) has no meaning, so its row is an error.
    """
    if logits_in_bounds(Z):
        return Z
    nan_rows = np.flatnonzero(np.isnan(Z).any(axis=1))
    if nan_rows.size:
        raise ValueError(
            f"The network's output is NaN for {nan_rows.size} row(s) of X (first: "
            f"{nan_rows[:5].tolist()}): its weighted sums overflowed. These inputs are far "
            "outside the range the model was trained on, or its weights are not finite; "
            "check and rescale those rows."
        )
    return np.clip(Z, -LOGIT_BOUND, LOGIT_BOUND)


def probabilities_(Z: np.ndarray, kind: str) -> np.ndarray:
    """Turn logits ``Z`` into probabilities in place and return ``Z``."""
    if kind == "logistic":
        return expit(Z, out=Z)
    Z -= Z.max(axis=1, keepdims=True)
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=1, keepdims=True)
    return Z


def log_probabilities_(Z: np.ndarray, kind: str) -> np.ndarray:
    """Turn logits ``Z`` into log-probabilities in place, stably, and return ``Z``.

    Logistic: ``log sigmoid(z) = -softplus(-z)``.  Softmax: ``z - logsumexp(z)``.
    """
    if kind == "logistic":
        # -softplus(-z) = min(z, 0) - log1p(exp(-|z|))
        t = np.log1p(np.exp(-np.abs(Z)))
        np.minimum(Z, 0.0, out=Z)
        Z -= t
        return Z
    Z -= Z.max(axis=1, keepdims=True)
    Z -= np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return Z


def sigmoid_cross_entropy(Z, Y, row_weight, delta, tmp, row, row2) -> float:
    """Independent sigmoids: ``sum_k softplus(z_k) - y_k z_k`` per row.

    The loss and delta body of the ``"logistic"`` link; see :func:`loss_and_delta`.
    """
    # per element: log1p(exp(-|z|)) + max(z, 0) - y z
    np.abs(Z, out=tmp)
    np.negative(tmp, out=tmp)
    np.exp(tmp, out=tmp)
    np.log1p(tmp, out=tmp)
    np.maximum(Z, 0.0, out=delta)
    tmp += delta
    np.multiply(Y, Z, out=delta)
    tmp -= delta
    np.sum(tmp, axis=1, keepdims=True, out=row)
    expit(Z, out=delta)
    return _weighted_mean(Z, Y, row_weight, delta, row)


def softmax_cross_entropy(Z, Y, row_weight, delta, tmp, row, row2) -> float:
    """Softmax: ``logsumexp(z) - sum_k y_k z_k`` per row.

    The loss and delta body of the ``"softmax"`` link; see :func:`loss_and_delta`.
    """
    # logsumexp = max + log(sum(exp(z - max)))
    np.max(Z, axis=1, keepdims=True, out=row)
    np.subtract(Z, row, out=delta)
    np.exp(delta, out=delta)
    np.sum(delta, axis=1, keepdims=True, out=row2)
    delta /= row2
    np.log(row2, out=row2)
    row2 += row
    np.multiply(Y, Z, out=tmp)
    np.sum(tmp, axis=1, keepdims=True, out=row)
    np.subtract(row2, row, out=row)
    return _weighted_mean(Z, Y, row_weight, delta, row)


def _weighted_mean(Z, Y, row_weight, delta, row) -> float:
    """``delta = (p - y) * row_weight`` from ``delta = p``; the weighted loss from ``row``."""
    delta -= Y
    m = Z.shape[0]
    if row_weight is None:
        delta *= 1.0 / m
        return float(row.sum()) / m
    delta *= row_weight
    return float(np.vdot(row, row_weight))


#: the cross-entropy body of each output link
CROSS_ENTROPY = {"logistic": sigmoid_cross_entropy, "softmax": softmax_cross_entropy}


def loss_and_delta(
    Z: np.ndarray,
    Y: np.ndarray,
    row_weight: np.ndarray | None,
    kind: str,
    delta: np.ndarray,
    tmp: np.ndarray,
    row: np.ndarray,
    row2: np.ndarray,
) -> float:
    """Weighted mean cross-entropy of logits ``Z`` against targets ``Y``.

    Writes ``delta = dL/dZ = (p - y) * row_weight`` (see the module docstring) and
    returns the loss ``sum_i row_weight_i * l_i``.  ``row_weight`` already holds
    ``w_i / sum(w)``; ``None`` means ``1 / n`` for every row.  ``Z`` is left intact.
    The training loop calls the link's body (:data:`CROSS_ENTROPY`) directly, through
    :mod:`lrnet.kernels`; this is the same computation, chosen by name.

    Parameters
    ----------
    Z, Y : ndarray of shape (m, k)
        Logits and targets.
    row_weight : ndarray of shape (m, 1) or None
        Normalised sample weights.
    kind : {"logistic", "softmax"}
        The output link.
    delta, tmp : ndarray of shape (m, k)
        Output buffer for the gradient, and scratch space.
    row, row2 : ndarray of shape (m, 1)
        Scratch space.
    """
    return CROSS_ENTROPY[kind](Z, Y, row_weight, delta, tmp, row, row2)


def cross_entropy(Z: np.ndarray, Y: np.ndarray, sample_weight=None, kind: str = "softmax"):
    """Mean cross-entropy (no penalty) of logits ``Z``, e.g. on a validation split."""
    m, k = Z.shape
    row_weight = None if sample_weight is None else (sample_weight / sample_weight.sum())[:, None]
    bufs = [np.empty((m, k), Z.dtype) for _ in range(2)] + [
        np.empty((m, 1), Z.dtype) for _ in range(2)
    ]
    return loss_and_delta(Z, Y, row_weight, kind, *bufs)


def prior_cross_entropy(Y: np.ndarray, sample_weight=None, kind: str = "softmax") -> float:
    """The mean cross-entropy of always predicting the (weighted) class frequencies of ``Y``.

    The loss a model reaches without looking at the features: for softmax the entropy
    ``-sum_k p_k log p_k`` of the frequencies ``p``; for independent sigmoids the sum of
    each output's binary entropy.  Training that ends far above it has diverged.
    """
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    p = np.average(np.asarray(Y, dtype=np.float64), axis=0, weights=w)
    q = np.clip(p, 1e-12, 1.0)
    if kind == "softmax":
        return float(-(p * np.log(q)).sum())
    r = np.clip(1.0 - p, 1e-12, 1.0)
    return float(-(p * np.log(q) + (1.0 - p) * np.log(r)).sum())
