"""Where a network's numbers live: the flat parameter buffer and the per-batch buffers.

:class:`Layout` maps the flat parameter buffer (every weight matrix, layer by layer
in C order, then every intercept vector) to per-layer views; :class:`Workspace` holds
the preallocated activations, deltas, dropout masks and scratch rows that a training
step reuses, so the step loop allocates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Layout:
    """Shapes and offsets of every layer inside the flat parameter buffer."""

    layer_units: tuple[int, ...]

    @property
    def n_layers(self) -> int:
        """Number of weight layers (hidden layers + 1)."""
        return len(self.layer_units) - 1

    @property
    def n_coef(self) -> int:
        """Number of weights (the penalised part, at the front of the buffer)."""
        u = self.layer_units
        return sum(u[i] * u[i + 1] for i in range(self.n_layers))

    @property
    def size(self) -> int:
        """Total number of parameters."""
        return self.n_coef + sum(self.layer_units[1:])

    def views(self, flat: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per-layer ``(coefs, intercepts)`` views into ``flat``; no copy."""
        u, coefs, intercepts = self.layer_units, [], []
        start = 0
        for i in range(self.n_layers):
            end = start + u[i] * u[i + 1]
            coefs.append(flat[start:end].reshape(u[i], u[i + 1]))
            start = end
        for i in range(self.n_layers):
            end = start + u[i + 1]
            intercepts.append(flat[start:end])
            start = end
        return coefs, intercepts

    def pack(self, coefs, intercepts, dtype) -> np.ndarray:
        """Copy per-layer arrays into a new flat buffer, checking every shape."""
        flat = np.empty(self.size, dtype=dtype)
        W_views, b_views = self.views(flat)
        if len(coefs) != self.n_layers or len(intercepts) != self.n_layers:
            raise ValueError(
                f"coefs_ and intercepts_ must hold {self.n_layers} arrays each for layers "
                f"{list(self.layer_units)}, got {len(coefs)} and {len(intercepts)}."
            )
        for dst, src in zip(W_views + b_views, list(coefs) + list(intercepts), strict=True):
            src = np.asarray(src)
            if src.shape != dst.shape:
                raise ValueError(
                    f"A warm-start parameter has shape {src.shape}, expected {dst.shape} "
                    f"for layers {list(self.layer_units)}. Assign arrays of the expected "
                    "shapes or set warm_start=False."
                )
            dst[...] = src
        return flat


class Workspace:
    """Preallocated per-batch buffers, reused by every step.

    ``acts[l]`` holds ``A_{l+1}`` (the last one: the logits) and ``deltas[l]`` holds
    ``delta_{l+1}``, each with ``batch_size`` rows.  With dropout on hidden layer ``l``,
    ``masks[l]`` holds the scaled keep mask (``0`` or ``1 / keep``) and ``dropped[l]``
    the masked output that feeds the next layer; ``acts[l]`` keeps ``f(Z)`` for the
    derivative.  For an activation whose derivative needs the pre-activation
    (``needs_z``), ``pre[l]`` keeps ``Z`` of hidden layer ``l``.  ``penalty`` (one value
    per weight) holds the L2 gradient term before it is added.  :meth:`rows` returns
    views of the first ``m`` rows, so even the last, ragged batch allocates nothing.
    ``dropout_mask(U, keep)`` (a kernel set's, optional) turns the uniform draws into
    the mask in one pass.

    Every operation on these buffers is a NumPy call.  BLAS level-1 routines through
    SciPy would wake SciPy's own OpenBLAS thread pool next to NumPy's; with two threads
    on two cores the two pools then fight for the cores (measured: MNIST training 8x
    slower).
    """

    _ROW_BUFFERS = ("tmp", "row", "row2", "row_weight")
    _LAYER_BUFFERS = ("acts", "deltas", "masks", "dropped", "pre")

    def __init__(
        self, layout: Layout, batch_size: int, dtype, dropout=None, needs_z=False, dropout_mask=None
    ):
        units = layout.layer_units
        self.dropout_mask = dropout_mask
        k = units[-1]
        self.batch_size = batch_size
        self.acts = [np.empty((batch_size, u), dtype) for u in units[1:]]
        self.deltas = [np.empty((batch_size, u), dtype) for u in units[1:]]
        rates = dropout or [0.0] * (layout.n_layers - 1)
        self.masks = [
            np.empty((batch_size, u), dtype) if r else None
            for u, r in zip(units[1:-1], rates, strict=True)
        ]
        self.dropped = [None if m is None else np.empty_like(m) for m in self.masks]
        self.pre = [np.empty((batch_size, u), dtype) if needs_z else None for u in units[1:-1]]
        self.tmp = np.empty((batch_size, k), dtype)
        self.row = np.empty((batch_size, 1), dtype)
        self.row2 = np.empty((batch_size, 1), dtype)
        self.row_weight = np.empty((batch_size, 1), dtype)
        self.penalty = np.empty(layout.n_coef, dtype)

    def rows(self, m: int) -> Workspace:
        """A view of this workspace restricted to the first ``m`` rows."""
        if m == self.batch_size:
            return self
        view = object.__new__(Workspace)
        view.batch_size = m
        view.penalty = self.penalty
        view.dropout_mask = self.dropout_mask
        for name in self._LAYER_BUFFERS:
            setattr(view, name, [None if a is None else a[:m] for a in getattr(self, name)])
        for name in self._ROW_BUFFERS:
            setattr(view, name, getattr(self, name)[:m])
        return view

    def draw_masks(self, rng: np.random.Generator, dropout) -> list | None:
        """Fill the dropout masks with fresh draws: ``1 / keep`` with probability ``keep``.

        Returns the masks to pass to :func:`value_and_grad`, or ``None`` without dropout.
        """
        if not any(m is not None for m in self.masks):
            return None
        for mask, rate in zip(self.masks, dropout, strict=True):
            if mask is not None:
                keep = 1.0 - rate
                rng.random(out=mask, dtype=mask.dtype)  # the draws: NumPy's stream
                if self.dropout_mask is not None:
                    self.dropout_mask(mask, keep)
                else:
                    np.less(mask, keep, out=mask)
                    mask *= 1.0 / keep
        return self.masks
