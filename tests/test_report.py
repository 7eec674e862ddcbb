"""Metrics, PNG plots and the HTML report; the rich progress callback."""

import io
import struct
import warnings

import numpy as np
import pytest
from rich.console import Console
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, f1_score, log_loss

from lrnet import LRNClassifier
from lrnet.progress import ProgressBar, format_epoch
from lrnet.report import classification_metrics, plot_confusion, write_report


def png_size(path):
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_metrics_agree_with_scikit_learn():
    rng = np.random.default_rng(0)
    classes = np.array(["a", "b", "c"])
    y = classes[rng.integers(3, size=50)]
    proba = rng.dirichlet(np.ones(3), size=50)
    metrics = classification_metrics(y, proba, classes)
    pred = classes[proba.argmax(axis=1)]
    assert metrics["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert metrics["log_loss"] == pytest.approx(log_loss(y, proba, labels=classes))
    f1 = f1_score(y, pred, labels=classes, average=None)
    assert [c["f1"] for c in metrics["per_class"]] == pytest.approx(f1)
    assert metrics["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert np.sum(metrics["confusion_matrix"]) == 50
    assert sum(c["support"] for c in metrics["per_class"]) == 50


def test_report_writes_readable_pngs_and_html(tmp_path):
    history = [
        {
            "epoch": i + 1,
            "loss": 1 / (i + 1),
            "validation_loss": 1.2 / (i + 1),
            "validation_score": 0.5 + i / 40,
        }
        for i in range(15)
    ]
    classes = np.array(["setosa", "versicolor", "virginica"])
    y = np.repeat(classes, 4)
    proba = np.eye(3)[np.repeat([0, 1, 2], 4)] * 0.8 + 0.2 / 3
    metrics = classification_metrics(y, proba, classes)
    paths = write_report(tmp_path / "r", metrics, history, {"model file": "m.lrnet"})
    for key in ("loss", "validation", "confusion"):
        width, height = png_size(paths[key])
        assert 400 <= width <= 2000 and 300 <= height <= 2000
    page = paths["html"].read_text()
    assert page.count("data:image/png;base64,") == 3
    for text in ("accuracy", "log-loss", "versicolor", "m.lrnet", "Confusion matrix"):
        assert text in page
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [
        "confusion.png",
        "loss.png",
        "report.html",
        "validation_score.png",
    ]


def test_macro_f1_ignores_absent_classes():
    metrics = classification_metrics(np.array([0, 0, 1]), np.eye(3)[[0, 0, 1]], np.arange(3))
    assert metrics["macro_f1"] == 1.0
    assert metrics["per_class"][2] == {
        "class": "2",
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 0,
    }


def test_report_without_validation_history(tmp_path):
    metrics = classification_metrics(np.array([0, 1]), np.eye(2), np.array([0, 1]))
    paths = write_report(tmp_path, metrics, [{"epoch": 1, "loss": 0.5}], {}, "iteration")
    assert paths["validation"] is None
    assert "validation score: not recorded" in paths["html"].read_text()


def test_confusion_plot_with_many_classes(tmp_path):
    names = [f"class {i}" for i in range(40)]
    path = plot_confusion(np.eye(40, dtype=int) * 3, names, tmp_path / "c.png")
    width, height = png_size(path)
    assert width <= 2000 and height <= 2000


def test_format_epoch():
    line = format_epoch(
        {
            "epoch": 3,
            "loss": 0.5,
            "validation_loss": 0.6,
            "validation_score": 0.9,
            "learning_rate": 1e-3,
            "time": 0.01,
        },
        200,
    )
    assert line == "epoch   3/200  loss 0.5000  val loss 0.6000  val acc 0.9000  lr 0.001  10 ms"
    assert format_epoch({"epoch": 1, "loss": 0.25}) == "epoch   1  loss 0.2500"


def fit_with(progress, **params):
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        LRNClassifier(
            hidden_layer_sizes=(5,), max_iter=4, random_state=0, callbacks=[progress], **params
        ).fit(X, y)


def test_progress_prints_one_line_per_epoch_on_a_terminal():
    stream = io.StringIO()
    fit_with(ProgressBar(Console(file=stream, force_terminal=True, width=100)), early_stopping=True)
    text = stream.getvalue()
    for epoch in range(1, 5):
        assert f"epoch {epoch}/4  loss " in text
    assert "val acc" in text and "training" in text


def test_progress_is_silent_when_not_a_terminal():
    stream = io.StringIO()
    fit_with(ProgressBar(Console(file=stream, force_terminal=False)))
    assert stream.getvalue() == ""
    stream = io.StringIO()
    fit_with(ProgressBar(Console(file=stream, force_terminal=True), enabled=False))
    assert stream.getvalue() == ""
