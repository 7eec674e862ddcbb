"""``LRNClassifier`` end to end: it learns, and it behaves as a scikit-learn classifier."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import compute_sample_weight
from sklearn.utils.validation import check_is_fitted

from lrnet import LRNClassifier
from lrnet.network import Layout, Net, Workspace, value_and_grad

SOLVERS = ["lbfgs", "sgd", "adam"]


def standardised(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def iris():
    return standardised(load_iris)


@pytest.fixture(scope="module")
def binary():
    """A small binary problem: the first 120 rows of breast_cancer, standardised."""
    X, y = standardised(load_breast_cancer)
    return X[:120, :6], y[:120]


def split_scaled(loader):
    X, y = loader(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te


def fit_quietly(est, *args, **kwargs):
    """Fit, ignoring ConvergenceWarning (short runs are fine for behaviour tests)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


# ---------------------------------------------------------------------- it learns
@pytest.mark.parametrize(("loader", "minimum"), [(load_digits, 0.97), (load_breast_cancer, 0.95)])
def test_defaults_learn_real_data(loader, minimum):
    X_tr, X_te, y_tr, y_te = split_scaled(loader)
    est = fit_quietly(LRNClassifier(random_state=0), X_tr, y_tr)
    assert est.score(X_te, y_te) >= minimum


@pytest.mark.parametrize("seed", range(5))
def test_learns_xor_with_one_hidden_layer(seed):
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    est = LRNClassifier((8,), activation="tanh", solver="lbfgs", random_state=seed).fit(X, y)
    assert est.score(X, y) == 1.0
    # a linear model cannot: no hidden layer leaves at least one point wrong
    linear = fit_quietly(LRNClassifier((), solver="lbfgs", random_state=seed), X, y)
    assert linear.score(X, y) < 1.0


@pytest.mark.parametrize(
    ("loader", "alpha"), [(load_breast_cancer, 1.0), (load_iris, 0.5), (load_wine, 2.0)]
)
def test_no_hidden_layer_is_logistic_regression(loader, alpha):
    """lrnet: mean CE + alpha ||W||^2 / (2 n); sklearn: sum CE + ||w||^2 / (2 C): C = 1/alpha."""
    X, y = standardised(loader)
    # tol 1e-13: from a random init, a stop at 1e-10 lands up to ~3e-4 from the optimum
    est = LRNClassifier((), solver="lbfgs", alpha=alpha, tol=1e-13, max_iter=10000).fit(X, y)
    ref = LogisticRegression(C=1 / alpha, tol=1e-10, max_iter=10000).fit(X, y)
    assert est.n_layers_ == 2
    np.testing.assert_allclose(est.predict_proba(X), ref.predict_proba(X), atol=1e-4)
    if len(ref.classes_) == 2:
        np.testing.assert_allclose(est.coefs_[0].ravel(), ref.coef_.ravel(), atol=1e-3)
        np.testing.assert_allclose(est.intercepts_[0], ref.intercept_, atol=1e-3)
    else:
        np.testing.assert_allclose(est.coefs_[0], ref.coef_.T, atol=1e-3)


# ---------------------------------------------------------------------- dtypes, seeds
@pytest.mark.parametrize("solver", SOLVERS)
def test_float32_input_trains_in_float32(iris, solver):
    X, y = iris
    est = fit_quietly(
        LRNClassifier((5,), solver=solver, max_iter=5, random_state=0), X.astype(np.float32), y
    )
    assert all(w.dtype == np.float32 for w in est.coefs_ + est.intercepts_)
    assert np.isfinite(est.loss_)
    P = est.predict_proba(X.astype(np.float32))
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-6)
    # float32 and float64 training agree up to float32 precision
    est64 = fit_quietly(clone(est), X, y)
    np.testing.assert_allclose(est.coefs_[0], est64.coefs_[0], atol=1e-3)


