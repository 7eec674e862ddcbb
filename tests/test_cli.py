"""The ``lrnet`` command: train, predict, evaluate, inspect on a real-looking table."""

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lrnet
from conftest import make_table, train_table_model
from lrnet.cli import main

FAST = ["--hidden", "16", "--epochs", "40", "--lr", "0.01"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained once by ``lrnet train`` on :func:`make_table`'s CSV."""
    return train_table_model(tmp_path_factory.mktemp("trained"), *FAST)


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def test_train_prints_metrics_and_writes_model_and_report(tmp_path, capsys):
    data = tmp_path / "customers.csv"
    make_table().to_csv(data, index=False)
    model = tmp_path / "out" / "m.lrnet"
    model.parent.mkdir()
    assert main(["train", str(data), "--target", "label", *FAST, "--out", str(model)]) == 0
    out, err = capsys.readouterr()
    for text in (
        "accuracy",
        "log-loss",
        "precision",
        "recall",
        "F1",
        "Confusion matrix",
        "maybe",
        f"Model written to {model}",
        "Report written to",
    ):
        assert text in out
    assert "dropped 1 column(s): 'customer_id' (ID-like name)" in err
    assert model.exists()
    report = model.parent / "m-report"
    assert (report / "report.html").read_text().count("data:image/png;base64,") == 4
    for name in ("loss.png", "validation_score.png", "confusion.png"):
        width, height = png_size(report / name)
        assert 400 <= width <= 2000 and 300 <= height <= 2000


def test_train_without_target_uses_last_column(tmp_path, capsys):
    data = tmp_path / "t.csv"
    make_table().to_csv(data, index=False)
    args = ["train", str(data), *FAST, "--out", str(tmp_path / "m.lrnet"), "--no-report"]
    assert main(args) == 0
    assert "no --target given: using the last column 'label'" in capsys.readouterr().err
    assert not (tmp_path / "m-report").exists()


def test_train_json(tmp_path, capsys):
    data = tmp_path / "t.csv"
    make_table().to_csv(data, index=False, sep=";")
    args = [
        "train",
        str(data),
        "-t",
        "label",
        *FAST,
        "-o",
        str(tmp_path / "m.lrnet"),
        "--json",
        "--test-fraction",
        "0.25",
    ]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["metrics"]["n_samples"] == 60
    assert doc["metrics"]["classes"] == ["maybe", "no", "yes"]
    assert doc["dropped_columns"] == {"customer_id": "ID-like name"}
    assert Path(doc["report"]).exists()
    assert 0.6 < doc["metrics"]["accuracy"] <= 1


def test_predict_writes_classes_and_probabilities(trained, tmp_path):
    data, model = trained
    out = tmp_path / "pred.csv"
    args = ["predict", str(model), str(data), "--proba", "--keep", "customer_id", "-o", str(out)]
    assert main(args) == 0
    pred = pd.read_csv(out)
    assert list(pred.columns) == ["customer_id", "prediction", "maybe", "no", "yes"]
    frame = pd.read_csv(data)
    assert pred["customer_id"].tolist() == frame["customer_id"].tolist()
    proba = pred[["maybe", "no", "yes"]].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert ((proba >= 0) & (proba <= 1)).all()
    expected = lrnet.load(model).predict(frame)
    assert pred["prediction"].tolist() == expected.tolist()
    assert (np.array(["maybe", "no", "yes"])[proba.argmax(axis=1)] == expected).all()


def test_predict_in_chunks_to_parquet_matches_csv(trained, tmp_path):
    data, model = trained
    parquet_in = tmp_path / "in.parquet"
    pd.read_csv(data).to_parquet(parquet_in)
    csv_out, parquet_out = tmp_path / "a.csv", tmp_path / "b.parquet"
    assert main(["predict", str(model), str(data), "--proba", "-o", str(csv_out)]) == 0
    args = [
        "predict",
        str(model),
        str(parquet_in),
        "--proba",
        "--chunk-size",
        "7",
        "-o",
        str(parquet_out),
    ]
    assert main(args) == 0
    a, b = pd.read_csv(csv_out), pd.read_parquet(parquet_out)
    assert a["prediction"].tolist() == b["prediction"].tolist()
    np.testing.assert_allclose(a[["maybe", "no", "yes"]], b[["maybe", "no", "yes"]], atol=1e-5)


def test_predict_to_stdout_notes_extra_columns(trained, tmp_path, capsys):
    data, model = trained
    frame = pd.read_csv(data).drop(columns=["label"]).head(5)
    frame["comment"] = "x"
    path = tmp_path / "new.csv"
    frame.to_csv(path, index=False)
    assert main(["predict", str(model), str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "prediction" and len(out.splitlines()) == 6
    assert "ignoring 1 column(s) the model does not use: 'comment'" in err


def test_predict_handles_unseen_categories_and_gaps(trained, tmp_path):
    data, model = trained
    frame = pd.read_csv(data).head(4)
    frame.loc[0, "color"] = "ultraviolet"
    frame.loc[1, ["x1", "x2", "color", "size"]] = np.nan
    path = tmp_path / "odd.csv"
    frame.to_csv(path, index=False)
    assert main(["predict", str(model), str(path), "-o", str(tmp_path / "p.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "p.csv")) == 4


def test_evaluate_prints_the_metrics_table(trained, capsys):
    data, model = trained
    assert main(["evaluate", str(model), str(data)]) == 0
    out = capsys.readouterr().out
    for text in ("accuracy", "log-loss", "precision", "Confusion matrix", "yes"):
        assert text in out
    assert main(["evaluate", str(model), str(data), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["metrics"]["n_samples"] == 240
    assert doc["target"] == "label"
    assert len(doc["metrics"]["confusion_matrix"]) == 3


def test_inspect_describes_the_model(trained, capsys):
    _, model = trained
    assert main(["inspect", str(model)]) == 0
    out = capsys.readouterr().out
    for text in (
        "hidden 1",
        "output",
        "softmax",
        "total",
        "customer_id",
        "ID-like name",
        "file format version",
        "lrnet version",
        "Training history",
        "one-hot",
        "color",
        "maybe",
    ):
        assert text in out, text
    assert main(["inspect", str(model), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["parameters"] == sum(r["parameters"] for r in doc["layers"])
    assert doc["format_version"] == 1 and doc["lrnet_version"] == lrnet.__version__
    assert doc["classes"] == ["maybe", "no", "yes"]
    assert doc["input_columns"] == ["x1", "x2", "color", "size"]


@pytest.mark.parametrize("command", ["train", "evaluate", "predict", "inspect"])
def test_every_command_has_help_with_examples(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"lrnet {command}" in out


def test_top_level_help_and_version(capsys):
    assert main(["--help"]) == 0
    assert "train" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert lrnet.__version__ in capsys.readouterr().out
    assert main([]) == 2


# ---------------------------------------------------------------------- errors
def error_of(args, capsys, code=1) -> str:
    assert main(args) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("lrnet: error:")]
    assert len(lines) == 1, err
    return lines[0]


def test_missing_file(tmp_path, capsys):
    line = error_of(["train", str(tmp_path / "nope.csv")], capsys)
    assert "nope.csv: no such file" in line


def test_unknown_target_suggests_the_closest_column(tmp_path, capsys):
    data = tmp_path / "t.csv"
    make_table().to_csv(data, index=False)
    line = error_of(["train", str(data), "--target", "lable"], capsys)
    assert "has no target column 'lable'. Did you mean 'label'?" in line
    assert "'customer_id', 'x1', 'x2', 'color', 'size', 'label'" in line


def test_target_with_one_class(tmp_path, capsys):
    data = tmp_path / "t.csv"
    make_table().assign(label="same").to_csv(data, index=False)
    line = error_of(["train", str(data), "--target", "label"], capsys)
    assert "target column 'label' has only one class ('same') in 240 rows" in line


def test_continuous_target(tmp_path, capsys):
    data = tmp_path / "t.csv"
    make_table().to_csv(data, index=False)
    line = error_of(["train", str(data), "--target", "x2"], capsys)
    assert "looks like a regression target" in line


def test_all_empty_column(tmp_path, capsys):
    data = tmp_path / "t.csv"
    make_table().assign(notes=np.nan).to_csv(data, index=False)
    line = error_of(["train", str(data), "--target", "label"], capsys)
    assert "column(s) 'notes' are empty in every row" in line


def test_predict_with_missing_feature_columns(trained, tmp_path, capsys):
    data, model = trained
    path = tmp_path / "partial.csv"
    pd.read_csv(data).drop(columns=["x2", "size"]).to_csv(path, index=False)
    assert main(["predict", str(model), str(path)]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"lrnet: error: {path}: missing 2 feature column(s) the model was trained "
        "on: 'x2', 'size'.\n"
    )


def test_predict_keep_of_unknown_column(trained, capsys):
    data, model = trained
    line = error_of(["predict", str(model), str(data), "--keep", "customerid"], capsys)
    assert "no column to --keep 'customerid'. Did you mean 'customer_id'?" in line


def test_wrong_delimiter(tmp_path, capsys):
    data = tmp_path / "t.csv"
    make_table().to_csv(data, index=False, sep=";")
    line = error_of(["train", str(data), "--sep", ",", "--target", "label"], capsys)
    assert "the delimiter looks wrong" in line and "--sep" in line


def test_malformed_csv(tmp_path, capsys):
    data = tmp_path / "t.csv"
    data.write_text("a,b,c\n1,2,3\n4,5,6,7,8\n" * 3)
    line = error_of(["train", str(data)], capsys)
    assert "malformed CSV" in line and "--sep" in line


def test_wrong_encoding(tmp_path, capsys):
    data = tmp_path / "t.csv"
    data.write_bytes("name,city,label\nJosé,Zürich,a\nAnaïs,Genève,b\n".encode("latin-1"))
    line = error_of(["train", str(data)], capsys)
    assert "not valid utf-8 text" in line and "--encoding" in line
    assert (
        main(
            [
                "train",
                str(data),
                "--encoding",
                "latin-1",
                "--test-fraction",
                "0",
                "--validation-fraction",
                "0",
                "--epochs",
                "2",
                "-q",
                "-o",
                str(tmp_path / "m.lrnet"),
                "--no-report",
            ]
        )
        == 0
    )


def test_model_from_a_newer_format(trained, tmp_path, capsys):
    data, model = trained
    newer = tmp_path / "newer.lrnet"
    with np.load(model, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    header = json.loads(str(arrays["header"][()]))
    header["format_version"] = 7
    arrays["header"] = np.array(json.dumps(header))
    with open(newer, "wb") as fh:
        np.savez(fh, **arrays)
    line = error_of(["predict", str(newer), str(data)], capsys)
    assert "model format version 7" in line and "Upgrade lrnet" in line


def test_corrupted_model(trained, tmp_path, capsys):
    data, model = trained
    broken = tmp_path / "broken.lrnet"
    broken.write_bytes(model.read_bytes()[:1000])
    line = error_of(["evaluate", str(broken), str(data)], capsys)
    assert "broken.lrnet: corrupted or truncated model file" in line
    line = error_of(["inspect", str(data)], capsys)
    assert "not an lrnet model file" in line


def test_evaluate_with_unknown_labels(trained, tmp_path, capsys):
    data, model = trained
    path = tmp_path / "t.csv"
    pd.read_csv(data).assign(label="other").to_csv(path, index=False)
    line = error_of(["evaluate", str(model), str(path)], capsys)
    assert "has a target value the model saw in training ('other')" in line


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--hidden", "abc"], "expected comma-separated positive layer sizes"),
        (["train", "--test-fraction", "1.5"], "expected a fraction in [0, 1)"),
        (["train", "--solver", "newton"], "invalid choice: 'newton'"),
        (["predict"], "the following arguments are required"),
    ],
)
def test_usage_errors_exit_2(args, message, capsys):
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_option_conflicts_exit_2(trained, tmp_path, capsys):
    data, model = trained
    line = error_of(
        ["train", str(data), "--early-stopping", "--validation-fraction", "0"], capsys, code=2
    )
    assert "--early-stopping needs validation data" in line
    line = error_of(
        ["predict", str(model), str(data), "-o", str(tmp_path / "p.txt")], capsys, code=2
    )
    assert "must end in .csv or .parquet" in line


def test_console_script_runs_the_default_job(tmp_path):
    script = Path(sys.executable).with_name("lrnet")
    if not script.exists():
        pytest.skip("the lrnet console script is not installed (pip install -e .)")
    result = subprocess.run(
        [str(script), "train", "--epochs", "5", "--json", "--quiet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["metrics"]["classes"] == [str(d) for d in range(10)]
    assert (tmp_path / "digits.lrnet").exists()
    assert (tmp_path / "digits-report" / "report.html").exists()
    bad = subprocess.run(
        [str(script), "evaluate", "digits.lrnet", "missing.csv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 1
    assert bad.stderr.strip() == "lrnet: error: missing.csv: no such file."


def test_train_with_a_validation_file(tmp_path, capsys):
    train, valid = tmp_path / "train.csv", tmp_path / "valid.parquet"
    make_table().to_csv(train, index=False)
    make_table(80, seed=5).to_parquet(valid)
    args = [
        "train",
        str(train),
        "-t",
        "label",
        *FAST,
        "--valid",
        str(valid),
        "-o",
        str(tmp_path / "m.lrnet"),
        "--json",
        "--no-report",
    ]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["validation_metrics"]["n_samples"] == 80
    assert doc["report"] is None


def test_evaluate_writes_a_report(trained, tmp_path):
    data, model = trained
    report = tmp_path / "eval"
    assert main(["evaluate", str(model), str(data), "--report", str(report), "-q"]) == 0
    assert (report / "report.html").exists()
    assert png_size(report / "confusion.png")[0] >= 400


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_model_without_preprocessing(tmp_path, capsys):
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True).frame
    X, y = iris.drop(columns="target").to_numpy(), iris["target"].to_numpy()
    model = lrnet.LRNClassifier(hidden_layer_sizes=(5,), max_iter=50, random_state=0)
    model.fit(X, y).save(tmp_path / "iris.lrnet")
    data = tmp_path / "iris.csv"
    iris.to_csv(data, index=False)
    assert main(["evaluate", str(tmp_path / "iris.lrnet"), str(data), "-t", "target"]) == 0
    assert "accuracy" in capsys.readouterr().out
    out = tmp_path / "p.csv"
    assert main(["predict", str(tmp_path / "iris.lrnet"), str(data), "-o", str(out)]) == 1
    assert "5 feature columns, but the model expects 4" in capsys.readouterr().err
    iris.drop(columns="target").to_csv(data, index=False)
    assert main(["predict", str(tmp_path / "iris.lrnet"), str(data), "-o", str(out)]) == 0
    assert pd.read_csv(out)["prediction"].tolist() == model.predict(X).tolist()
