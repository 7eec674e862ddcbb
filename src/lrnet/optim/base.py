"""The optimizer interface: a builder binds hyperparameters, as in optax.

``adam(beta_1, beta_2, epsilon, weight_decay)`` returns an :class:`Optimizer` whose
``init(params)`` makes the state and whose ``update(params, grads, state, lr)`` applies
one step to ``params`` in place and returns the new state.  The learning rate is an
argument of ``update`` because the schedules (:mod:`lrnet.optim.schedules`) set it
per step or per epoch.  The registry of solver names lives in :mod:`lrnet.optim`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Optimizer:
    """A bound ``init`` / ``update`` pair over the flat parameter buffer."""

    name: str
    init: Callable[[np.ndarray], object]
    update: Callable[[np.ndarray, np.ndarray, object, float], object]
