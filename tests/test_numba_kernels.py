"""The numba kernel set against the NumPy reference, body by body and fit by fit.

Every body does the reference's operations in the reference's order, so each is
bit-identical to it (optimizer updates, fused bias + activation, derivative x delta,
dropout masks, the gather, and the cross-entropy, whose exp/log stay NumPy's ufuncs and
whose row sums follow NumPy's pairwise order), and so are whole fits: bit-identity is
the strictest form of the issue's per-step tolerance (4 ulp float32, 1e-12 relative
float64).  Sizes on both sides of :data:`lrnet.kernels.numba_.PARALLEL_MIN` exercise
the one-thread and the parallel version of each body.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

numba = pytest.importorskip("numba")

from lrnet import LRNClassifier  # noqa: E402
from lrnet.activations import ACTIVATIONS  # noqa: E402
from lrnet.kernels import ENV, numba_, resolve  # noqa: E402
from lrnet.kernels.numpy_ref import KERNELS as NUMPY  # noqa: E402
from lrnet.layout import Layout, Workspace  # noqa: E402
from lrnet.network import Net, forward, predict_logits, value_and_grad  # noqa: E402
from lrnet.optim import adam, lion, sgd  # noqa: E402

NUMBA = numba_.KERNELS


@pytest.fixture(autouse=True)
def _two_threads(monkeypatch):
    """Parallel loops on two threads (the tests' BLAS runs one, which a fit matches)."""
    monkeypatch.setattr(numba_, "_THREADS", min(2, numba.config.NUMBA_NUM_THREADS))


DTYPES = [np.float32, np.float64]
#: a small buffer (one thread) and one past PARALLEL_MIN (the parallel version)
SIZES = {"small": 1000, "parallel": numba_.PARALLEL_MIN + 77}
#: 2-D shapes of the same two kinds
SHAPES = {"small": (13, 7), "parallel": (1100, 479)}


# ---------------------------------------------------------------------------- optimizers
OPTIMIZERS = {
    "sgd-nesterov": (sgd, dict(momentum=0.9, nesterov=True)),
    "sgd-momentum": (sgd, dict(momentum=0.8, nesterov=False)),
    "sgd-plain": (sgd, dict(momentum=0.0, nesterov=True)),
    "adam": (adam, dict(beta_1=0.9, beta_2=0.999, epsilon=1e-8)),
    "adamw": (adam, dict(beta_1=0.8, beta_2=0.99, epsilon=1e-7, weight_decay=0.05)),
    "lion": (lion, dict(beta_1=0.9, beta_2=0.99)),
    "lion-decay": (lion, dict(beta_1=0.95, beta_2=0.98, weight_decay=0.1)),
}


def module_name(module):
    return module.__name__.rsplit(".", 1)[-1]


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_updates_are_bit_identical_to_the_reference(optimizer, dtype, size):
    module, hyper = OPTIMIZERS[optimizer]
    body = NUMBA.update(module_name(module), module.update)
    assert body is not module.update  # the set has its own, fused body
    rng = np.random.default_rng(3)
    p_ref = rng.standard_normal(SIZES[size]).astype(dtype)
    p_new = p_ref.copy()
    s_ref, s_new = module.init(p_ref), module.init(p_new)
    for step in range(6):
        g = rng.standard_normal(p_ref.size).astype(dtype)
        g[:3] = [0.0, -0.0, 1e-30]  # zeros and a tiny gradient
        lr = 0.01 / (step + 1)
        s_ref = module.update(p_ref, g, s_ref, lr, **hyper)
        s_new = body(p_new, g, s_new, lr, **hyper)
        np.testing.assert_array_equal(p_new, p_ref)
        for field, a in s_new._asdict().items():
            if not field.startswith("scratch"):  # moments, velocity and the step count
                np.testing.assert_array_equal(a, getattr(s_ref, field), err_msg=field)
    assert p_new.dtype == dtype


# ---------------------------------------------------------------------------- layers
def special_values(Z):
    """Put NaN, infinities, signed zeros and huge values into the first row."""
    k = Z.shape[1]
    values = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e30, -1e30][:k]
    Z[0, : len(values)] = values
    return Z


