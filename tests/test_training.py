"""The training loop's seams: the step function, clipping, the step count and schedules."""

import math
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from lrnet import LRNClassifier, training
from lrnet.errors import DivergenceError
from lrnet.initializers import init_flat
from lrnet.kernels import resolve
from lrnet.network import Layout, Net, add_l2_penalty, value_and_grad
from lrnet.optim import adam, sgd
from lrnet.optim.base import Optimizer
from lrnet.optim.schedules import cosine_lr, onecycle_lr
from lrnet.sources import ArraySource

N, FEATURES, CLASSES, BATCH = 37, 4, 3, 8


def problem(weighted, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, FEATURES))
    Y = np.eye(CLASSES)[rng.integers(CLASSES, size=N)]
    sw = rng.uniform(0.2, 3.0, N) if weighted else None
    return X, Y, sw


def pieces(solver="adam", activation="tanh", alpha=0.1, max_iter=4, **extra):
    """Net, params, config, optimizer and state, as ``LRNClassifier._fit_or_fail`` makes them."""
    kernels = resolve()
    layout = Layout((FEATURES, 6, 5, CLASSES))
    net = Net(layout, activation, "softmax", kernels)
    params = init_flat(layout, activation, np.random.default_rng(0), np.float64)
    config = training.Config(
        solver=solver,
        learning_rate_init=0.05,
        alpha=alpha,
        batch_size=BATCH,
        max_iter=max_iter,
        n_iter_no_change=100,
        **extra,
    )
    optimizer = training.make_optimizer(config, kernels)
    state = training.init_state(config, params, optimizer)
    return net, params, config, optimizer, state


