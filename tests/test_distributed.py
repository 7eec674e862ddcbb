"""Dask: exact lbfgs over partitions, local SGD, streaming without a client, faults.

Every cluster binds 127.0.0.1 (dashboard on a free local port), keeps its files under
``tmp_path`` and is closed by its fixture; clients are not made the default, so a
test without ``client.as_current()`` runs without one (the streamed, out-of-core path).
"""

import math
import os
import signal
import time
import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
dd = pytest.importorskip("dask.dataframe")
threadpoolctl = pytest.importorskip("threadpoolctl")

import dask  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import log_loss  # noqa: E402

from lrnet import LRNClassifier, errors  # noqa: E402
from lrnet.distributed import cluster, local_sgd, tasks  # noqa: E402
from lrnet.distributed.data import Prepare  # noqa: E402
from lrnet.sources import DaskArraySource  # noqa: E402

N, FEATURES = 700, 5
#: unequal row chunks for 1, 2 and 7 partitions
CHUNKS = {1: (N,), 2: (230, 470), 7: (40, 160, 90, 130, 70, 150, 60)}


def problem(n=N, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, FEATURES))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int) + (X[:, 2] > 1)
    return X, y


def as_dask(X, y, chunks, sw=None):
    Xd = da.from_array(X, chunks=(chunks, X.shape[1]))
    yd = da.from_array(y, chunks=(chunks,))
    return Xd, yd, None if sw is None else da.from_array(sw, chunks=(chunks,))


