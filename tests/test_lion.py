"""``solver='lion'``: the update rule against the paper, in place, and end to end."""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

import lrnet
from conftest import make_table
from lrnet import LRNClassifier
from lrnet.callbacks import Callback
from lrnet.cli import main
from lrnet.cli.parser import build_parser
from lrnet.config import Config, make_optimizer
from lrnet.kernels import resolve
from lrnet.optim import OPTIMIZERS, lion

#: (lr, beta_1, beta_2, weight_decay): the paper's defaults, betas swapped, strong decay
SETTINGS = [
    (1e-3, 0.9, 0.99, 0.0),
    (0.05, 0.95, 0.98, 0.1),
    (0.1, 0.5, 0.9, 0.5),
    (0.02, 0.99, 0.9, 1.0),
]


def lion_reference(p, m, g, lr, b1, b2, wd):
    """Chen et al. 2023, Algorithm 2, written from the paper: the new ``(p, m)``."""
    c = b1 * m + (1 - b1) * g
    p = p - lr * (np.sign(c) + wd * p)
    m = b2 * m + (1 - b2) * g
    return p, m


def run_steps(update, params, grads_seq, lr, b1, b2, wd):
    """``update`` over ``grads_seq`` in place; the states seen after every step."""
    state = lion.init(params)
    states = [state]
    for g in grads_seq:
        state = update(params, g, state, lr, b1, b2, wd)
        states.append(state)
    return states


