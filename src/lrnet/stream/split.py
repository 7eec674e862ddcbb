"""Held-out rows from a seeded hash of the row number: the same rows in every pass.

Row ``i`` (0-based, in file order) gets ``u = h(i, seed) / 2**53`` in ``[0, 1)``, where
``h`` is SplitMix64 (Steele, Lea and Flood 2014) of ``i`` plus a seed-dependent offset,
keeping its top 53 bits.  A row is a test row when ``u < test_fraction``, a validation
row when ``test_fraction <= u < test_fraction + validation_fraction * (1 -
test_fraction)`` (``--validation-fraction`` is a share of the training rows, as in the
in-memory run), and a training row otherwise.  Nothing is stored: any pass over the
file recomputes the roles of its rows from their numbers.  Unlike the in-memory run the
split is not stratified.
"""

from __future__ import annotations

import numpy as np

TRAIN, VALIDATION, TEST = 0, 1, 2
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function, element-wise (uint64 arithmetic wraps)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def uniform(rows: np.ndarray, seed: int) -> np.ndarray:
    """A float64 in ``[0, 1)`` for each row number, fixed by ``seed``."""
    offset = _mix(np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))[0]
    z = np.asarray(rows, dtype=np.uint64) * _GOLDEN + offset
    return (_mix(z) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def roles(rows: np.ndarray, seed: int, test_fraction: float, validation_fraction: float):
    """``TRAIN``, ``VALIDATION`` or ``TEST`` (int8) for each row number."""
    u = uniform(rows, seed)
    out = np.full(u.shape, TRAIN, dtype=np.int8)
    out[u < test_fraction + validation_fraction * (1.0 - test_fraction)] = VALIDATION
    out[u < test_fraction] = TEST
    return out


def scored(rows: np.ndarray, seed: int, test_fraction: float, share: float) -> np.ndarray:
    """Which test rows are scored: all when ``share`` is 1, else that share of them.

    The scored test rows are those with ``u < share * test_fraction``: a uniform subset,
    so that the metrics of a huge file need not hold every test row's probabilities.
    """
    return uniform(rows, seed) < share * test_fraction