def quiet_fit(model, *args, **kwargs):
    """Fit, ignoring the ConvergenceWarning of a capped number of epochs."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Maximum iterations")
        warnings.filterwarnings("ignore", message=".*failed to converge")
        return model.fit(*args, **kwargs)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    with cluster.local_cluster(2, tmp_path_factory.mktemp("dask2"), as_default=False) as client:
        yield client


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory):
    with cluster.local_cluster(1, tmp_path_factory.mktemp("dask1"), as_default=False) as client:
        yield client


def test_clusters_bind_localhost_only(two_workers):
    info = two_workers.scheduler_info()
    assert two_workers.scheduler.address.startswith("tcp://127.0.0.1:")
    assert all(addr.startswith("tcp://127.0.0.1:") for addr in info["workers"])
    assert len(info["workers"]) == 2


# ------------------------------------------------------------------ lbfgs: exact
#: "logistic" converges by tol (convex); "hidden" stops after 25 iterations: on a
#: non-convex objective, rounding differences of 1e-16 grow over hundreds of L-BFGS
#: iterations until the two runs take different paths (as two local runs whose data
#: differ in row order would)
LBFGS_CASES = {
    "logistic": dict(hidden_layer_sizes=(), tol=1e-6, max_iter=300),
    "hidden": dict(hidden_layer_sizes=(3,), activation="tanh", tol=1e-6, max_iter=25),
}


WHERE_WEIGHTED = [("cluster", True), ("streamed", True), ("streamed", False)]


@pytest.mark.parametrize(("where", "weighted"), WHERE_WEIGHTED, ids=lambda v: str(v))
@pytest.mark.parametrize("parts", [1, 2, 7])
@pytest.mark.parametrize("case", list(LBFGS_CASES))
def test_lbfgs_over_partitions_equals_local_lbfgs(case, parts, where, weighted, two_workers):
    X, y = problem()
    sw = np.linspace(0.2, 3.0, N) if weighted else None
    kw = dict(solver="lbfgs", random_state=0, alpha=1e-3, **LBFGS_CASES[case])
    local = quiet_fit(LRNClassifier(**kw), X, y, sample_weight=sw)
    Xd, yd, swd = as_dask(X, y, CHUNKS[parts], sw)
    model = LRNClassifier(**kw)
    if where == "cluster":
        with two_workers.as_current():
            quiet_fit(model, Xd, yd, sample_weight=swd)
    else:
        assert cluster.current_client() is None
        quiet_fit(model, Xd, yd, sample_weight=swd)
    assert model.n_iter_ == local.n_iter_
    for a, b in zip(
        model.coefs_ + model.intercepts_, local.coefs_ + local.intercepts_, strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(model.loss_curve_, local.loss_curve_, rtol=1e-9)
    np.testing.assert_array_equal(model.classes_, local.classes_)


def test_parameters_travel_as_futures_never_inside_the_graph(two_workers):
    """With the large-graph threshold below the size of the parameters, no warning."""
    X, y = problem()
    Xd, yd, _ = as_dask(X, y, CHUNKS[2])
    wide = dict(hidden_layer_sizes=(2000,), random_state=0, max_iter=2)  # 18k weights
    params_bytes = (FEATURES * 2000 + 2000 * 3 + 2003) * 8
    threshold = params_bytes // 2
    with dask.config.set({"distributed.admin.large-graph-warning-threshold": threshold}):
        with pytest.warns(UserWarning, match="large graph"):  # the threshold does catch them
            two_workers.submit(np.sum, np.zeros(params_bytes // 8)).result()
        with warnings.catch_warnings(), two_workers.as_current():
            warnings.simplefilter("error")
            warnings.filterwarnings("ignore", message=".*Maximum iterations")
            warnings.filterwarnings("ignore", message=".*failed to converge")
            for solver in ("lbfgs", "adam"):
                LRNClassifier(solver=solver, **wide).fit(Xd, yd)


# ------------------------------------------------------------------ local SGD
SGD_CASES = {
    "adam": dict(solver="adam", learning_rate_init=0.01),
    "sgd-dropout-cosine": dict(
        solver="sgd", learning_rate_init=0.05, dropout=0.2, learning_rate="cosine"
    ),
    "adamw-weighted-clipped": dict(solver="adamw", max_grad_norm=0.5, class_weight="balanced"),
    "lion-float32": dict(solver="lion", learning_rate_init=1e-3, dtype=np.float32),
}


@pytest.mark.parametrize("case", list(SGD_CASES))
def test_one_worker_is_the_local_fit_bit_for_bit(case, one_worker):
    X, y = problem()
    kw = dict(hidden_layer_sizes=(6,), random_state=3, max_iter=4, batch_size=64, averaging_steps=3)
    kw.update(SGD_CASES[case])
    X = X.astype(kw.pop("dtype", np.float64))  # float32: the averaging must not widen it
    with threadpoolctl.threadpool_limits(1):  # the worker's BLAS: one thread
        local = quiet_fit(LRNClassifier(**kw), X, y)
    Xd, yd, _ = as_dask(X, y, CHUNKS[7])
    with one_worker.as_current():
        model = quiet_fit(LRNClassifier(**kw), Xd, yd)
    assert model.n_iter_ == local.n_iter_ == 4
    assert model.loss_curve_ == local.loss_curve_
    for a, b in zip(
        model.coefs_ + model.intercepts_, local.coefs_ + local.intercepts_, strict=True
    ):
        np.testing.assert_array_equal(a, b)
    assert model.t_ == local.t_ and model._state.step == local._state.step


def noisy_problem(n=2000, seed=1):
    """Labels drawn from a softmax of linear scores: a loss floor that both fits reach."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, FEATURES))
    scores = 2.0 * np.column_stack([X[:, 0] + 0.5 * X[:, 1], X[:, 1] - X[:, 2], np.zeros(n)])
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    y = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    return X, y


def test_two_workers_reach_the_local_log_loss(two_workers):
    X, y = noisy_problem()
    kw = dict(
        hidden_layer_sizes=(8,),
        solver="adam",
        learning_rate_init=0.01,
        random_state=0,
        max_iter=20,
        batch_size=50,
        averaging_steps=16,
    )
    local = quiet_fit(LRNClassifier(**kw), X, y)
    Xd, yd, _ = as_dask(X, y, (500,) * 4)
    with two_workers.as_current():
        model = quiet_fit(LRNClassifier(**kw), Xd, yd)
    assert model.n_iter_ == local.n_iter_ == 20
    local_loss = log_loss(y, local.predict_proba(X))
    dist_loss = log_loss(y, model.predict_proba(X))
    assert dist_loss <= local_loss * 1.02, (dist_loss, local_loss)
    # not the local fit: two shards averaged every 16 steps take another path
    assert not np.array_equal(model.coefs_[0], local.coefs_[0])


