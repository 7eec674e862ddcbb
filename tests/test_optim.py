"""Optimizers: L-BFGS against SciPy called directly, and the sgd/adam update rules.

(The comparison of sgd and adam with ``torch.optim`` is in ``test_torch_reference.py``.)
"""

import numpy as np
import pytest
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from lrnet.network import Workspace, value_and_grad
from lrnet.optim import adam, lbfgs, sgd


def lbfgs_objective(problem):
    """The ``fun()`` that :func:`lbfgs.minimize` expects, over fresh buffers."""
    params = problem.params.copy()
    grads = np.empty_like(params)
    work = Workspace(problem.net.layout, problem.X.shape[0], params.dtype)

    def fun():
        return value_and_grad(
            problem.net,
            params,
            grads,
            problem.X,
            problem.Y,
            problem.sample_weight,
            problem.alpha,
            work,
        )

    return fun, params, grads


@pytest.mark.parametrize(
    ("activation", "output", "hidden", "weighted"),
    [
        ("identity", "binary", (), False),
        ("tanh", "multiclass", (5,), True),
        ("logistic", "multilabel", (4, 3), False),
        ("relu", "multiclass", (4, 3), True),
    ],
)
def test_lbfgs_reaches_scipy_optimum(problem_factory, activation, output, hidden, weighted):
    problem = problem_factory(activation, output, hidden, weighted, alpha=0.5, n_samples=30)
    fun, params, grads = lbfgs_objective(problem)
    iterations = []
    res = lbfgs.minimize(fun, params, grads, 1000, 15000, 1e-8, iterations.append)

    direct = scipy.optimize.minimize(
        lambda x: problem.value_and_grad(x),
        problem.params.copy(),
        method="L-BFGS-B",
        jac=True,
        options={"maxiter": 1000, "maxfun": 15000, "gtol": 1e-8},
    )
    assert direct.success and res.success
    np.testing.assert_allclose(params, direct.x, rtol=1e-6, atol=1e-6)
    assert res.fun == pytest.approx(direct.fun, rel=1e-10)
    # params holds the solution; for a smooth objective it is a stationary point
    # (relu's kinks can stop the line search first; SciPy may stop on ftol before gtol)
    loss, g = problem.value_and_grad(params)
    assert loss == pytest.approx(res.fun, rel=1e-12)
    if activation != "relu":
        assert np.abs(g).max() < 1e-4
    assert len(iterations) == res.nit
    assert iterations[-1] == pytest.approx(res.fun)


def test_lbfgs_warns_when_max_iter_stops_it(problem_factory):
    problem = problem_factory("tanh", "multiclass", (5,), n_samples=30)
    fun, params, grads = lbfgs_objective(problem)
    with pytest.warns(ConvergenceWarning, match=r"lbfgs failed to converge.*max_iter=2"):
        res = lbfgs.minimize(fun, params, grads, 2, 15000, 1e-8)
    assert res.nit == 2


def test_lbfgs_reports_non_finite_loss(problem_factory):
    problem = problem_factory()
    params = problem.params.copy()
    with pytest.raises(FloatingPointError, match="non-finite"):
        lbfgs.minimize(lambda: np.nan, params, np.zeros_like(params), 10, 100, 1e-6)


def test_sgd_single_steps_by_hand():
    params = np.array([1.0, -2.0])
    g = np.array([0.5, 1.0])
    state = sgd.init(params)
    sgd.update(params, g, state, lr=0.1, momentum=0.0, nesterov=False)
    np.testing.assert_allclose(params, [0.95, -2.1])
    # classical momentum: v = 0.9 v - lr g; p += v
    params, state = np.zeros(2), sgd.init(np.zeros(2))
    sgd.update(params, g, state, lr=0.1, momentum=0.9, nesterov=False)
    sgd.update(params, g, state, lr=0.1, momentum=0.9, nesterov=False)
    v1 = -0.1 * g
    v2 = 0.9 * v1 - 0.1 * g
    np.testing.assert_allclose(params, v1 + v2)
    # Nesterov: p += mu v_new - lr g
    params, state = np.zeros(2), sgd.init(np.zeros(2))
    sgd.update(params, g, state, lr=0.1, momentum=0.9, nesterov=True)
    np.testing.assert_allclose(params, 0.9 * v1 - 0.1 * g)
    # Nesterov with zero momentum is plain sgd
    params, state = np.zeros(2), sgd.init(np.zeros(2))
    sgd.update(params, g, state, lr=0.1, momentum=0.0, nesterov=True)
    np.testing.assert_allclose(params, -0.1 * g)


def test_adam_first_step_is_lr_times_sign():
    """With bias correction the first Adam step is ``lr * g / (|g| + eps)``."""
    params = np.zeros(3)
    g = np.array([2.0, -0.5, 1e-3])
    state = adam.init(params)
    state = adam.update(params, g, state, lr=0.01, epsilon=0.0)
    assert state.count == 1
    np.testing.assert_allclose(params, -0.01 * np.sign(g))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt", [sgd, adam], ids=["sgd", "adam"])
def test_updates_keep_dtype_and_work_in_place(opt, dtype):
    params = np.ones(4, dtype=dtype)
    before = params.ctypes.data
    state = opt.init(params)
    opt.update(params, np.full(4, 0.5, dtype=dtype), state, 0.1)
    assert params.dtype == dtype and params.ctypes.data == before
    assert (params < 1).all()
