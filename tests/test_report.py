"""Metrics, PNG plots and the HTML report; the rich progress callback."""

import io
import json
import struct
import warnings

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    log_loss,
    roc_auc_score,
)

import lrnet
from lrnet import LRNClassifier
from lrnet.cli import main
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
    for key in ("loss", "validation", "confusion", "reliability"):
        width, height = png_size(paths[key])
        assert 400 <= width <= 2000 and 300 <= height <= 2000
    page = paths["html"].read_text()
    assert page.count("data:image/png;base64,") == 4
    for text in ("accuracy", "log-loss", "versicolor", "m.lrnet", "Confusion matrix"):
        assert text in page
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [
        "confusion.png",
        "loss.png",
        "reliability.png",
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


# ---------------------------------------------------------------------- baseline
def test_baseline_uses_the_training_priors():
    classes = np.array(["maj", "min"])
    y = np.array(["maj"] * 6 + ["min"] * 4)
    proba = np.tile([0.7, 0.3], (10, 1))
    metrics = classification_metrics(y, proba, classes, priors=[90, 10])
    base = metrics["baseline"]
    assert base["priors_from"] == "training data"
    assert base["priors"] == {"maj": 0.9, "min": 0.1}
    assert base["majority_class"] == "maj" and base["accuracy"] == 0.6
    assert base["balanced_accuracy"] == 0.5 and base["roc_auc"] == 0.5
    expected = -(6 * np.log(0.9) + 4 * np.log(0.1)) / 10
    assert base["log_loss"] == pytest.approx(expected)
    # without priors: the evaluated labels' own frequencies
    own = classification_metrics(y, proba, classes)["baseline"]
    assert own["priors_from"] == "evaluated data"
    assert own["log_loss"] == pytest.approx(-(6 * np.log(0.6) + 4 * np.log(0.4)) / 10)


@pytest.mark.parametrize("priors", [[1, 2, 3], [-1, 2], [0, 0]])
def test_bad_priors_are_refused(priors):
    with pytest.raises(ValueError, match="expected 2 non-negative class counts"):
        classification_metrics(np.array([0, 1]), np.eye(2), np.array([0, 1]), priors=priors)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_balanced_accuracy_and_roc_auc_agree_with_scikit_learn(n_classes):
    rng = np.random.default_rng(n_classes)
    classes = np.arange(n_classes)
    y = rng.integers(n_classes, size=80)
    proba = rng.dirichlet(np.ones(n_classes), size=80)
    metrics = classification_metrics(y, proba, classes)
    pred = proba.argmax(axis=1)
    assert metrics["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    if n_classes == 2:
        assert metrics["roc_auc"] == pytest.approx(roc_auc_score(y, proba[:, 1]))
    else:
        assert metrics["roc_auc"] is None and metrics["baseline"]["roc_auc"] is None


def test_roc_auc_needs_both_classes():
    metrics = classification_metrics(np.array([1, 1]), np.array([[0.2, 0.8]] * 2), np.arange(2))
    assert metrics["roc_auc"] is None


def imbalanced(model_is_good: bool):
    """95% majority; a model that knows the rows, or one that is confidently wrong."""
    rng = np.random.default_rng(0)
    y = np.where(rng.random(400) < 0.95, "maj", "min")
    p_min = np.where(y == "min", 0.9, 0.05) if model_is_good else rng.uniform(0, 0.7, 400)
    return y, np.column_stack([1 - p_min, p_min])


def test_a_model_worse_than_the_priors_is_warned_about():
    y, proba = imbalanced(model_is_good=False)
    metrics = classification_metrics(y, proba, np.array(["maj", "min"]), priors=[95, 5])
    assert metrics["accuracy"] < metrics["baseline"]["accuracy"]
    assert metrics["log_loss"] > metrics["baseline"]["log_loss"]
    log_loss_warning, accuracy_warning = metrics["warnings"]
    assert "is no better than" in log_loss_warning and "class frequencies" in log_loss_warning
    assert "always predicting the majority class 'maj'" in accuracy_warning


def test_a_good_model_gets_no_warning():
    y, proba = imbalanced(model_is_good=True)
    metrics = classification_metrics(y, proba, np.array(["maj", "min"]), priors=[95, 5])
    assert metrics["warnings"] == []


def test_classes_in_a_given_order():
    classes = np.array(["Fair", "Good", "Ideal", "Premium"])
    y = np.array(["Fair", "Good", "Ideal", "Premium", "Ideal"])
    proba = np.eye(4)[[0, 1, 2, 2, 2]]
    order = ["Fair", "Good", "Premium", "Ideal"]
    metrics = classification_metrics(y, proba, classes, order=order)
    assert metrics["classes"] == order
    assert [c["class"] for c in metrics["per_class"]] == order
    assert metrics["per_class"][2] == {
        "class": "Premium",
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 1,
    }
    # rows true, columns predicted, both in the given order: Premium was taken for Ideal
    assert metrics["confusion_matrix"][2] == [0, 0, 0, 1]
    assert metrics["confusion_matrix"][3] == [0, 0, 0, 2]


def test_report_page_shows_baseline_warning_and_calibration_once(tmp_path):
    y, proba = imbalanced(model_is_good=False)
    metrics = classification_metrics(y, proba, np.array(["maj", "min"]), priors=[95, 5])
    paths = write_report(tmp_path, metrics, [{"epoch": 1, "loss": 0.5}], {"data": "d.csv"})
    page = paths["html"].read_text()
    assert page.count('<p class="warning">Warning: ') == 2
    assert "<th></th>" not in page  # the key-value table has no empty header row
    assert page.count("<h2>Confusion matrix</h2>") == 1
    assert page.count("Confusion matrix") == 1  # the heat map only, not a table as well
    for text in ("class-prior baseline", "balanced accuracy", "ROC AUC", "ECE (15 bins)"):
        assert text in page
    assert f"Expected calibration error {metrics['calibration']['ece']:.4f}" in page
    assert png_size(paths["reliability"]) == (600, 640)


# ---------------------------------------------------------------------- command line
NOISE = ["--hidden", "64", "--epochs", "150", "--lr", "0.01", "--alpha", "0", "--no-early-stopping"]


def noise_table(path, n_rows=300, seed=0):
    """Ten noise columns and a 95%-majority target: no model beats the priors."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n_rows, 10)), columns=[f"x{i}" for i in range(10)])
    frame["y"] = np.where(rng.random(n_rows) < 0.95, "maj", "min")
    frame.to_csv(path, index=False)
    return frame


def test_train_warns_when_the_model_does_not_beat_the_priors(tmp_path, capsys):
    data = tmp_path / "imbalanced.csv"
    noise_table(data)
    model = tmp_path / "m.lrnet"
    assert main(["train", str(data), "-o", str(model), *NOISE]) == 0
    out, err = capsys.readouterr()
    assert "class-prior baseline" in out and "always 'maj'" in out
    assert "note: test set: the model's log-loss" in err and "is no better than" in err
    page = (tmp_path / "m-report" / "report.html").read_text()
    assert '<p class="warning">Warning: the model&#x27;s log-loss' in page
    saved = lrnet.load(model).metadata
    assert set(saved["class_priors"]) == {"maj", "min"}
    # evaluate compares with the training priors the model file records, and warns alike
    assert main(["evaluate", str(model), str(data), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    metrics = doc["metrics"]
    assert metrics["baseline"]["priors_from"] == "training data"
    assert metrics["baseline"]["priors"] == pytest.approx(saved["class_priors"])
    assert [f"{data}: {w}" for w in metrics["warnings"]] == [
        n for n in doc["notes"] if "the model's" in n
    ]


def test_evaluate_leaves_out_rows_of_unseen_classes(tmp_path, capsys):
    data = tmp_path / "t.csv"
    frame = noise_table(data)
    model = tmp_path / "m.lrnet"
    assert main(["train", str(data), "-o", str(model), "--no-report", "-q", *NOISE]) == 0
    new = tmp_path / "new.csv"
    frame.assign(y=["other"] * 3 + list(frame.y[3:])).to_csv(new, index=False)
    assert main(["evaluate", str(model), str(new), "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["metrics"]["n_samples"] == len(frame) - 3
    assert "3 row(s) with classes the model never saw in training ('other')" in captured.err


def test_evaluate_with_no_known_class_is_an_error(tmp_path, capsys):
    data = tmp_path / "t.csv"
    frame = noise_table(data)
    model = tmp_path / "m.lrnet"
    assert main(["train", str(data), "-o", str(model), "--no-report", "-q", *NOISE]) == 0
    new = tmp_path / "new.csv"
    frame.assign(y="other").to_csv(new, index=False)
    assert main(["evaluate", str(model), str(new)]) == 1
    err = capsys.readouterr().err
    assert "none of the 300 row(s) has a target value the model saw in training" in err


def test_ordered_categorical_target_keeps_its_order(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    rng = np.random.default_rng(0)
    cuts = ["Fair", "Good", "Very Good", "Premium", "Ideal"]
    frame = pd.DataFrame({"carat": rng.uniform(0.2, 2, 200), "depth": rng.normal(60, 2, 200)})
    frame["cut"] = pd.Categorical(rng.choice(cuts, 200), categories=cuts, ordered=True)
    data = tmp_path / "diamonds.parquet"
    frame.to_parquet(data)
    model = tmp_path / "m.lrnet"
    args = ["train", str(data), "-o", str(model), "--no-report", "--json", "--epochs", "5"]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["metrics"]["classes"] == cuts
    assert [c["class"] for c in doc["metrics"]["per_class"]] == cuts
    assert main(["evaluate", str(model), str(data), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["classes"] == cuts
    assert main(["inspect", str(model), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["classes"] == cuts


def inspect_text(model, width=80):
    """The preprocessing table of ``lrnet inspect`` on a terminal ``width`` columns wide."""
    from lrnet.cli.inspect import preprocessing_table

    stream = io.StringIO()
    console = Console(file=stream, width=width, highlight=False)
    console.print(preprocessing_table(lrnet.load(model), width))
    return stream.getvalue()


def test_inspect_fits_80_columns_counts_parameters_and_quotes_dropped_columns(tmp_path, capsys):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "price in dollars": rng.normal(1e5, 3e4, 120),
            'say "hi"': rng.choice([f"greeting number {i}" for i in range(9)], 120),
            "row_id": np.arange(120),
            "label": rng.choice(["a", "b"], 120),
        }
    )
    frame.loc[::5, "price in dollars"] = np.nan
    data = tmp_path / "t.csv"
    frame.to_csv(data, index=False)
    model = tmp_path / "m.lrnet"
    args = ["train", str(data), "-o", str(model), "--no-report", "--epochs", "3", "--ensemble", "1"]
    assert main([*args, "--hidden", "100"]) == 0
    err = capsys.readouterr().err
    assert "dropped 1 column(s): 'row_id' (ID-like name)" in err
    text = inspect_text(model)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 80
    # title, borders and header (4 lines), one line per input column, caption
    assert len(lines) == 1 + 4 + 2 + 1
    assert "(x - 1.0" in text and "*" in text  # mean 1e5; missing values get an indicator
    assert "one-hot (9): 'greeting" in text and "…" in text  # cut, not wrapped
    assert main(["inspect", str(model)]) == 0
    out = capsys.readouterr().out
    assert "'row_id' (ID-like name)" in out and "\"'row_id" not in out
    # every count of parameters: with thousands separators, and the same total
    inputs = 1 + 1 + 9  # price, its missing indicator, nine categories
    hidden, total = (inputs + 1) * 100, (inputs + 1) * 100 + 101
    assert f"{hidden:,}" in out and f"{total:,}" in out and str(total) not in out
    assert main(["inspect", str(model), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["parameters"] == total


def test_metrics_tables_print_on_separate_lines(capsys):
    from lrnet.cli.display import Output, metrics_tables

    metrics = classification_metrics(np.array([0, 1, 1]), np.eye(2)[[0, 1, 0]], np.arange(2))
    Output().show(*metrics_tables(metrics, "Metrics on the test set (y)"))
    out = capsys.readouterr().out
    assert "\\n" not in out  # rich's line breaks are kept, not escaped
    lines = out.splitlines()
    assert lines[0] == "Metrics on the test set (y)"
    assert lines[1].startswith("3 rows; baseline: class frequencies of the evaluated data")
    row = next(line for line in lines if line.startswith("│ balanced accuracy "))
    assert row.split("│")[2:4] == ["  0.7500 ", "               0.5000 "]
