"""The compiled kernel set: numba, each elementwise body in one pass, on every core.

Every body here computes the same IEEE operations, in the same order and the same
dtype, as its NumPy reference (:mod:`lrnet.activations`, :mod:`lrnet.losses`,
:mod:`lrnet.optim`), so most of them are bit-identical to it:

=====================================  ==============================================
body                                   against the reference
=====================================  ==============================================
Adam / AdamW, SGD (momentum, Nesterov)  bit-identical (one pass instead of 5-11)
Lion                                    bit-identical
bias + relu / leaky_relu / identity /   bit-identical, dropout's mask applied in the
logistic                                same pass
derivative x delta (every activation)   bit-identical, dropout's mask in the same pass
dropout mask (threshold + scale)        bit-identical; the uniform draws stay NumPy's
                                        ``Generator.random``, so the stream is the same
batch gather                            bit-identical (a copy)
softmax / sigmoid cross-entropy +       bit-identical: the arithmetic in two or three
output delta                            passes (sums in NumPy's pairwise order), each
                                        ``exp``/``log``/``log1p`` by NumPy's ufunc
=====================================  ==============================================

The tanh forward stays NumPy's: without Intel's SVML (not in numba's wheels) numba
calls libm's scalar ``tanhf``/``tanh`` per value, measured 20x (float32) and 4x
(float64) slower than NumPy's SIMD ufunc on a 128 x 256 block, which a saved pass does
not repay.  The logistic's ``1 / (1 + exp(-z))`` with libm's ``exp`` is what SciPy's
``expit`` computes: bit-identical, and 15% faster even before the fusion.

fastmath stays off: no reassociation and no fused multiply-add, which is what keeps the
bodies bit-identical.  Floating-point constants reach the kernels as scalars of the
array's dtype (never a float64 literal), so float32 buffers are computed in float32,
as NumPy does with a Python float operand.

**Threads.**  Every parallel loop is elementwise (no reduction is split between
threads), so the results do not depend on the thread count.  Buffers of at least
:data:`PARALLEL_MIN` values run on :func:`threads` threads (``prange``); smaller ones in
one thread, where waking the pool costs more than it saves.  :func:`match_blas` sets
numba's thread count to NumPy's BLAS thread count once per fit (the GEMMs and the
elementwise work alternate, so the two pools take turns on the same cores).

**Compilation** is lazy (the first call of each body, per dtype) and cached on disk
(``cache=True``): only the first run on a machine pays for it.
"""

from __future__ import annotations

import os
import types
from types import MappingProxyType

import numba
import numpy as np
from numba import njit, prange

from ..activations import ACTIVATIONS, LEAKY_SLOPE, Activation
from ..losses import sigmoid_cross_entropy as _reference_sigmoid
from ..losses import softmax_cross_entropy as _reference_softmax
from . import Kernels

#: a buffer with at least this many values is split across the threads.  Waking the
#: sleeping pool costs about 35 us here, and a single thread does Adam over 2^17
#: float32 values in 50 us, 2^19 in 180 us: below 2^19 a second thread cannot repay
#: the wake-up (see the README's "Compiled kernels")
PARALLEL_MIN = 1 << 19

_OPTS = {"cache": True, "nogil": True, "error_model": "numpy"}


def _compile(body):
    """``(one thread, parallel)`` compiled versions of ``body`` (lazy, cached).

    The parallel one compiles a copy under another name: numba's on-disk cache keys an
    entry by the function and its signature, not by ``parallel``, so the two versions
    of one function would load each other's code.
    """
    twin = types.FunctionType(
        body.__code__, body.__globals__, body.__name__ + "_parallel", body.__defaults__
    )
    twin.__qualname__ = body.__qualname__ + "_parallel"
    return njit(**_OPTS)(body), njit(parallel=True, **_OPTS)(twin)


# ---------------------------------------------------------------------------- threads
_BLAS = None  # NumPy's BLAS controllers (threadpoolctl), found once


def _numpy_blas():
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        numpy_dir = os.path.dirname(np.__file__)
        _BLAS = [
            lib
            for lib in ThreadpoolController().lib_controllers
            if lib.user_api == "blas" and lib.filepath.startswith(numpy_dir)
        ]
    return _BLAS


def threads() -> int:
    """Threads of the parallel loops: :func:`match_blas`'s count, or numba's default."""
    return _THREADS or numba.config.NUMBA_NUM_THREADS


