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

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from . import activations
from .activations import Activation
from .kernels import Kernels, resolve
from .layout import Layout, Workspace
from .validation import all_finite

__all__ = [
    "Layout",
    "Net",
    "Workspace",
    "backward",
    "forward",
    "full_batch_value_and_grad",
    "predict_logits",
    "value_and_grad",
]


def _first_layer(X, W, out):
    """``out = X @ W`` for a dense or sparse ``X`` (sparse X is never densified)."""
    if isinstance(X, np.ndarray):  # cheaper than sp.issparse (1 us on a single row)
        np.matmul(X, W, out=out)
    else:
        out[...] = X @ W


def _layer_input(l, X, acts, masks, dropped):
    """The input of layer ``l``: X, or the previous output (masked under dropout)."""
    if l == 0:
        return X
    if masks is not None and masks[l - 1] is not None:
        return dropped[l - 1]
    return acts[l - 1]


def forward(
    coefs,
    intercepts,
    X,
    acts,
    activation,
    masks=None,
    dropped=None,
    pre=None,
    overflow=None,
    kernels: Kernels | None = None,
):
    """Forward pass into the buffers ``acts``; return the logits ``acts[-1]``.

    ``activation`` is a name or an :class:`~lrnet.activations.Activation`.
    ``masks[l]`` (optional, per hidden layer) multiplies ``f(Z)`` of hidden layer ``l``
    into ``dropped[l]``: inverted dropout.  ``pre[l]`` (for ``needs_z`` activations)
    receives ``Z`` of hidden layer ``l`` before ``f``.  ``overflow`` (prediction only):
    a list that gains a boolean row mask for each hidden layer whose pre-activation is
    not finite, for activations that can hide an overflow (see :func:`predict_logits`).
    ``kernels``: the set whose fused bias + activation body runs each hidden layer in
    one pass, when it has one (default: the reference's separate passes).
    """
    act = activations.get(activation)
    f = act.forward
    fused = None if kernels is None else kernels.layer_forward(act)
    check = overflow is not None and act.masks_overflow
    last = len(coefs) - 1
    for l, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        out = acts[l]
        if l == 0:
            _first_layer(X, W, out)
        else:
            np.matmul(_layer_input(l, X, acts, masks, dropped), W, out=out)
        mask = None if masks is None or l == last else masks[l]
        if l == last:
            out += b
        elif fused is not None:
            if check:
                rows = fused.checked(out, b)
                if rows is not None:
                    overflow.append(rows)
            else:
                fused(out, b, mask, None if mask is None else dropped[l])
        else:
            out += b
            if check and not _all_finite(out):
                overflow.append(~np.isfinite(out).all(axis=1))
            if pre is not None and pre[l] is not None:
                np.copyto(pre[l], out)
            f(out)
            if mask is not None:
                np.multiply(out, mask, out=dropped[l])
    return acts[-1]


def backward(
    coefs,
    X,
    acts,
    deltas,
    gcoefs,
    gintercepts,
    activation,
    masks=None,
    dropped=None,
    pre=None,
    kernels: Kernels | None = None,
) -> None:
    """Backpropagate ``deltas[-1]`` into the gradient views; overwrites hidden ``acts``.

    Under dropout the delta of a hidden layer is first multiplied by its mask, then by
    ``f'`` (from the unmasked output, or from ``pre`` for ``needs_z`` activations), as
    the chain rule through ``A * mask`` asks; ``kernels`` may fuse the two products.
    """
    act = activations.get(activation)
    df = act.backward
    fused = None if kernels is None else kernels.layer_backward(act)
    source = pre if act.needs_z else acts
    for l in range(len(coefs) - 1, -1, -1):
        d = deltas[l]
        if l == 0 and sp.issparse(X):
            gcoefs[0][...] = X.T @ d
        else:
            np.matmul(_layer_input(l, X, acts, masks, dropped).T, d, out=gcoefs[l])
        np.sum(d, axis=0, out=gintercepts[l])
        if l > 0:
            np.matmul(d, coefs[l].T, out=deltas[l - 1])
            mask = None if masks is None else masks[l - 1]
            if fused is not None:
                fused(source[l - 1], deltas[l - 1], mask)
                continue
            if mask is not None:
                deltas[l - 1] *= mask
            df(source[l - 1], deltas[l - 1])


