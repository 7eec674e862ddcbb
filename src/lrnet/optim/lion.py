"""Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms").

The update is the sign of an interpolated momentum, with decoupled weight decay::

    c <- b1 m + (1 - b1) g
    p <- p (1 - lr wd) - lr sign(c)
    m <- b2 m + (1 - b2) g

Every step moves each parameter by exactly ``lr`` (or 0), so Lion wants a learning rate
3-10x smaller than AdamW's.  ``solver='lion'`` reads ``beta_1``, ``beta_2`` and
``weight_decay``; the paper's defaults are ``beta_1=0.9, beta_2=0.99``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .base import Optimizer


class LionState(NamedTuple):
    """Step count, the momentum and two scratch buffers."""

    count: int
    mu: np.ndarray
    scratch: np.ndarray
    scratch2: np.ndarray


def init(params: np.ndarray) -> LionState:
    """Zero momentum shaped like ``params``."""
    return LionState(0, np.zeros_like(params), np.empty_like(params), np.empty_like(params))


def update(
    params: np.ndarray,
    grads: np.ndarray,
    state: LionState,
    lr: float,
    beta_1: float = 0.9,
    beta_2: float = 0.99,
    weight_decay: float = 0.0,
) -> LionState:
    """Apply one step to ``params`` in place, allocating nothing; return the new state."""
    m, s, s2 = state.mu, state.scratch, state.scratch2
    lr = float(lr)
    np.multiply(grads, 1.0 - beta_1, out=s)
    np.multiply(m, beta_1, out=s2)
    s += s2  # c
    np.sign(s, out=s)
    if weight_decay:
        params *= 1.0 - lr * weight_decay
    s *= lr
    params -= s
    m *= beta_2
    np.multiply(grads, 1.0 - beta_2, out=s)
    m += s
    return state._replace(count=state.count + 1)


def lion(beta_1=0.9, beta_2=0.99, weight_decay=0.0, kernels=None) -> Optimizer:
    """Lion with bound hyperparameters; ``kernels`` may replace :func:`update`."""
    body = update if kernels is None else kernels.update("lion", update)

    def step(params, grads, state, lr):
        return body(params, grads, state, lr, beta_1, beta_2, weight_decay)

    return Optimizer("lion", init, step)
