"""Issue 5: dropout, AdamW, clipping, label smoothing, init (schedules, callbacks: own files)."""

import numpy as np
import pytest
from sklearn.base import clone

from conftest import quiet_fit
from lrnet import LRNClassifier
from lrnet.callbacks import HistoryLogger
from lrnet.initializers import init_flat
from lrnet.network import Layout, Net, Workspace, value_and_grad
from lrnet.training import clip_grad_norm


# ---------------------------------------------------------------- clipping, AdamW
@pytest.mark.parametrize("max_norm", [0.1, 1.0, 100.0])
def test_clip_grad_norm_matches_torch(max_norm):
    torch = pytest.importorskip("torch")
    g = np.random.default_rng(0).normal(size=50)
    t = torch.nn.Parameter(torch.zeros(50, dtype=torch.float64))
    t.grad = torch.tensor(g.copy())
    ref_norm = torch.nn.utils.clip_grad_norm_([t], max_norm)
    ours = g.copy()
    norm = clip_grad_norm(ours, max_norm)
    assert norm == pytest.approx(float(ref_norm), rel=1e-12)
    np.testing.assert_allclose(ours, t.grad.numpy(), rtol=1e-6)


def test_max_grad_norm_changes_training_and_stays_finite(iris):
    X, y = iris
    kw = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0, learning_rate_init=0.05)
    a = quiet_fit(LRNClassifier(**kw), X, y)
    b = quiet_fit(LRNClassifier(max_grad_norm=1e-3, **kw), X, y)
    assert not np.allclose(a.coefs_[0], b.coefs_[0])
    assert np.isfinite(b.coefs_[0]).all()


def test_adamw_decays_weights(iris):
    X, y = iris
    kw = dict(hidden_layer_sizes=(8,), max_iter=30, random_state=0, alpha=0.0)
    adam = quiet_fit(LRNClassifier(solver="adam", **kw), X, y)
    adamw = quiet_fit(LRNClassifier(solver="adamw", weight_decay=0.5, **kw), X, y)
    adamw0 = quiet_fit(LRNClassifier(solver="adamw", weight_decay=0.0, **kw), X, y)
    np.testing.assert_array_equal(adam.coefs_[0], adamw0.coefs_[0])
    assert np.linalg.norm(adamw.coefs_[0]) < np.linalg.norm(adam.coefs_[0])


# ---------------------------------------------------------------- dropout
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu", "leaky_relu"])
@pytest.mark.parametrize("out_kind,k", [("logistic", 1), ("softmax", 3), ("logistic", 3)])
def test_dropout_gradient_check_with_fixed_mask(activation, out_kind, k):
    rng = np.random.default_rng(1)
    layout = Layout((4, 5, 6, k))
    net = Net(layout, activation, out_kind)
    params = init_flat(layout, activation, rng, np.float64)
    X = rng.normal(size=(9, 4))
    if out_kind == "softmax":
        Y = np.eye(k)[rng.integers(0, k, 9)]
    else:
        Y = (rng.random((9, k)) < 0.5).astype(float)
    work = Workspace(layout, 9, np.float64, dropout=[0.5, 0.3])
    masks = [m.copy() for m in work.draw_masks(rng, [0.5, 0.3])]
    grads = np.empty_like(params)

    def f(p):
        return value_and_grad(net, p, np.empty_like(p), X, Y, None, 0.01, work, masks)

    value_and_grad(net, params, grads, X, Y, None, 0.01, work, masks)
    num = np.empty_like(params)
    h = 1e-6
    for i in range(params.size):
        e = np.zeros_like(params)
        e[i] = h
        num[i] = (f(params + e) - f(params - e)) / (2 * h)
    np.testing.assert_allclose(grads, num, rtol=1e-5, atol=1e-8)


def test_dropout_keep_rate_matches_expectation():
    layout = Layout((3, 400, 300, 2))
    work = Workspace(layout, 250, np.float64, dropout=[0.2, 0.5])
    masks = work.draw_masks(np.random.default_rng(0), [0.2, 0.5])
    for mask, rate in zip(masks, [0.2, 0.5], strict=True):
        keep = 1 - rate
        kept = mask > 0
        n = mask.size
        # binomial: the kept share is within 5 standard deviations of keep
        assert abs(kept.mean() - keep) < 5 * np.sqrt(keep * (1 - keep) / n)
        np.testing.assert_allclose(mask[kept], 1 / keep)
        assert mask.mean() == pytest.approx(1.0, abs=0.02)  # inverted dropout keeps E[A]