def match_blas() -> int:
    """Use as many threads as NumPy's BLAS (capped by ``NUMBA_NUM_THREADS``); return it.

    The GEMMs (BLAS) and the elementwise loops (numba) alternate within a step, so both
    pools get the same cores in turn.  Where NumPy's BLAS cannot be found, numba keeps
    its default (``NUMBA_NUM_THREADS``, all cores).
    """
    global _THREADS
    blas = _numpy_blas()
    if blas:
        n = max(lib.num_threads for lib in blas)
        _THREADS = max(1, min(n, numba.config.NUMBA_NUM_THREADS))
    return threads()


#: threads of the parallel loops, set by :func:`match_blas` (None: numba's default)
_THREADS = None


def _body(pair, n):
    """The version of a body for ``n`` values: parallel from :data:`PARALLEL_MIN` on.

    The pool is started (and its size set) only when a parallel loop first runs, so a
    small problem never starts it.
    """
    if n < PARALLEL_MIN:
        return pair[0]
    want = _THREADS or numba.config.NUMBA_NUM_THREADS
    if want <= 1:
        return pair[0]
    if _POOL_PID is None:
        _start_pool()
    elif _POOL_PID != os.getpid():
        # a child forked after the parent started its pool: GNU OpenMP is not fork-safe
        # (numba would abort the child), so the child stays on one thread
        return pair[0]
    if numba.get_num_threads() != want:
        numba.set_num_threads(want)
    return pair[1]


#: the process that started numba's thread pool (None: not started)
_POOL_PID = None


def _start_pool() -> None:
    """Start numba's thread pool with threads that sleep, rather than spin, when idle.

    Between two parallel loops a step runs the GEMMs on OpenBLAS's threads.  GNU
    OpenMP's threads (numba's default pool where TBB is missing) spin for a while after
    each loop, on the very cores the GEMM needs: the contention that the README
    measured at 8x for two BLAS pools.  ``OMP_WAIT_POLICY=PASSIVE`` makes them sleep;
    it is set only when neither it nor ``GOMP_SPINCOUNT`` is set, and only affects an
    OpenMP runtime loaded after this point (numba's, loaded when its pool starts).
    """
    global _POOL_PID
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    numba.get_num_threads()  # starts the pool
    _POOL_PID = os.getpid()


# ---------------------------------------------------------------------------- optimizers
def _adam_body(p, g, m, v, b1, c1, b2, c2, a, e, decay, wd):
    for i in prange(p.size):
        pi = p[i]
        if wd:
            pi = pi * decay
        gi = g[i]
        mi = m[i] * b1 + gi * c1
        vi = v[i] * b2 + (gi * gi) * c2
        m[i] = mi
        v[i] = vi
        p[i] = pi - mi / (np.sqrt(vi) * a + e)


_ADAM = _compile(_adam_body)


def adam_update(params, grads, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-8, weight_decay=0.0):
    """:func:`lrnet.optim.adam.update` in one pass; bit-identical to it."""
    import math

    t = state.count + 1
    lr = float(lr)
    step = lr / (1.0 - beta_1**t)
    c2 = math.sqrt(1.0 - beta_2**t)
    d = params.dtype.type
    _body(_ADAM, params.size)(
        params,
        grads,
        state.mu,
        state.nu,
        d(beta_1),
        d(1.0 - beta_1),
        d(beta_2),
        d(1.0 - beta_2),
        d(1.0 / (c2 * step)),
        d(epsilon / step),
        d(1.0 - lr * weight_decay),
        bool(weight_decay),
    )
    return state._replace(count=t)


def _sgd_body(p, g, v, neg_lr, mu, nesterov):
    for i in prange(p.size):
        s = g[i] * neg_lr
        vi = v[i] * mu + s
        v[i] = vi
        if nesterov:
            p[i] = (p[i] + s) + vi * mu
        else:
            p[i] = p[i] + vi


_SGD = _compile(_sgd_body)


def sgd_update(params, grads, state, lr, momentum=0.9, nesterov=True):
    """:func:`lrnet.optim.sgd.update` in one pass; bit-identical to it."""
    d = params.dtype.type
    _body(_SGD, params.size)(
        params, grads, state.velocity, d(-float(lr)), d(momentum), bool(nesterov and momentum)
    )
    return state


def _lion_body(p, g, m, c1, b1, c2, b2, lr, decay, wd, one, zero):
    for i in prange(p.size):
        gi = g[i]
        c = gi * c1 + m[i] * b1
        s = one if c > zero else (-one if c < zero else (zero if c == zero else c))
        pi = p[i]
        if wd:
            pi = pi * decay
        p[i] = pi - s * lr
        m[i] = m[i] * b2 + gi * c2


_LION = _compile(_lion_body)


