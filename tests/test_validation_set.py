"""``fit(X_val=, y_val=, sample_weight_val=)``: a validation set of the user's own.

Every score and loss the estimator records for the given set is recomputed from a
refit of the same length, with scikit-learn's metrics.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, log_loss
from sklearn.preprocessing import StandardScaler

import lrnet
from lrnet import LRNClassifier
from lrnet.callbacks import EarlyStopping

N_VAL_CHANGE = 3


def fit(est, X, y, **kw):
    """``est.fit`` with the max-iter ConvergenceWarning of the tiny fits silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


def _split(X, y, n_train):
    order = np.random.default_rng(0).permutation(len(X))
    tr, va = order[:n_train], order[n_train:]
    return X[tr], y[tr], X[va], y[va]


def _iris(iris):
    return _split(*iris, 100)


def _binary():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X[:200])
    return _split(X, y[:200], 140)


def _multilabel():
    X, Y = make_multilabel_classification(n_samples=120, n_features=6, n_classes=3, random_state=0)
    return _split(StandardScaler().fit_transform(X), Y, 80)


def make_case(name, iris):
    """``(X, y, fit keyword arguments)`` of one kind of validation set."""
    if name == "binary":
        X, y, X_val, y_val = _binary()
    elif name == "multilabel":
        X, y, X_val, y_val = _multilabel()
    else:
        X, y, X_val, y_val = _iris(iris)
    kw = {"X_val": X_val, "y_val": y_val}
    if name == "weighted":
        kw["sample_weight_val"] = np.random.default_rng(1).uniform(0.1, 3.0, len(y_val))
    if name == "sparse":
        kw["X_val"] = sp.csr_matrix(np.where(np.abs(X_val) < 0.5, 0.0, X_val))
    return X, y, kw


CASES = ["multiclass", "weighted", "binary", "multilabel", "sparse"]


def reference_loss(clf, X_val, y_val, sw):
    """Mean cross-entropy of ``clf`` on the validation set, with scikit-learn's log_loss."""
    proba = clf.predict_proba(X_val)
    if y_val.ndim == 2:  # multi-label: a sum of independent binary cross-entropies
        return sum(
            log_loss(y_val[:, j], proba[:, j], sample_weight=sw, labels=[0, 1])
            for j in range(y_val.shape[1])
        )
    return log_loss(y_val, proba, sample_weight=sw, labels=clf.classes_)


def _net(**kw):
    return LRNClassifier((5,), learning_rate_init=0.01, random_state=0, **kw)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("case", CASES)
def test_validation_scores_are_the_given_sets_accuracy(iris, case, solver):
    X, y, kw = make_case(case, iris)
    full = fit(_net(solver=solver, max_iter=3), X, y, **kw)
    assert len(full.validation_scores_) == len(full.loss_curve_) == 3
    for k in (1, 2, 3):
        clf = fit(_net(solver=solver, max_iter=k), X, y, **kw)
        expected = accuracy_score(
            kw["y_val"], clf.predict(kw["X_val"]), sample_weight=kw.get("sample_weight_val")
        )
        assert full.validation_scores_[k - 1] == expected
    assert full.best_validation_score_ == max(full.validation_scores_)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("case", CASES)
def test_validation_loss_curve_is_log_loss_on_the_given_set(iris, case, solver):
    X, y, kw = make_case(case, iris)
    full = fit(_net(solver=solver, max_iter=3), X, y, **kw)
    curve = full.validation_loss_curve_
    assert len(curve) == 3 and all(isinstance(v, float) for v in curve)
    for k in (1, 2, 3):
        clf = fit(_net(solver=solver, max_iter=k), X, y, **kw)
        expected = reference_loss(clf, kw["X_val"], kw["y_val"], kw.get("sample_weight_val"))
        np.testing.assert_allclose(curve[k - 1], expected, rtol=1e-10)


def test_given_set_scores_differ_from_a_held_out_split(iris):
    """The given set is what is scored, not a split of X (the recompute tests' premise)."""
    X, y, kw = make_case("multiclass", iris)
    given = fit(_net(max_iter=5, early_stopping=True), X, y, **kw)
    held_out = fit(_net(max_iter=5, early_stopping=True), X, y)
    assert given.validation_loss_curve_ != held_out.validation_loss_curve_


def _last_reset(scores):
    """1-based epoch after which the no-improvement count last restarted (tol=0)."""
    return max(i + 1 for i, s in enumerate(scores) if s >= max(scores[:i], default=-np.inf))


