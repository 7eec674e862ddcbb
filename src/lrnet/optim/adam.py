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

from typing import NamedTuple

import numpy as np


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
    """Apply one step to ``params`` in place and return the new state."""
    t = state.count + 1
    m, v, s = state.mu, state.nu, state.scratch
    if weight_decay:
        params *= 1.0 - lr * weight_decay
    m *= beta_1
    np.multiply(grads, 1.0 - beta_1, out=s)
    m += s
    v *= beta_2
    np.multiply(grads, grads, out=s)
    s *= 1.0 - beta_2
    v += s
    np.sqrt(v, out=s)
    s *= 1.0 / np.sqrt(1.0 - beta_2**t)
    s += epsilon
    np.divide(m, s, out=s)
    s *= lr / (1.0 - beta_1**t)
    params -= s
    return state._replace(count=t)