def test_averaging_weights_shards_by_rows():
    ones, threes = np.ones(4), np.full(4, 3.0)
    state = local_sgd.tasks.RoundResult
    adam_state = __import__("lrnet.optim.adam", fromlist=["AdamState"]).AdamState
    results = [
        state(ones, adam_state(5, ones, ones, ones), None, [], 0, 0.0),
        state(threes, adam_state(7, threes, 2 * threes, threes), None, [], 0, 0.0),
    ]
    params, opt = local_sgd.average(results, np.array([0.75, 0.25]))
    np.testing.assert_allclose(params, 1.5)
    np.testing.assert_allclose(opt.mu, 1.5)
    np.testing.assert_allclose(opt.nu, 0.75 + 1.5)
    assert opt.count == 7


@pytest.mark.parametrize(
    ("rows", "shards", "expected"),
    [
        ((10,), 2, [[0]]),
        ((5, 5, 5, 5), 2, [[0, 1], [2, 3]]),
        ((100, 1, 1, 1), 2, [[0], [1, 2, 3]]),
        ((1, 1, 1, 100), 3, [[0, 1], [2], [3]]),
    ],
)
def test_shards_are_contiguous_and_balanced(rows, shards, expected):
    assert local_sgd.split_rows(rows, shards) == expected


# ------------------------------------------------------------------ workers
def test_worker_tasks_run_with_one_blas_thread_and_a_sane_malloc_trim(two_workers):
    assert two_workers.submit(tasks.blas_threads, pure=False).result() == 1
    env = two_workers.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_")
    assert set(env.values()) == {cluster.WORKER_ENV["MALLOC_TRIM_THRESHOLD_"]}


# ------------------------------------------------------------------ streamed (no client)
def test_streamed_source_yields_every_row_once_in_a_seeded_order():
    X, y = problem()
    ids = np.arange(N, dtype=float)
    Xd = da.from_array(np.column_stack([ids, X]), chunks=(CHUNKS[7], FEATURES + 1))
    yd = da.from_array(y, chunks=(CHUNKS[7],))
    from lrnet.distributed.data import dask_data, fit_labels

    data = dask_data(Xd, yd)
    prepare = Prepare(fit_labels(data), np.dtype(np.float64))
    source = DaskArraySource(data.chunks(), data.chunk_rows, prepare, 32)
    assert source.n_samples == N and source.batch_size == 32

    def order(seed):
        batches = source.epoch(np.random.default_rng(seed))
        return np.concatenate([Xb[:, 0].astype(int) for Xb, _, _ in batches])

    first, again, other = order(0), order(0), order(1)
    np.testing.assert_array_equal(np.sort(first), np.arange(N))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other) and not np.array_equal(first, np.arange(N))


def test_streamed_fit_follows_the_seed_and_takes_a_dataframe():
    X, y = problem()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(FEATURES)])
    Xd = dd.from_pandas(frame, npartitions=3)
    yd = dd.from_pandas(pd.Series(y, name="y"), npartitions=3)
    kw = dict(hidden_layer_sizes=(4,), random_state=0, max_iter=3, learning_rate_init=0.01)
    a = quiet_fit(LRNClassifier(**kw), Xd, yd)
    b = quiet_fit(LRNClassifier(**kw), Xd, yd)
    for u, v in zip(a.coefs_, b.coefs_, strict=True):
        np.testing.assert_array_equal(u, v)
    np.testing.assert_array_equal(a.feature_names_in_, frame.columns)
    assert a.score(frame, y) > 0.5 and len(a.loss_curve_) == 3


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda X, y: (X, y[:-1]), ValueError, "X has 700 rows but y has 699"),
        (lambda X, y: (X[:, 0], y), ValueError, "expected a 2-D dask array"),
        (lambda X, y: (X, da.stack([y, y], axis=1)), ValueError, "Multi-label indicator"),
        (lambda X, y: (X, y * 0), ValueError, "only one class"),
        (lambda X, y: (da.where(X > 2, np.nan, X), y), ValueError, "NaN"),
    ],
)
def test_bad_dask_input_is_a_clear_error(change, error, match):
    X, y = problem()
    Xd, yd, _ = as_dask(X, y, CHUNKS[2])
    with pytest.raises(error, match=match):
        LRNClassifier(max_iter=1).fit(*change(Xd, yd))


