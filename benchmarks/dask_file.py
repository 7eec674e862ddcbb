"""``lrnet train FILE --dask``: the workers read the file; time against one process.

Writes a Parquet file (``--rows`` rows in row groups of 100,000: 20 numeric columns, one
categorical and a binary target, as ``stream_memory.py``) and trains on it the same
way (``--hidden 32``, adam, ``--epochs`` epochs without early stopping) four times:
in memory (``--no-stream``), streamed (``--stream``), and with ``--dask local:1`` and
``local:2``.  Prints each run's wall time (the whole command: reading, statistics,
training, scoring; ``local:N`` includes starting and stopping the cluster), training
seconds and test log-loss.  Note that a 2-core machine cannot show a speed-up from 2
workers: the figures show what the cluster path costs.

    python benchmarks/dask_file.py --rows 1000000 --epochs 2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stream_memory import machine_line, run, write_parquet  # noqa: E402

MODES = {
    "in memory": ["--no-stream"],
    "--stream": ["--stream"],
    "--dask local:1": ["--dask", "local:1"],
    "--dask local:2": ["--dask", "local:2"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--tmpdir", default=None)
    args = parser.parse_args()
    print(machine_line("lrnet train FILE --dask"))
    common = ["--epochs", str(args.epochs), "--no-early-stopping", "--seed", "0"]
    common += ["--validation-fraction", "0"]
    with tempfile.TemporaryDirectory(dir=args.tmpdir) as tmp:
        path = Path(tmp) / "table.parquet"
        write_parquet(path, args.rows)
        print(f"{args.rows:,} rows, {args.epochs} epochs, --hidden 32, adam\n")
        print("| run | wall s | training s | test log-loss |\n|---|---:|---:|---:|")
        for name, extra in MODES.items():
            _, wall, result = run(path, Path(tmp) / "m.lrnet", *common, *extra)
            print(
                f"| {name} | {wall:.1f} | {result['training_seconds']:.1f} "
                f"| {result['metrics']['log_loss']:.4f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