def test_dropout_is_deterministic_and_inactive_at_predict(iris):
    X, y = iris
    kw = dict(hidden_layer_sizes=(16, 8), dropout=[0.3, 0.1], max_iter=10, random_state=3)
    a = quiet_fit(LRNClassifier(**kw), X, y)
    b = quiet_fit(LRNClassifier(**kw), X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    np.testing.assert_array_equal(a.predict_proba(X), a.predict_proba(X))
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = quiet_fit(LRNClassifier(**{**kw, "dropout": None}), X, y)
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


@pytest.mark.parametrize("bad", [1.0, [0.1], [0.1, 0.2, 0.3], -0.1])
def test_dropout_bad_values(iris, bad):
    X, y = iris
    with pytest.raises(ValueError, match="dropout"):
        LRNClassifier((4, 4), dropout=bad, max_iter=1).fit(X, y)


# ---------------------------------------------------------------- label smoothing, init
def test_label_smoothing_matches_torch_cross_entropy(iris):
    torch = pytest.importorskip("torch")
    X, y = iris
    est = LRNClassifier((), solver="lbfgs", label_smoothing=0.2, alpha=0.0, max_iter=3)
    quiet_fit(est, X, y)
    Z = X @ est.coefs_[0] + est.intercepts_[0]
    ref = torch.nn.functional.cross_entropy(torch.tensor(Z), torch.tensor(y), label_smoothing=0.2)
    # the final loss_ is the objective at the returned weights
    assert est.loss_ == pytest.approx(float(ref), rel=1e-6)


def test_label_smoothing_binary_targets_move_towards_half():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 0, 1, 1])
    est = LRNClassifier((), solver="lbfgs", label_smoothing=0.5, alpha=0.0, tol=1e-10)
    quiet_fit(est, X, y)
    p = est.predict_proba(X)[:, 1]
    # targets become 0.25 / 0.75, so the fit can never be over-confident
    assert 0.2 < p.min() and p.max() < 0.8


@pytest.mark.parametrize(
    "init,activation,expect",
    [
        ("glorot", "relu", "glorot"),
        ("he", "tanh", "he"),
        ("auto", "relu", "he"),
        ("auto", "leaky_relu", "he"),
        ("auto", "tanh", "glorot"),
    ],
)
def test_init_schemes(init, activation, expect):
    X = np.random.default_rng(0).normal(size=(50, 300))
    y = np.arange(50) % 2
    est = LRNClassifier(
        (200,),
        activation=activation,
        init=init,
        max_iter=1,
        random_state=0,
        learning_rate_init=1e-12,
    )
    quiet_fit(est, X, y)
    W, b = est.coefs_[0], est.intercepts_[0]
    if expect == "he":
        bound = np.sqrt(6 / 300)
        assert np.abs(b).max() < 1e-9
    else:
        bound = np.sqrt(6 / 500)
        assert np.abs(b).max() > 0
    assert np.abs(W).max() <= bound + 1e-6
    assert np.abs(W).max() > 0.95 * bound


# ---------------------------------------------------------------- params
NEW_PARAMS = dict(
    dropout=[0.1, 0.2],
    weight_decay=0.05,
    warmup_fraction=0.1,
    max_grad_norm=2.0,
    label_smoothing=0.05,
    init="he",
    learning_rate="onecycle",
    solver="adamw",
)


def test_new_params_get_set_clone(iris):
    est = LRNClassifier((8, 4), **NEW_PARAMS, callbacks=[HistoryLogger("x.csv")])
    params = est.get_params()
    for k, v in NEW_PARAMS.items():
        assert params[k] == v
    cloned = clone(est)
    for k, v in NEW_PARAMS.items():
        assert cloned.get_params()[k] == v
    est.set_params(dropout=0.3, init="glorot")
    assert est.dropout == 0.3 and est.init == "glorot"
    X, y = iris
    quiet_fit(clone(cloned).set_params(callbacks=None, max_iter=3), X, y)
