"""``decision_function``: the logits, in ``LogisticRegression``'s shapes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_breast_cancer, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from lrnet import LRNClassifier


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def _breast_cancer(n=200):
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X[:n]), y[:n]


def make_data(kind, iris):
    """Standardised ``X`` and labels of a binary, multi-class or multi-label problem."""
    if kind == "binary":
        X, y = _breast_cancer()
        return X, np.where(y == 1, "benign", "malignant")  # string labels: classes_[1]
    if kind == "multiclass":
        return iris
    X, Y = make_multilabel_classification(n_samples=80, n_features=6, n_classes=4, random_state=0)
    return StandardScaler().fit_transform(X), Y


def _fitted(kind, dtype, hidden, iris):
    X, y = make_data(kind, iris)
    X = X.astype(dtype)
    clf = _fit(LRNClassifier(hidden, max_iter=20, learning_rate_init=0.01, random_state=0), X, y)
    return clf, X, y


KINDS = ["binary", "multiclass", "multilabel"]
DTYPES = [np.float32, np.float64]
HIDDEN = [(), (5,)]


@pytest.mark.parametrize("hidden", HIDDEN, ids=["no-hidden", "hidden-5"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("kind", KINDS)
def test_link_of_decision_function_is_predict_proba(iris, kind, dtype, hidden):
    clf, X, _ = _fitted(kind, dtype, hidden, iris)
    d = clf.decision_function(X)
    assert d.dtype == dtype
    proba = clf.predict_proba(X)
    assert proba.dtype == dtype  # float32 input: float32 probabilities (issue 13)
    d64 = d.astype(np.float64)
    rtol = 1e-12 if dtype == np.float64 else 1e-5  # the float32 link: a few ulp
    if kind == "binary":
        assert d.shape == (len(X),)
        np.testing.assert_allclose(proba[:, 1], expit(d64), rtol=rtol, atol=0)
        np.testing.assert_allclose(proba[:, 0], expit(-d64), rtol=rtol, atol=0)
    elif kind == "multiclass":
        assert d.shape == (len(X), 3)
        np.testing.assert_allclose(proba, softmax(d64, axis=1), rtol=rtol, atol=0)
    else:
        assert d.shape == (len(X), 4)
        np.testing.assert_allclose(proba, expit(d64), rtol=rtol, atol=0)


@pytest.mark.parametrize("hidden", HIDDEN, ids=["no-hidden", "hidden-5"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("kind", KINDS)
def test_predict_decodes_decision_function(iris, kind, dtype, hidden):
    clf, X, _ = _fitted(kind, dtype, hidden, iris)
    d = clf.decision_function(X)
    if kind == "binary":  # as LogisticRegression: classes_[1] where the log-odds are > 0
        expected = clf.classes_[(d > 0).astype(int)]
    elif kind == "multiclass":
        expected = clf.classes_[np.argmax(d, axis=1)]
    else:
        expected = (d > 0).astype(int)
    np.testing.assert_array_equal(clf.predict(X), expected)


@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_shapes_are_logistic_regressions(iris, kind):
    X, y = make_data(kind, iris)
    ours = _fit(LRNClassifier((), max_iter=5, random_state=0), X, y).decision_function(X)
    theirs = _fit(LogisticRegression(max_iter=5), X, y).decision_function(X)
    assert ours.shape == theirs.shape
    assert ours[:7].shape == theirs[:7].shape
    assert ours[:1].shape == theirs[:1].shape


@pytest.mark.parametrize("kind", KINDS)
def test_sparse_and_single_row_inputs_give_the_same_logits(iris, kind):
    clf, X, _ = _fitted(kind, np.float64, (5,), iris)
    d = clf.decision_function(X)
    np.testing.assert_allclose(clf.decision_function(sp.csr_matrix(X)), d, rtol=1e-12)
    np.testing.assert_allclose(clf.decision_function(X[3:4]), d[3:4], rtol=1e-12)
    np.testing.assert_allclose(clf.decision_function(X.tolist()), d, rtol=1e-12)


def test_zero_hidden_lbfgs_matches_logistic_regression():
    """Sign agrees with predict, and the logits are LogisticRegression's (C = 1/alpha)."""
    X, y = _breast_cancer(300)
    alpha = 1.0
    # tol=0: L-BFGS-B runs until it cannot reduce the (mean, so small) objective further
    clf = LRNClassifier((), solver="lbfgs", alpha=alpha, tol=0.0, max_iter=500, random_state=0)
    clf.fit(X, y)
    d = clf.decision_function(X)
    assert d.shape == (len(X),)
    np.testing.assert_array_equal(np.where(d > 0, clf.classes_[1], clf.classes_[0]), clf.predict(X))
    lr = LogisticRegression(C=1 / alpha, tol=1e-10, max_iter=1000).fit(X, y)
    np.testing.assert_allclose(d, lr.decision_function(X), rtol=1e-4, atol=1e-4)


def test_calibrated_classifier_uses_the_logits():
    X, y = _breast_cancer(300)
    cal = CalibratedClassifierCV(
        LRNClassifier((5,), max_iter=30, learning_rate_init=0.01, random_state=0),
        method="sigmoid",
        cv=3,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cal.fit(X, y)
    proba = cal.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (cal.predict(X) == y).mean() > 0.9
    # each fold's calibrator maps that fold's decision_function (not predict_proba)
    expected = np.mean(
        [
            c.calibrators[0].predict(c.estimator.decision_function(X))
            for c in cal.calibrated_classifiers_
        ],
        axis=0,
    )
    np.testing.assert_allclose(proba[:, 1], expected, rtol=1e-12)


def test_unfitted_is_not_fitted_error(iris):
    with pytest.raises(NotFittedError, match="LRNClassifier instance is not fitted yet"):
        LRNClassifier().decision_function(iris[0])


@pytest.mark.parametrize(
    ("transform", "match"),
    [
        (lambda X: X[:, :3], "X has 3 features, but LRNClassifier is expecting 4 features"),
        (lambda X: np.where(np.arange(X.shape[1]) == 1, np.nan, X), "Input X contains NaN"),
    ],
    ids=["narrow", "nan"],
)
def test_bad_input_is_an_error(iris, transform, match):
    clf, X, _ = _fitted("multiclass", np.float64, (5,), iris)
    with pytest.raises(ValueError, match=match):
        clf.decision_function(transform(X))
