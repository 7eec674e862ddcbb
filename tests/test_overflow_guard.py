"""The prediction overflow guard does not depend on the BLAS kernel.

Whether an overflowing dot product comes out ``NaN`` (``inf - inf``) or ``+-inf``
depends on the kernel: one with FMA keeps ``inf``, and this CPU's own kernel may do
either.  Two fake kernels compute the true product and then decide the overflowing
entries their way: ``"fma"`` replaces ``NaN`` by ``+inf``; ``"nan"`` gives ``NaN``
wherever a product is ``NaN`` or both the positive and the negative terms overflow.
Every prediction must come out the same with either of them as with the real kernel.

A fake is installed as an ``ndarray`` subclass of the weights that overrides
``__array_ufunc__`` for ``matmul``: lrnet.network multiplies with ``np.matmul`` in its
blocked path and with the ``@`` operator for up to 256 rows, and only a ufunc override
reaches both (a patched ``numpy.matmul`` attribute is never called by ``@``).
"""

import warnings
from contextlib import contextmanager

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

import lrnet.network
from lrnet import LRNClassifier
from lrnet.activations import ACTIVATIONS as REGISTRY
from lrnet.network import reference_logits

pytestmark = pytest.mark.filterwarnings(
    "ignore:overflow encountered:RuntimeWarning", "ignore:invalid value encountered:RuntimeWarning"
)

ACTIVATIONS = ["relu", "tanh", "logistic", "identity", "leaky_relu"]
METHODS = ["predict", "predict_proba", "predict_log_proba", "decision_function"]
#: 1 row, a few rows (one pass) and more than one prediction block (4096 rows here)
ROWS = [1, 7, 5000]
KERNELS = ["fma", "nan"]

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 4))
y = np.arange(60) % 3


def overflowed_both_ways(a, w):
    """Entries of ``a @ w`` that a kernel without FMA makes ``NaN``."""
    with np.errstate(all="ignore"):
        T = a[:, :, None] * w[None, :, :]
        pos = np.where(T > 0, T, 0.0).sum(axis=1)
        neg = np.where(T < 0, T, 0.0).sum(axis=1)
        return np.isnan(T).any(axis=1) | (np.isinf(pos) & np.isinf(neg))


class FakeKernel(np.ndarray):
    """Weights whose products are decided by the fake kernel :attr:`mode`."""

    mode = "fma"
    calls = 0

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        def plain(a):
            return a.view(np.ndarray) if isinstance(a, FakeKernel) else a

        inputs = tuple(map(plain, inputs))
        if out is not None:
            kwargs["out"] = tuple(plain(o) for o in out)
        result = getattr(ufunc, method)(*inputs, **kwargs)
        if ufunc is np.matmul and method == "__call__":
            FakeKernel.calls += 1
            if FakeKernel.mode == "fma":
                result[np.isnan(result)] = np.inf
            else:
                result[overflowed_both_ways(*inputs)] = np.nan
        return result


@contextmanager
def fake_kernel(clf, mode="fma"):
    """Predict through the fake kernel ``mode`` inside the block."""
    saved = clf.coefs_
    clf.coefs_ = [W.view(FakeKernel) for W in saved]
    FakeKernel.mode, FakeKernel.calls = mode, 0
    try:
        yield
    finally:
        clf.coefs_ = saved


def test_the_fake_kernels():
    a = np.array([[1e200, -1e200, 1.0], [0.0, 1.0, 0.0]])
    w = np.array([[1e200, 0.0], [1e200, 0.0], [1.0, np.inf]])
    results = {}
    for mode in KERNELS:
        FakeKernel.mode = mode
        results[mode] = a @ w.view(FakeKernel)
        assert type(results[mode]) is np.ndarray
    # inf - inf, then 0 * inf: both NaN in IEEE arithmetic
    np.testing.assert_array_equal(results["fma"], [[np.inf, np.inf], [1e200, np.inf]])
    np.testing.assert_array_equal(results["nan"], [[np.nan, np.inf], [1e200, np.nan]])


def outcome(clf, method, Xp):
    """``("values", array)`` or ``("error", message)``."""
    try:
        return "values", getattr(clf, method)(Xp)
    except ValueError as err:
        return "error", str(err)


def assert_same(a, b):
    assert a[0] == b[0], (a, b)
    if a[0] == "error":
        assert a[1] == b[1]
    else:
        np.testing.assert_array_equal(a[1], b[1])


