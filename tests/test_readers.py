"""Reading tables: CSV (sniffed), Parquet, NumPy files, in chunks, and their errors."""

import gzip

import numpy as np
import pandas as pd
import pytest

from lrnet.data import CsvOptions, DataError, iter_table, read_table


@pytest.fixture
def frame():
    return pd.DataFrame(
        {"a": [1, 2, 3, 4, 5], "b": ["x", "y", "x", "z", "y"], "c": [0.5, np.nan, 1.5, 2.5, 3.5]}
    )


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_csv_delimiter_is_sniffed(tmp_path, frame, sep):
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False, sep=sep)
    pd.testing.assert_frame_equal(read_table(path), frame)


def test_gzipped_csv_and_tsv(tmp_path, frame):
    path = tmp_path / "t.csv.gz"
    with gzip.open(path, "wt") as fh:
        frame.to_csv(fh, index=False, sep=";")
    pd.testing.assert_frame_equal(read_table(path), frame)
    tsv = tmp_path / "t.tsv"
    frame.to_csv(tsv, index=False, sep="\t")
    pd.testing.assert_frame_equal(read_table(tsv), frame)


def test_parquet(tmp_path, frame):
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    pd.testing.assert_frame_equal(read_table(path), frame, check_dtype=False)


def test_npz_with_x_and_y(tmp_path):
    path = tmp_path / "t.npz"
    X = np.arange(12.0).reshape(4, 3)
    np.savez(path, X=X, y=np.array(["a", "b", "a", "b"]), feature_names=np.array(["p", "q", "r"]))
    table = read_table(path)
    assert list(table.columns) == ["p", "q", "r", "y"]
    np.testing.assert_array_equal(table[["p", "q", "r"]].to_numpy(), X)


def test_npz_with_one_array_per_column(tmp_path):
    path = tmp_path / "t.npz"
    np.savez(path, height=np.array([1.0, 2.0]), label=np.array(["a", "b"]))
    assert list(read_table(path).columns) == ["height", "label"]


def test_npy_plain_and_structured(tmp_path):
    path = tmp_path / "t.npy"
    np.save(path, np.arange(6.0).reshape(3, 2))
    assert list(read_table(path).columns) == ["x0", "x1"]
    structured = np.array([(1.0, "a"), (2.0, "b")], dtype=[("size", "f8"), ("kind", "U1")])
    np.save(path, structured)
    assert list(read_table(path).columns) == ["size", "kind"]


def test_numpy_files_never_unpickle(tmp_path):
    path = tmp_path / "t.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match=r"t\.npy: the file holds Python objects"):
        read_table(path)
    npz = tmp_path / "t.npz"
    np.savez(npz, X=np.array([[{"a": 1}]], dtype=object))
    with pytest.raises(DataError, match=r"t\.npz: a member holds Python objects"):
        read_table(npz)


@pytest.mark.parametrize("suffix", ["csv", "parquet", "npy", "npz"])
def test_chunks_cover_the_table(tmp_path, suffix):
    n = 23
    table = pd.DataFrame({"a": np.arange(n, dtype=float), "b": np.arange(n) % 3})
    path = tmp_path / f"t.{suffix}"
    if suffix == "csv":
        table.to_csv(path, index=False)
    elif suffix == "parquet":
        table.to_parquet(path)
    elif suffix == "npy":
        np.save(path, table.to_numpy(dtype=float))
    else:
        np.savez(path, a=table["a"].to_numpy(), b=table["b"].to_numpy())
    chunks = list(iter_table(path, chunk_rows=5))
    assert [len(c) for c in chunks] == [5, 5, 5, 5, 3]
    np.testing.assert_array_equal(pd.concat(chunks).iloc[:, 0].to_numpy(), np.arange(n))
    for chunk in chunks:  # the index counts rows of the file, across chunks
        assert chunk.index.tolist() == chunk.iloc[:, 0].astype(int).tolist()


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("t.xlsx", b"PK", r"unsupported file type '\.xlsx'"),
        ("t.csv", b"", "the file is empty"),
        ("t.parquet", b"not parquet at all", "not a valid Parquet file"),
        ("t.npy", b"\x93NUMPY garbage", r"cannot read this npy file"),
    ],
)
def test_unreadable_files(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_table(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_table(tmp_path / "absent.csv")
    with pytest.raises(DataError, match="is a directory"):
        read_table(tmp_path)


def test_encoding_option(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("city,n\nZürich,1\nGenève,2\n".encode("latin-1"))
    with pytest.raises(DataError, match="not valid utf-8 text .* --encoding latin-1"):
        read_table(path)
    assert read_table(path, CsvOptions(encoding="latin-1"))["city"].tolist() == ["Zürich", "Genève"]


def test_explicit_wrong_delimiter(tmp_path, frame):
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False, sep="|")
    with pytest.raises(DataError, match=r"one column \('a\|b\|c'\) .* delimiter looks wrong"):
        read_table(path, CsvOptions(sep=";"))