def lion_update(params, grads, state, lr, beta_1=0.9, beta_2=0.99, weight_decay=0.0):
    """:func:`lrnet.optim.lion.update` in one pass; bit-identical to it."""
    d = params.dtype.type
    lr = float(lr)
    _body(_LION, params.size)(
        params,
        grads,
        state.mu,
        d(1.0 - beta_1),
        d(beta_1),
        d(1.0 - beta_2),
        d(beta_2),
        d(lr),
        d(1.0 - lr * weight_decay),
        bool(weight_decay),
        d(1.0),
        d(0.0),
    )
    return state._replace(count=state.count + 1)


# ---------------------------------------------------------------------------- layers
#: activation name -> code of the fused layer bodies
IDENTITY, RELU, LEAKY_RELU, LOGISTIC, TANH = range(5)
CODES = {"identity": IDENTITY, "relu": RELU, "leaky_relu": LEAKY_RELU, "logistic": LOGISTIC}
BACKWARD_CODES = {**CODES, "tanh": TANH}


def _hidden_forward_body(Z, b, code, slope, mask, dropped, bad):
    """``Z = f(Z + b)`` (and ``dropped = Z * mask``; ``bad[i]``: row i not finite).

    Returns the number of rows flagged in ``bad``.
    """
    zero = Z.dtype.type(0)
    nbad = 0
    for i in prange(Z.shape[0]):
        row = Z[i]
        for j in range(row.size):
            row[j] = row[j] + b[j]  # stored first: the sum rounds to Z's dtype
        if bad.size:
            ok = True
            for j in range(row.size):
                ok = ok and np.isfinite(row[j])
            bad[i] = not ok
            nbad += 0 if ok else 1
        if code == RELU:  # np.maximum(z, 0): z >= 0 or NaN keeps z
            for j in range(row.size):
                z = row[j]
                row[j] = z if (z >= zero or z != z) else zero
        elif code == LEAKY_RELU:  # np.maximum(z, slope * z)
            for j in range(row.size):
                z = row[j]
                t = z * slope
                row[j] = z if (z >= t or z != z) else t
        elif code == LOGISTIC:  # scipy.special.expit
            one = Z.dtype.type(1)
            for j in range(row.size):
                row[j] = one / (one + np.exp(-row[j]))
        if mask.size:
            for j in range(row.size):
                dropped[i, j] = row[j] * mask[i, j]
    return nbad


_HIDDEN_FORWARD = _compile(_hidden_forward_body)


def _hidden_backward_body(A, D, code, lo, hi, mask):
    """``D *= mask`` (dropout) then ``D *= f'`` written from the output ``A``."""
    one = D.dtype.type(1)
    zero = D.dtype.type(0)
    for i in prange(D.shape[0]):
        d = D[i]
        a = A[i]
        if mask.size:
            for j in range(d.size):
                d[j] = d[j] * mask[i, j]
        if code == RELU:
            for j in range(d.size):
                d[j] = d[j] * (one if a[j] > zero else zero)
        elif code == LEAKY_RELU:
            for j in range(d.size):
                d[j] = d[j] * (hi if a[j] > zero else lo)
        elif code == LOGISTIC:
            for j in range(d.size):
                d[j] = (d[j] * a[j]) * (one - a[j])
        elif code == TANH:
            for j in range(d.size):
                d[j] = d[j] * (one - a[j] * a[j])


_HIDDEN_BACKWARD = _compile(_hidden_backward_body)

_EMPTY = {}


def _empty(dtype, ndim):
    key = (np.dtype(dtype), ndim)
    out = _EMPTY.get(key)
    if out is None:
        out = _EMPTY[key] = np.empty((0,) * ndim, dtype)
    return out


class HiddenForward:
    """``Z = f(Z + b)`` in one pass, for an activation with a fused body."""

    def __init__(self, act: Activation):
        self.code = CODES[act.name]

    def __call__(self, Z, b, mask=None, dropped=None):
        """Training: also ``dropped = f(Z + b) * mask`` under dropout."""
        if mask is None:
            mask = dropped = _empty(Z.dtype, 2)
        body = _body(_HIDDEN_FORWARD, Z.size)
        body(Z, b, self.code, Z.dtype.type(LEAKY_SLOPE), mask, dropped, _empty(np.bool_, 1))

    def checked(self, Z, b):
        """Prediction: ``f(Z + b)``; returns the rows whose ``Z + b`` is not finite, or None."""
        bad = np.empty(Z.shape[0], np.bool_)
        e = _empty(Z.dtype, 2)
        body = _body(_HIDDEN_FORWARD, Z.size)
        found = body(Z, b, self.code, Z.dtype.type(LEAKY_SLOPE), e, e, bad)
        return bad if found else None


