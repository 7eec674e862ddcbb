"""Batch sources: what ``ArraySource`` yields, and a stream of unknown length in the loop."""

import math
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from lrnet import training
from lrnet.initializers import init_flat
from lrnet.kernels import resolve
from lrnet.network import Layout, Net
from lrnet.sources import ArraySource

N, FEATURES, CLASSES = 23, 3, 3


def data(n=N, weighted=True, dtype=np.float64):
    """Rows whose first column is their index; Y and sample_weight derived from it."""
    ids = np.arange(n, dtype=dtype)
    X = np.column_stack([ids, np.sin(ids), np.cos(ids)]).astype(dtype)
    Y = np.eye(CLASSES, dtype=dtype)[np.arange(n) % CLASSES]
    sw = (10.0 * ids + 1.0).astype(dtype) if weighted else None
    return X, Y, sw


def collect(source, rng):
    """One epoch as copies (the source may reuse its buffers between batches)."""
    out = []
    for Xb, Yb, swb in source.epoch(rng):
        Xb = Xb.toarray() if sp.issparse(Xb) else np.array(Xb)
        out.append((Xb, np.array(Yb), None if swb is None else np.array(swb)))
    return out


def row_ids(batches):
    return np.concatenate([Xb[:, 0] for Xb, _, _ in batches]).astype(int)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffled", "in-order"])
