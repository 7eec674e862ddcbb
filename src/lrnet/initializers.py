"""Weight initialisation.  Every function takes an explicit ``numpy.random.Generator``."""

from __future__ import annotations

import numpy as np


def glorot_bound(fan_in: int, fan_out: int, activation: str) -> float:
    """Half-width of scikit-learn's Glorot uniform range.

    ``sqrt(6 / (fan_in + fan_out))``, or ``sqrt(2 / (fan_in + fan_out))`` for the
    logistic activation, exactly as ``MLPClassifier`` initialises.
    """
    factor = 2.0 if activation == "logistic" else 6.0
    return float(np.sqrt(factor / (fan_in + fan_out)))


def he_bound(fan_in: int, fan_out: int, activation: str) -> float:
    """Half-width of He (Kaiming) uniform: ``sqrt(6 / fan_in)``, suited to ReLU."""
    return float(np.sqrt(6.0 / fan_in))


INITIALIZERS = {"glorot": glorot_bound, "he": he_bound}


def init_flat(layout, activation: str, rng: np.random.Generator, dtype, scheme: str = "glorot"):
    """Return a new flat parameter buffer for ``layout``, filled layer by layer.

    Weights and intercepts of layer ``l`` are drawn from ``U(-b, b)`` with the
    scheme's bound ``b``, as scikit-learn does.
    """
    bound_of = INITIALIZERS[scheme]
    flat = np.empty(layout.size, dtype=dtype)
    coefs, intercepts = layout.views(flat)
    for W, b in zip(coefs, intercepts, strict=True):
        bound = bound_of(W.shape[0], W.shape[1], activation)
        W[...] = rng.uniform(-bound, bound, W.shape)
        b[...] = rng.uniform(-bound, bound, b.shape)
    return flat
