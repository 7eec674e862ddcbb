"""What runs inside a task, next to its data: partition sums and local SGD rounds.

Every function here is pure in what it returns: its inputs (a partition, the scattered
parameters, a lane's random generator) fully determine its result, so a task that is
recomputed after a worker dies returns the same thing.  The module-level caches (the
network, workspaces, a lane's epoch iterator) only save work; a miss rebuilds them.
The maths is :mod:`lrnet.network`'s and :mod:`lrnet.training`'s, never repeated.
"""

from __future__ import annotations

import copy
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from types import SimpleNamespace

import numpy as np

from .. import training
from ..config import make_optimizer
from ..kernels import resolve
from ..network import Layout, Net, full_batch_value_and_grad
from ..optim.schedules import STEP_SCHEDULES, step_lr
from ..sources import ArraySource

#: ``(layer_units, activation, out_kind)``: what a worker needs to rebuild the network
NetSpec = tuple

#: entries kept by a worker's cache (networks, workspaces, live epoch iterators)
CACHE_SIZE = 32
_CACHE: OrderedDict = OrderedDict()


def _cached(key, make):
    value = _CACHE.get(key)
    if value is None:
        value = _CACHE[key] = make()
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(key)
    return value


def net_of(spec: NetSpec) -> Net:
    """The network of ``spec``, with this process's kernel set."""
    units, activation, out_kind = spec
    return _cached(
        ("net", spec), lambda: Net(Layout(tuple(units)), activation, out_kind, resolve())
    )


def forget(fit_key: str) -> int:
    """Drop every cache entry of one fit (run on each worker when the fit ends)."""
    keys = [k for k in _CACHE if k[0] == "lane" and k[1] == fit_key]
    for k in keys:
        del _CACHE[k]
    return len(keys)


# ------------------------------------------------------------------ lbfgs: partition sums
def partition_sums(spec: NetSpec, params: np.ndarray, part) -> tuple[float, np.ndarray, float]:
    """``(sum_i w_i CE_i, sum_i w_i dCE_i/dparams, sum_i w_i)`` of one partition, float64.

    The partition's mean objective without penalty, from
    :func:`lrnet.network.full_batch_value_and_grad`, times its weight ``S_p``: the client
    adds these up and divides by ``S = sum_p S_p`` once (:func:`.lbfgs.reduce_sums`).
    """
    X, Y, sw = part
    n = X.shape[0]
    weight = float(n) if sw is None else float(np.sum(sw, dtype=np.float64))
    grad_sum = np.zeros(params.size, np.float64)
    if n == 0 or weight == 0.0:
        return 0.0, grad_sum, 0.0
    net = net_of(spec)
    rows = min(n, training.lbfgs_block_rows(X))
    work = _cached(
        ("work", spec, rows, params.dtype.str), lambda: net.workspace(rows, params.dtype)
    )
    grads, block_grads = np.empty_like(params), np.empty_like(params)
    mean = full_batch_value_and_grad(net, params, grads, X, Y, sw, 0.0, work, block_grads)
    np.multiply(grads, weight, out=grad_sum)
    return float(mean) * weight, grad_sum, weight


# ------------------------------------------------------------------ local SGD: one round
@dataclass
class Lane:
    """One shard's walk through its data: its generator and its place in the epoch.

    ``rng`` shuffles the shard and draws its dropout masks, as the fit's generator does
    in a local fit; ``epoch_rng`` is a copy of it from the start of the epoch, so that a
    rebuilt iterator (after a worker was lost) draws the same order.
    """

    shard: int
    rng: np.random.Generator
    epoch: int = 0
    position: int = 0
    epoch_rng: np.random.Generator | None = field(default=None, repr=False)

    def next_epoch(self) -> Lane:
        """The lane at the start of its next epoch."""
        return replace(self, epoch=self.epoch + 1, position=0, epoch_rng=copy.deepcopy(self.rng))


@dataclass
class Carry:
    """What every shard starts a round from: the averaged parameters and optimizer state."""

    params: np.ndarray
    opt_state: object
    lr: float
    step: int
    total_steps: int | None


@dataclass
class RoundResult:
    """A shard's parameters and optimizer state after its steps, and what they cost."""

    params: np.ndarray
    opt_state: object
    lane: Lane
    losses: list  # (batch objective, rows) of every step taken, in order
    steps: int
    lr: float
    seconds: float = 0.0  # spent in the steps, for the communication share of a round