@pytest.mark.parametrize("batch_size", [1, 5, 7, N, 100])
def test_every_row_once_per_epoch(batch_size, shuffle, sparse):
    X, Y, sw = data()
    Xs = sp.csr_matrix(X + 1.0) if sparse else X  # + 1: no explicit zeros lost
    source = ArraySource(Xs, Y, sw, batch_size, shuffle=shuffle)
    rng = np.random.default_rng(0)
    bs = min(batch_size, N)
    assert source.n_samples == N and source.batch_size == bs
    assert source.n_batches == math.ceil(N / bs)
    orders = []
    for _ in range(3):
        batches = collect(source, rng)
        sizes = [Xb.shape[0] for Xb, _, _ in batches]
        assert sizes == [bs] * (N // bs) + ([N % bs] if N % bs else [])
        ids = row_ids(batches) - (1 if sparse else 0)
        np.testing.assert_array_equal(np.sort(ids), np.arange(N))
        orders.append(ids)
    if shuffle:
        assert not np.array_equal(orders[0], np.arange(N))
        assert not np.array_equal(orders[0], orders[1])
    else:
        for ids in orders:
            np.testing.assert_array_equal(ids, np.arange(N))


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffled", "in-order"])
def test_targets_and_sample_weights_follow_their_rows(shuffle, sparse):
    X, Y, sw = data()
    source = ArraySource(sp.csr_matrix(X) if sparse else X, Y, sw, 4, shuffle=shuffle)
    for Xb, Yb, swb in collect(source, np.random.default_rng(1)):
        ids = Xb[:, 0].astype(int)
        np.testing.assert_array_equal(Xb, X[ids])
        np.testing.assert_array_equal(Yb, Y[ids])
        np.testing.assert_array_equal(swb, sw[ids])


def test_without_weights_the_weight_batch_is_none():
    X, Y, _ = data(weighted=False)
    for shuffle in (True, False):
        source = ArraySource(X, Y, None, 6, shuffle=shuffle)
        assert all(swb is None for _, _, swb in source.epoch(np.random.default_rng(0)))


def test_shuffling_follows_the_seed():
    X, Y, sw = data()
    source = ArraySource(X, Y, sw, 5)
    first = row_ids(collect(source, np.random.default_rng(42)))
    again = row_ids(collect(source, np.random.default_rng(42)))
    other = row_ids(collect(source, np.random.default_rng(43)))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    np.testing.assert_array_equal(first, np.random.default_rng(42).permutation(N))


def test_batches_reuse_buffers_or_slice_the_data():
    X, Y, sw = data()
    shuffled = ArraySource(X, Y, sw, 5)
    for Xb, Yb, swb in shuffled.epoch(np.random.default_rng(0)):
        assert np.shares_memory(Xb, shuffled.Xb) and np.shares_memory(Yb, shuffled.Yb)
        assert np.shares_memory(swb, shuffled.swb)
    in_order = ArraySource(X, Y, sw, 5, shuffle=False)
    for Xb, Yb, swb in in_order.epoch(np.random.default_rng(0)):
        assert np.shares_memory(Xb, X) and np.shares_memory(Yb, Y) and np.shares_memory(swb, sw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batches_keep_the_dtype(dtype):
    X, Y, sw = data(dtype=dtype)
    for Xb, Yb, swb in ArraySource(X, Y, sw, 5).epoch(np.random.default_rng(0)):
        assert Xb.dtype == Yb.dtype == swb.dtype == dtype


# ------------------------------------------------------------------ a stream in the loop
class Stream:
    """A source that does not know its length: batches from a generator, in order."""

    n_samples = None

    def __init__(self, X, Y, batch_size):
        self.X, self.Y, self.batch_size = X, Y, batch_size
        self.epochs = 0

    def epoch(self, rng):
        self.epochs += 1

        def batches():
            for start in range(0, self.X.shape[0], self.batch_size):
                stop = start + self.batch_size
                yield self.X[start:stop], self.Y[start:stop], None

        return batches()


def pieces(learning_rate, solver="adam", max_iter=3):
    """Net, params, config, optimizer and state, as ``LRNClassifier._fit_or_fail`` makes them."""
    kernels = resolve()
    layout = Layout((FEATURES, 4, CLASSES))
    net = Net(layout, "tanh", "softmax", kernels)
    params = init_flat(layout, "tanh", np.random.default_rng(0), np.float64)
    config = training.Config(
        solver=solver,
        learning_rate_init=0.01,
        learning_rate=learning_rate,
        batch_size=5,
        max_iter=max_iter,
        n_iter_no_change=100,
    )
    optimizer = training.make_optimizer(config, kernels)
    state = training.init_state(config, params, optimizer)
    return net, params, config, optimizer, state


def train(source, learning_rate, epochs=3):
    net, params, config, optimizer, state = pieces(learning_rate, max_iter=epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        training.fit_loop(
            net, params, source, config, state, np.random.default_rng(1), epochs, optimizer
        )
    return params, state


@pytest.mark.parametrize("learning_rate", ["constant", "invscaling", "adaptive"])
def test_a_stream_of_unknown_length_trains(learning_rate):
    X, Y, _ = data(weighted=False)
    stream = Stream(X, Y, 5)
    params, state = train(stream, learning_rate)
    assert stream.epochs == 3
    assert state.n_iter == 3
    assert state.t == 3 * N  # the rows the epochs counted
    assert state.step == 3 * math.ceil(N / 5)
    assert len(state.loss_curve) == 3 and all(np.isfinite(state.loss_curve))
    if learning_rate == "invscaling":
        assert state.lr == pytest.approx(0.01 / (3 * N + 1) ** 0.5)
    # the same rows in the same order from an ArraySource: the same training
    params_array, state_array = train(ArraySource(X, Y, None, 5, shuffle=False), learning_rate)
    np.testing.assert_array_equal(params, params_array)
    assert state.loss_curve == state_array.loss_curve
    assert state.t == state_array.t


@pytest.mark.parametrize("learning_rate", ["cosine", "onecycle"])
def test_a_per_step_schedule_needs_the_length(learning_rate):
    X, Y, _ = data(weighted=False)
    net, params, config, optimizer, state = pieces(learning_rate)
    before = params.copy()
    with pytest.raises(ValueError, match=rf"learning_rate='{learning_rate}'") as info:
        training.fit_loop(
            net, params, Stream(X, Y, 5), config, state, np.random.default_rng(1), 3, optimizer
        )
    message = str(info.value)
    assert "n_samples is None" in message
    assert "learning_rate='constant'" in message
    np.testing.assert_array_equal(params, before)
    assert state.step == 0


@pytest.mark.parametrize("learning_rate", ["cosine", "onecycle"])
def test_a_per_step_schedule_trains_from_an_array_source(learning_rate):
    X, Y, _ = data(weighted=False)
    params, state = train(ArraySource(X, Y, None, 5), learning_rate)
    assert state.t == 3 * N and state.step == 3 * math.ceil(N / 5)
    assert all(np.isfinite(state.loss_curve))