@pytest.mark.parametrize("dropout", [False, True], ids=["plain", "dropout"])
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_bias_and_activation_in_one_pass(activation, dtype, shape, dropout):
    act = ACTIVATIONS[activation]
    fused = NUMBA.layer_forward(act)
    if activation == "tanh":
        # NumPy's SIMD tanh is faster than libm's scalar one: the reference serves
        assert fused is None
        return
    rng = np.random.default_rng(1)
    Z = special_values(rng.standard_normal(SHAPES[shape]).astype(dtype) * 3)
    b = rng.standard_normal(Z.shape[1]).astype(dtype)
    mask = dropped = None
    if dropout:
        mask = (rng.random(Z.shape) < 0.7).astype(dtype) / dtype(0.7)
        dropped = np.full_like(Z, 7.0)
    ref = Z.copy()
    ref += b
    with np.errstate(invalid="ignore", over="ignore"):
        act.forward(ref)
        fused(Z, b, mask, dropped)
    np.testing.assert_array_equal(Z, ref)
    assert np.array_equal(np.signbit(Z), np.signbit(ref))
    if dropout:
        with np.errstate(invalid="ignore"):
            np.testing.assert_array_equal(dropped, ref * mask)


@pytest.mark.parametrize("bias_dtype", DTYPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_a_bias_of_another_dtype_rounds_as_numpy_does(dtype, bias_dtype):
    rng = np.random.default_rng(2)
    Z = rng.standard_normal((9, 5)).astype(dtype)
    b = (rng.standard_normal(5) / 3).astype(bias_dtype)
    ref = Z.copy()
    ref += b
    ACTIVATIONS["relu"].forward(ref)
    NUMBA.layer_forward(ACTIVATIONS["relu"])(Z, b)
    np.testing.assert_array_equal(Z, ref)


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "identity", "logistic"])
def test_the_prediction_check_flags_the_rows_the_reference_flags(activation, shape):
    rng = np.random.default_rng(4)
    Z = rng.standard_normal(SHAPES[shape])
    Z[2, 1], Z[5, 0] = np.inf, np.nan
    b = rng.standard_normal(Z.shape[1])
    fused = NUMBA.layer_forward(ACTIVATIONS[activation])
    ref = Z.copy()
    ref += b
    expected = ~np.isfinite(ref).all(axis=1)
    with np.errstate(invalid="ignore"):
        ACTIVATIONS[activation].forward(ref)
    rows = fused.checked(Z, b)
    np.testing.assert_array_equal(rows, expected)
    np.testing.assert_array_equal(Z, ref)
    clean = rng.standard_normal(SHAPES[shape])
    assert fused.checked(clean, b) is None


@pytest.mark.parametrize("dropout", [False, True], ids=["plain", "dropout"])
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_derivative_times_delta_in_one_pass(activation, dtype, shape, dropout):
    act = ACTIVATIONS[activation]
    fused = NUMBA.layer_backward(act)
    rng = np.random.default_rng(5)
    A = rng.standard_normal(SHAPES[shape]).astype(dtype)
    act.forward(A)  # a real output of the activation, zeros of relu included
    delta = rng.standard_normal(A.shape).astype(dtype)
    delta[0, :2] = [np.inf, -0.0]
    mask = (rng.random(A.shape) < 0.6).astype(dtype) / dtype(0.6) if dropout else None
    ref_delta, ref_A = delta.copy(), A.copy()
    with np.errstate(invalid="ignore"):
        if mask is not None:
            ref_delta *= mask
        act.backward(ref_A, ref_delta)
        A_before = A.copy()
        fused(A, delta, mask)
    np.testing.assert_array_equal(delta, ref_delta)
    np.testing.assert_array_equal(A, A_before)  # the fused body leaves A intact