def fit(net, params, config, optimizer, state, source, step_fn=None, epochs=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return training.fit_loop(
            net,
            params,
            source,
            config,
            state,
            np.random.default_rng(1),
            epochs or config.max_iter,
            optimizer,
            step_fn=step_fn,
        )


def sharded_step(net, alpha, batch_size, dtype, calls):
    """A data-parallel step function: two shards, their weighted sum, the penalty once."""
    work = net.workspace(batch_size, dtype)
    shard_grads = np.empty(net.layout.size, dtype)

    def step(params, grads, Xb, Yb, swb, masks):
        assert masks is None
        calls.append(Xb.shape[0])
        m = Xb.shape[0]
        total = float(m) if swb is None else float(swb.sum())
        grads.fill(0.0)
        loss = 0.0
        for rows in (slice(0, m // 2), slice(m // 2, m)):
            sw = None if swb is None else swb[rows]
            share = (rows.stop - rows.start if sw is None else float(sw.sum())) / total
            if share == 0.0:
                continue
            loss += share * value_and_grad(
                net, params, shard_grads, Xb[rows], Yb[rows], sw, 0.0, work
            )
            np.multiply(shard_grads, share, out=shard_grads)
            grads += shard_grads
        if alpha:
            loss += add_l2_penalty(net, params, grads, alpha / total, work.penalty)
        return loss

    return step


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_sharded_step_function_trains_like_the_local_step(solver, weighted, activation):
    X, Y, sw = problem(weighted)
    local = pieces(solver, activation)
    fit(*local, ArraySource(X, Y, sw, BATCH))

    net, params, config, optimizer, state = pieces(solver, activation)
    calls = []
    step_fn = sharded_step(net, config.alpha, BATCH, params.dtype, calls)
    fit(net, params, config, optimizer, state, ArraySource(X, Y, sw, BATCH), step_fn)

    assert len(calls) == state.step == config.max_iter * math.ceil(N / BATCH)
    assert not np.array_equal(params, pieces(solver, activation)[1])  # it trained
    np.testing.assert_allclose(params, local[1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(state.loss_curve, local[4].loss_curve, rtol=1e-12)


def test_penalty_added_per_shard_would_differ():
    """The comparison above is sensitive: adding the L2 term twice is caught."""
    X, Y, sw = problem(False)
    local = pieces("sgd")
    fit(*local, ArraySource(X, Y, sw, BATCH))
    net, params, config, optimizer, state = pieces("sgd")
    inner = sharded_step(net, config.alpha, BATCH, params.dtype, [])

    def twice(params, grads, Xb, Yb, swb, masks):
        loss = inner(params, grads, Xb, Yb, swb, masks)
        return loss + add_l2_penalty(
            net, params, grads, config.alpha / Xb.shape[0], np.empty(net.layout.n_coef)
        )

    fit(net, params, config, optimizer, state, ArraySource(X, Y, sw, BATCH), twice)
    assert np.abs(params - local[1]).max() > 1e-6


def test_local_step_is_value_and_grad():
    X, Y, sw = problem(True)
    net, params, config, _, _ = pieces()
    work = net.workspace(N, params.dtype)
    g1, g2 = np.empty_like(params), np.empty_like(params)
    loss = training.local_step(net, config.alpha, work)(params, g1, X, Y, sw, None)
    expected = value_and_grad(net, params, g2, X, Y, sw, config.alpha, net.workspace(N, "f8"))
    assert loss == expected
    np.testing.assert_array_equal(g1, g2)


# ------------------------------------------------------------------ clipping
def huge_gradient(direction, scale=1e6):
    def step(params, grads, Xb, Yb, swb, masks):
        np.multiply(direction, scale, out=grads)
        return 1.0

    return step


@pytest.mark.parametrize("max_norm", [None, 0.5, 3.0])
def test_train_step_clips_between_gradient_and_update(max_norm):
    net, params, config, _, state = pieces("sgd", max_grad_norm=max_norm)
    optimizer = sgd.sgd(momentum=0.0, nesterov=False)
    state.opt_state = optimizer.init(params)
    state.lr = 1.0
    direction = np.random.default_rng(2).standard_normal(params.size)
    direction /= np.linalg.norm(direction)
    before = params.copy()
    grads = np.empty_like(params)
    X, Y, _ = problem(False)
    loss = training.train_step(
        huge_gradient(direction), optimizer, params, grads, (X, Y, None), None, config, state
    )
    assert loss == 1.0 and state.step == 1
    moved = before - params
    expected = 1e6 if max_norm is None else max_norm * 1e6 / (1e6 + 1e-6)
    np.testing.assert_allclose(moved, expected * direction, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads, expected * direction, rtol=1e-12, atol=1e-12)


def test_fit_loop_clips_a_huge_gradient_every_step():
    X, Y, _ = problem(False)
    net, params, config, optimizer, state = pieces("sgd", momentum=0.0, max_grad_norm=0.25)
    direction = np.ones(params.size) / math.sqrt(params.size)
    start = params.copy()
    fit(
        net,
        params,
        config,
        optimizer,
        state,
        ArraySource(X, Y, None, BATCH),
        huge_gradient(direction),
    )
    steps = config.max_iter * math.ceil(N / BATCH)
    assert state.step == steps
    np.testing.assert_allclose(start - params, steps * 0.05 * 0.25 * direction, rtol=1e-9)


def test_a_non_finite_step_loss_is_a_divergence():
    X, Y, _ = problem(False)
    net, params, config, optimizer, state = pieces("sgd")

    def nan_step(params, grads, Xb, Yb, swb, masks):
        grads.fill(0.0)
        return float("nan")

    with pytest.raises(DivergenceError, match=r"Training diverged at epoch 1.*0\.05"):
        fit(net, params, config, optimizer, state, ArraySource(X, Y, None, BATCH), nan_step)


def test_batches_of_zero_weight_take_no_step():
    X, Y, _ = problem(False)
    sw = np.ones(N)
    sw[:BATCH] = 0.0  # the whole first batch
    net, params, config, optimizer, state = pieces("sgd", max_iter=1)
    calls = []
    step_fn = sharded_step(net, config.alpha, BATCH, params.dtype, calls)
    fit(net, params, config, optimizer, state, ArraySource(X, Y, sw, BATCH, shuffle=False), step_fn)
    assert state.step == len(calls) == math.ceil(N / BATCH) - 1
    assert state.t == N


# ------------------------------------------------------------------ steps and schedules
@pytest.mark.parametrize(
    "n, batch_size, max_iter, expected", [(37, 8, 4, 20), (40, 8, 3, 15), (5, 200, 7, 7)]
)
@pytest.mark.parametrize("learning_rate", ["constant", "cosine"])
def test_total_steps_counts_epochs_times_batches(n, batch_size, max_iter, expected, learning_rate):
    X, Y, _ = problem(False)
    source = ArraySource(np.resize(X, (n, FEATURES)), np.resize(Y, (n, CLASSES)), None, batch_size)
    config = training.Config("adam", 0.01, learning_rate=learning_rate, max_iter=max_iter)
    assert training.total_steps(config, source) == expected


def test_total_steps_of_a_stream_without_a_schedule_is_none():
    class Stream:
        n_samples = None
        batch_size = 4

    assert training.total_steps(training.Config("adam", 0.01), Stream()) is None
    with pytest.raises(ValueError, match="n_samples is None"):
        training.total_steps(training.Config("adam", 0.01, learning_rate="cosine"), Stream())


def recording(optimizer):
    """``optimizer`` whose update records the learning rate of every step."""
    rates = []

    def update(params, grads, state, lr):
        rates.append(lr)
        return optimizer.update(params, grads, state, lr)

    return Optimizer(optimizer.name, optimizer.init, update), rates


@pytest.mark.parametrize(
    "learning_rate, warmup, rule",
    [("cosine", 0.0, cosine_lr), ("cosine", 0.25, cosine_lr), ("onecycle", 0.0, onecycle_lr)],
)
def test_per_step_schedule_sets_every_steps_rate(learning_rate, warmup, rule):
    X, Y, _ = problem(False)
    net, params, config, optimizer, state = pieces(
        learning_rate=learning_rate, warmup_fraction=warmup
    )
    optimizer, rates = recording(optimizer)
    fit(net, params, config, optimizer, state, ArraySource(X, Y, None, BATCH))
    total = config.max_iter * math.ceil(N / BATCH)
    assert rates == [rule(s, total, 0.05, warmup) for s in range(total)]
    per_epoch = [h["learning_rate"] for h in state.history]
    assert per_epoch == rates[:: math.ceil(N / BATCH)]


def test_constant_schedule_keeps_the_rate():
    X, Y, _ = problem(False)
    net, params, config, optimizer, state = pieces()
    optimizer, rates = recording(optimizer)
    fit(net, params, config, optimizer, state, ArraySource(X, Y, None, BATCH))
    assert rates == [0.05] * state.step and state.step == 20


def test_run_set_step_lr_reads_the_step_count():
    X, Y, _ = problem(False)
    net, params, config, optimizer, state = pieces(learning_rate="cosine")
    source = ArraySource(X, Y, None, BATCH)
    run = training.Run(
        net=net,
        params=params,
        grads=np.empty_like(params),
        source=source,
        config=config,
        state=state,
        optimizer=optimizer,
        step_fn=None,
        work=None,
        rng=np.random.default_rng(0),
        total_steps=training.total_steps(config, source),
    )
    assert run.total_steps == 20 and run.callbacks == () and run.best is None
    for step in (0, 7, 19):
        state.step = step
        run.set_step_lr()
        assert state.lr == cosine_lr(step, 20, 0.05)
    constant = pieces()
    run.config, run.state = constant[2], constant[4]
    run.state.lr = 0.123
    run.set_step_lr()
    assert run.state.lr == 0.123


# ------------------------------------------------------------------ lbfgs
def test_lbfgs_allocates_no_optimizer_state(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lbfgs = LRNClassifier((5,), solver="lbfgs", max_iter=5, random_state=0).fit(X, y)
        adam_fit = LRNClassifier((5,), solver="adam", max_iter=2, random_state=0).fit(X, y)
    assert lbfgs._state.opt_state is None
    assert isinstance(adam_fit._state.opt_state, adam.AdamState)
    config = training.Config("lbfgs", 0.001)
    assert training.make_optimizer(config, resolve()) is None
    assert training.init_state(config, np.zeros(3), None).opt_state is None
