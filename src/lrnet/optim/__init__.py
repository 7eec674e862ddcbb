"""Optimizers as ``init(params) -> state`` / ``update(params, grads, state, lr) -> state`` pairs.

Each works in place over the flat parameter buffer (see :mod:`lrnet.network`): the
arrays in the state are mutated, and a new state tuple carrying the step count is
returned, as in optax.
"""

from . import adam, sgd

__all__ = ["adam", "sgd"]