# ---------------------------------------------------------------------------- outputs
@pytest.mark.parametrize("scale", [1.0, 30.0], ids=["moderate", "large-logits"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "link, k", [("softmax", 10), ("softmax", 2), ("logistic", 1), ("logistic", 4)]
)
def test_cross_entropy_and_delta_in_one_pass(link, k, dtype, weighted, scale):
    rng = np.random.default_rng(6)
    m = 64
    Z = (rng.standard_normal((m, k)) * scale).astype(dtype)
    if link == "softmax":
        Y = np.eye(k, dtype=dtype)[rng.integers(k, size=m)]
        Y = Y * dtype(0.9) + dtype(0.1 / k)  # smoothed labels too
    else:
        Y = rng.integers(2, size=(m, k)).astype(dtype)
    row_weight = None
    if weighted:
        sw = rng.uniform(0.0, 2.0, m)
        row_weight = (sw / sw.sum())[:, None].astype(dtype)
    bufs = [np.empty((m, k), dtype), np.empty((m, k), dtype)]
    rows = [np.empty((m, 1), dtype), np.empty((m, 1), dtype)]
    ref_bufs = [np.empty((m, k), dtype), np.empty((m, k), dtype)]
    ref_rows = [np.empty((m, 1), dtype), np.empty((m, 1), dtype)]
    loss = NUMBA.cross_entropy[link](Z, Y, row_weight, *bufs, *rows)
    ref = NUMPY.cross_entropy[link](Z, Y, row_weight, *ref_bufs, *ref_rows)
    np.testing.assert_array_equal(bufs[0], ref_bufs[0])  # the output delta
    np.testing.assert_array_equal(rows[0], ref_rows[0])  # each row's loss
    assert loss == ref
    assert isinstance(loss, float)


# ---------------------------------------------------------------------------- data
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.25])
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_masks_are_the_references_from_the_same_draws(dtype, shape, rate):
    layout = Layout((4, SHAPES[shape][1], 3))
    m = SHAPES[shape][0]
    ref = Workspace(layout, m, dtype, [rate])
    new = Workspace(layout, m, dtype, [rate], dropout_mask=numba_.dropout_mask)
    a = ref.draw_masks(np.random.default_rng(9), [rate])[0]
    b = new.draw_masks(np.random.default_rng(9), [rate])[0]
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(b)) <= {0.0, dtype(1.0) / dtype(1 - rate), dtype(1.0 / (1 - rate))}


@pytest.mark.parametrize("layout", ["C", "F"])
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("dtype", DTYPES)
def test_gather_copies_the_rows(dtype, shape, layout):
    rng = np.random.default_rng(7)
    n, k = SHAPES[shape][0] * 3, SHAPES[shape][1]
    X = np.asarray(rng.standard_normal((n, k)).astype(dtype), order=layout)
    idx = rng.permutation(n)[: SHAPES[shape][0]]
    out = np.empty((idx.size, k), dtype)
    got = NUMBA.gather(X, idx, out)
    assert got is out
    np.testing.assert_array_equal(out, X[idx])


# ---------------------------------------------------------------------------- networks
def _problem(activation, output, dtype, dropout, hidden=(6, 5), m=40, seed=0):
    from conftest import OUTPUTS

    rng = np.random.default_rng(seed)
    kind, k = OUTPUTS[output]
    X = rng.standard_normal((m, 5)).astype(dtype)
    if output == "multiclass":
        Y = np.eye(k, dtype=dtype)[rng.integers(k, size=m)]
    else:
        Y = rng.integers(2, size=(m, k)).astype(dtype)
    layout = Layout((5, *hidden, k))
    params = rng.uniform(-1, 1, layout.size).astype(dtype)
    return kind, layout, X, Y, params


