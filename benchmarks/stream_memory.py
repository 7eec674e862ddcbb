"""Peak memory and throughput of ``lrnet train --stream`` against the in-memory run.

1. **Bounded memory.**  Writes a Parquet file of 20 numeric columns, one categorical
   column and a binary target ``y`` (``--big-rows`` rows; the default 9.4M rows hold
   1.5 GiB as float64, at least 3x ``--memory``), trains on it with
   ``lrnet train FILE --target y --stream --memory 500MB`` in a fresh subprocess and
   prints the child's peak resident memory (``ru_maxrss`` of
   ``resource.getrusage(RUSAGE_CHILDREN)``) next to the data's size; then the same for
   a file written as one row group of ``--one-group-rows`` rows.
2. **Throughput.**  On a file that fits (``--fit-rows``, default 1M rows), the same
   run with ``--stream`` and ``--no-stream``: training rows per second (training rows
   x epochs / training seconds, from the JSON output) and the wall time of the whole
   command (reading, preprocessing, scoring included).

Files are written to a temporary folder (``--tmpdir``) and deleted at the end.

    python benchmarks/stream_memory.py
    python benchmarks/stream_memory.py --big-rows 2000000 --fit-rows 200000   # quicker
"""

from __future__ import annotations

import argparse
import json
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
GROUP_ROWS = 100_000


def write_parquet(path: Path, rows: int, seed: int = 0, group_rows: int = GROUP_ROWS) -> None:
    """``rows`` rows: ``f0..f19`` (float64), ``c`` (8 categories) and ``y`` (0/1)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    w = rng.normal(size=N_FEATURES)
    writer = None
    for start in range(0, rows, group_rows):
        n = min(group_rows, rows - start)
        X = rng.normal(size=(n, N_FEATURES)) * rng.uniform(0.5, 50, N_FEATURES)
        c = rng.integers(0, 8, n)
        y = (X / 25 @ w + (c == 3) + rng.normal(size=n) > 0).astype(np.int64)
        frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(N_FEATURES)])
        frame["c"] = np.array([f"cat{i}" for i in range(8)])[c]
        frame["y"] = y
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, compression="snappy")
        writer.write_table(table, row_group_size=group_rows)
    writer.close()


def run(path: Path, out: Path, *extra: str) -> tuple[float, float, dict]:
    """Peak RSS (MiB), wall seconds and the JSON output of one ``lrnet train`` run."""
    code = (
        "import resource, subprocess, sys; "
        "rc = subprocess.call(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
        "sys.exit(rc)"
    )
    cmd = [sys.executable, "-c", "import sys; from lrnet.cli import main; sys.exit(main())"]
    cmd += ["train", str(path), "--target", "y", "--no-report", "--json", "--out", str(out)]
    cmd += ["--hidden", "32", "--force", *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    start = time.perf_counter()
    # a wrapper process, so that RUSAGE_CHILDREN holds this one run only
    proc = subprocess.run(
        [sys.executable, "-c", code, *cmd], capture_output=True, text=True, env=env
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"lrnet train failed on {path}:\n{proc.stderr[-3000:]}")
    peak = int(proc.stderr.split()[-1]) / 1024  # ru_maxrss is in KiB on Linux
    return peak, seconds, json.loads(proc.stdout)


def train_rate(result: dict) -> float:
    """Training rows x epochs per training second."""
    train = int(result["info"]["rows"].split()[0].replace(",", ""))
    return train * result["epochs"] / result["training_seconds"]


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line(title: str) -> str:
    """The first line of a result file: what ran, on which CPU and Python."""
    return (
        f"# {title}; CPU: {cpu_name()}, {os.cpu_count()} cores (shared with "
        f"other jobs: timings are noisy); Python {sys.version.split()[0]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-rows", type=int, default=9_400_000)
    parser.add_argument("--memory", default="500MB")
    parser.add_argument("--fit-rows", type=int, default=1_000_000)
    parser.add_argument("--one-group-rows", type=int, default=2_000_000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--tmpdir", default=None)
    args = parser.parse_args()
    print(machine_line("lrnet train --stream"))
    common = ["--epochs", str(args.epochs), "--seed", "0"]
    with tempfile.TemporaryDirectory(dir=args.tmpdir) as tmp:
        tmp = Path(tmp)
        small = tmp / "small.parquet"
        write_parquet(small, 1_000)
        base, _, _ = run(small, tmp / "base.lrnet", *common)
        print(f"baseline (1,000 rows, in memory): peak RSS {base:.0f} MiB")

        big = tmp / "big.parquet"
        write_parquet(big, args.big_rows)
        data = args.big_rows * (N_FEATURES + 2) * 8 / MIB
        disk = big.stat().st_size / MIB
        peak, wall, result = run(
            big, tmp / "big.lrnet", "--stream", "--memory", args.memory, *common
        )
        print(
            f"| rows | float64 data | Parquet file | --memory | peak RSS | wall | train rows/s "
            "| test accuracy |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n"
            f"| {args.big_rows:,} | {data:,.0f} MiB | {disk:,.0f} MiB | {args.memory} "
            f"| {peak:,.0f} MiB | {wall:,.0f} s | {train_rate(result):,.0f} "
            f"| {result['metrics']['accuracy']:.4f} |",
            flush=True,
        )
        big.unlink()

        one = tmp / "one-group.parquet"
        write_parquet(one, args.one_group_rows, seed=2, group_rows=args.one_group_rows)
        peak, wall, result = run(
            one, tmp / "one.lrnet", "--stream", "--memory", args.memory, *common
        )
        data = args.one_group_rows * (N_FEATURES + 2) * 8 / MIB
        print(
            f"| {args.one_group_rows:,} (one row group) | {data:,.0f} MiB "
            f"| {one.stat().st_size / MIB:,.0f} MiB | {args.memory} | {peak:,.0f} MiB "
            f"| {wall:,.0f} s "
            f"| {train_rate(result):,.0f} | {result['metrics']['accuracy']:.4f} |",
            flush=True,
        )
        one.unlink()

        fits = tmp / "fits.parquet"
        write_parquet(fits, args.fit_rows, seed=1)
        print(
            f"\nthroughput on {args.fit_rows:,} rows (fits in memory)\n"
            "| run | peak RSS | wall | train rows/s | test accuracy |\n|---|---:|---:|---:|---:|"
        )
        for name, flag in (("in memory (--no-stream)", "--no-stream"), ("--stream", "--stream")):
            peak, wall, result = run(fits, tmp / "fits.lrnet", flag, *common)
            print(
                f"| {name} | {peak:,.0f} MiB | {wall:,.0f} s | {train_rate(result):,.0f} "
                f"| {result['metrics']['accuracy']:.4f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
