"""Edge cases found by adversarial testing: each fails cleanly or works, never half-way."""

import datetime
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

import lrnet
from lrnet import LRNClassifier
from lrnet.callbacks import Callback
from lrnet.optim.schedules import onecycle_lr

#: settings that make sgd diverge (as in test_estimator.py)
DIVERGE = dict(solver="sgd", learning_rate_init=1e6, max_iter=100, n_iter_no_change=np.inf)
RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 4))
y = np.arange(60) % 3


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def fitted(**params):
    return LRNClassifier(hidden_layer_sizes=(6,), max_iter=20, random_state=0, **params).fit(X, y)


class Boom(Callback):
    def on_epoch_end(self, epoch, logs):
        raise RuntimeError("callback failed")


def _nan_wider_X():
    X6 = RNG.normal(size=(60, 6))
    X6[0, 0] = np.nan
    return X6


# ------------------------------------------------------ a failed refit changes nothing
@pytest.mark.parametrize(
    "refit, match",
    [
        (lambda c: c.fit(_nan_wider_X(), y), "NaN"),
        (lambda c: c.fit(X, np.zeros(60)), "only one class"),
        (lambda c: c.set_params(dropout=[0.1, 0.2]).fit(X, y % 2), "dropout must be"),
        (lambda c: c.set_params(callbacks=[Boom()]).fit(X[:, :3], y % 2), "callback failed"),
        (lambda c: c.set_params(**DIVERGE).fit(X[:, :3], y % 2), "diverged"),
    ],
    ids=["nan-X", "one-class", "dropout", "callback", "divergence"],
)
def test_failed_refit_leaves_the_model_as_it_was(refit, match):
    clf = fitted()
    before = (clf.predict_proba(X), clf.n_features_in_, clf.classes_.copy(), clf.n_iter_)
    with pytest.raises((ValueError, RuntimeError), match=match):
        refit(clf)
    assert clf.n_features_in_ == before[1]
    np.testing.assert_array_equal(clf.classes_, before[2])
    assert clf.n_iter_ == before[3]
    np.testing.assert_array_equal(clf.predict_proba(X), before[0])


def test_failed_partial_fit_step_drops_the_optimizer_state_only():
    clf = LRNClassifier(hidden_layer_sizes=(6,), random_state=0).partial_fit(
        X, y, classes=[0, 1, 2]
    )
    P = clf.predict_proba(X)
    clf.set_params(callbacks=[Boom()])
    with pytest.raises(RuntimeError, match="callback failed"):
        clf.partial_fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), P)
    clf.set_params(callbacks=None).partial_fit(X, y)  # keeps training from the same weights
    assert clf.predict_proba(X).shape == (60, 3)


# ------------------------------------------------------ predictions from an overflowed network
def test_infinite_logits_give_finite_probabilities():
    clf = LRNClassifier(hidden_layer_sizes=(), solver="lbfgs", max_iter=50).fit(X, y)
    clf.coefs_[0][...] = 1e308  # logits overflow to +-inf, no NaN
    Xp = np.array([[1.0, 1.0, 1.0, 1.0], [-1.0, -1.0, -1.0, -1.0]])
    P, L = clf.predict_proba(Xp), clf.predict_log_proba(Xp)
    assert np.isfinite(P).all() and np.isfinite(L).all()
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(Xp), clf.classes_[P.argmax(axis=1)])


@pytest.mark.parametrize("binary", [False, True], ids=["softmax", "sigmoid"])
@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba"])
def test_nan_output_of_an_overflowed_network_is_an_error(binary, method):
    clf = LRNClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    clf.fit(X, y % 2 if binary else y)
    for W in clf.coefs_:
        W *= 1e200  # the hidden layer reaches inf, then inf - inf
    with pytest.raises(ValueError, match=r"output is NaN for 1 row\(s\) of X \(first: \[0\]\)"):
        getattr(clf, method)(X[:1])


@pytest.mark.parametrize("rows", [1, 100])
def test_float32_predictions_raise_no_warning(rows):
    clf = LRNClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    clf.fit(X.astype(np.float32), y)
    Xp = np.tile(X.astype(np.float32), (2, 1))[:rows]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict(Xp), clf.predict_proba(Xp), clf.predict_log_proba(Xp)


def test_float32_overflow_in_hidden_layers_is_an_error():
    X32 = X.astype(np.float32)
    clf = LRNClassifier(hidden_layer_sizes=(8,), activation="identity", max_iter=5, random_state=0)
    clf.fit(X32, y)
    clf.coefs_[0][...] = 1.0  # every hidden unit: 4 x 3e38 = inf in float32
    clf.coefs_[1][...] = 1.0
    clf.coefs_[1][0] = -1.0  # so every logit is inf - inf
    big = np.full((1, 4), 3e38, np.float32)
    with pytest.raises(ValueError, match="its weighted sums overflowed"):
        clf.predict_proba(big)


# ------------------------------------------------------ weights
@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_class_weight_values_are_checked(bad):
    with pytest.raises(ValueError, match=r"class_weight must map each class to a finite weight"):
        LRNClassifier(class_weight={0: bad, 1: 1.0, 2: 1.0}).fit(X, y)


