"""Stochastic gradient descent with (Nesterov) momentum, in scikit-learn's form.

With velocity ``v`` (zero at start), learning rate ``lr`` and momentum ``mu``::

    v <- mu v - lr g
    p <- p + v                       (classical momentum)
    p <- p + mu v - lr g             (Nesterov, using the new v)

For a constant ``lr`` this is the same sequence of parameters as ``torch.optim.SGD``
with ``momentum=mu`` (and ``nesterov=True``), whose buffer is ``-v / lr``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._blas import axpy


class SGDState(NamedTuple):
    """Velocity (zero while ``momentum == 0``)."""

    velocity: np.ndarray


def init(params: np.ndarray) -> SGDState:
    """Zero velocity shaped like ``params``."""
    return SGDState(np.zeros_like(params))


def update(
    params: np.ndarray,
    grads: np.ndarray,
    state: SGDState,
    lr: float,
    momentum: float = 0.9,
    nesterov: bool = True,
) -> SGDState:
    """Apply one step to ``params`` in place: BLAS axpy passes, no temporary array."""
    v = state.velocity
    lr = float(lr)
    if momentum:
        v *= momentum
        axpy(grads, v, -lr)
        if nesterov:
            axpy(v, params, momentum)
            axpy(grads, params, -lr)
        else:
            params += v
    else:
        axpy(grads, params, -lr)
    return state