@pytest.mark.parametrize("dropout", [False, True], ids=["plain", "dropout"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_value_and_grad_agrees_with_the_reference(activation, output, dtype, dropout):
    kind, layout, X, Y, params = _problem(activation, output, dtype, dropout)
    results = []
    for kernels in (NUMPY, NUMBA):
        net = Net(layout, activation, kind, kernels)
        work = net.workspace(X.shape[0], dtype, [0.3, 0.2] if dropout else None)
        masks = work.draw_masks(np.random.default_rng(2), [0.3, 0.2]) if dropout else None
        grads = np.empty_like(params)
        loss = value_and_grad(net, params, grads, X, Y, None, 0.1, work, masks)
        results.append((loss, grads))
    (l_ref, g_ref), (l_new, g_new) = results
    assert l_new == l_ref
    np.testing.assert_array_equal(g_new, g_ref)


SOLVERS = ["sgd", "adam", "adamw", "lion", "lbfgs"]


def _fit(monkeypatch, kernel_set, **params):
    monkeypatch.setenv(ENV, kernel_set)
    X, y, dtype = params.pop("data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return LRNClassifier(**params).fit(X, y)


def _data(output, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((120, 6)).astype(dtype)
    if output == "binary":
        y = (X[:, 0] + X[:, 1] > 0).astype(int)
    elif output == "multiclass":
        y = (X[:, 0] > 0).astype(int) + (X[:, 2] > 0.5)
    else:
        y = np.stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 3] < 0], axis=1).astype(int)
    return X, y, dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_fits_are_bit_identical_to_the_reference(monkeypatch, solver, output, dtype):
    params = dict(
        hidden_layer_sizes=(8,),
        solver=solver,
        max_iter=4,
        batch_size=32,
        learning_rate_init=0.01 if solver != "lion" else 0.001,
        random_state=0,
        dropout=0.2 if solver != "lbfgs" else None,
        data=_data(output, dtype),
    )
    ref = _fit(monkeypatch, "numpy", **dict(params))
    new = _fit(monkeypatch, "numba", **dict(params))
    for a, b in zip(new.coefs_ + new.intercepts_, ref.coefs_ + ref.intercepts_, strict=True):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_array_equal(a, b)
    assert new.loss_curve_ == ref.loss_curve_
    X = params["data"][0]
    np.testing.assert_array_equal(new.predict_proba(X), ref.predict_proba(X))


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_fits_of_every_activation_are_bit_identical(monkeypatch, activation):
    """Two hidden layers and dropout, each activation; also with the reference's loss."""
    import lrnet.kernels as kernels_module
    from lrnet.kernels import Kernels

    mixed = Kernels(
        name="numba-with-numpy-loss",
        activations=NUMBA.activations,
        cross_entropy=NUMPY.cross_entropy,
        updates=NUMBA.updates,
        hidden_forward=NUMBA.hidden_forward,
        hidden_backward=NUMBA.hidden_backward,
        dropout_mask=NUMBA.dropout_mask,
        gather=NUMBA.gather,
    )
    monkeypatch.setitem(kernels_module.SETS, "mixed", lambda: mixed)
    params = dict(
        hidden_layer_sizes=(9, 7),
        activation=activation,
        max_iter=3,
        batch_size=20,
        random_state=1,
        dropout=0.25,
        data=_data("multiclass", np.float32),
    )
    ref = _fit(monkeypatch, "numpy", **dict(params))
    for kernel_set in ("mixed", "numba"):
        new = _fit(monkeypatch, kernel_set, **dict(params))
        for a, b in zip(new.coefs_ + new.intercepts_, ref.coefs_ + ref.intercepts_, strict=True):
            np.testing.assert_array_equal(a, b)
        assert new.loss_curve_ == ref.loss_curve_


# ---------------------------------------------------------------------------- threads
@pytest.mark.parametrize("dtype", DTYPES)
def test_same_seed_same_weights_whatever_the_thread_count(monkeypatch, dtype):
    """Every parallel loop is elementwise: 1 and 2 threads give the same bits."""
    X, y, _ = _data("multiclass", dtype)
    X = np.tile(X, (1, 600))  # 3600 features x 150 units: past PARALLEL_MIN parameters
    params = dict(hidden_layer_sizes=(150,), max_iter=2, batch_size=120, random_state=0)
    import dataclasses

    import lrnet.kernels as kernels_module

    # the set without its thread matching, so that the count set here holds
    fixed = dataclasses.replace(NUMBA, name="numba-fixed-threads", prepare=None)
    monkeypatch.setitem(kernels_module.SETS, "fixed", lambda: fixed)
    monkeypatch.setenv(ENV, "fixed")
    fits = []
    for n_threads in (1, 2, 2):
        monkeypatch.setattr(numba_, "_THREADS", n_threads)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits.append(LRNClassifier(**params).fit(X, y))
        assert numba_.threads() == n_threads
    assert sum(W.size for W in fits[0].coefs_) >= numba_.PARALLEL_MIN
    for other in fits[1:]:
        for a, b in zip(other.coefs_, fits[0].coefs_, strict=True):
            np.testing.assert_array_equal(a, b)


def test_match_blas_follows_numpys_blas_threads():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        assert numba_.match_blas() == 1
        assert numba_.threads() == 1
    expected = min(numba.config.NUMBA_NUM_THREADS, os.cpu_count() or 1)
    with threadpool_limits(limits=expected, user_api="blas"):
        assert numba_.match_blas() == expected
    with threadpool_limits(limits=1, user_api="blas"):
        numba_.match_blas()  # the tests run single-threaded BLAS: leave it matching


# ---------------------------------------------------------------------------- prediction
@pytest.mark.parametrize("rows", [1, 300, 5000], ids=["1-row", "block", "blocks"])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_prediction_agrees_with_the_reference(activation, rows):
    rng = np.random.default_rng(8)
    layout = Layout((12, 40, 20, 3))
    params = rng.uniform(-1, 1, layout.size).astype(np.float32)
    coefs, intercepts = layout.views(params)
    X = rng.standard_normal((rows, 12)).astype(np.float32)
    got = predict_logits(coefs, intercepts, X, activation, kernels=NUMBA)
    ref = predict_logits(coefs, intercepts, X, activation, kernels=NUMPY)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, ref)  # bias + activation are bit-identical


