"""The output links and their cross-entropy from logits: values, deltas and stability."""

import numpy as np
import pytest
from scipy.special import expit, log_softmax, softmax

from lrnet.losses import OUTPUT_KINDS, log_probabilities_, loss_and_delta, probabilities_


def call_loss(Z, Y, kind, row_weight=None):
    m, k = Z.shape
    delta, tmp = np.empty((m, k)), np.empty((m, k))
    row, row2 = np.empty((m, 1)), np.empty((m, 1))
    Z_before = Z.copy()
    loss = loss_and_delta(Z, Y, row_weight, kind, delta, tmp, row, row2)
    np.testing.assert_array_equal(Z, Z_before)  # the logits are left intact
    return loss, delta


def naive_loss(Z, Y, kind, w):
    if kind == "softmax":
        per_row = -(Y * log_softmax(Z, axis=1)).sum(axis=1)
    else:
        p = expit(Z)
        per_row = -(Y * np.log(p) + (1 - Y) * np.log1p(-p)).sum(axis=1)
    return float(w @ per_row)


def targets(kind, m, k, rng):
    if kind == "softmax":
        return np.eye(k)[rng.integers(k, size=m)]
    return rng.integers(2, size=(m, k)).astype(np.float64)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(("kind", "k"), [("logistic", 1), ("logistic", 3), ("softmax", 4)])
def test_loss_and_delta_match_naive_formulas(kind, k, weighted):
    rng = np.random.default_rng(0)
    m = 9
    Z = rng.standard_normal((m, k)) * 3
    Y = targets(kind, m, k, rng)
    w = rng.uniform(0, 2, m) if weighted else np.ones(m)
    row_weight = (w / w.sum())[:, None] if weighted else None
    loss, delta = call_loss(Z, Y, kind, row_weight)
    assert loss == pytest.approx(naive_loss(Z, Y, kind, w / w.sum()), rel=1e-12)
    P = softmax(Z, axis=1) if kind == "softmax" else expit(Z)
    np.testing.assert_allclose(delta, (P - Y) * (w / w.sum())[:, None], rtol=1e-12)


@pytest.mark.parametrize(("kind", "k"), [("logistic", 1), ("logistic", 2), ("softmax", 3)])
def test_extreme_logits_stay_finite_and_exact(kind, k):
    """Logits of +-1e4 give the exact linear loss, never log(0) = -inf."""
    Z = np.array([[1e4] * k, [-1e4] * k])
    if kind == "softmax":
        Z[:, 0] = [-1e4, 1e4]
        Y = np.eye(k)[[1, 1]]  # row 0: right class (tie), row 1: wrong class by 2e4
    else:
        Y = np.zeros((2, k))  # row 0 is badly wrong, row 1 right
    loss, delta = call_loss(Z, Y, kind)
    assert np.isfinite(loss) and np.isfinite(delta).all()
    if kind == "softmax":
        # row 0: logits (-1e4, 1e4, 1e4): loss log 2; row 1: (1e4, -1e4, -1e4): 2e4
        assert loss == pytest.approx((np.log(2) + 2e4) / 2)
    else:
        assert loss == pytest.approx(k * 1e4 / 2)
    assert np.abs(delta).max() <= 0.5 + 1e-12


@pytest.mark.parametrize("kind", OUTPUT_KINDS)
def test_probabilities_and_log_probabilities(kind):
    rng = np.random.default_rng(1)
    Z = rng.standard_normal((6, 3)) * 5
    Z[0] = [800.0, -800.0, 0.0]  # would overflow exp
    P = probabilities_(Z.copy(), kind)
    logP = log_probabilities_(Z.copy(), kind)
    assert np.isfinite(P).all() and np.isfinite(logP).all()
    if kind == "softmax":
        np.testing.assert_allclose(P, softmax(Z, axis=1))
        np.testing.assert_allclose(logP, log_softmax(Z, axis=1))
        np.testing.assert_allclose(P.sum(axis=1), 1.0)
    else:
        np.testing.assert_allclose(P, expit(Z))
        np.testing.assert_allclose(logP, -np.logaddexp(0, -Z))
    ok = P > 1e-300
    np.testing.assert_allclose(logP[ok], np.log(P[ok]), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind", OUTPUT_KINDS)
def test_probabilities_work_in_place(kind):
    Z = np.array([[0.0, 1.0], [2.0, -1.0]])
    out = probabilities_(Z, kind)
    assert out is Z
    assert log_probabilities_(Z, kind) is Z
