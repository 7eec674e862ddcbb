"""The command line under adversarial use: one line, the right exit code, no lost file."""

import hashlib

import numpy as np
import pandas as pd
import pytest

from conftest import train_table_model
from lrnet.cli import main

FAST = ["--hidden", "8", "--epochs", "5", "-q"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A training CSV and a model trained on it."""
    return train_table_model(tmp_path_factory.mktemp("robust"), *FAST)


def one_error_line(capsys, code_seen: int, code: int) -> str:
    err = capsys.readouterr().err
    assert code_seen == code, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("lrnet")]
    assert len(lines) == 1, err
    return lines[0]


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------ usage errors
@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--hidden", "-1"], "lrnet train: error: argument --hidden: expected"),
        (["train", "--bogus"], "unrecognized arguments: --bogus. See 'lrnet train --help'"),
        (["train", "x.csv", "--encoding", "bogus"], "unknown encoding 'bogus'"),
        (["predict", "m.lrnet", "x.csv", "--encoding", "nope"], "unknown encoding 'nope'"),
        (["train", "--seed", "-1"], "--seed: expected an integer from 0 to 4294967295"),
        (["train", "--seed", "99999999999999"], "--seed: expected an integer from 0"),
        (["train", "--lr", "inf"], "--lr: expected a finite number, got 'inf'"),
        (["train", "--alpha", "nan"], "--alpha: expected a finite number or 'auto', got 'nan'"),
        (["train", "--max-grad-norm", "inf"], "--max-grad-norm: expected a finite number"),
    ],
)
def test_usage_errors_are_one_line(argv, message, capsys):
    line = one_error_line(capsys, main(argv), 2)
    assert message in line


# ------------------------------------------------------------------ outputs are checked first
def test_a_bad_report_path_leaves_the_model_alone(files, tmp_path, capsys):
    data, model = files
    precious = tmp_path / "precious.lrnet"
    precious.write_bytes(model.read_bytes())
    before = digest(precious)
    afile = tmp_path / "afile.txt"
    afile.write_text("keep")
    argv = ["train", str(data), "--target", "label", *FAST, "--out", str(precious)]
    line = one_error_line(capsys, main([*argv, "--report", str(afile)]), 2)
    assert "--report" in line and "this is a file; the report needs a folder" in line
    assert digest(precious) == before and afile.read_text() == "keep"


@pytest.mark.parametrize("command", ["train", "predict"])
def test_output_cannot_overwrite_an_input(files, tmp_path, command, capsys):
    data, model = files
    copy = tmp_path / "copy.csv"
    copy.write_bytes(data.read_bytes())
    if command == "train":
        argv = ["train", str(copy), "--target", "label", *FAST, "--out", str(copy)]
    else:
        argv = ["predict", str(model), str(copy), "-o", str(copy)]
    line = one_error_line(capsys, main(argv), 2)
    assert "this is an input file, and writing would destroy it" in line
    assert copy.read_bytes() == data.read_bytes()


@pytest.mark.parametrize("where", ["folder", "missing-folder"])
def test_output_path_problems_name_the_option(files, tmp_path, where, capsys):
    data, model = files
    target = tmp_path / ("adir.csv" if where == "folder" else "nodir/out.csv")
    if where == "folder":
        target.mkdir()
    line = one_error_line(capsys, main(["predict", str(model), str(data), "-o", str(target)]), 2)
    expected = "this is a folder" if where == "folder" else "does not exist"
    assert line.startswith("lrnet: error: -o ") and expected in line


# ------------------------------------------------------------------ predict output
def test_kept_columns_are_never_overwritten(files, tmp_path, capsys):
    data, model = files
    frame = pd.read_csv(data).assign(prediction=1, predicted_class=3, no=5)
    source = tmp_path / "kc.csv"
    frame.to_csv(source, index=False)
    out = tmp_path / "out.csv"
    keep = "prediction,no,predicted_class"
    argv = ["predict", str(model), str(source), "--keep", keep, "--proba", "-o", str(out)]
    assert main(argv) == 0
    result = pd.read_csv(out)
    assert list(result.columns[:4]) == ["prediction", "no", "predicted_class", "predicted_class_2"]
    assert (result["predicted_class"] == 3).all() and (result["no"] == 5).all()
    assert set(result["predicted_class_2"]) <= {"yes", "no", "maybe"}
    assert len(set(result.columns)) == len(result.columns)


def test_parquet_keep_column_changing_type_between_chunks(files, tmp_path, capsys):
    data, model = files
    frame = pd.read_csv(data)
    frame["s"] = ["a"] * 100 + [1] * (len(frame) - 100)
    source = tmp_path / "keep.csv"
    frame.to_csv(source, index=False)
    out = tmp_path / "s.parquet"
    argv = ["predict", str(model), str(source), "--chunk-size", "10", "--keep", "s", "-o", str(out)]
    line = one_error_line(capsys, main(argv), 1)
    assert "--keep column changes type from one chunk of rows to the next" in line
    assert not out.exists()
    assert not list(tmp_path.glob(".s.parquet.*"))  # no temporary file left behind


def test_predict_on_a_table_without_rows_writes_a_header(files, tmp_path, capsys):
    data, model = files
    source = tmp_path / "empty.csv"
    pd.read_csv(data).head(0).to_csv(source, index=False)
    out = tmp_path / "e.csv"
    argv = ["predict", str(model), str(source), "--proba", "--keep", "customer_id", "-o", str(out)]
    assert main(argv) == 0
    assert out.read_text().strip() == "customer_id,prediction,maybe,no,yes"


def test_clean_float32_predict_prints_no_warning(files, tmp_path, capsys):
    data, model = files
    assert main(["predict", str(model), str(data), "-q", "-o", str(tmp_path / "x.csv")]) == 0
    assert capsys.readouterr().err == ""


def test_model_from_a_dataframe_predicts_without_a_feature_name_warning(tmp_path, capsys):
    from lrnet import LRNClassifier

    frame = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 3, "y": [0, 1] * 20})
    clf = LRNClassifier(max_iter=3).fit(frame[["a", "b"]], frame["y"])
    clf.save(tmp_path / "m.lrnet", metadata={"target": "y"})
    frame.to_csv(tmp_path / "d.csv", index=False)
    assert main(["evaluate", str(tmp_path / "m.lrnet"), str(tmp_path / "d.csv")]) == 0
    assert "feature names" not in capsys.readouterr().err


# ------------------------------------------------------------------ targets and validation
@pytest.mark.parametrize(
    "values, outcome",
    [(["inf", "1", "2"], "infinite value(s)"), (["1e19", "2e19", "1"], 3)],
    ids=["inf", "beyond-int64"],
)
def test_numeric_targets_are_never_merged(tmp_path, values, outcome, capsys):
    source = tmp_path / "t.csv"
    pd.DataFrame({"x": np.arange(60.0), "y": values * 20}).to_csv(source, index=False)
    model = tmp_path / "t.lrnet"
    argv = ["train", str(source), "--target", "y", *FAST, "--out", str(model), "--no-report"]
    if isinstance(outcome, str):
        assert outcome in one_error_line(capsys, main(argv), 1)
    else:
        assert main(argv) == 0
        import lrnet

        assert len(lrnet.load(model).estimator.classes_) == outcome


def rare_class_table(path):
    frame = pd.DataFrame(
        {"p": ["p", "q"] * 50 + ["rare"], "x": np.arange(101.0), "z": np.arange(101.0) % 7}
    )
    frame.to_csv(path, index=False)


def test_a_class_too_rare_for_the_validation_split(tmp_path, capsys):
    source = tmp_path / "rare.csv"
    rare_class_table(source)
    base = ["train", str(source), "--target", "p", *FAST, "--no-report"]
    for seed in ("0", "1", "2", "3"):
        assert main([*base, "--seed", seed, "--out", str(tmp_path / f"r{seed}.lrnet")]) == 0
    line = one_error_line(
        capsys, main([*base, "--early-stopping", "--out", str(tmp_path / "r.lrnet")]), 2
    )
    assert "--early-stopping needs a validation split" in line and "Raise --validation" in line


def test_many_classes_few_rows_train_without_validation_scores(tmp_path, capsys):
    source = tmp_path / "many.csv"
    pd.DataFrame({"y": np.arange(40) % 10, "x": np.arange(40.0)}).to_csv(source, index=False)
    argv = ["train", str(source), "--target", "y", "--hidden", "4", "--epochs", "3"]
    argv += ["--validation-fraction", "0.1"]  # the default is sized for the table
    assert main([*argv, "--no-report", "--out", str(tmp_path / "m.lrnet")]) == 0
    assert "no validation scores: 4 validation row(s) cannot hold" in capsys.readouterr().err


def test_empty_valid_file_is_refused_before_training(files, tmp_path, capsys):
    data, _ = files
    valid = tmp_path / "valid.csv"
    pd.read_csv(data).head(0).to_csv(valid, index=False)
    argv = ["train", str(data), "--target", "label", *FAST, "--valid", str(valid)]
    line = one_error_line(capsys, main([*argv, "--out", str(tmp_path / "m.lrnet")]), 2)
    assert "--valid" in line and "no row has a value in the target 'label'" in line
    assert not (tmp_path / "m.lrnet").exists()


# ------------------------------------------------------------------ the last line of defence
def test_memory_error_is_one_line(files, tmp_path, monkeypatch, capsys):
    from lrnet.cli import train

    def too_big(args, out):  # what numpy raises for --hidden 100000000
        raise MemoryError("Unable to allocate 53.6 GiB for an array")

    monkeypatch.setattr(train, "train_and_score", too_big)
    argv = ["train", str(files[0]), "--target", "label", "--out", str(tmp_path / "m.lrnet")]
    line = one_error_line(capsys, main(argv), 1)
    assert "not enough memory (Unable to allocate 53.6 GiB" in line and "--hidden" in line


def test_unexpected_errors_are_one_line(files, monkeypatch, capsys):
    from lrnet.cli import inspect

    def broken(args, out):
        raise KeyError("surprise")

    monkeypatch.setattr(inspect, "run", broken)
    line = one_error_line(capsys, main(["inspect", str(files[1])]), 1)
    assert "unexpected internal error (KeyError: 'surprise')" in line and "LRNET_DEBUG=1" in line


# ------------------------------------------------------------------ extreme feature values
@pytest.mark.parametrize(
    "value, train_message, predict_message",
    [
        (np.inf, "column 'x1' holds 1 infinite value(s), the first at line 19", None),
        (1e200, "column(s) 'x1' hold values too large to standardise", "column 'x1' of"),
        (1e308, "column(s) 'x1' hold values too large to standardise", "column 'x1' of"),
    ],
    ids=["inf", "1e200", "1e308"],
)
def test_extreme_feature_values(files, tmp_path, value, train_message, predict_message, capsys):
    data, model = files
    frame = pd.read_csv(data)
    frame.loc[17, "x1"] = value
    source = tmp_path / "extreme.csv"
    frame.to_csv(source, index=False)
    argv = ["train", str(source), "--target", "label", *FAST, "--test-fraction", "0"]
    line = one_error_line(capsys, main([*argv, "--out", str(tmp_path / "m.lrnet")]), 1)
    assert train_message in line and "extreme.csv" in line
    line = one_error_line(capsys, main(["predict", str(model), str(source)]), 1)
    expected = predict_message or train_message
    assert expected in line and "line 19" in line  # data row 17, after the header
    if predict_message:  # the column, not the transformer's feature name 'num__x1'
        assert "column 'x1' of line 19 overflows once standardised" in line


def test_a_target_with_a_value_per_row_is_refused(tmp_path, capsys):
    source = tmp_path / "ids.csv"
    ids = [f"id{i}" for i in range(50)]
    pd.DataFrame({"x": np.arange(50.0), "z": np.arange(50.0) % 7, "y": ids}).to_csv(source)
    argv = ["train", str(source), "--target", "y", *FAST, "--out", str(tmp_path / "m.lrnet")]
    line = one_error_line(capsys, main(argv), 1)
    assert "has a different value in each of its 50 rows" in line and "--target" in line


def test_no_test_row_of_a_known_class(tmp_path, capsys):
    """Singleton classes: for some seeds every test row has a class training never saw."""
    source = tmp_path / "rare.csv"
    frame = pd.DataFrame({"x": np.arange(6.0), "y": ["a", "a", "b", "c", "d", "e"]})
    frame.to_csv(source, index=False)
    base = ["train", str(source), "--target", "y", *FAST, "--test-fraction", "0.5", "--force"]
    lines = []
    for seed in range(30):
        code = main([*base, "--seed", str(seed), "--out", str(tmp_path / "m.lrnet")])
        if code:
            lines.append(one_error_line(capsys, code, 1))
        capsys.readouterr()
    assert lines
    assert all("no test row has a class seen in training" in line for line in lines)


def test_keep_a_column_twice(files, tmp_path):
    data, model = files
    out = tmp_path / "k.parquet"
    assert main(["predict", str(model), str(data), "--keep", "x1,x1", "-o", str(out)]) == 0
    assert list(pd.read_parquet(out).columns) == ["x1", "prediction"]


@pytest.mark.parametrize("command", ["evaluate", "inspect", "predict"])
def test_a_closed_stdout_ends_every_command_quietly_with_141(files, command):
    """`lrnet evaluate ... | head -1`: rich's own handler exited 1, reading as an error."""
    import os
    import subprocess
    import sys

    data, model = files
    args = {"evaluate": [model, data], "inspect": [model], "predict": [model, data]}[command]
    runner = "import sys; from lrnet.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "COLUMNS": "100"}
    proc = subprocess.Popen(
        [sys.executable, "-c", runner, command, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    # the reader goes away before the command writes (it takes a second to import): its
    # first write fails, whatever the size of its output
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141, err
    assert b"Traceback" not in err and b"error" not in err.lower(), err