class HiddenBackward:
    """``delta *= mask`` (dropout) and ``delta *= f'(A)`` in one pass."""

    def __init__(self, act: Activation):
        self.code = BACKWARD_CODES[act.name]

    def __call__(self, A, delta, mask=None):
        """Leaves ``A`` untouched (the reference may use it as scratch)."""
        d = delta.dtype
        hi, lo = _LEAKY_FACTORS.get(d) or _leaky_factors(d)
        if mask is None:
            mask = _empty(d, 2)
        _body(_HIDDEN_BACKWARD, delta.size)(A, delta, self.code, lo, hi, mask)


_LEAKY_FACTORS = {}


def _leaky_factors(dtype):
    """leaky_relu's two derivative values as the reference computes them.

    ``(A > 0) * (1 - slope) + slope`` in ``dtype``: for A > 0 that is ``0.99 + 0.01``
    rounded, which need not be exactly 1.
    """
    hi, lo = np.array([1.0, 0.0], dtype) * (1.0 - LEAKY_SLOPE) + LEAKY_SLOPE
    _LEAKY_FACTORS[dtype] = (hi, lo)
    return hi, lo


# ---------------------------------------------------------------------------- outputs
# The cross-entropy bodies do the reference's arithmetic in three compiled passes and
# leave each transcendental function to the NumPy (or SciPy) ufunc the reference calls:
# NumPy's exp and log are its own SIMD kernels, which libm's scalar ones do not match
# bit for bit, and a one-ulp difference in the output delta sends a long run on
# another path (a different MNIST test accuracy after three epochs).  A row's sum
# follows NumPy's pairwise summation, so the loss is bit-identical too.


#: NumPy sums a row of up to this many values in one block of eight accumulators; a
#: longer row splits recursively, and its cross-entropy runs on the reference body
PAIRWISE_BLOCK = 128


@njit(**_OPTS)
def _row_sum(A, i):
    """``A[i].sum()`` as ``np.sum(A, axis=1)`` computes it (``pairwise_sum``, n <= 128)."""
    a = A[i]
    n = a.size
    res = a.dtype.type(0)
    if n < 8:
        for j in range(n):
            res += a[j]
        return res
    r0, r1, r2, r3, r4, r5, r6, r7 = a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]
    j = 8
    while j < n - n % 8:
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        j += 8
    block = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while j < n:
        block += a[j]
        j += 1
    return res + block


@njit(**_OPTS)
def _softmax_shift(Z, delta, row):
    """``row = max(z)`` per row (NaN propagates, as ``np.max``) and ``delta = z - row``."""
    for i in range(Z.shape[0]):
        z = Z[i]
        mx = z[0]
        for j in range(1, z.size):
            if z[j] > mx or z[j] != z[j]:
                mx = z[j]
        row[i, 0] = mx
        for j in range(z.size):
            delta[i, j] = z[j] - mx


@njit(**_OPTS)
def _softmax_delta(Z, Y, w, inv_m, delta, tmp, row2):
    """Row sums of ``delta = exp(z - max)`` into ``row2``, ``y.z``, and the delta.

    ``tmp[:, 0]`` receives ``y.z``; ``delta`` becomes ``(delta / row2 - y) w``.
    """
    for i in range(Z.shape[0]):
        s = _row_sum(delta, i)
        row2[i, 0] = s
        t = tmp[i]
        for j in range(t.size):
            t[j] = Y[i, j] * Z[i, j]
        t[0] = _row_sum(tmp, i)
        wi = inv_m if w.size == 0 else w[i, 0]
        for j in range(Z.shape[1]):
            delta[i, j] = (delta[i, j] / s - Y[i, j]) * wi


@njit(**_OPTS)
def _softmax_loss(tmp, row, row2):
    """Per row: ``row = (log(sum) + max) - y.z``."""
    for i in range(row.shape[0]):
        row[i, 0] = (row2[i, 0] + row[i, 0]) - tmp[i, 0]


def softmax_cross_entropy(Z, Y, row_weight, delta, tmp, row, row2) -> float:
    """:func:`lrnet.losses.softmax_cross_entropy` in three passes; bit-identical to it."""
    if Z.shape[1] > PAIRWISE_BLOCK:
        return _reference_softmax(Z, Y, row_weight, delta, tmp, row, row2)
    m = Z.shape[0]
    w = _empty(Z.dtype, 2) if row_weight is None else row_weight
    _softmax_shift(Z, delta, row)
    np.exp(delta, out=delta)
    _softmax_delta(Z, Y, w, Z.dtype.type(1.0 / m), delta, tmp, row2)
    np.log(row2, out=row2)
    _softmax_loss(tmp, row, row2)
    return _mean(row, row_weight, m)