def test_unsupported_uses_say_what_to_do_instead():
    X, y = problem()
    Xd, yd, _ = as_dask(X, y, CHUNKS[2])
    with pytest.raises(ValueError, match="partial_fit does not take dask collections"):
        LRNClassifier().partial_fit(Xd, yd, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="needs a validation set.*Pass X_val and y_val"):
        LRNClassifier(early_stopping=True).fit(Xd, yd)
    needy = type("Needy", (), {"requires_validation": True})()
    with pytest.raises(ValueError, match=r"callback\(s\) \['Needy'\] need validation data"):
        LRNClassifier(callbacks=[needy]).fit(Xd, yd)
    frame = dd.from_pandas(pd.DataFrame({"a": [1.0, 2.0] * 5, "b": ["x", "y"] * 5}), 2)
    with pytest.raises(ValueError, match=r"non-numeric columns \['b'\]"):
        LRNClassifier().fit(frame, np.array([0, 1] * 5))


def test_unreachable_scheduler_is_a_one_line_error():
    with pytest.raises(errors.ClusterError, match="Could not reach the Dask scheduler") as err:
        cluster.connect("tcp://127.0.0.1:9", timeout_s=1)
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------ faults
class KillWorker:
    """A callback that kills the process of one worker at the end of epoch ``at``."""

    def __init__(self, client, at=1):
        self.client, self.at, self.killed = client, at, None

    def on_epoch_end(self, epoch, logs):
        if epoch == self.at and self.killed is None:
            pids = self.client.run(os.getpid)
            self.killed = sorted(pids)[0]
            os.kill(pids[self.killed], signal.SIGKILL)


@pytest.fixture
def fragile(tmp_path):
    with cluster.local_cluster(2, tmp_path, as_default=False) as client:
        yield client


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_worker_killed_mid_fit_ends_in_a_finished_fit_within_60s(solver, fragile):
    X, y = problem()
    Xd, yd, _ = as_dask(X, y, CHUNKS[7])
    killer = KillWorker(fragile)
    kw = dict(hidden_layer_sizes=(4,), solver=solver, random_state=0, max_iter=6, tol=0)
    started = time.monotonic()
    with fragile.as_current(), dask.config.set({cluster.TIMEOUT_KEY: 50}):
        model = quiet_fit(LRNClassifier(callbacks=[killer], **kw), Xd, yd)
    assert killer.killed is not None
    assert time.monotonic() - started < 60
    assert model.n_iter_ == 6 and math.isfinite(model.loss_)


def test_a_cluster_without_workers_is_a_clear_error_and_the_model_is_kept(fragile, tmp_path):
    X, y = problem()
    fitted = LRNClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    quiet_fit(fitted, X, y)
    path = fitted.save(tmp_path / "model.lrnet")
    before, stamp = path.read_bytes(), path.stat().st_mtime_ns
    coefs = [c.copy() for c in fitted.coefs_]

    class StopWorkers:
        def on_epoch_end(self, epoch, logs):
            fragile.cluster.scale(0)

    fitted.set_params(callbacks=[StopWorkers()], warm_start=True, max_iter=5)
    Xd, yd, _ = as_dask(X, y, CHUNKS[2])
    started = time.monotonic()
    with fragile.as_current(), dask.config.set({cluster.TIMEOUT_KEY: 3}):
        with pytest.raises(cluster.ClusterError, match="returned no result .* within 3 s"):
            fitted.fit(Xd, yd)
    assert time.monotonic() - started < 60
    for a, b in zip(fitted.coefs_, coefs, strict=True):
        np.testing.assert_array_equal(a, b)
    assert path.read_bytes() == before and path.stat().st_mtime_ns == stamp


