"""Weight initialisation.  Every function takes an explicit ``numpy.random.Generator``.

``"glorot"`` (scikit-learn's, the default): weights and intercepts from ``U(-b, b)`` with
``b = sqrt(6 / (fan_in + fan_out))``, or ``sqrt(2 / (fan_in + fan_out))`` for the logistic.
``"he"`` (Kaiming uniform, for ReLU): weights from ``U(-b, b)`` with
``b = sqrt(6 / fan_in)``, intercepts zero.
``"auto"``: ``"he"`` for relu and leaky_relu, ``"glorot"`` otherwise.
"""

from __future__ import annotations

import numpy as np

INITS = ("glorot", "he", "auto")


def glorot_bounds(fan_in: int, fan_out: int, activation: str) -> tuple[float, float]:
    """Half-widths ``(weights, intercepts)`` of scikit-learn's Glorot uniform range."""
    factor = 2.0 if activation == "logistic" else 6.0
    b = float(np.sqrt(factor / (fan_in + fan_out)))
    return b, b


def he_bounds(fan_in: int, fan_out: int, activation: str) -> tuple[float, float]:
    """Half-widths of He uniform: ``sqrt(6 / fan_in)`` for weights, 0 for intercepts."""
    return float(np.sqrt(6.0 / fan_in)), 0.0


def resolve(scheme: str, activation: str) -> str:
    """The concrete scheme behind ``"auto"``."""
    if scheme == "auto":
        return "he" if activation in ("relu", "leaky_relu") else "glorot"
    return scheme


def init_flat(layout, activation: str, rng: np.random.Generator, dtype, scheme: str = "glorot"):
    """Return a new flat parameter buffer for ``layout``, filled layer by layer."""
    bounds_of = he_bounds if resolve(scheme, activation) == "he" else glorot_bounds
    flat = np.empty(layout.size, dtype=dtype)
    coefs, intercepts = layout.views(flat)
    for W, b in zip(coefs, intercepts, strict=True):
        bw, bb = bounds_of(W.shape[0], W.shape[1], activation)
        W[...] = rng.uniform(-bw, bw, W.shape)
        b[...] = rng.uniform(-bb, bb, b.shape) if bb else 0.0
    return flat