def test_forward_without_a_set_is_the_reference():
    rng = np.random.default_rng(0)
    layout = Layout((3, 4, 2))
    coefs, intercepts = layout.views(rng.standard_normal(layout.size))
    X = rng.standard_normal((5, 3))
    acts = [np.empty((5, 4)), np.empty((5, 2))]
    a = forward(coefs, intercepts, X, acts, "relu").copy()
    acts2 = [np.empty((5, 4)), np.empty((5, 2))]
    b = forward(coefs, intercepts, X, acts2, "relu", kernels=NUMBA)
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------- without numba
NO_NUMBA = """
import sys
sys.modules["numba"] = None  # "import numba" raises ImportError, as when it is missing
import os, warnings
import numpy as np
from lrnet import LRNClassifier
from lrnet.kernels import resolve
assert resolve().name == "numpy", resolve().name
X = np.random.default_rng(0).standard_normal((60, 4))
y = (X[:, 0] > 0).astype(int)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    clf = LRNClassifier((5,), max_iter=3, random_state=0).fit(X, y)
    proba = clf.predict_proba(X.astype(np.float32))
assert proba.shape == (60, 2)
os.environ["LRNET_KERNELS"] = "numba"
try:
    resolve()
except ImportError as err:
    print("ERROR", err)
print("OK", clf.loss_curve_[-1])
"""


def test_without_numba_everything_runs_on_the_numpy_kernels(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != ENV}
    src = Path(__file__).resolve().parents[1] / "src"
    env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", NO_NUMBA],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stdout
    assert "LRNET_KERNELS='numba', but that kernel set cannot be loaded" in done.stdout
    assert "pip install numba" in done.stdout
    # the same fit under LRNET_KERNELS=numpy in this process
    os.environ.pop(ENV, None)
    X = np.random.default_rng(0).standard_normal((60, 4))
    y = (X[:, 0] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.environ[ENV] = "numpy"
        try:
            clf = LRNClassifier((5,), max_iter=3, random_state=0).fit(X, y)
        finally:
            del os.environ[ENV]
    assert done.stdout.split("OK ")[1].strip() == repr(clf.loss_curve_[-1])


def test_the_default_set_is_numba_for_a_big_job(monkeypatch):
    from lrnet.kernels import AUTO_MIN_WORK

    monkeypatch.delenv(ENV, raising=False)
    assert resolve(work=AUTO_MIN_WORK) is NUMBA


FRESH = """
import sys, warnings
import numpy as np
from lrnet import LRNClassifier
from lrnet.kernels import AUTO_MIN_WORK, resolve
X = np.random.default_rng(0).standard_normal((60, 4)).astype(np.float32)
y = (X[:, 0] > 0).astype(int)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    clf = LRNClassifier((5,), max_iter=3, random_state=0).fit(X, y)  # a small fit
    clf.predict_proba(X)
print("after a small fit:", "numba" in sys.modules, "lrnet.kernels.numba_" in sys.modules)
print("big:", resolve(work=AUTO_MIN_WORK).name, "then small:", resolve(work=1).name)
"""


def test_a_small_fit_in_a_fresh_process_does_not_start_numba(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != ENV}
    src = Path(__file__).resolve().parents[1] / "src"
    env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", FRESH], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "after a small fit: False False" in done.stdout
    assert "big: numba then small: numba" in done.stdout


FORK = """
import os
import numpy as np
from lrnet.kernels import numba_
from lrnet.optim import adam
numba_._THREADS = 2
p = np.ones(numba_.PARALLEL_MIN + 5, np.float32)
state = adam.init(p)
numba_.adam_update(p, np.full_like(p, 0.5), state, 0.1)  # the parent starts its pool
pid = os.fork()
if pid == 0:  # the child: GNU OpenMP would abort it in a parallel loop
    q = np.ones_like(p)
    numba_.adam_update(q, np.full_like(q, 0.5), adam.init(q), 0.1)
    os._exit(0 if np.array_equal(q, p) else 3)
_, status = os.waitpid(pid, 0)
print("child exit", os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_runs_the_kernels_on_one_thread(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != ENV}
    src = Path(__file__).resolve().parents[1] / "src"
    env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", FORK], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "child exit 0" in done.stdout, done.stdout + done.stderr
