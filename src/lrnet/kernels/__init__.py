"""The kernel layer: every elementwise body of training behind one interface.

A :class:`Kernels` set holds the hidden-layer activations (forward and derivative),
the cross-entropy of each output link (loss and output delta in one call) and the
optimizer updates.  The network, the heads and the optimizers take their bodies from
the set that :func:`resolve` returns once per fit; nothing looks a body up by name
inside the step loop.

Sets:

``"numpy"``
    :mod:`lrnet.kernels.numpy_ref`, the reference: the NumPy code of
    :mod:`lrnet.activations`, :mod:`lrnet.losses` and :mod:`lrnet.optim`.

A compiled set (numba) plugs in by adding an entry to :data:`SETS` with the same
fields.  ``LRNET_KERNELS=numpy`` in the environment forces the reference; the
default, ``auto``, takes the fastest set available.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..activations import Activation

#: environment variable that chooses the kernel set
ENV = "LRNET_KERNELS"


@dataclass(frozen=True)
class Kernels:
    """One implementation of every elementwise body.

    ``activations``: name -> :class:`~lrnet.activations.Activation`;
    ``cross_entropy``: output link (``"logistic"``, ``"softmax"``) ->
    ``f(Z, Y, row_weight, delta, tmp, row, row2) -> loss`` (see
    :func:`lrnet.losses.loss_and_delta`); ``updates``: optimizer module name -> an
    in-place update body with the signature of that module's ``update``, for the
    optimizers this set implements (the others use their module's NumPy body).
    """

    name: str
    activations: Mapping[str, Activation]
    cross_entropy: Mapping[str, Callable]
    updates: Mapping[str, Callable]

    def activation(self, name) -> Activation:
        """The activation ``name`` (an :class:`Activation` passes through)."""
        return name if isinstance(name, Activation) else self.activations[name]

    def update(self, optimizer: str, reference: Callable) -> Callable:
        """The update body of this set for ``optimizer``, or the NumPy ``reference``."""
        return self.updates.get(optimizer, reference)


def _numpy() -> Kernels:
    from .numpy_ref import KERNELS

    return KERNELS


#: name -> loader of a kernel set, fastest first (``auto`` takes the first that loads)
SETS: dict[str, Callable[[], Kernels]] = {"numpy": _numpy}


def resolve(name: str | None = None) -> Kernels:
    """The kernel set ``name``, or the one ``$LRNET_KERNELS`` names (default ``auto``)."""
    name = name or os.environ.get(ENV, "") or "auto"
    if name == "auto":
        for loader in SETS.values():
            try:
                return loader()
            except ImportError:
                continue
    if name not in SETS:
        raise ValueError(
            f"{ENV}={name!r} is not a kernel set; expected 'auto' or one of {sorted(SETS)}. "
            f"Unset {ENV}, or set it to 'numpy' for the reference implementation."
        )
    return SETS[name]()
