"""Odd input files: nested Parquet columns, NumPy files of the wrong shape or not NumPy
at all, duplicate column names, chunk row numbers and a bad ``--sep``.

Each user mistake must end in one clear error line and exit status 1, never a traceback.
"""

import zipfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import make_table, train_table_model
from lrnet.cli import main
from lrnet.data import DataError, iter_table, read_table
from lrnet.data.columns import plan_columns

FAST = ["--hidden", "4", "--epochs", "3", "--no-report"]


def run(capsys, *args) -> tuple[int, str]:
    """Exit status and standard error of ``lrnet ARGS``."""
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def one_error(code: int, err: str) -> str:
    """The single error line of a failed run (status 1, no traceback)."""
    assert code == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("lrnet: error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A small model trained on :func:`make_table`'s CSV."""
    return train_table_model(tmp_path_factory.mktemp("model"), *FAST)[1]


# ---------------------------------------------------------------------- nested Parquet
def nested_table(n: int = 60) -> dict:
    x = np.random.default_rng(0).normal(size=n)
    return {
        "tags": [[1, 2], [3]] * (n // 2),
        "point": [{"a": 1}, {"a": 2}] * (n // 2),
        "attrs": pa.array([[("k", 1)], [("k", 2)]] * (n // 2), pa.map_(pa.string(), pa.int64())),
        "x": x,
        "y": (x > 0).astype(int),
    }


def test_list_struct_and_map_columns_are_dropped(tmp_path, capsys):
    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table(nested_table()), path)
    code, err = run(capsys, "train", path, "--target", "y", *FAST, "--out", tmp_path / "m.lrnet")
    assert code == 0, err
    # dropped columns are named with quotes (issue 15)
    assert "'tags' (unsupported type (lists))" in err
    assert "'point' (unsupported type (structs))" in err
    assert "'attrs' (unsupported type (lists))" in err
    assert (tmp_path / "m.lrnet").exists()


def test_nested_target_is_a_clear_error(tmp_path, capsys):
    columns = nested_table()
    columns["y"] = [[0], [1]] * 30
    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table(columns), path)
    code, err = run(capsys, "train", path, "--target", "y", *FAST, "--out", tmp_path / "m.lrnet")
    assert "the target column 'y' holds lists, not class labels" in one_error(code, err)
    with pytest.raises(DataError, match="target column 'point' holds structs"):
        plan_columns(read_table(path), "point", str(path))


# ---------------------------------------------------------------------- NumPy shapes
@pytest.mark.parametrize(
    "array, shape",
    [(np.float64(3), r"0-D array of shape \(\)"), (np.arange(30.0), r"1-D array of shape \(30,\)")],
)
def test_npy_must_be_two_dimensional(tmp_path, array, shape):
    path = tmp_path / "a.npy"
    np.save(path, array)
    with pytest.raises(
        DataError, match=rf"a\.npy: the array must be 2-D \(rows x columns\).*{shape}"
    ):
        read_table(path)
    with pytest.raises(DataError, match="must be 2-D"):
        list(iter_table(path, chunk_rows=7))


def test_npy_of_one_value_in_train_and_predict(tmp_path, capsys, model):
    path = tmp_path / "scalar.npy"
    np.save(path, np.float64(3))
    code, err = run(capsys, "train", path, "--target", "x0", *FAST, "--out", tmp_path / "m.lrnet")
    line = one_error(code, err)
    assert "must be 2-D (rows x columns), got a 0-D array" in line
    code, err = run(capsys, "predict", model, path)
    assert "must be 2-D (rows x columns), got a 0-D array" in one_error(code, err)


def test_one_dimensional_npy_does_not_blame_the_delimiter(tmp_path, capsys):
    path = tmp_path / "one.npy"
    np.save(path, np.arange(60.0))
    code, err = run(capsys, "train", path, "--target", "x0", *FAST, "--out", tmp_path / "m.lrnet")
    line = one_error(code, err)
    assert "must be 2-D" in line and "a.reshape(-1, 1)" in line
    assert "--sep" not in line


def test_npz_member_x_must_be_two_dimensional(tmp_path):
    path = tmp_path / "t.npz"
    np.savez(path, X=np.arange(4.0), y=np.array([0, 1, 0, 1]))
    with pytest.raises(DataError, match=r"member 'X' must be 2-D .* 1-D array of shape \(4,\)"):
        read_table(path)


# ---------------------------------------------------------------------- not NumPy files
def test_npz_that_is_not_a_zip_archive(tmp_path, capsys, model):
    path = tmp_path / "fake.npz"
    path.write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(DataError, match=r"fake\.npz: not a valid \.npz archive \("):
        read_table(path)
    code, err = run(capsys, "predict", model, path)
    assert "fake.npz: not a valid .npz archive" in one_error(code, err)


def test_npz_member_that_is_not_an_array(tmp_path, capsys):
    path = tmp_path / "z.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("X.npy", "garbage")
    with pytest.raises(DataError, match=r"z\.npz: member X\.npy is not a NumPy array file"):
        read_table(path)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(DataError, match=r"member notes\.txt is not a NumPy array file"):
        read_table(path)
    code, err = run(capsys, "train", path, "--target", "y", *FAST, "--out", tmp_path / "m.lrnet")
    assert "is not a NumPy array file" in one_error(code, err)


def test_npz_member_with_a_broken_npy_header(tmp_path):
    path = tmp_path / "z.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("X.npy", b"\x93NUMPY garbage")
    with pytest.raises(DataError, match=r"member X\.npy is not a valid NumPy array file \("):
        read_table(path)


CONTENTS = {
    "random bytes": bytes(np.random.default_rng(0).integers(0, 256, 200, dtype=np.uint8)),
    "text": b"a,b\n1,2\n",
    "empty": b"",
}


@pytest.mark.parametrize("suffix, what", [("npy", "npy file"), ("npz", "npz archive")])
@pytest.mark.parametrize("content", CONTENTS.values(), ids=CONTENTS.keys())
def test_non_numpy_files_are_not_called_pickled(tmp_path, capsys, suffix, what, content):
    path = tmp_path / f"t.{suffix}"
    path.write_bytes(content)
    with pytest.raises(DataError, match=rf"t\.{suffix}: not a valid \.{what} \(") as info:
        read_table(path)
    assert "pickle" not in str(info.value)
    why = "the file is empty" if not content else ""
    assert why in str(info.value)
    code, err = run(capsys, "train", path, "--target", "y", *FAST, "--out", tmp_path / "m.lrnet")
    assert "pickle" not in one_error(code, err)


def test_object_arrays_are_still_refused_as_pickled(tmp_path):
    path = tmp_path / "t.npy"
    np.save(path, np.array([[{"a": 1}]], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="holds Python objects"):
        list(iter_table(path, chunk_rows=1))


# ---------------------------------------------------------------------- duplicate names
@pytest.mark.parametrize("names", [["x", "x", "y"], ["x", "y", "y"]], ids=["feature", "target"])
def test_duplicate_parquet_columns(tmp_path, capsys, names):
    n = 60
    columns = [np.linspace(0, 1, n), np.arange(n) % 2, (np.arange(n) // 2) % 2]
    path = tmp_path / "dup.parquet"
    pq.write_table(pa.table(columns, names=names), path)
    repeated = names[1]
    with pytest.raises(DataError, match=rf"duplicate column name\(s\) '{repeated}' \(2 times\)"):
        read_table(path)
    code, err = run(capsys, "train", path, "--target", "y", *FAST, "--out", tmp_path / "m.lrnet")
    line = one_error(code, err)
    assert f"'{repeated}' (2 times)" in line and "Rename" in line


def test_duplicate_csv_columns_are_refused_not_renamed(tmp_path):
    # issue 14: refused as in Parquet (pandas used to rename the second one to x.1)
    path = tmp_path / "dup.csv"
    path.write_text("x,x,y\n1,2,0\n3,4,1\n")
    with pytest.raises(DataError, match=r"duplicate column name\(s\) 'x' \(2 times\)"):
        read_table(path)


def oops_file(tmp_path):
    """:func:`make_table`'s CSV, the text 'oops' in column x1 of row 150 (line 152)."""
    table = make_table()
    table["x1"] = table["x1"].astype(object)
    table.loc[150, "x1"] = "oops"
    path = tmp_path / "oops.csv"
    table.to_csv(path, index=False)
    return path


def test_non_numeric_value_names_its_row(tmp_path, capsys, model):
    code, err = run(capsys, "predict", model, oops_file(tmp_path))
    assert "line 152 holds 'oops'" in one_error(code, err)  # data row 150, after the header


def test_non_numeric_value_names_its_row_in_the_file_when_chunked(tmp_path, capsys, model):
    code, err = run(capsys, "predict", model, oops_file(tmp_path), "--chunk-size", "10")
    assert "line 152 holds 'oops'" in one_error(code, err)  # data row 150, after the header


# ---------------------------------------------------------------------- --sep
@pytest.mark.parametrize("command", ["train", "predict"])
@pytest.mark.parametrize("sep", ["ab", ""])
def test_separator_must_be_one_character(tmp_path, capsys, model, command, sep):
    path = tmp_path / "t.csv"
    make_table(60).to_csv(path, index=False)
    if command == "train":
        args = ["train", path, "--target", "label", *FAST, "--out", tmp_path / "m.lrnet"]
    else:
        args = ["predict", model, path, "--chunk-size", "10"]
    code, err = run(capsys, *args, "--sep", sep)
    line = one_error(code, err)
    assert f"--sep {sep!r} must be a single character" in line
    assert "low_memory" not in line


def test_header_only_csv_is_a_table_without_rows(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n")
    chunks = list(iter_table(path, chunk_rows=5))
    assert len(chunks) == 1 and list(chunks[0].columns) == ["a", "b"] and chunks[0].empty


@pytest.mark.parametrize(
    "values, what",
    [
        (pd.to_datetime(["2020-01-01", None, "1960-01-01", "2021-06-01"] * 60), "dates"),
        (pd.to_timedelta([1, 2, None, 4] * 60, unit="D"), "durations"),
    ],
)
@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_dates_in_a_numeric_column_are_refused(tmp_path, capsys, model, values, what, command):
    """Not read as nanosecond counts (a missing date was -9.2e18)."""
    frame = make_table()  # 240 rows
    frame["x2"] = values
    data = tmp_path / "dated.parquet"
    frame.to_parquet(data)
    args = [command, model, data] + (["-o", tmp_path / "p.csv"] if command == "predict" else [])
    line = one_error(*run(capsys, *args))
    assert f"column 'x2' must be numeric, as in training, but it holds {what}" in line
    assert "Give the numbers the model was trained on" in line
