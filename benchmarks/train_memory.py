"""Peak memory of ``lrnet train`` on a CSV, against the size of its design matrix.

Generates CSV files of 20 numeric columns and a binary target ``y`` in a temporary
folder, runs ``lrnet train FILE --target y --no-report --epochs 1 --quiet`` in a fresh
subprocess for each, and prints the child's peak resident memory (``ru_maxrss`` of
``resource.getrusage(RUSAGE_CHILDREN)``) next to the float32 design matrix (rows x 20
x 4 bytes) and the raw float64 data (rows x 21 x 8 bytes).  The baseline row is the
peak of a run on 1,000 rows: Python, NumPy, pandas, scikit-learn and lrnet imported.

    python benchmarks/train_memory.py                   # 100k, 400k, 1.6M rows
    python benchmarks/train_memory.py --rows 100000     # one size
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_FEATURES = 20
MIB = 1024 * 1024


def write_csv(path: Path, rows: int, seed: int = 0, block: int = 200_000) -> None:
    """``rows`` rows of 20 numeric columns ``f0..f19`` and a 0/1 target ``y``."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=N_FEATURES)
    header = ",".join([f"f{i}" for i in range(N_FEATURES)] + ["y"])
    fmt = ",".join(["%.6g"] * N_FEATURES + ["%d"])
    with open(path, "w") as fh:
        fh.write(header + "\n")
        for start in range(0, rows, block):
            n = min(block, rows - start)
            X = rng.normal(size=(n, N_FEATURES)) * rng.uniform(0.5, 50, N_FEATURES)
            y = (X / 25 @ w + rng.normal(size=n) > 0).astype(int)
            np.savetxt(fh, np.column_stack([X, y]), fmt=fmt)


def peak_rss_mib(path: Path, out: Path) -> tuple[float, float]:
    """The peak RSS (MiB) and wall seconds of one ``lrnet train`` run in a fresh child."""
    code = (
        "import resource, subprocess, sys; "
        "rc = subprocess.call(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(rc)"
    )
    cmd = [sys.executable, "-c", "import sys; from lrnet.cli import main; sys.exit(main())"]
    cmd += ["train", str(path), "--target", "y"]
    cmd += ["--no-report", "--epochs", "1", "--quiet", "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    start = time.perf_counter()
    # a wrapper process, so that RUSAGE_CHILDREN holds this one run only
    proc = subprocess.run(
        [sys.executable, "-c", code, *cmd], capture_output=True, text=True, env=env
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"lrnet train failed on {path}:\n{proc.stderr[-2000:]}")
    return int(proc.stdout.split()[-1]) / 1024, seconds  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 400_000, 1_600_000])
    args = parser.parse_args()
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    print(
        f"# lrnet train peak memory; CPU: {cpu}, {os.cpu_count()} cores; "
        f"Python {sys.version.split()[0]}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base_csv = tmp / "base.csv"
        write_csv(base_csv, 1_000)
        base, _ = peak_rss_mib(base_csv, tmp / "base.lrnet")
        print(f"baseline (1,000 rows): {base:.0f} MiB")
        print(
            "| rows | CSV size | float32 design | float64 data | peak RSS | above baseline "
            "| bytes/row above baseline | wall |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for rows in args.rows:
            path = tmp / f"data-{rows}.csv"
            write_csv(path, rows)
            peak, seconds = peak_rss_mib(path, tmp / f"model-{rows}.lrnet")
            design = rows * N_FEATURES * 4 / MIB
            raw = rows * (N_FEATURES + 1) * 8 / MIB
            size = path.stat().st_size / MIB
            above = peak - base
            print(
                f"| {rows:,} | {size:.0f} MiB | {design:.0f} MiB | {raw:.0f} MiB | {peak:.0f} MiB "
                f"| {above:.0f} MiB | {above * MIB / rows:.0f} | {seconds:.0f} s |",
                flush=True,
            )
            path.unlink()


if __name__ == "__main__":
    main()
