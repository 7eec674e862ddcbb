"""Training that failed must not look like a model: finite divergence, worse than the priors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from lrnet import LRNClassifier
from lrnet.cli import main
from lrnet.config import DIVERGED_FACTOR
from lrnet.errors import DivergenceError
from lrnet.losses import cross_entropy, prior_cross_entropy

X, y = make_classification(n_samples=400, n_features=10, random_state=0)
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize(
    "solver, lr, scale",
    [
        ("adam", 10.0, 1.0),  # the loss climbs but stays finite
        ("adamw", 50.0, 1.0),
        ("lion", 10.0, 1.0),
        ("adam", 1e-3, 1e30),  # inputs of scale 1e30: the loss sits near 1e29
        ("sgd", 1e-3, 1e30),
        ("lbfgs", 1e-3, 1e30),
    ],
)
def test_finite_divergence_is_detected_for_every_solver(solver, lr, scale):
    est = LRNClassifier(solver=solver, learning_rate_init=lr, max_iter=30, random_state=0)
    with pytest.raises(DivergenceError, match="Training diverged at epoch") as info:
        est.fit(X * scale, y)
    message = str(info.value)
    assert "the loss of always predicting the class frequencies" in message
    assert "standardise the features" in message.lower()
    assert not hasattr(est, "coefs_")  # nothing that looks like a model


def test_a_refit_that_diverges_keeps_the_old_model():
    est = LRNClassifier(solver="adam", max_iter=20, random_state=0).fit(X, y)
    before = [w.copy() for w in est.coefs_]
    est.set_params(learning_rate_init=10.0)
    with pytest.raises(DivergenceError):
        est.fit(X, y)
    for a, b in zip(est.coefs_, before, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind, k", [("softmax", 4), ("logistic", 1), ("logistic", 3)])
def test_prior_loss_is_the_loss_of_predicting_the_frequencies(kind, k):
    rng = np.random.default_rng(k)
    if kind == "softmax":
        Y = np.eye(k)[rng.integers(0, k, 300)]
    else:
        Y = (rng.random((300, k)) < np.linspace(0.1, 0.8, k)).astype(float)
    w = rng.random(300)
    p = np.average(Y, axis=0, weights=w)
    Z = np.tile(np.log(p) if kind == "softmax" else np.log(p / (1 - p)), (300, 1))
    assert prior_cross_entropy(Y, w, kind) == pytest.approx(cross_entropy(Z, Y, w, kind))


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_good_training_stays_far_below_the_limit(solver):
    est = LRNClassifier(solver=solver, max_iter=50, random_state=0).fit(X, y)
    assert max(est.loss_curve_) < DIVERGED_FACTOR * 0.6931 / 100


# ------------------------------------------------------------------ the command
def _noise_table(path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(300, 4)), columns=list("abcd"))
    frame["y"] = rng.integers(0, 2, 300)  # the inputs say nothing about the target
    frame.to_csv(path, index=False)


@pytest.mark.parametrize("force", [False, True])
def test_cli_keeps_a_model_over_one_worse_than_the_priors(tmp_path, monkeypatch, capsys, force):
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    data = tmp_path / "noise.csv"
    _noise_table(data)
    model = tmp_path / "m.lrnet"
    model.write_bytes(b"the old model")
    args = ["train", str(data), "--target", "y", "--out", str(model), "--epochs", "200"]
    args += ["--hidden", "64", "--no-report", "--quiet", "--seed", "0"]
    args += ["--no-early-stopping", "--alpha", "0"]  # over-fit the noise on purpose
    code = main(args + (["--force"] if force else []))
    err = capsys.readouterr().err
    if force:
        assert code == 0
        assert model.read_bytes() != b"the old model"
    else:
        assert code == 1
        assert "no better than" in err and "was kept as it was" in err and "--force" in err
        assert model.read_bytes() == b"the old model"
