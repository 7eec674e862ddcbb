"""Regression matrix: today's fits, re-run on the current code, against a recording.

``tests/fixtures/regression_matrix.npz`` holds ~440 tiny fits (48 x 5 data, 4 hidden
units, 3 epochs) recorded from the engine before its redesign by
``tests/fixtures/make_regression_matrix.py``: every solver (sgd, adam, adamw, lbfgs)
x schedule (constant, invscaling, adaptive, cosine, onecycle; lbfgs once) x dropout
(None, 0.25; lbfgs accepts and ignores it) x target (binary, 3 classes, 3 labels) x
dense/CSR x float32/float64, plus partial_fit, warm starts, early stopping, label
smoothing, gradient clipping, sample and class weights, sgd without Nesterov, the
stopping rule, activations, initialisations, deeper and hidden-less networks, ragged
batches and more.  Each test re-runs one entry through the generator's own
``run_entry`` and compares every fitted weight and intercept, ``loss_curve_``,
``validation_scores_``, ``n_iter_``, and ``predict_proba`` / ``predict`` on a probe
matrix.  A fit that raised when recorded must raise the same error class and message.

The comparison rule
-------------------
Bit-identical (``assert_array_equal``; same dtypes and shapes) when the arithmetic
underneath is the recording's: same NumPy and SciPy versions, the same BLAS libraries
(``internal_api``, ``architecture`` and ``version`` from ``threadpoolctl``, i.e. the
same OpenBLAS kernels) and the same enabled NumPy SIMD dispatch targets (NumPy's
``exp``, ``log``, ``tanh`` ... kernels differ between e.g. AVX2 and AVX-512 CPUs by an
ulp or so).  BLAS is held to one thread (here and in ``conftest.py``).

Otherwise (another CPU family or library build) the results may legitimately differ
by rounding, so they are compared with ``assert_allclose`` at

* float32 entries: ``rtol=1e-3, atol=1e-4``;
* float64 entries: ``rtol=1e-7, atol=1e-9``;

``n_iter_``, dtypes and shapes must still be equal, and predicted labels must be equal
on every probe row except near-ties: rows (or, multi-label, cells) whose recorded
probability margin (top-two gap; ``|2p - 1|`` for a sigmoid output) is below
``2 * (atol + rtol)``, where a rounding difference may flip the label.

Why these numbers: different kernels change each dot product by an ulp or a few
(float32 ~1e-7, float64 ~2e-16).  Injecting 1, 16 and 256 ulps of noise into the
training data of every entry and comparing in the tolerance mode used at most 3%
(16 ulps; 41% at 256 ulps) of the float32 tolerance and 2e-6 of the float64 one, and
flipped no label: Adam's ``m / sqrt(v)`` normalises a gradient error rather than
amplifying it over 9 steps; L-BFGS amplified most (~1e3x over 10-20 iterations),
still far inside.  A change of the algorithm (learning rate, order of random draws,
bias correction, an extra or missing step, dropout masks) fails in both modes:
moving Adam's ``eps`` by scikit-learn's ``sqrt(1 - b2^t)`` fails 161 entries in the
tolerance mode (271 bit-identical), ``(t + 1) ** power_t`` -> ``t ** power_t`` in
invscaling 70 of its 75 (75), OneCycle's ``div_factor`` 25 -> 20 all 73 (73).
Changes at rounding level (e.g. a float32 sum done in float64) fail only where the
environment matches, which is why the recording machine's environment is stored with
the fixture.  To re-record deliberately changed behaviour, run the generator on the
new code and commit the new file with the change.

Kernel sets
-----------
Every entry runs under each kernel set (``LRNET_KERNELS``; see :mod:`lrnet.kernels`),
with the same rule: the NumPy reference, the set the matrix was recorded with, and the
numba set, whose bodies do the same operations in the same order (bit-identical,
``tests/test_numba_kernels.py``).

Since issue 13 ``predict_proba`` returns float32 for float32 input (the link in float32,
as scikit-learn); the recorded float64 probabilities of float32 entries are then
compared to ``rtol=1e-5`` (the float32 rounding of the same logits' link) in the
bit-identical mode, and with the tolerance above otherwise.

Environment variables: ``LRNET_REGRESSION_MODE=exact`` or ``=tolerance`` forces a
mode (e.g. to see what the tolerance mode accepts on the recording machine);
``LRNET_REGRESSION_MATRIX=path`` compares against another recording.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

FIXTURES = Path(__file__).parent / "fixtures"
#: the recording; LRNET_REGRESSION_MATRIX=path checks against another one
MATRIX = Path(os.environ.get("LRNET_REGRESSION_MATRIX") or FIXTURES / "regression_matrix.npz")
#: "auto" (the rule above), or force "exact" or "tolerance"
MODE = os.environ.get("LRNET_REGRESSION_MODE", "auto")

#: (rtol, atol) of the tolerance mode, by the dtype an entry trains in
TOLERANCE = {"float32": (1e-3, 1e-4), "float64": (1e-7, 1e-9)}


import make_regression_matrix as GEN  # noqa: E402  tests/fixtures, on the path (conftest.py)

META, DATA, RECORDED = GEN.load_fixture(MATRIX)
ENTRIES = META["entries"]


@pytest.fixture(scope="module")
def exact():
    """Whether this process's arithmetic is the recording's (then: bit-identical)."""
    if MODE != "auto":
        assert MODE in ("exact", "tolerance"), f"LRNET_REGRESSION_MODE={MODE!r}"
        return MODE == "exact"
    import lrnet  # noqa: F401  (loads the libraries the environment lists)

    with threadpool_limits(limits=1):
        here = GEN.exact_key(GEN.environment())
    return here == GEN.exact_key(META["environment"])


#: the kernel sets every entry runs under (the matrix was recorded with the first)
KERNEL_SETS = ["numpy"]
try:
    from lrnet.kernels import resolve

    KERNEL_SETS.append(resolve("numba").name)
except ImportError:  # numba not installed: the reference alone
    pass


@pytest.fixture(params=KERNEL_SETS)
def kernel_set(request, monkeypatch):
    """Run the entry under this kernel set (``LRNET_KERNELS``)."""
    monkeypatch.setenv("LRNET_KERNELS", request.param)
    return request.param


@pytest.fixture(scope="module", autouse=True)
def _one_blas_thread():
    with threadpool_limits(limits=1):
        yield


def margins(proba: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """How far each recorded label is from a tie, shaped like ``pred``."""
    if pred.ndim == 2:  # multi-label: one sigmoid per label
        return np.abs(2.0 * proba - 1.0)
    top = np.sort(proba, axis=1)
    return top[:, -1] - top[:, -2]


def compare(entry: dict, got: dict, exact: bool) -> None:
    eid = entry["id"]
    expected = {name: RECORDED[f"{eid}/{name}"] for name in entry["arrays"]}
    assert sorted(got) == sorted(expected), f"{eid}: recorded arrays differ"
    rtol, atol = TOLERANCE[entry["dtype"]]
    for name, want in expected.items():
        have = got[name]
        where = f"{eid}/{name}"
        if name == "proba" and have.dtype == np.float32 and want.dtype == np.float64:
            # recorded with the float64 output link; since issue 13 float32 input gives
            # float32 probabilities: the same logits, the link rounded to float32
            assert entry["dtype"] == "float32", f"{where}: float32 probabilities"
            np.testing.assert_allclose(
                have,
                want,
                rtol=1e-5 if exact else rtol,
                atol=1e-7 if exact else atol,
                err_msg=f"{where} (float32 link)",
            )
            continue
        assert have.dtype == want.dtype, f"{where}: dtype {have.dtype} != {want.dtype}"
        assert have.shape == want.shape, f"{where}: shape {have.shape} != {want.shape}"
        if exact or name == "n_iter":
            np.testing.assert_array_equal(have, want, err_msg=f"{where} (bit-identical mode)")
        elif name == "pred":
            differ = have != want
            near_tie = margins(expected["proba"], want) < 2 * (atol + rtol)
            assert not (differ & ~near_tie).any(), (
                f"{where}: labels differ away from a near-tie\nhave {have}\nwant {want}"
            )
        else:
            np.testing.assert_allclose(
                have, want, rtol=rtol, atol=atol, err_msg=f"{where} (tolerance mode)"
            )


def test_fixture_matches_generator():
    """The recorded entries are the generator's: re-record after changing the matrix."""
    assert [e["id"] for e in ENTRIES] == [e["id"] for e in GEN.build_entries()]
    for recorded, current in zip(ENTRIES, GEN.build_entries(), strict=True):
        for key in ("params", "target", "format", "dtype", "procedure", "sample_weight"):
            assert recorded[key] == current[key], (recorded["id"], key)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_regression_entry(entry, exact, kernel_set):
    from lrnet import LRNClassifier

    got = GEN.run_entry(entry, DATA, LRNClassifier)
    if entry["error"] is not None:
        assert got.get("error") == entry["error"]
        return
    assert "error" not in got, f"{entry['id']}: now raises {got['error']}"
    compare(entry, got, exact)
