"""Metadata routing: ``sample_weight`` and the validation set reach ``fit`` through
``Pipeline`` and ``GridSearchCV`` exactly as when passed directly."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.exceptions import ConvergenceWarning, UnsetMetadataPassedError
from sklearn.metrics import accuracy_score, make_scorer
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from lrnet import LRNClassifier

ALPHA = 1e-3


@pytest.fixture(autouse=True)
def _routing():
    with sklearn.config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def data():
    """Raw (unscaled) iris, so that the scaler matters, and uneven weights."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    X = X * 10 + 3
    sw = np.random.default_rng(0).uniform(0.0, 4.0, len(y))
    return X, y, sw


def _net(**kw):
    params = {"max_iter": 5, "learning_rate_init": 0.01, "alpha": ALPHA, "random_state": 0}
    return LRNClassifier((5,), **{**params, **kw})


def _pipe(net, **kw):
    return Pipeline(
        [("scale", StandardScaler().set_fit_request(sample_weight=False)), ("net", net)], **kw
    )


def _assert_same_coefs(a, b):
    assert len(a.coefs_) == len(b.coefs_)
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_array_equal(wa, wb)


def _differ(a, b):
    return any(not np.array_equal(wa, wb) for wa, wb in zip(a.coefs_, b.coefs_, strict=True))


def _scaled(X):
    return StandardScaler().fit_transform(X)


def _search(estimator, param, cv=None):
    # a scorer that declines sample_weight: only fit receives them
    scoring = make_scorer(accuracy_score).set_score_request(sample_weight=False)
    cv = KFold(2) if cv is None else cv
    return GridSearchCV(estimator, {param: [ALPHA]}, scoring=scoring, cv=cv, error_score="raise")


ROUTES = ["pipeline", "grid_search", "grid_search_over_pipeline"]


def _through(route, weighted, X, y, sw):
    """The fitted LRNClassifier of ``route``, and the one of a direct fit."""
    net = _net().set_fit_request(sample_weight=True)
    kw = {"sample_weight": sw} if weighted else {}
    if route == "pipeline":
        return _pipe(net).fit(X, y, **kw)[-1], _net().fit(_scaled(X), y, **kw)
    if route == "grid_search":
        found = _search(net, "alpha").fit(X, y, **kw).best_estimator_
        return found, _net().fit(X, y, **kw)
    found = _search(_pipe(net), "net__alpha").fit(X, y, **kw).best_estimator_[-1]
    return found, _net().fit(_scaled(X), y, **kw)


@pytest.mark.parametrize("route", ROUTES)
def test_routed_sample_weight_fits_as_a_direct_one(data, route):
    X, y, sw = data
    routed, direct = _through(route, True, X, y, sw)
    _assert_same_coefs(routed, direct)
    unweighted, _ = _through(route, False, X, y, sw)
    assert _differ(routed, unweighted)


@pytest.mark.parametrize("route", ROUTES)
def test_unweighted_routes_fit_as_a_direct_fit(data, route):
    X, y, sw = data
    routed, direct = _through(route, False, X, y, sw)
    _assert_same_coefs(routed, direct)


def test_grid_search_routes_the_folds_weights(data):
    """Each split's fit gets the weights of its training rows (checked by its score)."""
    X, y, sw = data
    cv = KFold(2, shuffle=True, random_state=0)
    net = _net().set_fit_request(sample_weight=True)
    search = _search(net, "alpha", cv).fit(X, y, sample_weight=sw)
    for i, (train, test) in enumerate(cv.split(X)):
        clf = _net().fit(X[train], y[train], sample_weight=sw[train])
        assert search.cv_results_[f"split{i}_test_score"][0] == clf.score(X[test], y[test])


def test_unrequested_sample_weight_is_an_error(data):
    X, y, sw = data
    with pytest.raises(UnsetMetadataPassedError, match="sample_weight"):
        _pipe(_net()).fit(X, y, sample_weight=sw)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_validation_set_through_a_pipeline(data, weighted):
    X, y, sw = data
    train, val = np.arange(0, 150, 2), np.arange(1, 150, 2)
    kw = {"X_val": X[val], "y_val": y[val]}
    request = {"X_val": True, "y_val": True}
    if weighted:
        kw["sample_weight_val"] = sw[val]
        request["sample_weight_val"] = True
    net = _net(max_iter=4).set_fit_request(**request)
    routed = _pipe(net, transform_input=["X_val"]).fit(X[train], y[train], **kw)[-1]

    scaler = StandardScaler().fit(X[train])
    by_hand = _net(max_iter=4).fit(
        scaler.transform(X[train]),
        y[train],
        X_val=scaler.transform(X[val]),
        y_val=y[val],
        sample_weight_val=kw.get("sample_weight_val"),
    )
    assert routed.validation_scores_ == by_hand.validation_scores_
    assert routed.validation_loss_curve_ == by_hand.validation_loss_curve_
    _assert_same_coefs(routed, by_hand)
    # untransformed, the raw X_val scores differently: the transform is what is tested
    raw = _pipe(_net(max_iter=4).set_fit_request(**request)).fit(X[train], y[train], **kw)[-1]
    assert raw.validation_loss_curve_ != by_hand.validation_loss_curve_