@pytest.mark.parametrize("kind", ["int", "bool"])
def test_int_and_bool_input_become_float64(iris, kind):
    X, y = iris
    X = (X > 0) if kind == "bool" else np.round(X * 3).astype(np.int64)
    est = fit_quietly(LRNClassifier((4,), max_iter=3, random_state=0), X, y)
    assert all(w.dtype == np.float64 for w in est.coefs_ + est.intercepts_)
    assert est.predict(X).shape == y.shape


@pytest.mark.parametrize("solver", SOLVERS)
def test_same_random_state_is_bit_identical(iris, solver):
    X, y = iris
    params = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=10, batch_size=32)
    a = fit_quietly(LRNClassifier(random_state=3, **params), X, y)
    b = fit_quietly(LRNClassifier(random_state=3, **params), X, y)
    c = fit_quietly(LRNClassifier(random_state=4, **params), X, y)
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.loss_curve_ == b.loss_curve_
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


# ---------------------------------------------------------------------- weights
@pytest.mark.parametrize("hidden", [(), (5,)])
def test_zero_sample_weight_equals_dropping_rows(iris, hidden):
    """Same objective, so the same optimum (to rounding: run L-BFGS to convergence)."""
    X, y = iris
    rng = np.random.default_rng(0)
    sw = np.ones(len(y))
    sw[rng.choice(len(y), 40, replace=False)] = 0.0
    params = dict(
        hidden_layer_sizes=hidden,
        solver="lbfgs",
        tol=1e-10,
        max_iter=5000,
        random_state=0,
        alpha=1.0,
    )
    weighted = LRNClassifier(**params).fit(X, y, sample_weight=sw)
    dropped = LRNClassifier(**params).fit(X[sw > 0], y[sw > 0])
    np.testing.assert_allclose(weighted.predict_proba(X), dropped.predict_proba(X), atol=1e-6)


def test_balanced_class_weight_equals_sample_weight(iris):
    X, y = iris
    keep = np.r_[0:50, 50:70, 100:150]  # unbalanced: 50 / 20 / 50
    X, y = X[keep], y[keep]
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=50, random_state=0)
    a = fit_quietly(LRNClassifier(class_weight="balanced", **params), X, y)
    b = fit_quietly(
        LRNClassifier(**params), X, y, sample_weight=compute_sample_weight("balanced", y)
    )
    np.testing.assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_class_weight_dict_multiplies_sample_weight(binary):
    X, y = binary
    params = dict(hidden_layer_sizes=(), solver="lbfgs", random_state=0)
    sw = np.linspace(0.5, 2.0, len(y))
    a = fit_quietly(LRNClassifier(class_weight={0: 3.0, 1: 1.0}, **params), X, y, sample_weight=sw)
    b = fit_quietly(LRNClassifier(**params), X, y, sample_weight=sw * np.where(y == 0, 3.0, 1.0))
    np.testing.assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------- labels
@pytest.mark.parametrize(
    "encode",
    [
        lambda y: np.array(["setosa", "versicolor", "virginica"])[y],
        lambda y: y * 10 - 7,
        lambda y: y.astype(np.float64) * 2.0 - 1.0,
        lambda y: y == 1,
        lambda y: np.array(["no", "yes"])[(y == 1).astype(int)],
    ],
    ids=["str", "int", "float", "bool", "str-binary"],
)
def test_labels_map_through_classes(iris, encode):
    X, y = iris
    labels = encode(y)
    est = fit_quietly(LRNClassifier((8,), solver="lbfgs", random_state=0), X, labels)
    np.testing.assert_array_equal(est.classes_, np.unique(labels))
    pred = est.predict(X)
    assert pred.dtype == labels.dtype
    assert set(np.unique(pred)) <= set(est.classes_)
    assert np.mean(pred == labels) > 0.9
    P = est.predict_proba(X)
    assert P.shape == (len(y), len(est.classes_))
    np.testing.assert_array_equal(est.classes_[P.argmax(axis=1)], pred)
    assert est.out_activation_ == ("logistic" if len(est.classes_) == 2 else "softmax")


