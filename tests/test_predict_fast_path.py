"""The fast predict path gives the same answers and the same errors as the full one."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from lrnet import LRNClassifier


@pytest.fixture(scope="module", params=[np.float32, np.float64])
def fitted(request):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5)).astype(request.param)
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = LRNClassifier((7,), max_iter=20, random_state=0).fit(X, y)
    return est, X


def test_fast_path_taken_and_equal_to_full_validation(fitted):
    est, X = fitted
    assert est._is_plain_input(X)
    fast = est.predict_proba(X)
    slow = est.predict_proba(X.tolist())  # a list always takes the full path
    np.testing.assert_allclose(fast, slow, rtol=1e-6)
    np.testing.assert_array_equal(est.predict(X[:1]), est.predict(X[:1].tolist()))


@pytest.mark.parametrize("bad,what", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_fast_path_still_rejects_non_finite(fitted, bad, what):
    est, X = fitted
    row = X[:1].copy()
    row[0, 3] = bad
    assert not est._is_plain_input(row)
    with pytest.raises(ValueError, match=f"Input X contains {what}"):
        est.predict_proba(row)


def test_fast_path_still_checks_feature_count(fitted):
    est, X = fitted
    with pytest.raises(ValueError, match="X has 4 features, but LRNClassifier is expecting 5"):
        est.predict(X[:, :4])


def test_unfitted_predict_raises_not_fitted():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        LRNClassifier().predict(np.zeros((1, 3)))


def test_large_but_finite_values_are_not_mistaken_for_inf(fitted):
    est, X = fitted
    big = np.full((3, 5), np.finfo(X.dtype).max / 2, dtype=X.dtype)  # the sum overflows
    proba = est.predict_proba(big)
    assert np.isfinite(proba).all()


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("chunk", [1, 7, 50, 1000])
def test_chunked_prediction_equals_one_pass(fitted, chunk, sparse):
    """Large inputs go through in blocks; the logits do not depend on the block size."""
    import scipy.sparse as sp

    from lrnet.network import predict_logits

    est, X = fitted
    Xin = sp.csr_matrix(X) if sparse else X
    one_pass = predict_logits(est.coefs_, est.intercepts_, X, est.activation, chunk=len(X))
    blocks = predict_logits(est.coefs_, est.intercepts_, Xin, est.activation, chunk=chunk)
    assert blocks.shape == one_pass.shape and blocks.dtype == X.dtype
    np.testing.assert_allclose(blocks, one_pass, rtol=1e-5, atol=1e-6)


def test_binary_probabilities_keep_both_tails(fitted):
    """Binary predict_proba: each column from its own sigmoid, floored at the tiny float."""
    est, X = fitted
    Xb = X[:, :2]
    yb = (Xb[:, 0] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LRNClassifier((), solver="lbfgs", alpha=1e-9, max_iter=50).fit(Xb, yb)
    extreme = np.array([[1e4, 0.0], [-1e4, 0.0], [0.0, 0.0]], dtype=X.dtype)
    P = clf.predict_proba(extreme)
    assert P.shape == (3, 2) and np.all(P > 0) and np.all(np.isfinite(np.log(P)))
    # Two sigmoids rounded to X's dtype: the sum is 1 to within that dtype's rounding
    # (float32 gave 1 + 2**-23 on one CI machine: a logit near 0, from the fitted bias).
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=max(1e-7, 4 * np.finfo(X.dtype).eps))
    assert P[0, 1] == 1.0 and P[1, 0] == 1.0


@pytest.mark.parametrize("n", [10, 70_000, 2_500_000])
@pytest.mark.parametrize("bad", [None, np.nan, np.inf, -np.inf, "overflow"])
def test_all_finite_small_large_and_overflowing(n, bad):
    """Exact for every size: a sum that overflows never hides or invents a bad value."""
    from lrnet.validation import all_finite

    x = np.ones(n, dtype=np.float32)
    if bad == "overflow":
        x[:] = np.finfo(np.float32).max / 2  # finite values whose sum is inf
        assert all_finite(x)
        x[-1] = np.nan
        assert not all_finite(x)
        return
    if bad is not None:
        x[n - 3] = bad  # in the last block of a large array
    assert all_finite(x) is (bad is None)
    assert all_finite(x.reshape(-1, 2 if n % 2 == 0 else 1)) is (bad is None)


@pytest.mark.parametrize(
    "units, dtype, rows",
    [
        ((784, 256, 128, 10), np.float32, 1330),  # 2 MiB / (394 outputs x 4 bytes)
        ((20, 64, 64, 1), np.float32, 4064),
        ((20, 256, 256, 1), np.float32, 1022),
        ((784, 256, 128, 10), np.float64, 665),
        ((5, 2), np.float32, 4096),  # capped
        ((10, 100_000, 2), np.float32, 256),  # floored
    ],
)
def test_predict_chunk_fills_about_2_mib(units, dtype, rows):
    from lrnet.network import predict_chunk

    coefs = [np.empty((a, b), dtype) for a, b in zip(units[:-1], units[1:], strict=True)]
    assert predict_chunk(coefs, dtype) == rows


@pytest.mark.parametrize("rows, widths", [(5, [3, 4]), (1, [7]), (256, [64, 64, 32])])
def test_block_buffers_are_disjoint_views_of_one_allocation(rows, widths):
    """One allocation per prediction block (no heap trimming between calls)."""
    from lrnet.network import _block_buffers

    bufs = _block_buffers(rows, widths, np.float32)
    assert [b.shape for b in bufs] == [(rows, w) for w in widths]
    assert all(b.flags.c_contiguous and b.dtype == np.float32 for b in bufs)
    assert len({id(b.base) for b in bufs}) == 1
    for i, b in enumerate(bufs):
        b[...] = i
    assert all((b == i).all() for i, b in enumerate(bufs))


@pytest.mark.parametrize("rows", [1, 256, 4096, 4097, 9000])
def test_prediction_asks_for_a_compiled_set_by_forward_flops(monkeypatch, rows):
    """A fit's work counts 6 flops per parameter and row, a prediction 2: work / 3.

    One block's rows give no job size (a compiled set only if already loaded).
    """
    import lrnet.network as network

    asked, original = [], network.resolve

    def resolve(name=None, work=None):
        asked.append(work)
        return original("numpy")

    monkeypatch.setattr(network, "resolve", resolve)
    coefs = [np.ones((20, 64), np.float32), np.ones((64, 1), np.float32)]
    intercepts = [np.zeros(64, np.float32), np.zeros(1, np.float32)]
    X = np.zeros((rows, 20), np.float32)
    network.predict_logits(coefs, intercepts, X, "relu")
    assert network.predict_chunk(coefs, np.float32) == 4096
    assert asked == [None if rows <= 4096 else rows * (20 * 64 + 64) / 3]