@njit(**_OPTS)
def _neg_abs(Z, tmp):
    for i in range(Z.shape[0]):
        for j in range(Z.shape[1]):
            tmp[i, j] = -abs(Z[i, j])


@njit(**_OPTS)
def _sigmoid_delta(Z, Y, w, inv_m, delta, tmp, row):
    """The per-row loss into ``row`` from ``tmp = log1p(exp(-|z|))``, and the delta.

    ``delta = (expit(z) - y) w``, with ``expit`` as SciPy computes it (libm's ``exp``).
    """
    one = Z.dtype.type(1)
    zero = Z.dtype.type(0)
    for i in range(Z.shape[0]):
        wi = inv_m if w.size == 0 else w[i, 0]
        for j in range(Z.shape[1]):
            x = Z[i, j]
            tmp[i, j] = (tmp[i, j] + (x if (x >= zero or x != x) else zero)) - Y[i, j] * x
            delta[i, j] = (one / (one + np.exp(-x)) - Y[i, j]) * wi
        row[i, 0] = _row_sum(tmp, i)


def sigmoid_cross_entropy(Z, Y, row_weight, delta, tmp, row, row2) -> float:
    """:func:`lrnet.losses.sigmoid_cross_entropy` in two passes; bit-identical to it."""
    if Z.shape[1] > PAIRWISE_BLOCK:
        return _reference_sigmoid(Z, Y, row_weight, delta, tmp, row, row2)
    m = Z.shape[0]
    w = _empty(Z.dtype, 2) if row_weight is None else row_weight
    _neg_abs(Z, tmp)
    np.exp(tmp, out=tmp)
    np.log1p(tmp, out=tmp)
    _sigmoid_delta(Z, Y, w, Z.dtype.type(1.0 / m), delta, tmp, row)
    return _mean(row, row_weight, m)


def _mean(row, row_weight, m) -> float:
    """The batch loss from the per-row losses, as :func:`lrnet.losses._weighted_mean`."""
    if row_weight is None:
        return float(row.sum()) / m
    return float(np.vdot(row, row_weight))


# ---------------------------------------------------------------------------- data
def _dropout_mask_body(U, keep, scale):
    zero = U.dtype.type(0)
    for i in prange(U.shape[0]):
        u = U[i]
        for j in range(u.size):
            u[j] = scale if u[j] < keep else zero


_DROPOUT_MASK = _compile(_dropout_mask_body)


def dropout_mask(U, keep: float) -> None:
    """Uniform draws ``U`` -> ``1 / keep`` where ``U < keep``, else 0, in place."""
    d = U.dtype.type
    _body(_DROPOUT_MASK, U.size)(U, d(keep), d(1.0 / keep))


def _gather_body(X, idx, out):
    for r in prange(idx.size):
        src = X[idx[r]]
        dst = out[r]
        for j in range(dst.size):
            dst[j] = src[j]


_GATHER = _compile(_gather_body)


def gather(X, idx, out):
    """``out = X[idx]`` row by row (``idx`` in bounds); returns ``out``."""
    one_thread = out.size < PARALLEL_MIN or threads() <= 1
    if one_thread or not (X.flags.c_contiguous and out.flags.c_contiguous):
        # one thread: NumPy's row copies (memcpy) beat a compiled loop
        return np.take(X, idx, axis=0, out=out, mode="clip")
    _body(_GATHER, out.size)(X, idx, out)
    return out


# ---------------------------------------------------------------------------- the set
KERNELS = Kernels(
    name="numba",
    # the hidden activations' own bodies stay the reference's (bit-identical, and the
    # logistic/tanh ufuncs are faster); the fused layer bodies below replace them
    activations=MappingProxyType(ACTIVATIONS),
    cross_entropy=MappingProxyType(
        {
            "softmax": softmax_cross_entropy,
            "logistic": sigmoid_cross_entropy,
        }
    ),
    updates=MappingProxyType({"adam": adam_update, "sgd": sgd_update, "lion": lion_update}),
    hidden_forward=MappingProxyType({name: HiddenForward for name in CODES}),
    hidden_backward=MappingProxyType({name: HiddenBackward for name in BACKWARD_CODES}),
    dropout_mask=dropout_mask,
    gather=gather,
    prepare=match_blas,
)