def test_partial_fit_accepts_one_class_batches_with_weights():
    clf = LRNClassifier(random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    clf.partial_fit(X[:3] * 0 + 1, [1, 1, 1], sample_weight=[1.0, 2.0, 1.0])
    LRNClassifier(class_weight="balanced").partial_fit(X[:3], [1, 1, 1], classes=[0, 1, 2])


def test_sample_weight_not_numbers():
    with pytest.raises(ValueError, match="sample_weight must be a 1-D array of numbers"):
        LRNClassifier().fit(X, y, sample_weight=sp.csr_matrix(np.ones((1, 60))))


def test_sample_weight_beyond_float32():
    with pytest.raises(ValueError, match=r"beyond the range of X's dtype float32"):
        LRNClassifier().fit(X.astype(np.float32), y, sample_weight=np.full(60, 1e39))


def test_early_stopping_with_a_weightless_validation_split():
    """Two rows of 40 weigh anything: most 4-row validation splits hold neither."""
    sw = np.zeros(40)
    sw[[0, 1]] = 1.0
    messages = []
    for seed in range(10):
        clf = LRNClassifier(early_stopping=True, max_iter=3, random_state=seed)
        try:
            clf.fit(X[:40], y[:40] % 2, sample_weight=sw)
        except ValueError as err:
            messages.append(str(err))
    assert messages
    assert all("validation samples has sample_weight 0" in m for m in messages)


# ------------------------------------------------------ targets and labels
@pytest.mark.parametrize("scale", [2, -1])
def test_multilabel_y_must_be_zero_one(scale):
    Y = (RNG.random((60, 3)) > 0.5).astype(int)
    Y[0] = [0, 1, 1]  # keep both values in every column
    Y[1] = [1, 0, 0]
    bad = Y * 2 if scale == 2 else np.where(Y == 1, 1, -1)
    with pytest.raises(ValueError, match="indicator matrix of 0 and 1"):
        LRNClassifier().fit(X, bad)


def test_sparse_multilabel_y_equals_dense():
    Y = (RNG.random((60, 3)) > 0.5).astype(int)
    dense = LRNClassifier(hidden_layer_sizes=(5,), max_iter=10, random_state=0).fit(X, Y)
    sparse = LRNClassifier(hidden_layer_sizes=(5,), max_iter=10, random_state=0)
    sparse.fit(X, sp.csr_matrix(Y))
    np.testing.assert_array_equal(dense.predict_proba(X), sparse.predict_proba(X))


def test_partial_fit_classes_cannot_change():
    clf = LRNClassifier().partial_fit(X, y, classes=[0, 1, 2])
    clf.partial_fit(X, y, classes=[2, 1, 0])  # the same set: fine
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 2, 3\] is not the same as on the first"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])


@pytest.mark.parametrize(
    "fraction, match",
    [
        (0.01, r"too small for validation_fraction=0.01 of 60 samples \(The test_size"),
        (0.0, r"too small for validation_fraction=0.0 of 60 samples: it is empty"),
    ],
)
def test_validation_fraction_too_small(fraction, match):
    with pytest.raises(ValueError, match=match):
        LRNClassifier(early_stopping=True, validation_fraction=fraction).fit(X, y)


# ------------------------------------------------------ parameters
@pytest.mark.parametrize("sizes", [("a",), [[3]], {3: 1}])
def test_hidden_layer_sizes_not_numbers(sizes):
    with pytest.raises(ValueError, match="hidden_layer_sizes must be a positive integer"):
        LRNClassifier(hidden_layer_sizes=sizes).fit(X, y)


@pytest.mark.parametrize("rates", [["a"], [[0.1]], {0: 0.1}])
def test_dropout_not_numbers(rates):
    with pytest.raises(ValueError, match=r"dropout must be a rate in \[0, 1\)"):
        LRNClassifier(hidden_layer_sizes=(4,), dropout=rates).fit(X, y)


def test_batch_size_bool_is_an_int():
    assert LRNClassifier(batch_size=True, max_iter=2).fit(X, y).n_iter_ == 2


def test_batch_size_larger_than_the_data_warns_as_scikit_learn():
    with pytest.warns(UserWarning, match="batch_size=500 is larger than the 60 training samples"):
        LRNClassifier(batch_size=500, max_iter=2).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)  # a UserWarning too
        LRNClassifier(batch_size=500, solver="lbfgs", max_iter=2).fit(X, y)


def test_predict_with_strings():
    clf = fitted()
    with pytest.raises(ValueError, match="X must be numeric"):
        clf.predict([["a"] * 4])


def test_lbfgs_divergence_message_names_the_solver():
    from lrnet.training import divergence_error

    msg = str(divergence_error(3, None))
    assert "solver='lbfgs'" in msg and "learning_rate_init" not in msg
    assert "Lower learning_rate_init (try 0.1)" in str(divergence_error(3, 1.0))


# ------------------------------------------------------ schedules
@pytest.mark.parametrize("frac, total", [(0.1, 10), (0.5, 2), (0.25, 4), (0.3, 1)])
def test_onecycle_with_an_empty_phase(frac, total):
    rates = [onecycle_lr(s, total, 0.01, frac) for s in range(total)]
    assert all(np.isfinite(rates))
    if frac * total == 1:  # a warm-up of one step: the first step is at the peak
        assert rates[0] == 0.01
    LRNClassifier(learning_rate="onecycle", warmup_fraction=frac, max_iter=total).fit(X, y)


# ------------------------------------------------------ model files
def test_save_refuses_labels_it_cannot_load(tmp_path):
    days = np.array([datetime.date(2026, 1, 1), datetime.date(2026, 1, 2)], "datetime64[D]")
    clf = LRNClassifier(max_iter=3).fit(X, days[y % 2])
    with pytest.raises(TypeError, match=r"cannot save classes of dtype datetime64\[D\]"):
        clf.save(tmp_path / "m.lrnet")
    assert not (tmp_path / "m.lrnet").exists()


def test_float_labels_round_trip(tmp_path):
    clf = LRNClassifier(max_iter=3, random_state=0).fit(X, y + 1.0)
    model = lrnet.load(clf.save(tmp_path / "m.lrnet"))
    np.testing.assert_array_equal(model.estimator.classes_, clf.classes_)
    np.testing.assert_array_equal(model.estimator.predict(X), clf.predict(X))
