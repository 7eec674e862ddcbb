"""Analytic gradients of :func:`lrnet.network.value_and_grad` against finite differences.

Every activation x output kind x depth, with and without sample weights and the L2
penalty, in float64 on the flat parameter buffer.
"""

import numpy as np
import pytest

from lrnet.activations import ACTIVATIONS
from lrnet.network import Layout, Workspace, forward, predict_logits

EPS = 1e-6


@pytest.fixture(autouse=True, params=["numpy", "numba"])
def kernel_set(request, monkeypatch):
    """Every check runs under both kernel sets (``LRNET_KERNELS``; see lrnet.kernels)."""
    if request.param == "numba":
        pytest.importorskip("numba")
    monkeypatch.setenv("LRNET_KERNELS", request.param)
    return request.param


def central_differences(problem) -> np.ndarray:
    """Gradient of the objective by central differences, one parameter at a time."""
    params = problem.params.copy()
    fd = np.empty_like(params)
    for i in range(params.size):
        old = params[i]
        params[i] = old + EPS
        up, _ = problem.value_and_grad(params)
        params[i] = old - EPS
        down, _ = problem.value_and_grad(params)
        params[i] = old
        fd[i] = (up - down) / (2 * EPS)
    return fd


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-12))


@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("hidden", [(), (5,), (5, 4)], ids=["h0", "h1", "h2"])
@pytest.mark.parametrize("output", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_gradient_matches_finite_differences(
    problem_factory, activation, output, hidden, weighted, alpha
):
    problem = problem_factory(activation, output, hidden, weighted, alpha)
    loss, grads = problem.value_and_grad()
    assert np.isfinite(loss)
    fd = central_differences(problem)
    assert relative_error(grads, fd) < 1e-6
    # the buffer is left untouched and the evaluation is repeatable
    again, grads2 = problem.value_and_grad()
    assert again == loss
    np.testing.assert_array_equal(grads, grads2)


@pytest.mark.parametrize("output", ["binary", "multiclass", "multilabel"])
def test_objective_is_weighted_mean_cross_entropy_plus_penalty(problem_factory, output):
    """The value itself, written out with log-probabilities in plain NumPy."""
    problem = problem_factory("logistic", output, (4,), weighted=True, alpha=0.7)
    layout = problem.net.layout
    coefs, intercepts = layout.views(problem.params)
    Z = predict_logits(coefs, intercepts, problem.X, "logistic")
    if problem.net.out_kind == "softmax":
        logp = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
        per_row = -(problem.Y * logp).sum(axis=1)
    else:
        p = 1.0 / (1.0 + np.exp(-Z))
        per_row = -(problem.Y * np.log(p) + (1 - problem.Y) * np.log(1 - p)).sum(axis=1)
    sw = problem.sample_weight
    w = problem.params[: layout.n_coef]
    expected = (sw @ per_row + 0.5 * problem.alpha * w @ w) / sw.sum()
    loss, _ = problem.value_and_grad()
    assert loss == pytest.approx(expected, rel=1e-12)


def test_zero_weight_rows_do_not_matter(problem_factory):
    problem = problem_factory("relu", "multiclass", (5,), weighted=True, alpha=0.1)
    loss, grads = problem.value_and_grad()
    keep = problem.sample_weight > 0
    problem.X[~keep] = 1e3  # garbage in dropped rows changes nothing
    loss2, grads2 = problem.value_and_grad()
    assert loss2 == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(grads2, grads, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_forward_matches_predict_logits(problem_factory, activation):
    problem = problem_factory(activation, "multiclass", (5, 4))
    layout = problem.net.layout
    coefs, intercepts = layout.views(problem.params)
    work = Workspace(layout, problem.X.shape[0], np.float64)
    Z = forward(coefs, intercepts, problem.X, work.acts, activation)
    np.testing.assert_allclose(Z, predict_logits(coefs, intercepts, problem.X, activation))


def test_layout_views_and_pack_round_trip():
    layout = Layout((3, 4, 2))
    assert layout.n_layers == 2
    assert layout.n_coef == 3 * 4 + 4 * 2
    assert layout.size == layout.n_coef + 4 + 2
    flat = np.arange(layout.size, dtype=np.float64)
    coefs, intercepts = layout.views(flat)
    assert [w.shape for w in coefs] == [(3, 4), (4, 2)]
    assert [b.shape for b in intercepts] == [(4,), (2,)]
    assert np.shares_memory(coefs[0], flat)
    np.testing.assert_array_equal(layout.pack(coefs, intercepts, np.float64), flat)
    with pytest.raises(ValueError, match=r"shape \(4, 3\), expected \(3, 4\)"):
        layout.pack([coefs[0].T, coefs[1]], intercepts, np.float64)
    with pytest.raises(ValueError, match="must hold 2 arrays each"):
        layout.pack(coefs[:1], intercepts[:1], np.float64)


@pytest.mark.parametrize("block", [1, 2, 5, 7])
@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("output", ["binary", "multiclass", "multilabel"])
def test_blocked_full_batch_equals_one_pass(problem_factory, output, weighted, alpha, block):
    """L-BFGS's evaluation in row blocks gives the one-pass objective and gradient."""
    from lrnet.network import full_batch_value_and_grad

    problem = problem_factory("relu", output, (5, 4), weighted, alpha, n_samples=11)
    if weighted:
        problem.sample_weight[:5] = 0.0  # whole blocks that weigh nothing
    loss, grads = problem.value_and_grad()
    blocked = np.empty_like(grads)
    work = Workspace(problem.net.layout, block, np.float64)
    blocked_loss = full_batch_value_and_grad(
        problem.net,
        problem.params,
        blocked,
        problem.X,
        problem.Y,
        problem.sample_weight,
        problem.alpha,
        work,
        np.empty_like(grads),
    )
    assert blocked_loss == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(blocked, grads, rtol=1e-10, atol=1e-14)