@dataclass(frozen=True)
class Net:
    """What the maths needs to know about a network: layout, activation, output link.

    The activation pair and the output link's cross-entropy are taken from the kernel
    set (``kernels``, default :func:`lrnet.kernels.resolve`) once, when the ``Net`` is
    made, so the step loop never looks them up by name.
    """

    layout: Layout
    activation: str
    out_kind: str
    kernels: Kernels | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        kernels = self.kernels or resolve()
        object.__setattr__(self, "kernels", kernels)
        object.__setattr__(self, "act", kernels.activation(self.activation))
        object.__setattr__(self, "cross_entropy", kernels.cross_entropy[self.out_kind])
        if kernels.prepare is not None:
            kernels.prepare()

    def workspace(self, batch_size: int, dtype, dropout=None) -> Workspace:
        """A :class:`Workspace` for this network (with ``pre`` buffers when needed)."""
        return Workspace(
            self.layout,
            batch_size,
            dtype,
            dropout,
            self.act.needs_z,
            dropout_mask=self.kernels.dropout_mask,
        )


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
    Z = forward(
        coefs, intercepts, X, work.acts, net.act, masks, work.dropped, work.pre, None, net.kernels
    )
    loss = net.cross_entropy(Z, Y, row_weight, work.deltas[-1], work.tmp, work.row, work.row2)
    backward(
        coefs,
        X,
        work.acts,
        work.deltas,
        gcoefs,
        gintercepts,
        net.act,
        masks,
        work.dropped,
        work.pre,
        net.kernels,
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


#: bytes of all the layer outputs of one prediction block together
PREDICT_BLOCK_BYTES = 2 * 1024 * 1024
#: up to this many rows, prediction is one pass (per-call overhead matters most)
MIN_PREDICT_CHUNK = 256


def predict_chunk(coefs, dtype) -> int:
    """Rows per prediction block: every layer's output of the block fills about 2 MiB.

    Large blocks spread each GEMM's fixed costs (packing the weights, waking the BLAS
    threads) over more rows; small ones keep the block's outputs in cache between the
    GEMM, the bias add and the activation.  Measured on 10k float32 rows, 2 threads,
    steady-state calls (one allocation per block, see :func:`_block_buffers`), ms per
    call at 512 / 1024 / 2048 / 4096 rows: 784-256-128-10 32.5 / 32.2 / 34.8 / 35.7,
    20-64-64-1 1.88 / 1.60 / 1.45 / 1.48, 20-256-256-1 14.7 / 15.5 / 19.6 / 20.4; this
    rule gives 1330, 4064 and 1022 rows.  (The earlier rule, the widest layer alone at
    2 MiB, gave 2048, 4096 and 2048.)
    """
    per_row = sum(W.shape[1] for W in coefs) * np.dtype(dtype).itemsize
    return min(max(PREDICT_BLOCK_BYTES // per_row, MIN_PREDICT_CHUNK), 4096)


def predict_logits(
    coefs, intercepts, X, activation, chunk: int | None = None, kernels: Kernels | None = None
):
    """Logits for ``X`` in a freshly allocated array (the prediction path).

    Weights are cast to ``X``'s dtype, so float32 input predicts in float32.  More
    than ``chunk`` rows (default :func:`predict_chunk`) go through :func:`forward` in
    blocks that reuse the same hidden-layer buffers: the memory stays bounded by the
    block, and the GEMMs run on cache-sized operands.  ``kernels`` (default
    :func:`lrnet.kernels.resolve`) may add each bias and apply the activation in one
    pass.

    **Overflow.**  Whether an overflowing dot product comes out ``inf`` or ``NaN``
    depends on the BLAS kernel (one with FMA keeps ``inf`` where another computes
    ``inf - inf``), and relu, tanh and the logistic turn ``-inf`` or ``inf`` into finite
    values.  So every row whose hidden pre-activations or logits are not finite is
    recomputed by :func:`reference_logits`, which does not use BLAS: the result of
    such a row is the same for 1 row and for n rows, on any CPU.  Not covered: a row
    whose products exceed the float range with both signs (inputs near 1e38 in float32,
    1e308 in float64) can have a finite sum in one summation order and not in another,
    so BLAS may return it finite in one call (kept) and not in another (recomputed,
    possibly to NaN, an error).  Screening for that would need a bound on every row's
    partial sums, a pass over X and each hidden layer per call.
    """
    act = activations.get(activation)
    n = X.shape[0]
    dtype = X.dtype
    if chunk is None:  # computed only for large inputs: single rows stay lean
        chunk = MIN_PREDICT_CHUNK if n <= MIN_PREDICT_CHUNK else predict_chunk(coefs, dtype)
    if n <= chunk:  # a few rows: per-call overhead matters more than buffers
        # no job size: one block never starts a compiled set, but uses one already loaded
        return _predict_rows(coefs, intercepts, X, act, kernels or resolve())
    # a fit's work counts forward and backward (6 flops per parameter and row), a
    # prediction only the forward pass (2): the same flops start a compiled set
    kernels = kernels or resolve(work=n * sum(W.size for W in coefs) / 3)
    Ws = [W.astype(dtype, copy=False) for W in coefs]
    out = np.empty((n, Ws[-1].shape[1]), dtype)
    hidden = _block_buffers(chunk, [W.shape[1] for W in Ws[:-1]], dtype)
    overflow = []  # row masks of hidden layers that overflowed, block by block
    blocks = []
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        acts = [h[: stop - start] for h in hidden] + [out[start:stop]]
        found = len(overflow)
        forward(Ws, intercepts, X[start:stop], acts, act, overflow=overflow, kernels=kernels)
        blocks += [(start, stop)] * (len(overflow) - found)
    if overflow or not all_finite(out):
        _repair_overflow(coefs, intercepts, X, act, out, overflow, blocks)
    return out


def _block_buffers(rows: int, widths: list[int], dtype) -> list[np.ndarray]:
    """One ``(rows, width)`` buffer per hidden layer, all views of a single allocation.

    One block, not one per layer, because of how glibc's malloc returns memory: a
    freed buffer above its mmap threshold raises that threshold to the buffer's size
    and the trim threshold to twice it, so the next call's buffers come from the heap;
    but two or more freed buffers of that size at the top of the heap exceed the trim
    threshold, the heap is trimmed, and every call page-faults its buffers back in.
    Measured on the 20-64-64-1 model, 10k float32 rows in 4096-row blocks: 477 page
    faults and 3.7-4.2 ms per ``predict_proba`` with a buffer per layer, against none
    with this single block.
    """
    flat = np.empty(rows * sum(widths), dtype)
    out, start = [], 0
    for width in widths:
        out.append(flat[start : start + rows * width].reshape(rows, width))
        start += rows * width
    return out


def _predict_rows(coefs, intercepts, X, act: Activation, kernels: Kernels) -> np.ndarray:
    """:func:`predict_logits` for a few rows: the lean loop, with the same guard."""
    f, check = act.forward, act.masks_overflow
    fused = kernels.layer_forward(act)
    dtype = X.dtype
    last = len(coefs) - 1
    overflow = []
    A = X
    for l, W in enumerate(coefs):
        A = A @ (W if W.dtype == dtype else W.astype(dtype))
        if l != last and fused is not None:
            A = np.asarray(A)  # a sparse X's product may be a np.matrix
            if not check:
                fused(A, intercepts[l])
            elif (rows := fused.checked(A, intercepts[l])) is not None:
                overflow.append(rows)
            continue
        A += intercepts[l]
        if l != last:
            if check and not _all_finite(A):
                overflow.append(~np.isfinite(A).all(axis=1))
            f(A)
    Z = np.asarray(A)
    if overflow or not all_finite(Z):
        _repair_overflow(coefs, intercepts, X, act, Z, overflow, [(0, Z.shape[0])] * len(overflow))
    return Z


def _repair_overflow(coefs, intercepts, X, act, out, overflow, blocks) -> None:
    """Recompute, with :func:`reference_logits`, every row that overflowed somewhere."""
    bad = ~np.isfinite(out).all(axis=1)
    for (start, stop), rows in zip(blocks, overflow, strict=True):
        bad[start:stop] |= rows
    rows = np.flatnonzero(bad)
    if rows.size:
        out[rows] = reference_logits(coefs, intercepts, X[rows], act)


#: read-only vectors of ones, one per (width, dtype), for :func:`_all_finite`
_ONES: dict[tuple[int, np.dtype], np.ndarray] = {}


def _all_finite(A: np.ndarray) -> bool:
    """Every value of the 2-D ``A`` finite: row sums (one BLAS gemv) as a screen.

    A sum with an infinite or NaN term is never finite, whatever the kernel's order; a
    finite sum therefore proves every value finite.  A sum of huge finite values that
    overflows only sends the decision to the exact check.  About 0.5 us for one row:
    it runs on every hidden layer of every prediction, where
    :func:`lrnet.validation.all_finite` (which checks X and the logits) would allocate
    an ``isfinite`` mask.
    """
    key = (A.shape[1], A.dtype)
    ones = _ONES.get(key)
    if ones is None:
        ones = _ONES[key] = np.ones(A.shape[1], A.dtype)
        ones.flags.writeable = False
    sums = A.dot(ones)
    total = sums[0] if sums.size == 1 else sums.sum()
    return math.isfinite(total) or bool(np.isfinite(A).all())


#: values of one product block of :func:`reference_logits` (rows x inputs x outputs)
REFERENCE_BLOCK = 1 << 22


def reference_logits(coefs, intercepts, X, activation: Activation | str) -> np.ndarray:
    """Logits without BLAS: explicit products, positive and negative parts summed apart.

    The definition used for rows that overflow, in ``X``'s dtype.  Each unit is
    ``z = sum(t > 0) + sum(t < 0) + b`` over the products ``t = a * w`` (a zero factor
    gives 0, also against an infinite one).  It is ``NaN`` exactly when both the
    positive and the negative contributions overflow, or an input is ``NaN``, and
    ``+-inf`` when one of them does, whatever the order of the sums; so it does not
    depend on the CPU or on how many rows are predicted together.
    """
    act = activations.get(activation)
    dtype = X.dtype
    A = X.toarray() if sp.issparse(X) else np.asarray(X)
    last = len(coefs) - 1
    with np.errstate(over="ignore", invalid="ignore"):
        for l, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
            W = W.astype(dtype, copy=False)
            Z = np.empty((A.shape[0], W.shape[1]), dtype)
            block = max(1, REFERENCE_BLOCK // max(W.size, 1))
            for start in range(0, A.shape[0], block):
                a = A[start : start + block, :, None]
                T = a * W
                T[(a == 0) | (W == 0)] = 0.0
                z = np.where(T > 0, T, 0).sum(axis=1) + np.where(T < 0, T, 0).sum(axis=1)
                z += b
                z[np.isnan(T).any(axis=1)] = np.nan
                Z[start : start + block] = z
            if l != last:
                act.forward(Z)
            A = Z
    return A
