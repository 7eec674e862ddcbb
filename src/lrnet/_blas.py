"""BLAS level-1 helpers: in-place updates over the flat buffers without temporaries."""

from __future__ import annotations

from functools import cache

import numpy as np
from scipy.linalg import get_blas_funcs


@cache
def _axpy_for(dtype: np.dtype):
    return get_blas_funcs("axpy", dtype=dtype)


def axpy(x: np.ndarray, y: np.ndarray, a: float) -> None:
    """``y += a * x`` in place, one pass over memory; ``x`` and ``y`` are 1-D, same dtype."""
    _axpy_for(y.dtype)(x, y, a=a)
