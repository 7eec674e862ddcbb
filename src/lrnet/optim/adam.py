"""Adam and AdamW (Kingma & Ba 2015; Loshchilov & Hutter 2019).

Adam is AdamW with zero decoupled weight decay.  With step ``t`` (from 1)::

    p <- p (1 - lr wd)                                   (AdamW only)
    m <- b1 m + (1 - b1) g
    v <- b2 v + (1 - b2) g^2
    p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

This is Algorithm 1 of the paper and ``torch.optim.Adam``/``AdamW`` exactly.
scikit-learn folds the bias corrections into the step size, which moves ``eps``
by a factor ``sqrt(1 - b2^t)``; the difference vanishes for the default ``eps=1e-8``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .base import Optimizer


class AdamState(NamedTuple):
    """Step count, first and second moments, and a scratch buffer."""

    count: int
    mu: np.ndarray
    nu: np.ndarray
    scratch: np.ndarray


def init(params: np.ndarray) -> AdamState:
    """Zero moments shaped like ``params``."""
    return AdamState(0, np.zeros_like(params), np.zeros_like(params), np.empty_like(params))


def update(
    params: np.ndarray,
    grads: np.ndarray,
    state: AdamState,
    lr: float,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-8,
    weight_decay: float = 0.0,
) -> AdamState:
    """Apply one step to ``params`` in place and return the new state.

    Eleven passes over the flat buffers and no temporary array, all in NumPy: BLAS
    level-1 calls through SciPy would wake SciPy's own OpenBLAS thread pool next to
    NumPy's, and with two threads on two cores the pools then fight for the cores
    (MNIST training measured 8x slower).  Every scalar is a Python float, so float32
    buffers are updated in float32 (a NumPy float64 scalar would make each operation
    compute in float64).  The step is folded into the
    denominator: ``m / ((sqrt(v) / c2 + eps) / step)`` equals
    ``step * m / (sqrt(v) / c2 + eps)``.
    """
    t = state.count + 1
    m, v, s = state.mu, state.nu, state.scratch
    lr = float(lr)
    step = lr / (1.0 - beta_1**t)
    c2 = math.sqrt(1.0 - beta_2**t)
    if weight_decay:
        params *= 1.0 - lr * weight_decay
    m *= beta_1
    np.multiply(grads, 1.0 - beta_1, out=s)
    m += s
    np.square(grads, out=s)
    v *= beta_2
    s *= 1.0 - beta_2
    v += s
    np.sqrt(v, out=s)
    s *= 1.0 / (c2 * step)
    s += epsilon / step
    np.divide(m, s, out=s)
    params -= s
    return state._replace(count=t)


def adam(beta_1=0.9, beta_2=0.999, epsilon=1e-8, weight_decay=0.0, kernels=None) -> Optimizer:
    """Adam (``weight_decay=0``) or AdamW with bound hyperparameters.

    ``kernels``: the fit's kernel set, which may replace :func:`update`.
    """
    body = update if kernels is None else kernels.update("adam", update)

    def step(params, grads, state, lr):
        return body(params, grads, state, lr, beta_1, beta_2, epsilon, weight_decay)

    return Optimizer("adamw" if weight_decay else "adam", init, step)
