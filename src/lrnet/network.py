"""A feed-forward network over one flat parameter buffer: pure forward and backward.

Parameters live in one contiguous array: first every weight matrix (layer by layer,
C order), then every intercept vector.  ``Layout.views`` returns per-layer views, so an
optimizer updates all parameters with a few vectorised operations over one array, the
L2 penalty is one dot product over the leading ``n_coef`` entries, and L-BFGS needs no
packing.  Gradients share the same layout.

Notation, for layer ``l = 0 .. L-1`` with input ``A_0 = X``::

    Z_{l+1} = A_l W_l + b_l          A_{l+1} = f(Z_{l+1})   (hidden layers)
    Z_L     = logits                 p = sigmoid(Z_L) or softmax(Z_L)

Backward, with ``delta_L = dLoss/dZ_L`` from :func:`lrnet.losses.loss_and_delta`::

    dW_l = A_l^T delta_{l+1}         db_l = sum_rows(delta_{l+1})
    delta_l = (delta_{l+1} W_l^T) * f'(Z_l)       (never for l = 0: no gradient wrt X)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .activations import ACTIVATIONS
from .losses import loss_and_delta


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
    derivative.  ``penalty`` (one value per weight) holds the L2 gradient term before
    it is added.  :meth:`rows` returns views of the first ``m`` rows, so even the last,
    ragged batch allocates nothing.

    Every operation on these buffers is a NumPy call.  BLAS level-1 routines through
    SciPy would wake SciPy's own OpenBLAS thread pool next to NumPy's; with two threads
    on two cores the two pools then fight for the cores (measured: MNIST training 8x
    slower).
    """

    _ROW_BUFFERS = ("tmp", "row", "row2", "row_weight")
    _LAYER_BUFFERS = ("acts", "deltas", "masks", "dropped")

    def __init__(self, layout: Layout, batch_size: int, dtype, dropout=None):
        units = layout.layer_units
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
                rng.random(out=mask, dtype=mask.dtype)
                np.less(mask, keep, out=mask)
                mask *= 1.0 / keep
        return self.masks


def _first_layer(X, W, out):
    """``out = X @ W`` for a dense or sparse ``X`` (sparse X is never densified)."""
    if sp.issparse(X):
        out[...] = X @ W
    else:
        np.matmul(X, W, out=out)


def _layer_input(l, X, acts, masks, dropped):
    """The input of layer ``l``: X, or the previous output (masked under dropout)."""
    if l == 0:
        return X
    if masks is not None and masks[l - 1] is not None:
        return dropped[l - 1]
    return acts[l - 1]


def forward(coefs, intercepts, X, acts, activation: str, masks=None, dropped=None):
    """Forward pass into the buffers ``acts``; return the logits ``acts[-1]``.

    ``masks[l]`` (optional, per hidden layer) multiplies ``f(Z)`` of hidden layer ``l``
    into ``dropped[l]``: inverted dropout.
    """
    f = ACTIVATIONS[activation][0]
    last = len(coefs) - 1
    for l, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        out = acts[l]
        if l == 0:
            _first_layer(X, W, out)
        else:
            np.matmul(_layer_input(l, X, acts, masks, dropped), W, out=out)
        out += b
        if l != last:
            f(out)
            if masks is not None and masks[l] is not None:
                np.multiply(out, masks[l], out=dropped[l])
    return acts[-1]


def backward(
    coefs, X, acts, deltas, gcoefs, gintercepts, activation: str, masks=None, dropped=None
) -> None:
    """Backpropagate ``deltas[-1]`` into the gradient views; overwrites hidden ``acts``.

    Under dropout the delta of a hidden layer is first multiplied by its mask, then by
    ``f'`` (from the unmasked output), as the chain rule through ``A * mask`` asks.
    """
    df = ACTIVATIONS[activation][1]
    for l in range(len(coefs) - 1, -1, -1):
        d = deltas[l]
        if l == 0 and sp.issparse(X):
            gcoefs[0][...] = X.T @ d
        else:
            np.matmul(_layer_input(l, X, acts, masks, dropped).T, d, out=gcoefs[l])
        np.sum(d, axis=0, out=gintercepts[l])
        if l > 0:
            np.matmul(d, coefs[l].T, out=deltas[l - 1])
            if masks is not None and masks[l - 1] is not None:
                deltas[l - 1] *= masks[l - 1]
            df(acts[l - 1], deltas[l - 1])


@dataclass(frozen=True)
class Net:
    """What the maths needs to know about a network: layout, activation, output link."""

    layout: Layout
    activation: str
    out_kind: str


def value_and_grad(
    net: Net,
    params: np.ndarray,
    grads: np.ndarray,
    X,
    Y: np.ndarray,
    sample_weight: np.ndarray | None,
    alpha: float,
    work: Workspace,
    masks: list | None = None,
) -> float:
    """Objective and its gradient (written into ``grads``) on one batch.

    Objective: ``sum_i w_i CE(y_i, p_i) / sum_i w_i + 0.5 * alpha * ||W||^2 / sum_i w_i``
    (``w_i = 1`` without weights), scikit-learn's.  Intercepts are not penalised.
    Its gradient wrt the weights gains ``alpha * W / sum_i w_i``.  ``masks`` are
    dropout masks with ``X.shape[0]`` rows (see :meth:`Workspace.draw_masks`).
    """
    m = X.shape[0]
    work = work.rows(m)
    coefs, intercepts = net.layout.views(params)
    gcoefs, gintercepts = net.layout.views(grads)
    if sample_weight is None:
        sw_sum, row_weight = float(m), None
    else:
        sw_sum = float(sample_weight.sum())
        row_weight = work.row_weight
        np.multiply(sample_weight[:, None], 1.0 / sw_sum, out=row_weight)
    if masks is not None:
        masks = [None if k is None else k[:m] for k in masks]
    Z = forward(coefs, intercepts, X, work.acts, net.activation, masks, work.dropped)
    loss = loss_and_delta(
        Z, Y, row_weight, net.out_kind, work.deltas[-1], work.tmp, work.row, work.row2
    )
    backward(
        coefs, X, work.acts, work.deltas, gcoefs, gintercepts, net.activation, masks, work.dropped
    )
    if alpha:
        loss += add_l2_penalty(net, params, grads, alpha / sw_sum, work.penalty)
    return loss


