"""Exact full-batch L-BFGS over partitions: one map and one reduce per evaluation.

The objective of a fit (see :func:`lrnet.network.value_and_grad`) is::

    f(p) = sum_i w_i CE_i(p) / S + 0.5 alpha ||W||^2 / S,     S = sum_i w_i

Partition ``k`` returns ``(L_k, G_k, S_k) = (sum_{i in k} w_i CE_i, sum_{i in k} w_i
grad CE_i, sum_{i in k} w_i)`` in float64 (:func:`.tasks.partition_sums`).  The client
adds them up in partition order, divides by ``S = sum_k S_k`` once and adds the penalty
once (:func:`reduce_sums`): dask-glm's and Spark MLlib's map-reduce, without Spark's
mean of partition means (a bias when partitions differ in size).  SciPy's L-BFGS-B
runs on the client through :func:`lrnet.training.fit_lbfgs`, so the iterations, the
callbacks and the stopping rule are the local fit's; the optimum is the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import dask
import numpy as np

from ..network import Net, add_l2_penalty
from . import tasks
from .cluster import compute_round

#: ``params -> (loss sum, gradient sum, weight sum)`` of every partition, in order
SumsFn = Callable[[np.ndarray], Iterable[tuple[float, np.ndarray, float]]]


def reduce_sums(partials, net: Net, params: np.ndarray, alpha: float, grads: np.ndarray) -> float:
    """The objective at ``params`` from the partitions' sums; its gradient into ``grads``.

    Sums in the order given (float64), divides by the total weight once, adds the L2
    penalty ``0.5 alpha ||W||^2 / S`` and its gradient once.
    """
    loss, total = 0.0, 0.0
    grad = np.zeros(params.size, np.float64)
    for part_loss, part_grad, weight in partials:
        loss += part_loss
        grad += part_grad
        total += weight
    if total == 0.0:
        raise ValueError(
            "Every row has weight 0 (sample_weight times class_weight): there is nothing "
            "to fit. Give some rows a positive weight."
        )
    loss /= total
    grad /= total
    if alpha:
        scratch = np.empty(net.layout.n_coef, np.float64)
        loss += add_l2_penalty(net, params, grad, alpha / total, scratch)
    grads[...] = grad
    return loss


def objective(net: Net, alpha: float, sums: SumsFn) -> Callable[[np.ndarray, np.ndarray], float]:
    """``objective(params, grads) -> loss``: the full-batch objective from partition sums."""

    def evaluate(params, grads):
        return reduce_sums(sums(params), net, params, alpha, grads)

    return evaluate


def spec_of(net: Net) -> tasks.NetSpec:
    """What a worker needs to rebuild ``net``."""
    return (tuple(net.layout.layer_units), net.activation, net.out_kind)


def cluster_sums(client, net: Net, parts: list) -> SumsFn:
    """Partition sums computed where the partitions live (``parts``: futures, in order).

    The parameters go to every worker once per evaluation as a scattered future, never
    inside the task graph; only the sums come back.
    """
    spec = spec_of(net)

    def sums(params):
        def submit(shared):
            return [
                client.submit(tasks.partition_sums, spec, shared, part, pure=False)
                for part in parts
            ]

        return compute_round(client, params, submit, "an L-BFGS evaluation")

    return sums


def streamed_sums(net: Net, chunks: list, prepare) -> SumsFn:
    """Partition sums of dask chunks computed here, one chunk at a time (out of core).

    ``chunks``: ``(x, y, sw)`` delayed objects in row order; ``prepare`` turns each into
    training arrays (:class:`.data.Prepare`).  Memory holds one chunk at a time.
    """
    spec = spec_of(net)

    def sums(params):
        for x, y, sw in chunks:
            part = prepare(*dask.compute(x, y, sw, scheduler="threads"))
            yield tasks.partition_sums(spec, params, part)

    return sums
