"""Hidden-layer activations: each forward rule sits next to its derivative.

These are the NumPy reference bodies; :mod:`lrnet.kernels` serves them (or compiled
versions of them) to the network, resolved once per fit.  Every entry of
:data:`ACTIVATIONS` is an :class:`Activation`, which unpacks as the pair
``(forward, backward)``; both work in place:

``forward(Z)``
    overwrites the pre-activation ``Z`` with ``f(Z)``.
``backward(A, delta)``
    multiplies ``delta`` by ``f'(z)`` written *from the output* ``A = f(z)``, as
    scikit-learn does (``delta *= A * (1 - A)`` for the logistic).  It may use ``A``
    as scratch space and overwrite it: the backward pass calls it only once the
    layer's output is no longer needed.  This is what keeps the step loop free of
    temporary arrays.

An activation whose derivative cannot be written from its output (exact GELU,
SiLU) declares ``needs_z=True``: the workspace then keeps a copy of the
pre-activation ``Z`` of each hidden layer, and ``backward`` receives ``Z`` instead of
``A`` (it may overwrite it too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

Forward = Callable[[np.ndarray], None]
Backward = Callable[[np.ndarray, np.ndarray], None]

#: slope of ``leaky_relu`` for negative inputs
LEAKY_SLOPE = 0.01


def identity(Z: np.ndarray) -> None:
    """f(z) = z."""


def identity_backward(A: np.ndarray, delta: np.ndarray) -> None:
    """f'(z) = 1: delta is unchanged."""


def logistic(Z: np.ndarray) -> None:
    """f(z) = 1 / (1 + exp(-z)), computed without overflow."""
    expit(Z, out=Z)


def logistic_backward(A: np.ndarray, delta: np.ndarray) -> None:
    """f'(z) = A (1 - A)."""
    delta *= A
    np.subtract(1.0, A, out=A)
    delta *= A


def tanh(Z: np.ndarray) -> None:
    """f(z) = tanh(z)."""
    np.tanh(Z, out=Z)


def tanh_backward(A: np.ndarray, delta: np.ndarray) -> None:
    """f'(z) = 1 - A**2."""
    np.square(A, out=A)
    np.subtract(1.0, A, out=A)
    delta *= A


#: read-only rows of zeros, one per (width, dtype), for :func:`relu`
_ZERO_ROWS: dict[tuple[int, np.dtype], np.ndarray] = {}


def _zero_row(width: int, dtype) -> np.ndarray:
    key = (width, np.dtype(dtype))
    row = _ZERO_ROWS.get(key)
    if row is None:
        row = _ZERO_ROWS[key] = np.zeros(width, dtype)
        row.flags.writeable = False
    return row


def relu(Z: np.ndarray) -> None:
    """f(z) = max(z, 0).

    Against a broadcast row of zeros rather than the scalar 0: NumPy 2.4's ``maximum``
    with a scalar operand is not vectorised (measured 2.8x slower for 1024 x 256
    float32, 2x for float64); the results are identical, NaN and -0.0 included.  Below
    about 2,000 values (a single-row prediction) the scalar call is cheaper.
    """
    if Z.size < 2048:
        np.maximum(Z, 0.0, out=Z)
    else:
        np.maximum(Z, _zero_row(Z.shape[-1], Z.dtype), out=Z)


def relu_backward(A: np.ndarray, delta: np.ndarray) -> None:
    """f'(z) = 1 where A > 0 else 0: the comparison, written into A as 0.0 / 1.0."""
    np.greater(A, 0.0, out=A)
    delta *= A


def leaky_relu(Z: np.ndarray) -> None:
    """f(z) = z if z > 0 else 0.01 z."""
    np.maximum(Z, LEAKY_SLOPE * Z, out=Z)


def leaky_relu_backward(A: np.ndarray, delta: np.ndarray) -> None:
    """f'(z) = 1 where A > 0 else 0.01, mapped from the comparison A > 0 in {0, 1}."""
    np.greater(A, 0.0, out=A)
    A *= 1.0 - LEAKY_SLOPE
    A += LEAKY_SLOPE
    delta *= A


@dataclass(frozen=True)
class Activation:
    """A forward rule, its derivative, and what the derivative reads.

    Unpacks and indexes as the pair ``(forward, backward)``.  ``needs_z``: the
    derivative takes the pre-activation ``Z`` rather than the output ``A``.
    ``masks_overflow``: ``forward`` can turn a non-finite value into a finite one
    (relu maps -inf to 0, tanh maps +-inf to +-1), so the prediction guard must look
    at the pre-activations (see :func:`lrnet.network.predict_logits`).
    """

    name: str
    forward: Forward
    backward: Backward
    needs_z: bool = False
    masks_overflow: bool = True

    def __iter__(self):
        return iter((self.forward, self.backward))

    def __getitem__(self, index: int):
        return (self.forward, self.backward)[index]

    def __len__(self) -> int:
        return 2


ACTIVATIONS: dict[str, Activation] = {
    "identity": Activation("identity", identity, identity_backward, masks_overflow=False),
    "logistic": Activation("logistic", logistic, logistic_backward),
    "tanh": Activation("tanh", tanh, tanh_backward),
    "relu": Activation("relu", relu, relu_backward),
    "leaky_relu": Activation("leaky_relu", leaky_relu, leaky_relu_backward, masks_overflow=False),
}


def get(name) -> Activation:
    """The registered activation ``name`` (an :class:`Activation` passes through)."""
    return name if isinstance(name, Activation) else ACTIVATIONS[name]