# ------------------------------------------------------------------ the command line
def cli_table(tmp_path):
    from conftest import make_table

    path = tmp_path / "table.csv"
    make_table(300).to_csv(path, index=False)
    return path


def test_cli_trains_on_a_local_cluster_and_stops_it(tmp_path, capsys):
    import lrnet
    from lrnet.cli import main

    model = tmp_path / "m.lrnet"
    args = ["train", str(cli_table(tmp_path)), "--target", "label", "--hidden", "8"]
    args += ["--epochs", "5", "--lr", "0.01", "--no-report", "--out", str(model)]
    assert main([*args, "--dask", "local:1"]) == 0
    assert "training on the Dask cluster local:1" in capsys.readouterr().err
    assert lrnet.load(model).estimator.n_iter_ >= 1
    assert cluster.current_client() is None  # the cluster and its client are gone


@pytest.mark.parametrize("address", ["local:0", "local:x", "nowhere"])
def test_cli_refuses_a_bad_dask_address(address, capsys):
    from lrnet.cli import main

    assert main(["train", "--dask", address]) == 2
    err = capsys.readouterr().err
    assert "expected local:N" in err and address in err


def test_cli_unreachable_scheduler_is_one_line_and_keeps_the_model(tmp_path, capsys, monkeypatch):
    from lrnet.cli import main

    connect = cluster.connect
    monkeypatch.setattr(cluster, "connect", lambda address: connect(address, timeout_s=1))
    model = tmp_path / "m.lrnet"
    model.write_bytes(b"an existing model")
    args = ["train", str(cli_table(tmp_path)), "--target", "label", "--epochs", "2"]
    args += ["--no-report", "--out", str(model), "--dask", "tcp://127.0.0.1:9"]
    assert main(args) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1 and "Could not reach the Dask scheduler" in errors[0]
    assert model.read_bytes() == b"an existing model"


# ------------------------------------------------------------------ predictions on dask input
@pytest.mark.parametrize(
    "method", ["predict", "predict_proba", "predict_log_proba", "decision_function"]
)
@pytest.mark.parametrize("parts, binary", [(1, False), (7, False), (2, True)])
def test_predictions_on_dask_input_are_lazy_and_equal_numpys(method, parts, binary):
    X, y = problem()
    if binary:
        y = (y > 0).astype(int)
    model = quiet_fit(LRNClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0), X, y)
    Xd = da.from_array(X, chunks=(CHUNKS[parts], (2, 3)))  # columns in two chunks too
    got = getattr(model, method)(Xd)
    assert isinstance(got, da.Array) and got.chunks[0] == CHUNKS[parts]
    expected = getattr(model, method)(X)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    computed = got.compute(scheduler="sync")
    if method == "predict":
        np.testing.assert_array_equal(computed, expected)
    else:  # a block of other rows may take another BLAS kernel: the last bit may differ
        np.testing.assert_allclose(computed, expected, rtol=1e-12, atol=1e-15)


def test_predictions_on_a_dask_dataframe_and_on_a_cluster(two_workers):
    X, y = problem()
    model = quiet_fit(LRNClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0), X, y)
    frame = dd.from_pandas(pd.DataFrame(X, columns=list("abcde")), npartitions=3)
    got = model.predict_proba(frame)
    assert isinstance(got, da.Array)
    np.testing.assert_allclose(two_workers.compute(got).result(), model.predict_proba(X))


@pytest.mark.parametrize(
    "X, error, match",
    [
        (lambda: da.zeros((10,), chunks=5), ValueError, "expected a 2-d dask array"),
        (lambda: da.zeros((10, 5), chunks=5), Exception, "not fitted"),
    ],
)
def test_predictions_on_bad_dask_input(X, error, match):
    model = LRNClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    if match != "not fitted":
        quiet_fit(model, *problem())
    with pytest.raises(error, match=match):
        model.predict(X())