def _lane_batches(fit_key: str, lane: Lane, shard, config):
    """The live iterator of ``lane``'s epoch at its position (rebuilt when not cached)."""
    key = ("lane", fit_key, lane.shard)
    entry = _CACHE.pop(key, None)
    if entry is not None and entry[0] == (lane.epoch, lane.position):
        return entry[1], entry[2]
    X, Y, sw = shard
    source = ArraySource(X, Y, sw, config.batch_size, config.shuffle)
    if lane.position == 0:
        return source, source.epoch(lane.rng)  # the order is drawn from the lane's rng
    batches = source.epoch(copy.deepcopy(lane.epoch_rng))
    for _ in range(lane.position):  # a rebuilt lane (worker lost): skip what was taken
        next(batches)
    return source, batches


def local_round(spec: NetSpec, config, shard, carry: Carry, lane: Lane, n_batches: int, fit_key):
    """Take the next ``n_batches`` minibatches of ``lane``'s epoch from ``carry``.

    The steps are :func:`lrnet.training.train_step` with the local step function, the
    rates are the local schedules', and the batches come from an
    :class:`~lrnet.sources.ArraySource` over the shard drawn with the lane's generator:
    with one shard this is the local loop, step for step.  Stops early at a non-finite
    loss (the client reports the divergence).
    """
    started = time.perf_counter()
    lane = copy.deepcopy(lane)  # a threaded worker shares objects with its caller
    params = carry.params.copy()  # the carry is shared by every task on this worker
    opt_state = with_scratch(copy.deepcopy(carry.opt_state), params)
    net = net_of(spec)
    source, batches = _lane_batches(fit_key, lane, shard, config)
    dropout = tuple(config.dropout) if config.dropout else None
    work = _cached(
        ("work", spec, source.batch_size, params.dtype.str, dropout),
        lambda: net.workspace(source.batch_size, params.dtype, config.dropout),
    )
    optimizer = make_optimizer(config, net.kernels)
    step_fn = training.local_step(net, config.alpha, work)
    state = SimpleNamespace(opt_state=opt_state, lr=carry.lr, step=carry.step)
    grads = np.empty_like(params)
    losses = []
    for _ in range(n_batches):
        batch = next(batches)
        lane.position += 1
        swb = batch[2]
        if swb is not None and not swb.any():
            continue  # every row weighs zero: nothing to learn from this batch
        if config.learning_rate in STEP_SCHEDULES:
            state.lr = step_lr(
                config.learning_rate,
                state.step,
                carry.total_steps,
                config.learning_rate_init,
                config.warmup_fraction,
            )
        masks = work.draw_masks(lane.rng, config.dropout) if config.dropout else None
        with np.errstate(over="ignore", invalid="ignore"):
            loss = training.train_step(
                step_fn, optimizer, params, grads, batch, masks, config, state
            )
        losses.append((loss, batch[0].shape[0]))
        if not math.isfinite(loss):
            break
    _CACHE[("lane", fit_key, lane.shard)] = ((lane.epoch, lane.position), source, batches)
    seconds = time.perf_counter() - started
    steps = state.step - carry.step
    opt_state = strip_scratch(state.opt_state)
    return RoundResult(params, opt_state, lane, losses, steps, state.lr, seconds)


def strip_scratch(state):
    """The optimizer state without its scratch buffers (empty arrays): what travels."""
    empty = {
        name: np.empty(0, value.dtype)
        for name, value in zip(state._fields, state, strict=True)
        if name.startswith("scratch")
    }
    return state._replace(**empty) if empty else state


def with_scratch(state, params: np.ndarray):
    """The optimizer state with scratch buffers shaped like ``params`` again."""
    full = {
        name: np.empty_like(params)
        for name, value in zip(state._fields, state, strict=True)
        if name.startswith("scratch") and value.size != params.size
    }
    return state._replace(**full) if full else state


def concat_parts(*parts):
    """One shard from its partitions ``(X, Y, sw)``, rows in partition order."""
    Xs, Ys, sws = zip(*parts, strict=True)
    sw = None if sws[0] is None else np.concatenate(sws)
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(Xs), np.concatenate(Ys), sw


# ------------------------------------------------------------------ worker setup
def blas_threads() -> int:
    """The largest thread count of this process's BLAS libraries (threadpoolctl)."""
    from threadpoolctl import threadpool_info

    counts = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    return max(counts, default=1)
