"""Latency of an exported model in onnxruntime next to lrnet's own predict_proba.

Two models, as in the README: the Python quick start (digits, hidden (64,), float64
weights) and the command line's default (`lrnet train`: 60 table columns with their
preprocessing, hidden (100,)).  Medians of repeated calls, one process.

    pip install -e '.[onnx]' && python benchmarks/onnx_latency.py
"""

from __future__ import annotations

import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import lrnet  # noqa: E402
from lrnet import LRNClassifier  # noqa: E402
from lrnet.cli import main  # noqa: E402
from lrnet.export import frame_inputs, to_onnx  # noqa: E402


def median_seconds(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def session(proto):
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def main_() -> None:
    X, y = load_digits(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(X / 16, y, random_state=0)
    clf = LRNClassifier(hidden_layer_sizes=(64,), early_stopping=True, random_state=0)
    clf.fit(X_train, y_train)
    sess = session(to_onnx(clf))
    X10k = np.tile(X / 16, (6, 1))[:10_000]
    rows: dict[str, dict[int, float]] = {}
    for n, repeat in ((1, 2000), (10_000, 50)):
        x64 = X10k[:n].copy()
        x32 = x64.astype(np.float32)
        calls = {
            "lrnet predict_proba, float64 X": (clf.predict_proba, x64),
            "lrnet predict_proba, float32 X": (clf.predict_proba, x32),
            "onnxruntime, float32 X": (lambda x: sess.run(None, {"X": x}), x32),
        }
        for name, (fn, arg) in calls.items():
            rows.setdefault(name, {})[n] = median_seconds(lambda f=fn, a=arg: f(a), repeat)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "digits.lrnet"
        main(["train", "-q", "--out", str(path), "--report", str(Path(folder) / "report")])
        model = lrnet.load(path)
    proto = to_onnx(model)
    sess2 = session(proto)
    frame = load_digits(as_frame=True).frame.drop(columns=["target"])
    F10k = pd.concat([frame] * 6, ignore_index=True).iloc[:10_000]
    for n, repeat in ((1, 300), (10_000, 20)):
        part = F10k.iloc[:n]
        feeds = frame_inputs(proto, part)
        calls = {
            "lrnet Model.predict_proba, table with preprocessing": (model.predict_proba, part),
            "onnxruntime, table inputs, preprocessing in the graph": (
                lambda f: sess2.run(None, f),
                feeds,
            ),
        }
        for name, (fn, arg) in calls.items():
            rows.setdefault(name, {})[n] = median_seconds(lambda f=fn, a=arg: f(a), repeat)

    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
    cpu = [line.split(":", 1)[1].strip() for line in lscpu if line.startswith("Model name")]
    print(
        f"CPU {cpu} x{os.cpu_count()}, Python {platform.python_version()}, numpy "
        f"{np.__version__}, onnxruntime {ort.__version__}, lrnet {lrnet.__version__}"
    )
    print(f"{'':56s} {'1 row':>10s} {'10k rows':>10s}")
    for name, by_n in rows.items():
        print(f"{name:56s} {by_n[1] * 1e3:7.3f} ms {by_n[10_000] * 1e3:7.2f} ms")


if __name__ == "__main__":
    main_()
