"""The reference kernel set: today's NumPy bodies, unchanged.

Each body lives next to its maths (micrograd's rule): the activations in
:mod:`lrnet.activations`, the cross-entropies in :mod:`lrnet.losses`, the optimizer
updates in :mod:`lrnet.optim`.  This module only gathers them into one
:class:`~lrnet.kernels.Kernels`, so a compiled set can replace any of them and be
tested against them.
"""

from __future__ import annotations

from types import MappingProxyType

from ..activations import ACTIVATIONS
from ..losses import CROSS_ENTROPY
from . import Kernels

KERNELS = Kernels(
    name="numpy",
    # the live registry: an activation registered later is served too
    activations=MappingProxyType(ACTIVATIONS),
    cross_entropy=MappingProxyType(dict(CROSS_ENTROPY)),
    # every optimizer module's own ``update`` is its reference body
    updates=MappingProxyType({}),
)