@pytest.mark.parametrize("lr, b1, b2, wd", SETTINGS)
def test_update_matches_the_paper_over_several_steps(lr, b1, b2, wd):
    rng = np.random.default_rng(0)
    params = rng.standard_normal(50)
    grads_seq = [rng.standard_normal(50) for _ in range(12)]
    p_ref, m_ref = params.copy(), np.zeros_like(params)
    state = lion.init(params)
    for step, g in enumerate(grads_seq, start=1):
        state = lion.update(params, g, state, lr, b1, b2, wd)
        p_ref, m_ref = lion_reference(p_ref, m_ref, g, lr, b1, b2, wd)
        np.testing.assert_allclose(params, p_ref, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(state.mu, m_ref, rtol=1e-13, atol=1e-15)
        assert state.count == step


@pytest.mark.parametrize("lr, b1, b2, wd", SETTINGS)
def test_builder_binds_the_hyperparameters(lr, b1, b2, wd):
    rng = np.random.default_rng(1)
    params = rng.standard_normal(30)
    grads_seq = [rng.standard_normal(30) for _ in range(6)]
    opt = lion.lion(b1, b2, wd)
    assert opt.name == "lion"
    state = opt.init(params)
    p_ref, m_ref = params.copy(), np.zeros_like(params)
    for g in grads_seq:
        state = opt.update(params, g, state, lr)
        p_ref, m_ref = lion_reference(p_ref, m_ref, g, lr, b1, b2, wd)
    np.testing.assert_allclose(params, p_ref, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("lr, b1, b2, wd", SETTINGS[1:])
def test_registry_reads_beta_1_beta_2_and_weight_decay_from_the_config(lr, b1, b2, wd):
    config = Config(solver="lion", learning_rate_init=lr, beta_1=b1, beta_2=b2, weight_decay=wd)
    opt = make_optimizer(config, resolve())
    assert "lion" in OPTIMIZERS and opt.name == "lion"
    rng = np.random.default_rng(2)
    params = rng.standard_normal(20)
    p_ref, m_ref = params.copy(), np.zeros_like(params)
    state = opt.init(params)
    for _ in range(5):
        g = rng.standard_normal(20)
        state = opt.update(params, g, state, lr)
        p_ref, m_ref = lion_reference(p_ref, m_ref, g, lr, b1, b2, wd)
    np.testing.assert_allclose(params, p_ref, rtol=1e-13, atol=1e-15)


def test_every_parameter_moves_by_exactly_lr_without_decay():
    rng = np.random.default_rng(3)
    params = rng.standard_normal(40)
    before = params.copy()
    state = lion.init(params)
    for _ in range(4):
        before[...] = params
        state = lion.update(params, rng.standard_normal(40), state, 0.03, 0.9, 0.99, 0.0)
        np.testing.assert_allclose(np.abs(params - before), 0.03, rtol=1e-12)


def test_update_allocates_nothing_and_keeps_the_state_arrays():
    params = np.random.default_rng(4).standard_normal(200_000)
    grads = np.random.default_rng(5).standard_normal(200_000)
    state = lion.init(params)
    arrays = (params, state.mu, state.scratch, state.scratch2)
    state = lion.update(params, grads, state, 0.01, 0.9, 0.99, 0.1)  # warm up NumPy
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        new = lion.update(params, grads, state, 0.01, 0.9, 0.99, 0.1)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert new.mu is arrays[1] and new.scratch is arrays[2] and new.scratch2 is arrays[3]
    assert new.mu is state.mu and new.count == state.count + 1
    assert peak < params.nbytes // 10, f"one step allocated {peak} bytes"


def test_float32_stays_float32():
    rng = np.random.default_rng(6)
    params64 = rng.standard_normal(100)
    params = params64.astype(np.float32)
    grads_seq = [rng.standard_normal(100).astype(np.float32) for _ in range(8)]
    states = run_steps(lion.update, params, grads_seq, 0.01, 0.9, 0.99, 0.2)
    assert params.dtype == np.float32
    for s in states:
        assert s.mu.dtype == np.float32 and s.mu is states[0].mu
        assert s.scratch.dtype == np.float32 and s.scratch2.dtype == np.float32
    p_ref, m_ref = params64.astype(np.float32).astype(np.float64), np.zeros(100)
    for g in grads_seq:
        p_ref, m_ref = lion_reference(p_ref, m_ref, g.astype(np.float64), 0.01, 0.9, 0.99, 0.2)
    np.testing.assert_allclose(params, p_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(states[-1].mu, m_ref, rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------ the estimator
class Snapshots(Callback):
    """Copies of the live parameter buffer at the start and after every epoch."""

    def on_train_begin(self, logs=None):
        self.params = logs["params"]
        self.seen = [self.params.copy()]

    def on_epoch_end(self, epoch, logs):
        self.seen.append(self.params.copy())


def problem(target, sparse, dtype, n=60):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((n, 5))
    if target == "binary":
        y = (X[:, 0] + X[:, 1] > 0).astype(int)
    elif target == "multiclass":
        y = np.digitize(X[:, 0] - X[:, 2], [-0.5, 0.5])
    else:
        y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 3] > 0]).astype(int)
    X = X.astype(dtype)
    if sparse:
        X[np.abs(X) < 0.5] = 0.0
        X = sp.csr_matrix(X)
    return X, y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("target", ["binary", "multiclass", "multilabel"])
def test_lion_trains_the_estimator(target, sparse, dtype):
    X, y = problem(target, sparse, dtype)
    lr = 0.01
    snaps = Snapshots()
    clf = LRNClassifier(
        hidden_layer_sizes=(6,),
        solver="lion",
        learning_rate_init=lr,
        batch_size=X.shape[0],  # one step per epoch
        weight_decay=0.0,
        max_iter=8,
        random_state=0,
        callbacks=[snaps],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert isinstance(clf._state.opt_state, lion.LionState)
    assert clf._state.opt_state.mu.dtype == dtype and clf.coefs_[0].dtype == dtype
    assert clf._state.step == 8 and clf.n_iter_ == 8
    # a Lion step moves every parameter by exactly lr (sign(c) is +-1 almost surely)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for before, after in zip(snaps.seen, snaps.seen[1:], strict=False):
        np.testing.assert_allclose(np.abs(after - before), lr, rtol=0, atol=tol)
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    P = clf.predict_proba(X)
    assert P.shape == (X.shape[0], 2 if target == "binary" else 3)
    assert np.isfinite(P).all()
    assert clf.predict(X).shape == np.shape(y)


def test_lion_weight_decay_shrinks_the_weights():
    X, y = problem("multiclass", False, np.float64)
    kw = dict(hidden_layer_sizes=(6,), solver="lion", max_iter=5, random_state=0)
    kw.update(learning_rate_init=1e-3, batch_size=60, alpha=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = LRNClassifier(weight_decay=0.0, **kw).fit(X, y)
        decayed = LRNClassifier(weight_decay=50.0, **kw).fit(X, y)
    norm = [np.linalg.norm(np.concatenate([W.ravel() for W in c.coefs_])) for c in (plain, decayed)]
    assert norm[1] < 0.9 * norm[0]


def test_lion_is_an_accepted_solver():
    options = LRNClassifier._parameter_constraints["solver"][0].options
    assert "lion" in options
    LRNClassifier(solver="lion")._validate_params()  # no error
    with pytest.raises(InvalidParameterError, match=r"Did you mean solver='lion'\?"):
        LRNClassifier(solver="lino").fit(np.zeros((4, 2)), [0, 1, 0, 1])


def test_cli_parser_accepts_solver_lion():
    args = build_parser().parse_args(["train", "data.csv", "--solver", "lion"])
    assert args.solver == "lion"


def test_cli_trains_with_solver_lion(tmp_path):
    data = tmp_path / "t.csv"
    make_table(n_rows=80).to_csv(data, index=False)
    model = tmp_path / "m.lrnet"
    options = ["--hidden", "6", "--epochs", "3", "--lr", "0.003", "--no-report", "-q"]
    code = main(["train", str(data), "-t", "label", "--solver", "lion", *options, "-o", str(model)])
    assert code == 0
    assert lrnet.load(model).estimator.get_params()["solver"] == "lion"
