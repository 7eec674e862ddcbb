"""Serve an lrnet model exported to ONNX with onnxruntime alone: no lrnet import.

The README's quick-start models, exported::

    lrnet export digits64.lrnet -o digits64.onnx   # Python quick start: input X (pixels / 16)
    lrnet export digits.lrnet -o digits.onnx       # `lrnet train`: one input per column
    python examples/onnx_serving.py digits64.onnx
    python examples/onnx_serving.py digits.onnx --csv new_rows.csv

Needs ``onnxruntime`` and ``numpy``; scikit-learn only to load the digits when no
``--csv`` is given.  The model describes itself: its inputs (a float32 matrix ``X``,
or one [N, 1] input per table column: double with NaN for a missing number, string
with ``""`` for a missing category), and ``metadata_props`` with the classes and the
missing-value convention.  Outputs: ``label`` and ``probabilities`` (float32).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time

import numpy as np

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
import onnxruntime as ort  # noqa: E402


def digits_feeds(session: ort.InferenceSession) -> tuple[dict, np.ndarray]:
    """scikit-learn's digits as the model's inputs, and the true digits."""
    from sklearn.datasets import load_digits

    digits = load_digits(as_frame=True)
    inputs = session.get_inputs()
    if [i.name for i in inputs] == ["X"]:  # the Python quick start: pixels / 16
        return {"X": (digits.data.to_numpy() / 16).astype(np.float32)}, digits.target.to_numpy()
    frame = digits.frame  # `lrnet train`'s columns: pixel_0_0 ... pixel_7_7
    feeds = {i.name: frame[i.name].to_numpy(np.float64).reshape(-1, 1) for i in inputs}
    return feeds, digits.target.to_numpy()


def csv_feeds(session: ort.InferenceSession, path: str) -> dict:
    """One [N, 1] array per input from a CSV file: empty cells are missing values."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    inputs = session.get_inputs()
    if [i.name for i in inputs] == ["X"]:  # no preprocessing: every column is a feature
        return {"X": np.array([[float(c) for c in row.values()] for row in rows], np.float32)}
    feeds = {}
    for i in inputs:
        cells = [row[i.name] for row in rows]
        if i.type == "tensor(double)":
            values = np.array([float(c) if c.strip() else np.nan for c in cells])
        else:  # tensor(string): the text as written, "" for a missing category
            values = np.array(cells, dtype=object)
        feeds[i.name] = values.reshape(-1, 1)
    return feeds


def latency(session: ort.InferenceSession, feeds: dict, rows: int, repeat: int) -> float:
    """Median seconds of one run on the first ``rows`` rows."""
    n = len(next(iter(feeds.values())))
    take = np.arange(rows) % n
    batch = {name: value[take] for name, value in feeds.items()}
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        session.run(None, batch)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="the .onnx file written by lrnet export")
    parser.add_argument("--csv", help="rows to predict (default: scikit-learn's digits)")
    args = parser.parse_args()

    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    classes = json.loads(meta["classes"])
    print(f"model written by lrnet {meta['lrnet_version']}; classes {classes}")
    print("inputs:", ", ".join(f"{i.name} {i.type} {i.shape}" for i in session.get_inputs()[:4]))
    print("missing values:", meta["missing_values"])

    truth = None
    if args.csv:
        feeds = csv_feeds(session, args.csv)
    else:
        feeds, truth = digits_feeds(session)
    label, proba = session.run(["label", "probabilities"], feeds)
    print(f"first labels {label[:10].tolist()}; probabilities {proba.shape} {proba.dtype}")
    if truth is not None:
        print(f"accuracy on the {len(truth)} digits: {np.mean(label == truth):.4f}")
    for rows in (1, 10_000):
        seconds = latency(session, feeds, rows, repeat=200 if rows == 1 else 20)
        print(f"latency, {rows} row(s): {seconds * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
