"""The kernel layer: every elementwise body of training behind one interface.

A :class:`Kernels` set holds the hidden-layer activations (forward and derivative),
the cross-entropy of each output link (loss and output delta in one call) and the
optimizer updates.  The network, the heads and the optimizers take their bodies from
the set that :func:`resolve` returns once per fit; nothing looks a body up by name
inside the step loop.

A set may also fuse a hidden layer's elementwise work: ``Z = f(Z + b)`` with dropout's
mask applied in the same pass, and ``delta *= mask * f'(A)``; the dropout mask's
threshold, and the batch gather.  Where a set has no fused body, the network composes
the reference's.

Sets:

``"numba"``
    :mod:`lrnet.kernels.numba_`: compiled, one pass per body, elementwise loops on every
    core.  Bit-identical to the reference: the same operations in the same order.
``"numpy"``
    :mod:`lrnet.kernels.numpy_ref`, the reference: the NumPy code of
    :mod:`lrnet.activations`, :mod:`lrnet.losses` and :mod:`lrnet.optim`.

``LRNET_KERNELS=numpy`` in the environment forces the reference and
``LRNET_KERNELS=numba`` the compiled set.  The default, ``auto``, takes numba when it
imports and the work is worth its start-up, else NumPy (a missing or broken numba falls
back silently).  Importing numba and initialising its compiler target costs 0.6-1.2 s
once per process even with every kernel cached on disk, more than the fused kernels
save on a small fit, so ``auto`` loads it only for a fit whose ``work`` (parameters x
rows x epochs, the GEMMs' share of the time) reaches :data:`AUTO_MIN_WORK`, or when it
is already loaded.  The sets are bit-identical, so the choice changes only the speed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ..activations import ACTIVATIONS, Activation

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

    Optional fused bodies: ``hidden_forward`` / ``hidden_backward``: activation name ->
    a class built from the :class:`Activation`, whose instances compute
    ``f(Z, b, mask=None, dropped=None)`` (``Z = act(Z + b)``, ``dropped = Z * mask``;
    ``f.checked(Z, b)`` also returns the rows whose ``Z + b`` is not finite, or None)
    and ``g(A, delta, mask=None)`` (``delta *= mask * act'(A)``, ``A`` left intact);
    ``dropout_mask(U, keep)`` (uniform draws -> ``1/keep`` or 0, in place);
    ``gather(X, idx, out)`` (``out = X[idx]``); ``prepare()``, called once per fit
    (e.g. to match the thread count to BLAS's).
    """

    name: str
    activations: Mapping[str, Activation]
    cross_entropy: Mapping[str, Callable]
    updates: Mapping[str, Callable]
    hidden_forward: Mapping[str, Callable] = field(default_factory=lambda: MappingProxyType({}))
    hidden_backward: Mapping[str, Callable] = field(default_factory=lambda: MappingProxyType({}))
    dropout_mask: Callable | None = None
    gather: Callable | None = None
    prepare: Callable[[], object] | None = None

    def activation(self, name) -> Activation:
        """The activation ``name`` (an :class:`Activation` passes through)."""
        return name if isinstance(name, Activation) else self.activations[name]

    def update(self, optimizer: str, reference: Callable) -> Callable:
        """The update body of this set for ``optimizer``, or the NumPy ``reference``."""
        return self.updates.get(optimizer, reference)

    def layer_forward(self, act: Activation):
        """The fused ``Z = act(Z + b)`` body for ``act``, or None (compose the reference)."""
        return self._fused(self.hidden_forward, act)

    def layer_backward(self, act: Activation):
        """The fused ``delta *= mask * act'(A)`` body for ``act``, or None."""
        return self._fused(self.hidden_backward, act)

    def _fused(self, bodies, act: Activation):
        # only for the registry's own activation of that name: a user's Activation
        # object that reuses a name keeps its own bodies
        make = bodies.get(act.name)
        if make is None or act.needs_z or ACTIVATIONS.get(act.name) is not act:
            return None
        key = (id(bodies), act)
        body = _FUSED.get(key)
        if body is None:
            body = _FUSED[key] = make(act)
        return body


#: (bodies, activation) -> fused layer body, built once
_FUSED: dict = {}


def _numpy() -> Kernels:
    from .numpy_ref import KERNELS

    return KERNELS


def _numba() -> Kernels:
    try:
        from .numba_ import KERNELS
    except ImportError:
        raise
    except Exception as err:  # a broken numba install (e.g. NumPy too new for it)
        raise ImportError(f"numba kernels unavailable: {type(err).__name__}: {err}") from err
    return KERNELS


#: name -> loader of a kernel set, fastest first (``auto`` takes the first that loads)
SETS: dict[str, Callable[[], Kernels]] = {"numba": _numba, "numpy": _numpy}

#: ``auto`` loads numba for a fit of at least this many parameters x rows x epochs
#: (about 6e10 FLOPs of GEMM: a second of work at this machine's sgemm rate); below it,
#: numba's one-time start-up costs more than the fused kernels save (see the module
#: docstring).  MNIST's 784-256-128-10 for 3 epochs is 4.2e10; the digits that
#: ``lrnet train`` uses by default, about 2e9.
AUTO_MIN_WORK = 1e10

#: set name -> (its loader, the set it loaded): ``auto`` skips the import on later calls
_LOADED: dict[str, tuple[Callable[[], Kernels], Kernels]] = {}

#: the compiled sets, by the module that holds them (loaded: no start-up cost left)
_COMPILED = {"numba": "lrnet.kernels.numba_"}


def resolve(name: str | None = None, work: float | None = None) -> Kernels:
    """The kernel set ``name``, or the one ``$LRNET_KERNELS`` names (default ``auto``).

    ``work``: the size of the job (parameters x rows x epochs) for ``auto``, which
    starts a compiled set only for :data:`AUTO_MIN_WORK` or more, unless it is already
    loaded; without ``work``, ``auto`` uses a compiled set only if it is loaded.
    """
    name = name or os.environ.get(ENV, "") or "auto"
    if name == "auto":
        big = work is not None and work >= AUTO_MIN_WORK
        for set_name, loader in SETS.items():
            module = _COMPILED.get(set_name)
            if module is not None and not big and module not in sys.modules:
                continue  # not worth starting for this job
            loaded = _LOADED.get(set_name)
            if (
                loaded is not None
                and loaded[0] is loader
                and (module is None or sys.modules.get(module) is not None)
            ):
                return loaded[1]  # a single-row prediction resolves on every call
            try:
                kernels = loader()
            except ImportError:
                continue
            _LOADED[set_name] = (loader, kernels)
            return kernels
    if name not in SETS:
        raise ValueError(
            f"{ENV}={name!r} is not a kernel set; expected 'auto' or one of {sorted(SETS)}. "
            f"Unset {ENV}, or set it to 'numpy' for the reference implementation."
        )
    try:
        return SETS[name]()
    except ImportError as err:
        raise ImportError(
            f"{ENV}={name!r}, but that kernel set cannot be loaded ({err}). Install it "
            f"(pip install numba), or set {ENV}=auto to fall back to the NumPy kernels."
        ) from err