def fitted(activation, binary, n_features=4):
    Xf = np.column_stack([X, np.zeros((60, n_features - 4))])
    clf = LRNClassifier(hidden_layer_sizes=(8,), activation=activation, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(Xf, y % 2 if binary else y)


@pytest.fixture(scope="module")
def models():
    """Fitted models by (activation, binary), weights multiplied by 1e200."""
    out = {}
    for activation in ACTIVATIONS:
        for binary in (True, False):
            clf = fitted(activation, binary)
            for W in clf.coefs_:
                W *= 1e200  # the output layer, or with large inputs every layer, overflows
            out[activation, binary] = clf
    return out


@pytest.mark.parametrize("rows", ROWS)
@pytest.mark.parametrize("x_scale", [1.0, 1e150], ids=["output-overflows", "hidden-overflows"])
@pytest.mark.parametrize("binary", [True, False], ids=["binary", "multiclass"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_outcome_does_not_depend_on_the_kernel(models, activation, binary, x_scale, rows):
    clf = models[activation, binary]
    Xp = np.resize(X * x_scale, (rows, 4))
    for method in METHODS:
        plain = outcome(clf, method, Xp)
        for mode in KERNELS:
            with fake_kernel(clf, mode):
                fake = outcome(clf, method, Xp)
                assert FakeKernel.calls >= 2  # the fake computed the products
            assert_same(plain, fake)
        if plain[0] == "error":
            assert "output is NaN" in plain[1] and "its weighted sums overflowed" in plain[1]


@pytest.mark.parametrize(
    "activation, x_scale", [("relu", 1.0), ("identity", 1.0), ("tanh", 1e150), ("logistic", 1e150)]
)
@pytest.mark.parametrize("rows", [1, 5000])
def test_without_the_guard_the_kernel_would_decide(models, monkeypatch, activation, x_scale, rows):
    """The test above has teeth: with the repair switched off, the fake's ``+inf`` wins.

    (Whether this CPU's own kernel gives ``NaN`` or ``inf`` is not asserted: its 1-row
    product may already behave like the fake.)
    """
    clf = models[activation, False]
    Xp = np.resize(X * x_scale, (rows, 4))
    guarded = outcome(clf, "predict_proba", Xp)
    monkeypatch.setattr(lrnet.network, "_repair_overflow", lambda *args: None)
    with fake_kernel(clf, "fma"):
        unguarded = outcome(clf, "predict_proba", Xp)
    assert guarded[0] == "error" and unguarded[0] == "values"


def mixed_model(activation, binary):
    """A model where inputs with a huge 5th feature overflow, and ordinary rows do not.

    The 5th feature is 0 in training; afterwards it feeds only hidden unit 0, with a
    huge weight, and unit 0 has a zero weight into the first logit: an overflowing row
    gets ``inf * 0`` there, which is ``NaN`` from BLAS and ``0`` by definition.
    """
    clf = fitted(activation, binary, n_features=5)
    W0, W1 = clf.coefs_
    W0[4] = 0.0
    W0[4, 0] = 1e10
    W1[0, 0] = 0.0
    return clf


@pytest.mark.parametrize("rows", ROWS[1:])
@pytest.mark.parametrize("binary", [True, False], ids=["binary", "multiclass"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_rows_that_do_not_overflow_keep_their_values(activation, binary, rows):
    clf = mixed_model(activation, binary)
    Xp = np.resize(np.column_stack([X, np.zeros(60)]), (rows, 5))
    bad = np.array([1, 4] if rows < 100 else [3, 4095, 4096, 4999])
    Xp[bad, 4] = 1e300
    good = np.setdiff1d(np.arange(rows), bad)
    for method in METHODS:
        batch = getattr(clf, method)(Xp)
        assert np.isfinite(batch).all() if method != "predict" else True
        clean = getattr(clf, method)(Xp[good])
        np.testing.assert_allclose(batch[good], clean, rtol=1e-12, atol=0)
        for i in [*bad, *good[:3], *good[-2:]]:
            alone = getattr(clf, method)(Xp[i : i + 1])
            np.testing.assert_allclose(batch[i : i + 1], alone, rtol=1e-12, atol=0)
        for mode in KERNELS:
            with fake_kernel(clf, mode):
                np.testing.assert_array_equal(getattr(clf, method)(Xp), batch)


@pytest.mark.parametrize("rows", ROWS[1:])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_only_the_overflowing_rows_are_recomputed(monkeypatch, activation, rows):
    clf = mixed_model(activation, False)
    Xp = np.resize(np.column_stack([X, np.zeros(60)]), (rows, 5))
    bad = [2] if rows < 100 else [2, 4096, 4999]
    Xp[bad, 4] = 1e300
    seen = []

    def spy(coefs, intercepts, Xr, act):
        seen.append(Xr.copy())
        return reference_logits(coefs, intercepts, Xr, act)

    monkeypatch.setattr(lrnet.network, "reference_logits", spy)
    P = clf.predict_proba(Xp)
    assert np.isfinite(P).all()
    np.testing.assert_array_equal(np.concatenate(seen), Xp[bad])


# ------------------------------------------------------------------ reference_logits
def one_layer(W, b=0.0):
    W = np.asarray(W, dtype=float)
    return [W], [np.full(W.shape[1], b)]


@pytest.mark.parametrize(
    "x, W, expected",
    [
        ([[1e10, -1e10]], [[1e300], [1e300]], np.nan),  # +inf and -inf contributions
        ([[1e10, 1.0]], [[1e300], [1.0]], np.inf),  # one side overflows
        ([[-1e10, 1.0]], [[1e300], [1.0]], -np.inf),
        ([[1e308, 1e308, -1e308]], [[1.0], [1.0], [1.0]], np.inf),  # positives overflow first
        ([[0.0, 1.0]], [[np.inf], [2.0]], 2.5),  # 0 * inf is 0
        ([[np.nan, 1.0]], [[1.0], [1.0]], np.nan),
    ],
    ids=["pos-and-neg", "pos", "neg", "order", "zero-times-inf", "nan-input"],
)
def test_reference_logits_hand_made_cases(x, W, expected):
    coefs, intercepts = one_layer(W, 0.5)
    Z = reference_logits(coefs, intercepts, np.array(x), "identity")
    assert Z.shape == (1, 1)
    np.testing.assert_array_equal(Z, [[expected]])


@pytest.mark.parametrize("activation, hidden", [("relu", np.inf), ("identity", np.inf)])
def test_reference_logits_zero_weight_after_an_infinite_unit(activation, hidden):
    coefs = [np.array([[1e300, 1.0]]), np.array([[0.0], [3.0]])]
    intercepts = [np.zeros(2), np.array([1.0])]
    Z = reference_logits(coefs, intercepts, np.array([[1e10]]), activation)
    np.testing.assert_array_equal(Z, [[3e10 + 1.0]])  # the infinite unit's weight is 0
    with np.errstate(invalid="ignore", over="ignore"):
        blas = np.array([[1e10]]) @ coefs[0] @ coefs[1] + 1.0
    assert np.isnan(blas).all()  # what the plain product gives


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_reference_logits_of_finite_inputs_is_the_forward_pass(activation, dtype):
    rng = np.random.default_rng(1)
    coefs = [rng.normal(size=(4, 6)), rng.normal(size=(6, 5)), rng.normal(size=(5, 3))]
    intercepts = [rng.normal(size=6), rng.normal(size=5), rng.normal(size=3)]
    Xr = rng.normal(size=(9, 4)).astype(dtype)
    Z = reference_logits(coefs, intercepts, Xr, activation)
    assert Z.dtype == dtype
    A = Xr.astype(np.float64)
    f = REGISTRY[activation].forward
    for layer, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        A = A @ W + b
        if layer < 2:
            f(A)
    rtol = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(Z, A, rtol=rtol, atol=rtol)


def test_reference_logits_blocks_and_sparse_input(monkeypatch):
    rng = np.random.default_rng(2)
    coefs, intercepts = [rng.normal(size=(4, 3))], [rng.normal(size=3)]
    Xr = rng.normal(size=(10, 4))
    Xr[Xr < 0] = 0.0
    whole = reference_logits(coefs, intercepts, Xr, "tanh")
    np.testing.assert_allclose(whole, Xr @ coefs[0] + intercepts[0], rtol=1e-12)
    monkeypatch.setattr(lrnet.network, "REFERENCE_BLOCK", 3 * 12)  # blocks of 3 rows
    np.testing.assert_array_equal(reference_logits(coefs, intercepts, Xr, "tanh"), whole)
    sparse = reference_logits(coefs, intercepts, sp.csr_matrix(Xr), "tanh")
    np.testing.assert_array_equal(sparse, whole)
