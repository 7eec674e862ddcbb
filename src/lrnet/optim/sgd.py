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

from .base import Optimizer


class SGDState(NamedTuple):
    """Velocity, plus one scratch buffer so that a step allocates nothing."""

    velocity: np.ndarray
    scratch: np.ndarray


def init(params: np.ndarray) -> SGDState:
    """Zero velocity shaped like ``params``."""
    return SGDState(np.zeros_like(params), np.empty_like(params))


def update(
    params: np.ndarray,
    grads: np.ndarray,
    state: SGDState,
    lr: float,
    momentum: float = 0.9,
    nesterov: bool = True,
) -> SGDState:
    """Apply one step to ``params`` in place, in ``params``' dtype, allocating nothing."""
    v, s = state
    lr = float(lr)
    np.multiply(grads, -lr, out=s)  # s = -lr g
    v *= momentum
    v += s
    if nesterov and momentum:
        params += s
        np.multiply(v, momentum, out=s)
        params += s
    else:
        params += v
    return state


def sgd(momentum=0.9, nesterov=True, kernels=None) -> Optimizer:
    """SGD with bound (Nesterov) momentum; ``kernels`` may replace :func:`update`."""
    body = update if kernels is None else kernels.update("sgd", update)

    def step(params, grads, state, lr):
        return body(params, grads, state, lr, momentum, nesterov)

    return Optimizer("sgd", init, step)
