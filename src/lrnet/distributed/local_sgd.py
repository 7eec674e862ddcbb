"""Local SGD with periodic averaging (Stich 2018; Lin et al. 2020) on a Dask cluster.

The rows are split into one shard per worker (contiguous partitions, balanced by rows;
a shard is assembled on the worker where its partitions were loaded).  An epoch is one
pass of every shard over its own rows, in rounds::

    for each round:
        every shard k takes up to ``averaging_steps`` minibatch steps from the carry
        (params, optimizer state), as the local loop does on its rows
        carry <- sum_k (n_k / n) * (params_k, moments_k)     (rows-weighted average)

Each shard has its own generator (shard 0: a copy of the fit's, the others seeded from
it), which shuffles its rows every epoch and draws its dropout masks.  With one worker
there is one shard, the average is the identity, and the fit is the local fit bit for
bit under the same seed.  With ``W`` workers a round processes ``W`` batches per step:
the effective batch is ``W x batch_size`` and one epoch takes ``1/W`` of the steps, so
the learning rate is per worker step (keep ``learning_rate_init``; scale it by ``W``
only with a linear-scaling warm-up, Goyal et al. 2017, when training is slow).

:func:`epoch` is the loop's epoch (``fit_loop(..., epoch_fn=epoch)``): the history,
validation, callbacks, schedules per epoch and the stopping rule stay the local ones.
"""

from __future__ import annotations

import copy
import math
import time
import uuid
from dataclasses import dataclass, field

import numpy as np

from .. import training
from ..optim.schedules import STEP_SCHEDULES
from . import tasks
from .cluster import compute_round


@dataclass
class Shards:
    """The batch source of a data-parallel fit: shards on workers, one lane each.

    Quacks like a :class:`lrnet.sources.BatchSource` for the loop's bookkeeping
    (``n_samples``, ``batch_size``); its epochs run in :func:`epoch`.
    """

    client: object
    spec: tasks.NetSpec
    futures: list  # one future per shard: (X, Y, sw) on its worker
    rows: list[int]  # rows of each shard
    lanes: list[tasks.Lane]
    batch_size: int
    averaging_steps: int
    fit_key: str
    #: ``(wall seconds, seconds of the busiest shard's steps)`` of every round so far
    timings: list = field(default_factory=list)

    @property
    def n_samples(self) -> int:
        """Rows of all shards."""
        return sum(self.rows)

    def batches(self, k: int) -> int:
        """Minibatches of shard ``k`` per epoch (as :class:`~lrnet.sources.ArraySource`)."""
        return math.ceil(self.rows[k] / min(self.batch_size, self.rows[k]))

    def steps_per_epoch(self) -> int:
        """Steps of the longest shard per epoch: what a per-step schedule counts."""
        return max(self.batches(k) for k in range(len(self.rows)))

    def epoch(self, rng):
        """Not a minibatch source: its epochs run in :func:`epoch` on the workers."""
        raise TypeError("Shards run their epochs with lrnet.distributed.local_sgd.epoch")


def lanes_for(rng: np.random.Generator, n_shards: int) -> list[tasks.Lane]:
    """One generator per shard: shard 0 continues ``rng`` (a copy), the others seeded from it."""
    seeds = copy.deepcopy(rng).integers(2**63, size=n_shards)
    lanes = [tasks.Lane(0, copy.deepcopy(rng))]
    for k in range(1, n_shards):
        lanes.append(tasks.Lane(k, np.random.default_rng([int(seeds[k]), k])))
    return lanes


def split_rows(rows: tuple[int, ...], n_shards: int) -> list[list[int]]:
    """Contiguous groups of partitions, one per shard, as equal in rows as possible."""
    n_shards = min(n_shards, len(rows))
    bounds = np.cumsum(rows)
    total = bounds[-1]
    groups, start = [], 0
    for k in range(n_shards):
        left = n_shards - k - 1  # shards still to fill: each needs a partition
        target = total * (k + 1) / n_shards
        stop = int(np.searchsorted(bounds, target, side="left")) + 1
        stop = min(max(stop, start + 1), len(rows) - left)
        groups.append(list(range(start, stop)))
        start = stop
    return groups