def test_multilabel_indicator(iris):
    X, y = iris
    Y = np.column_stack([y == 0, y == 2, X[:, 0] > 0]).astype(int)
    est = fit_quietly(LRNClassifier((10,), solver="lbfgs", random_state=0), X, Y)
    assert est.out_activation_ == "logistic"
    assert est.n_outputs_ == 3
    pred = est.predict(X)
    assert pred.shape == Y.shape
    assert set(np.unique(pred)) <= {0, 1}
    assert (pred == Y).mean() > 0.9
    P = est.predict_proba(X)
    assert P.shape == Y.shape and ((P >= 0) & (P <= 1)).all()
    np.testing.assert_array_equal(pred, (P > 0.5).astype(int))


# ---------------------------------------------------------------------- stopping
def test_convergence_warning_when_max_iter_reached(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(2\) reached"):
        est = LRNClassifier((5,), solver="adam", max_iter=2, random_state=0).fit(X, y)
    assert est.n_iter_ == 2
    assert len(est.loss_curve_) == 2


def test_early_stopping_restores_best_weights(iris):
    """Under early stopping, ``coefs_`` are the weights of the best epoch.

    Training is deterministic for a given ``random_state`` and the first ``k`` epochs
    do not depend on ``max_iter``, so a second run cut at the best epoch ends with
    exactly the weights the first run should have restored (its best epoch is its last).
    """
    X, y = iris
    params = dict(
        hidden_layer_sizes=(6,),
        solver="sgd",
        learning_rate_init=0.05,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=5,
        batch_size=16,
        random_state=0,
    )
    est = fit_quietly(LRNClassifier(max_iter=200, **params), X, y)
    scores = est.validation_scores_
    assert len(scores) == est.n_iter_ == len(est.loss_curve_)
    assert est.best_validation_score_ == max(scores)
    assert est.best_loss_ is None
    best_epoch = int(np.argmax(scores))  # the first epoch with the best score
    assert best_epoch < est.n_iter_ - 1, "pick parameters where training goes past the best"
    cut = fit_quietly(LRNClassifier(max_iter=best_epoch + 1, **params), X, y)
    assert cut.validation_scores_ == scores[: best_epoch + 1]
    for w_best, w_cut in zip(
        est.coefs_ + est.intercepts_, cut.coefs_ + cut.intercepts_, strict=True
    ):
        np.testing.assert_array_equal(w_best, w_cut)


# ---------------------------------------------------------------------- continuing
def test_warm_start_starts_from_assigned_coefs(iris):
    """One full-batch, momentum-free sgd epoch from assigned weights is one gradient step."""
    X, y = iris
    lr, alpha = 0.1, 1e-3
    est = LRNClassifier(
        (4,),
        solver="sgd",
        momentum=0.0,
        learning_rate_init=lr,
        alpha=alpha,
        batch_size=len(y),
        shuffle=False,
        max_iter=1,
        random_state=0,
    )
    fit_quietly(est, X, y)
    rng = np.random.default_rng(1)
    coefs = [rng.standard_normal(w.shape) for w in est.coefs_]
    intercepts = [rng.standard_normal(b.shape) for b in est.intercepts_]
    est.coefs_, est.intercepts_ = coefs, intercepts
    est.set_params(warm_start=True)
    fit_quietly(est, X, y)

    layout = Layout((4, 4, 3))
    params = layout.pack(coefs, intercepts, np.float64)
    grads = np.empty_like(params)
    Y = np.eye(3)[y]
    value_and_grad(
        Net(layout, "relu", "softmax"),
        params,
        grads,
        X,
        Y,
        None,
        alpha,
        Workspace(layout, len(y), np.float64),
    )
    expected_coefs, expected_intercepts = layout.views(params - lr * grads)
    for got, want in zip(
        est.coefs_ + est.intercepts_, expected_coefs + expected_intercepts, strict=True
    ):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    # the assigned arrays were copied, not trained in place
    assert not np.shares_memory(est.coefs_[0], coefs[0])


def test_warm_start_continues_training(iris):
    X, y = iris
    est = LRNClassifier((5,), max_iter=5, warm_start=True, random_state=0)
    fit_quietly(est, X, y)
    first = est.loss_curve_[-1]
    fit_quietly(est, X, y)
    assert len(est.loss_curve_) == 10
    assert est.loss_curve_[-1] < first


def test_partial_fit_over_chunks(iris):
    X, y = iris
    order = np.argsort(y, kind="stable")  # the first chunk holds only class 0
    X, y = X[order], y[order]
    est = LRNClassifier((10,), learning_rate_init=0.01, random_state=0)
    chunks = np.array_split(np.arange(len(y)), 5)
    est.partial_fit(X[chunks[0]], y[chunks[0]], classes=np.array([0, 1, 2]))
    np.testing.assert_array_equal(est.classes_, [0, 1, 2])
    assert est.n_iter_ == 1
    for _ in range(30):
        for idx in chunks:
            est.partial_fit(X[idx], y[idx])
    assert est.t_ == len(y) * 30 + len(chunks[0])
    assert est.score(X, y) > 0.85


def test_partial_fit_once_equals_one_epoch_of_fit(iris):
    X, y = iris
    params = dict(hidden_layer_sizes=(5,), solver="sgd", shuffle=False, random_state=0)
    a = LRNClassifier(**params).partial_fit(X, y, classes=np.unique(y))
    b = fit_quietly(LRNClassifier(max_iter=1, **params), X, y)
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_array_equal(wa, wb)


# ---------------------------------------------------------------------- sklearn API
def test_pickle_round_trip(iris):
    X, y = iris
    est = fit_quietly(LRNClassifier((5,), max_iter=20, random_state=0), X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    # the unpickled model keeps training
    fit_quietly(again.set_params(warm_start=True, max_iter=2), X, y)


def test_clone_get_params_set_params():
    est = LRNClassifier((7, 3), activation="tanh", solver="sgd", alpha=0.5, random_state=2)
    params = est.get_params()
    assert params["hidden_layer_sizes"] == (7, 3)
    assert params["activation"] == "tanh" and params["alpha"] == 0.5
    twin = clone(est)
    assert twin is not est and twin.get_params() == params
    assert est.set_params(alpha=0.1, max_iter=3) is est
    assert est.alpha == 0.1 and est.max_iter == 3
    assert "alpha" in repr(est)


def test_clone_of_fitted_is_unfitted(iris):
    X, y = iris
    est = fit_quietly(LRNClassifier((3,), max_iter=2), X, y)
    with pytest.raises(NotFittedError):
        clone(est).predict(X)


def test_pipeline_and_grid_search(iris):
    X, y = load_iris(return_X_y=True)
    pipe = Pipeline(
        [("scale", StandardScaler()), ("net", LRNClassifier((5,), solver="lbfgs", random_state=0))]
    )
    grid = GridSearchCV(
        pipe, {"net__alpha": [1e-4, 1.0], "net__activation": ["relu", "tanh"]}, cv=3
    )
    fit_quietly(grid, X, y)
    assert set(grid.best_params_) == {"net__alpha", "net__activation"}
    assert grid.best_score_ > 0.9
    assert grid.predict(X).shape == y.shape


# ---------------------------------------------------------------------- sparse input
@pytest.fixture
def no_densify(monkeypatch):
    """``forbid(shape)``: densifying any sparse matrix of that shape (or its transpose) raises.

    Only X's shape is refused: scikit-learn's LabelBinarizer legitimately densifies its
    own sparse label matrix.
    """

    def forbid(shape):
        shapes = {tuple(shape), tuple(shape)[::-1]}

        def guard(original):
            def method(self, *args, **kwargs):
                if self.shape in shapes:
                    raise AssertionError(f"sparse X of shape {self.shape} was densified")
                return original(self, *args, **kwargs)

            return method

        for cls in (
            sp.csr_matrix,
            sp.csc_matrix,
            sp.csr_array,
            sp.csc_array,
            sp.coo_matrix,
            sp.coo_array,
        ):
            for name in ("toarray", "todense", "__array__"):
                original = getattr(cls, name, None)
                if original is not None:
                    monkeypatch.setattr(cls, name, guard(original))

    return forbid


@pytest.mark.parametrize("fmt", [sp.csr_matrix, sp.csc_matrix, sp.csr_array])
@pytest.mark.parametrize("solver", SOLVERS)
def test_sparse_trains_like_dense(iris, fmt, solver):
    X, y = iris
    X = np.where(np.abs(X) < 0.5, 0.0, X)  # about 40 % zeros
    params = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=30, random_state=0)
    dense = fit_quietly(LRNClassifier(**params), X, y)
    est = fit_quietly(LRNClassifier(**params), fmt(X), y)
    np.testing.assert_allclose(est.predict_proba(fmt(X)), dense.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(est.predict(fmt(X)), dense.predict(X))
    # sparse and dense prediction from the same weights agree
    np.testing.assert_allclose(est.predict_proba(fmt(X)), est.predict_proba(X), rtol=1e-12)


@pytest.mark.parametrize("fmt", [sp.csr_matrix, sp.csc_matrix])
@pytest.mark.parametrize("solver", SOLVERS)
def test_sparse_is_never_densified(iris, fmt, solver, no_densify):
    X, y = iris
    Xs = fmt(np.where(np.abs(X) < 0.5, 0.0, X))
    no_densify(Xs.shape)
    est = fit_quietly(LRNClassifier((5,), solver=solver, max_iter=5, random_state=0), Xs, y)
    assert est.predict_proba(Xs).shape == (len(y), 3)
    if solver != "lbfgs":
        est.partial_fit(Xs, y)


def test_no_densify_fixture_bites(no_densify):
    no_densify((2, 3))
    with pytest.raises(AssertionError, match="densified"):
        sp.csr_matrix(np.ones((2, 3))).toarray()
    with pytest.raises(AssertionError, match="densified"):
        sp.csc_matrix(np.ones((3, 2))).todense()
    assert sp.csr_matrix(np.eye(2)).toarray().shape == (2, 2)


# ---------------------------------------------------------------------- extremes
@pytest.mark.parametrize("target", ["binary", "multiclass", "multilabel"])
def test_probabilities_finite_for_extreme_inputs(iris, target):
    X, y = iris
    Y = {
        "binary": y == 0,
        "multiclass": y,
        "multilabel": np.column_stack([y == 0, y == 2]).astype(int),
    }[target]
    est = fit_quietly(LRNClassifier((5,), solver="lbfgs", random_state=0), X, Y)
    X_big = X * 1e6
    P = est.predict_proba(X_big)
    logP = est.predict_log_proba(X_big)
    assert np.isfinite(P).all() and np.isfinite(logP).all()
    assert ((P > 0) & (P <= 1)).all()
    assert (logP <= 0).all()
    if target != "multilabel":
        np.testing.assert_allclose(P.sum(axis=1), 1.0)
        np.testing.assert_array_equal(est.classes_[P.argmax(axis=1)], est.predict(X_big))
    assert np.ptp(logP) > 1e3  # logits of order 1e6 stay visible in log space
    for Xq in (X, X_big):
        P, logP = est.predict_proba(Xq), est.predict_log_proba(Xq)
        ok = P > 1e-12
        np.testing.assert_allclose(logP[ok], np.log(P[ok]), rtol=1e-9, atol=1e-12)


def test_float32_probabilities_keep_precision(binary):
    X, y = binary
    est = fit_quietly(LRNClassifier((4,), solver="lbfgs", random_state=0), X, y)
    X32 = (X * 1e3).astype(np.float32)
    P = est.predict_proba(X32)
    logP = est.predict_log_proba(X32)
    assert np.isfinite(logP).all()
    ok = P > 1e-300
    np.testing.assert_allclose(logP[ok], np.log(P[ok]), rtol=1e-6, atol=1e-12)


# ---------------------------------------------------------------------- divergence
#: the loss grows by ~1e12 an epoch and overflows within ~25 epochs; n_iter_no_change=inf
#: keeps the no-improvement rule from stopping it first (it would, after 11 epochs, with a
#: huge but finite loss)
DIVERGE = dict(
    solver="sgd", learning_rate_init=1e6, max_iter=100, n_iter_no_change=np.inf, random_state=0
)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_raises_and_unfitted_stays_unfitted(iris):
    X, y = iris
    est = LRNClassifier((20,), **DIVERGE)
    with pytest.raises(ValueError, match=r"diverged.*learning_rate_init=1e\+06"):
        est.fit(X, y)
    assert not hasattr(est, "coefs_")
    with pytest.raises(NotFittedError):
        est.predict(X)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_keeps_previous_fit(iris, binary):
    X, y = iris
    est = fit_quietly(LRNClassifier((20,), max_iter=20, random_state=0), X, y)
    before = [w.copy() for w in est.coefs_ + est.intercepts_]
    P = est.predict_proba(X)
    fitted = {k: v for k, v in vars(est).items() if k.endswith("_")}
    # a refit on other data (other features, other classes) that diverges
    est.set_params(**DIVERGE)
    with pytest.raises(ValueError, match="diverged"):
        est.fit(*binary)
    for w, w0 in zip(est.coefs_ + est.intercepts_, before, strict=True):
        assert np.isfinite(w).all()
        np.testing.assert_array_equal(w, w0)
    np.testing.assert_array_equal(est.predict_proba(X), P)
    assert est.n_features_in_ == fitted["n_features_in_"]
    np.testing.assert_array_equal(est.classes_, fitted["classes_"])
    assert est.loss_curve_ == fitted["loss_curve_"]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_from_huge_inputs(iris):
    X, y = iris
    est = LRNClassifier((20,), solver="sgd", learning_rate_init=0.1, max_iter=20, random_state=0)
    with pytest.raises(ValueError, match="diverged") as info:
        est.fit(X * 1e150, y)
    assert "learning_rate_init" in str(info.value)


# ---------------------------------------------------------------------- verbose
def _verbose_shape(text: str) -> list[str]:
    """Each printed line with its numbers blanked: the format, not the values."""
    import re

    return [re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "#", line) for line in text.splitlines()]


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="adam", max_iter=4),
        dict(solver="sgd", max_iter=3, early_stopping=True, n_iter_no_change=1, tol=10.0),
        dict(solver="sgd", learning_rate="adaptive", max_iter=6, n_iter_no_change=1, tol=10.0),
    ],
    ids=["adam", "early_stopping", "adaptive"],
)
def test_verbose_prints_epoch_lines_as_scikit_learn(iris, params, capsys):
    from sklearn.neural_network import MLPClassifier

    X, y = iris
    settings = dict(hidden_layer_sizes=(5,), random_state=0, verbose=True, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier(**settings).fit(X, y)
        theirs = capsys.readouterr().out
        clf = LRNClassifier(**settings).fit(X, y)
        ours = capsys.readouterr().out
    assert ours.startswith("Iteration 1, loss = ")
    assert _verbose_shape(ours) == _verbose_shape(theirs)
    first = float(ours.splitlines()[0].split("= ")[1])
    assert first == pytest.approx(clf.loss_curve_[0], rel=1e-7)


def test_not_verbose_prints_nothing(iris, capsys):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        LRNClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""