@pytest.mark.parametrize("random_state", [0, 1, 2])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_early_stopping_on_the_given_set(iris, random_state, weighted):
    X, y, kw = make_case("weighted" if weighted else "multiclass", iris)
    clf = LRNClassifier(
        (5,),
        learning_rate_init=0.05,
        max_iter=200,
        early_stopping=True,
        n_iter_no_change=N_VAL_CHANGE,
        tol=0.0,
        random_state=random_state,
    ).fit(X, y, **kw)
    scores = clf.validation_scores_
    assert clf.n_iter_ < 200, "the rule never fired: the test does not test it"
    assert len(scores) == clf.n_iter_
    # sklearn's rule (ConvergenceMonitor): a score >= best + tol restarts the count; the
    # fit stops once n_iter_no_change + 1 epochs in a row fall short of it
    assert clf.n_iter_ == _last_reset(scores) + N_VAL_CHANGE + 1
    assert clf.best_validation_score_ == max(scores)
    # the best weights are back: the model scores the best score on the given set
    restored = accuracy_score(
        kw["y_val"], clf.predict(kw["X_val"]), sample_weight=kw.get("sample_weight_val")
    )
    assert restored == clf.best_validation_score_
    assert clf.t_ == clf.n_iter_ * len(X)


@pytest.mark.parametrize(
    ("early_stopping", "callbacks"),
    [(False, None), (True, None), (False, "early_stopping_callback")],
)
def test_given_set_trains_on_every_row(iris, early_stopping, callbacks):
    """validation_fraction holds nothing out when a validation set is given."""
    X, y, kw = make_case("multiclass", iris)
    cbs = [EarlyStopping(patience=50)] if callbacks else None

    def net():
        return _net(
            max_iter=4, early_stopping=early_stopping, validation_fraction=0.3, callbacks=cbs
        )

    clf = fit(net(), X, y, **kw)
    assert clf.t_ == clf.n_iter_ * len(X) == 4 * len(X)
    if early_stopping or callbacks:  # without a given set the same fit holds out 30%
        held = fit(net(), X, y)
        assert held.t_ == 4 * (len(X) - 30)


def test_lbfgs_history_has_the_given_sets_entries(iris):
    X, y, kw = make_case("multiclass", iris)
    clf = fit(_net(solver="lbfgs", max_iter=6), X, y, **kw)
    history = clf.history_
    assert len(history) == len(clf.loss_curve_) == clf.n_iter_
    assert [h["validation_score"] for h in history] == clf.validation_scores_
    assert [h["validation_loss"] for h in history] == clf.validation_loss_curve_
    assert history[-1]["validation_score"] == clf.score(kw["X_val"], kw["y_val"])
    np.testing.assert_allclose(
        history[-1]["validation_loss"],
        reference_loss(clf, kw["X_val"], kw["y_val"], None),
        rtol=1e-10,
    )


def test_lbfgs_early_stopping_best_validation_score(iris):
    X, y, kw = make_case("multiclass", iris)
    clf = fit(_net(solver="lbfgs", max_iter=5, early_stopping=True), X, y, **kw)
    assert len(clf.validation_scores_) == 5
    assert clf.best_validation_score_ == max(clf.validation_scores_)


@pytest.mark.parametrize("random_state", [0, 1, 2])
def test_early_stopping_callback_monitors_the_given_set(iris, random_state):
    X, y, kw = make_case("multiclass", iris)
    X, y = X[:30], y[:30]  # a small training set: the validation loss turns up quickly
    cb = EarlyStopping(monitor="validation_loss", patience=2)
    clf = fit(
        LRNClassifier(
            (20,), learning_rate_init=0.1, max_iter=300, callbacks=[cb], random_state=random_state
        ),
        X,
        y,
        **kw,
    )
    curve = clf.validation_loss_curve_
    assert cb.stopped_epoch_ == clf.n_iter_ < 300
    assert cb.best_epoch_ == int(np.argmin(curve)) + 1 == clf.n_iter_ - 2
    assert clf.t_ == clf.n_iter_ * len(X)  # nothing held out
    np.testing.assert_allclose(
        reference_loss(clf, kw["X_val"], kw["y_val"], None), min(curve), rtol=1e-10
    )


# ---------------------------------------------------------------- errors
def _bad(kind, X_val, y_val):
    """Fit keyword arguments of one way to get a validation set wrong."""
    n = len(y_val)
    if kind == "X_val only":
        return {"X_val": X_val}
    if kind == "y_val only":
        return {"y_val": y_val}
    if kind == "sample_weight_val only":
        return {"sample_weight_val": np.ones(n)}
    if kind == "narrow X_val":
        return {"X_val": X_val[:, :3], "y_val": y_val}
    if kind == "unknown label":
        return {"X_val": X_val, "y_val": np.where(np.arange(n) == 4, 7, y_val)}
    if kind == "NaN in X_val":
        X_nan = X_val.copy()
        X_nan[3, 1] = np.nan
        return {"X_val": X_nan, "y_val": y_val}
    if kind == "lengths differ":
        return {"X_val": X_val, "y_val": y_val[:-1]}
    raise AssertionError(kind)


ERRORS = {
    "X_val only": "X_val was given without y_val",
    "y_val only": "y_val was given without X_val",
    "sample_weight_val only": "sample_weight_val was given without X_val and y_val",
    "narrow X_val": "X_val has 3 features, but X has 4",
    "unknown label": r"y_val has label\(s\) \[7\] that are not among the classes \[0, 1, 2\]",
    "NaN in X_val": r"Input X_val contains NaN \(1 value\(s\); the first at row 3, column 1\)",
    "lengths differ": "inconsistent numbers of samples: \\[50, 49\\]",
}


