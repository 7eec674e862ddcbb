"""Several fitted networks as one network that outputs their mean logit (:mod:`lrnet.ensemble`)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris

import lrnet
from lrnet import LRNClassifier
from lrnet.ensemble import average_networks


def fitted(X, y, seeds, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a capped number of epochs
        return [LRNClassifier(max_iter=15, random_state=s, **params).fit(X, y) for s in seeds]


@pytest.mark.parametrize("data", [load_iris, load_breast_cancer], ids=["softmax", "sigmoid"])
@pytest.mark.parametrize("hidden", [(), (7,), (5, 4), (3, 4, 2)])
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_the_average_outputs_the_mean_logit(data, hidden, activation, k):
    X, y = data(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    nets = fitted(X, y, range(k), hidden_layer_sizes=hidden, activation=activation)
    shapes = [[c.shape for c in n.coefs_] for n in nets]
    merged = average_networks(nets)
    want = np.mean([n.decision_function(X) for n in nets], axis=0)
    np.testing.assert_allclose(merged.decision_function(X), want, rtol=1e-9, atol=1e-12)
    assert merged.hidden_layer_sizes == tuple(k * h for h in hidden)
    proba = np.mean([n.predict_log_proba(X) for n in nets], axis=0)  # geometric mean
    proba = np.exp(proba) / np.exp(proba).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(merged.predict_proba(X), proba, rtol=1e-9, atol=1e-12)
    assert [[c.shape for c in n.coefs_] for n in nets] == shapes  # the networks are unchanged


def test_the_average_saves_loads_and_trains_on(tmp_path):
    X, y = load_iris(return_X_y=True)
    nets = fitted(X.astype(np.float32), y, range(3), hidden_layer_sizes=(6,))
    merged = average_networks(nets)
    merged.save(tmp_path / "m.lrnet")
    loaded = lrnet.load(tmp_path / "m.lrnet").estimator
    np.testing.assert_array_equal(loaded.predict_proba(X), merged.predict_proba(X))
    assert loaded.coefs_[0].dtype == np.float32
    before = [c.copy() for c in merged.coefs_]
    merged.partial_fit(X, y)  # a fresh optimizer state of the wider network's shape
    assert not np.array_equal(merged.coefs_[0], before[0])
    assert nets[0].coefs_[0].shape == (4, 6)  # the networks averaged are left alone


@pytest.mark.parametrize(
    "second, match",
    [
        (dict(hidden_layer_sizes=(5,)), "differ in shape, activation or classes"),
        (dict(hidden_layer_sizes=(6,), activation="tanh"), "differ in shape, activation"),
    ],
)
def test_networks_that_differ_cannot_be_averaged(second, match):
    X, y = load_iris(return_X_y=True)
    a = fitted(X, y, [0], hidden_layer_sizes=(6,))[0]
    b = fitted(X, y, [1], **second)[0]
    with pytest.raises(ValueError, match=match):
        average_networks([a, b])


def test_other_classes_cannot_be_averaged():
    X, y = load_iris(return_X_y=True)
    a = fitted(X, y, [0], hidden_layer_sizes=(6,))[0]
    b = fitted(X, np.where(y == 2, 5, y), [1], hidden_layer_sizes=(6,))[0]
    with pytest.raises(ValueError, match="same classes"):
        average_networks([a, b])


def test_nothing_to_average_is_an_error():
    with pytest.raises(ValueError, match="at least one fitted network"):
        average_networks([])