def add_l2_penalty(net: Net, params, grads, scale: float, scratch) -> float:
    """Add ``scale * W`` to the weight gradients; return the penalty ``0.5 scale ||W||^2``.

    ``scale`` is ``alpha / sum(sample_weight)``; intercepts are not penalised.
    """
    nc = net.layout.n_coef
    w = params[:nc]
    np.multiply(w, scale, out=scratch)
    grads[:nc] += scratch
    return 0.5 * scale * float(np.dot(w, w))


def full_batch_value_and_grad(
    net: Net,
    params: np.ndarray,
    grads: np.ndarray,
    X,
    Y: np.ndarray,
    sample_weight: np.ndarray | None,
    alpha: float,
    work: Workspace,
    block_grads: np.ndarray,
) -> float:
    """:func:`value_and_grad` over all of ``X``, in blocks of ``work.batch_size`` rows.

    Each block's forward and backward pass run back to back, so the block of ``X`` is
    still in cache when the backward pass reads it again: X travels from memory once
    per evaluation instead of twice, and the workspace holds one block, not all rows.
    Block ``b`` with weight sum ``S_b`` (its row count without weights) contributes
    ``S_b / S`` of its mean objective and gradient, which sums to the full objective.
    """
    n, block = X.shape[0], work.batch_size
    if n <= block:
        return value_and_grad(net, params, grads, X, Y, sample_weight, alpha, work)
    total = float(n) if sample_weight is None else float(sample_weight.sum())
    grads.fill(0.0)
    loss = 0.0
    for start in range(0, n, block):
        rows = slice(start, min(start + block, n))
        swb = None if sample_weight is None else sample_weight[rows]
        share = (rows.stop - start if swb is None else float(swb.sum())) / total
        if share == 0.0:
            continue  # every row of the block weighs zero
        loss += share * value_and_grad(net, params, block_grads, X[rows], Y[rows], swb, 0.0, work)
        block_grads *= share
        grads += block_grads
    if alpha:
        loss += add_l2_penalty(net, params, grads, alpha / total, work.penalty)
    return loss


#: rows per block of a large prediction: the hidden buffers stay in cache, memory bounded
#: bytes of the widest layer output of one prediction block
PREDICT_BLOCK_BYTES = 512 * 1024
#: up to this many rows, prediction is one pass (per-call overhead matters most)
MIN_PREDICT_CHUNK = 256


def predict_chunk(coefs, dtype) -> int:
    """Rows per prediction block: the widest layer output fills about 512 KiB.

    Measured on 10k rows, float32, 2 threads: 512 rows for 784-256-128-10 (8% faster
    than one pass) and 2048 for 20-64-64-1 (10% faster than 512 rows, 2x one pass).
    """
    widest = max(W.shape[1] for W in coefs)
    rows = PREDICT_BLOCK_BYTES // (widest * np.dtype(dtype).itemsize)
    return min(max(rows, MIN_PREDICT_CHUNK), 4096)


def predict_logits(coefs, intercepts, X, activation: str, chunk: int | None = None):
    """Logits for ``X`` in a freshly allocated array (the prediction path).

    Weights are cast to ``X``'s dtype, so float32 input predicts in float32.  More
    than ``chunk`` rows (default :func:`predict_chunk`) go through in blocks that
    reuse the same hidden-layer buffers: the memory stays bounded by the block, and
    the GEMMs run on cache-sized operands.
    """
    f = ACTIVATIONS[activation][0]
    last = len(coefs) - 1
    dtype = X.dtype
    if chunk is None:  # computed only for large inputs: single rows stay lean
        chunk = (
            MIN_PREDICT_CHUNK if X.shape[0] <= MIN_PREDICT_CHUNK else predict_chunk(coefs, dtype)
        )
    if X.shape[0] <= chunk:  # a few rows: per-call overhead matters more than buffers
        A = X
        for l, W in enumerate(coefs):
            A = A @ (W if W.dtype == dtype else W.astype(dtype))
            A += intercepts[l]
            if l != last:
                f(A)
        return np.asarray(A)
    Ws = [W.astype(dtype, copy=False) for W in coefs]
    n = X.shape[0]
    out = np.empty((n, Ws[-1].shape[1]), X.dtype)
    hidden = [np.empty((chunk, W.shape[1]), X.dtype) for W in Ws[:-1]]
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        A = X[start:stop]
        for l, (W, b) in enumerate(zip(Ws, intercepts, strict=True)):
            dst = out[start:stop] if l == last else hidden[l][: stop - start]
            if l == 0:
                _first_layer(A, W, dst)
            else:
                np.matmul(A, W, out=dst)
            dst += b
            if l != last:
                f(dst)
            A = dst
    return out