@pytest.mark.parametrize("kind", list(ERRORS))
def test_bad_validation_set_is_an_error(iris, kind):
    X, y, X_val, y_val = _iris(iris)
    with pytest.raises(ValueError, match=ERRORS[kind]):
        _net(max_iter=1).fit(X, y, **_bad(kind, X_val, y_val))


def _misnamed(kind, iris):
    """``(X, y, fit keyword arguments)`` of an error whose message names the wrong input."""
    X, y, X_val, y_val = _iris(iris)
    if kind.startswith("multilabel"):
        X, y, X_val, y_val = _multilabel()
        return X, y, {"X_val": X_val, "y_val": y_val[:, :2]}
    if kind == "one-hot y_val":
        return X, y, {"X_val": X_val, "y_val": np.eye(3)[y_val]}
    weights = {"short": np.ones(49), "zero": np.zeros(50), "negative": -np.ones(50)}
    return X, y, {"X_val": X_val, "y_val": y_val, "sample_weight_val": weights[kind]}


MISNAMED = {
    # today: "sample_weight has shape (49,), expected (50,): one weight per row of X."
    "short": r"sample_weight_val has shape \(49,\)",
    # today: "sample_weight sums to zero: every row would be ignored. ..."
    "zero": "sample_weight_val sums to zero",
    # today: "sample_weight contains 50 negative value(s) ..."
    "negative": "sample_weight_val contains 50 negative",
    # today: "y has shape (40, 2), but this model was fitted on a multi-label ..."
    "multilabel y_val of 2 columns": r"y_val has shape \(40, 2\)",
    # today: "The object was not fitted with multilabel input." (LabelBinarizer's words)
    "one-hot y_val": "y_val",
}


@pytest.mark.parametrize("kind", list(MISNAMED))
def test_validation_errors_name_the_validation_input(iris, kind):
    X, y, kw = _misnamed(kind, iris)
    with pytest.raises(ValueError, match=MISNAMED[kind]):
        fit(_net(max_iter=1), X, y, **kw)


def test_multilabel_y_val_must_be_an_indicator_matrix():
    X, y, X_val, y_val = _multilabel()
    with pytest.raises(ValueError, match="y_val"):
        fit(_net(max_iter=1), X, y, X_val=X_val, y_val=2 * y_val)


def _record(clf):
    return {
        "coefs_": [w.copy() for w in clf.coefs_],
        "intercepts_": [b.copy() for b in clf.intercepts_],
        **{
            name: getattr(clf, name)
            for name in (
                "n_iter_",
                "t_",
                "loss_curve_",
                "validation_scores_",
                "validation_loss_curve_",
                "best_validation_score_",
                "history_",
            )
        },
    }


@pytest.mark.parametrize("warm_start", [False, True])
@pytest.mark.parametrize("kind", list(ERRORS))
def test_failed_fit_leaves_the_fitted_model_alone(iris, kind, warm_start):
    X, y, X_val, y_val = _iris(iris)
    clf = fit(_net(max_iter=2, warm_start=warm_start), X, y, X_val=X_val, y_val=y_val)
    before = _record(clf)
    proba = clf.predict_proba(X_val)
    clf.set_params(max_iter=3)
    with pytest.raises(ValueError):
        clf.fit(X, y, **_bad(kind, X_val, y_val))
    after = _record(clf)
    for name in ("coefs_", "intercepts_"):
        for a, b in zip(before[name], after[name], strict=True):
            np.testing.assert_array_equal(a, b)
    for name in before:
        if name not in ("coefs_", "intercepts_"):
            assert after[name] == before[name], name
    np.testing.assert_array_equal(clf.predict_proba(X_val), proba)


# ---------------------------------------------------------------- the attribute
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_validation_loss_curve_is_none_without_validation(iris, solver):
    X, y, _, _ = _iris(iris)
    clf = fit(_net(solver=solver, max_iter=2), X, y)
    assert clf.validation_loss_curve_ is None
    assert clf.validation_scores_ is None


def test_partial_fit_has_no_validation_loss_curve(iris):
    X, y, _, _ = _iris(iris)
    clf = _net().partial_fit(X, y, classes=[0, 1, 2])
    assert clf.validation_loss_curve_ is None


@pytest.mark.parametrize("case", ["multiclass", "binary", "multilabel"])
def test_validation_loss_curve_survives_save_and_load(iris, case, tmp_path):
    X, y, kw = make_case(case, iris)
    clf = fit(_net(max_iter=3), X, y, **kw)
    path = clf.save(tmp_path / "model.lrnet")
    loaded = lrnet.load(path).estimator
    assert loaded.validation_loss_curve_ == clf.validation_loss_curve_
    assert len(loaded.validation_loss_curve_) == 3
    assert loaded.validation_scores_ == clf.validation_scores_


def test_no_validation_curve_survives_save_and_load(iris, tmp_path):
    X, y, _, _ = _iris(iris)
    clf = fit(_net(max_iter=2), X, y)
    loaded = lrnet.load(clf.save(tmp_path / "model.lrnet")).estimator
    assert loaded.validation_loss_curve_ is None