def make_shards(
    client,
    spec,
    parts: list,
    rows: tuple[int, ...],
    workers: list,
    config,
    rng,
    averaging_steps: int,
) -> Shards:
    """Shards assembled where their partitions were loaded, with their lanes."""
    groups = split_rows(rows, len(workers))
    futures = [
        client.submit(
            tasks.concat_parts,
            *[parts[i] for i in group],
            workers=[workers[k % len(workers)]],
            allow_other_workers=True,
            pure=False,
        )
        for k, group in enumerate(groups)
    ]
    return Shards(
        client=client,
        spec=spec,
        futures=futures,
        rows=[int(sum(rows[i] for i in g)) for g in groups],
        lanes=lanes_for(rng, len(groups)),
        batch_size=config.batch_size,
        averaging_steps=averaging_steps,
        fit_key=uuid.uuid4().hex,
    )


def average(results: list[tasks.RoundResult], weights) -> tuple:
    """Rows-weighted average of the shards' parameters and optimizer moments.

    Array fields of the optimizer state are averaged, step counts take the largest;
    scratch buffers are not state and travel empty (:func:`.tasks.strip_scratch`).  In
    shard order, so the result is reproducible, and in the arrays' dtype (the weights
    are Python floats, which NumPy does not let widen float32); with one shard the
    weight is 1.0 and the average is the shard's state exactly.
    """
    weights = [float(w) for w in weights]

    def mean(arrays):
        out = arrays[0] * weights[0]
        for a, w in zip(arrays[1:], weights[1:], strict=True):
            out += a * w
        return out

    params = mean([r.params for r in results])
    state = results[0].opt_state
    fields = {}
    for name in state._fields:
        values = [getattr(r.opt_state, name) for r in results]
        if name.startswith("scratch"):
            fields[name] = values[0]
        elif isinstance(values[0], np.ndarray):
            fields[name] = mean(values)
        else:
            fields[name] = max(values)
    return params, state._replace(**fields)


def epoch(run: training.Run) -> tuple[float, int]:
    """One epoch of local SGD: rounds until every shard has passed over its rows.

    ``run.source`` is the :class:`Shards`; ``run.params`` and ``run.state.opt_state``
    hold the carry between rounds.  Returns ``(mean batch objective weighted by rows,
    rows)`` as :func:`lrnet.training.run_epoch` does.
    """
    shards, state, config = run.source, run.state, run.config
    client = shards.client
    n = shards.n_samples
    weights = np.asarray(shards.rows, np.float64) / n
    shards.lanes = [lane.next_epoch() for lane in shards.lanes]
    left = [shards.batches(k) for k in range(len(shards.rows))]
    total_steps = config.max_iter * shards.steps_per_epoch()
    total = 0.0
    while any(left):
        opt_state = tasks.strip_scratch(state.opt_state)
        carry = tasks.Carry(run.params, opt_state, state.lr, state.step, total_steps)
        takes = [min(shards.averaging_steps, b) for b in left]

        def submit(shared, takes=takes):
            return [
                client.submit(
                    tasks.local_round,
                    shards.spec,
                    config,
                    shard,
                    shared,
                    lane,
                    take,
                    shards.fit_key,
                    pure=False,
                )
                for shard, lane, take in zip(shards.futures, shards.lanes, takes, strict=True)
            ]

        what = f"a local SGD round of epoch {state.n_iter + 1}"
        started = time.perf_counter()
        results = compute_round(client, carry, submit, what)
        params, averaged = average(results, weights)
        state.opt_state = tasks.with_scratch(averaged, run.params)
        shards.timings.append((time.perf_counter() - started, max(r.seconds for r in results)))
        for r in results:
            for loss, m in r.losses:
                if not math.isfinite(loss):
                    raise training.divergence_error(state.n_iter + 1, config.learning_rate_init)
                total += loss * m
        run.params[...] = params
        state.step += max(r.steps for r in results)
        if config.learning_rate in STEP_SCHEDULES:
            state.lr = results[0].lr
        shards.lanes = [r.lane for r in results]
        left = [b - t for b, t in zip(left, takes, strict=True)]
    return total / n, n
