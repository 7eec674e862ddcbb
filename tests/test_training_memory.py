"""Training memory (issue 14, section 6): compact reading, block-wise fitting and transform.

What is checked: that each memory-saving step gives the table and the transformer the
plain path gives (values, dtypes' kinds, statistics, outputs, messages).  One test
bounds the bytes NumPy and pandas allocate (``tracemalloc``, deterministic) with a wide
margin; the peak RSS of ``lrnet train`` is measured by benchmarks/train_memory.py.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from lrnet.cli import main
from lrnet.data import DataError, Preprocessor, fitting, read_table, readers
from lrnet.data.columns import plan_columns
from lrnet.data.compact import compact_floats, compact_ints, compact_table
from lrnet.data.transform import binary_indicators, build_transformer, prepare_frame

RNG = np.random.default_rng(0)


# ---------------------------------------------------------------------- compact dtypes
@pytest.mark.parametrize(
    "values, dtype",
    [
        (np.arange(-1000, 1000, dtype=np.float64), np.float32),  # whole numbers: exact
        (np.array([0.5, 0.25, np.nan, -np.inf, 3.0]), np.float32),  # exact, NaN and inf too
        (RNG.normal(50, 10, 1000), np.float32),  # rounded by far less than the spread
        (1.7e9 + RNG.uniform(0, 100, 1000), np.float64),  # Unix seconds over 100 s
        (np.array([1e200, 1.0, 2.5]), np.float64),  # beyond float32
        (np.full(10, 0.1), np.float64),  # constant and inexact: no spread to compare to
        (np.full(10, np.nan), np.float32),
    ],
    ids=["whole", "halves", "normal", "large-offset", "huge", "constant", "all-nan"],
)
def test_floats_become_float32_only_when_that_keeps_them(values, dtype):
    out = compact_floats(values)
    assert out.dtype == dtype and not np.shares_memory(out, values)
    spread = np.nanstd(values[np.isfinite(values)]) if np.isfinite(values).any() else 0.0
    error = np.abs(out.astype(np.float64) - values)[np.isfinite(values)]
    assert error.size == 0 or error.max() <= 2.0**-16 * spread or error.max() == 0
    np.testing.assert_array_equal(np.isnan(out), np.isnan(values))


@pytest.mark.parametrize(
    "low, high, dtype",
    [(0, 1, np.int8), (-200, 100, np.int16), (0, 70_000, np.int32), (0, 2**40, np.int64)],
)
def test_integers_take_the_smallest_type_that_holds_them(low, high, dtype):
    values = np.array([low, high, (low + high) // 2], dtype=np.int64)
    out = compact_ints(values)
    assert out.dtype == dtype and not np.shares_memory(out, values)
    np.testing.assert_array_equal(out, values)


def _mixed_table(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    gaps = rng.normal(size=n)
    gaps[::17] = np.nan
    late_text = np.arange(n).astype(object)
    late_text[n - 3] = "oops"  # text only in the last chunk
    ints_late_gap = pd.array(np.arange(n) % 5, dtype="Int64").astype(object)
    ints_late_gap[n - 2] = None
    return pd.DataFrame(
        {
            "x": rng.normal(3, 2, n),
            "gaps": gaps,
            "seconds": 1.7e9 + rng.uniform(0, 60, n),
            "count": np.arange(n) % 300,
            "late_gap": ints_late_gap,
            "late_text": late_text,
            "color": rng.choice(["red", "green", "blue"], n),
            "flag": rng.integers(0, 2, n).astype(bool),
            "y": rng.choice(["yes", "no"], n),
        }
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_compact_read_gives_the_plain_table_in_smaller_dtypes(tmp_path, monkeypatch, fmt):
    monkeypatch.setattr(readers, "CHUNK_ROWS", 64)  # many chunks; text in the last one only
    table = _mixed_table(300)
    path = tmp_path / f"t.{fmt}"
    if fmt == "csv":
        table.to_csv(path, index=False)
    else:
        table.astype({"late_text": str, "late_gap": "Int64"}).to_parquet(path)
    plain, compact = read_table(path), read_table(path, compact=True)
    assert list(compact.columns) == list(plain.columns)
    assert compact.index.equals(pd.RangeIndex(len(plain)))
    assert compact.attrs.items() <= plain.attrs.items()  # without the row-count hint
    assert readers.FROM_FILE in compact.attrs
    for name in plain.columns:
        a, b = plain[name], compact[name]
        assert a.dtype.kind == b.dtype.kind or str(a.dtype) == str(b.dtype), name
        if a.dtype.kind == "f":
            spread = np.nanstd(a.to_numpy())
            np.testing.assert_allclose(b.to_numpy(np.float64), a, atol=2.0**-16 * spread)
        else:
            assert (
                b.astype(object).where(b.notna(), None).tolist()
                == a.astype(object).where(a.notna(), None).tolist()
            ), name
    assert compact["x"].dtype == np.float32 and compact["seconds"].dtype == np.float64
    assert compact["count"].dtype == np.int16
    if fmt == "csv":
        assert compact["late_text"].tolist()[:3] == ["0", "1", "2"]  # read again as text


def test_compact_table_frees_each_chunk_into_new_arrays():
    chunks = [pd.DataFrame({"a": np.arange(5.0) + i, "b": np.arange(5) * i}) for i in range(3)]
    table = compact_table(iter(chunks))
    for chunk in chunks:
        assert not np.shares_memory(table["a"].to_numpy(), chunk["a"].to_numpy())
    assert table["a"].tolist() == [v + i for i in range(3) for v in range(5)]


# ---------------------------------------------------------------------- fit in blocks
def _training_table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x1[::7] = np.nan
    color = rng.choice(["red", "green", "blue", None], n, p=[0.4, 0.3, 0.2, 0.1])
    return pd.DataFrame(
        {
            "x1": x1.astype(np.float32),
            "x2": rng.normal(50, 10, n),
            "k": rng.integers(0, 9, n).astype(np.int8),
            "color": color,
            "size": rng.choice(["S", "M", "L"], n),
            "y": rng.integers(0, 2, n),
        }
    )


@pytest.mark.parametrize("block", [64, 100, 100_000])
@pytest.mark.parametrize(
    "columns",
    [["x1", "x2", "k", "color", "size"], ["x1", "x2"], ["color", "size"], ["x2", "size"]],
    ids=["mixed", "numeric", "categorical", "no-gaps"],
)
def test_block_fit_equals_scikit_learns_fit(monkeypatch, block, columns):
    monkeypatch.setattr(fitting, "block_rows", lambda n_columns: block)
    frame = _training_table(500)[[*columns, "y"]]
    plan = plan_columns(frame, "y")
    ours = fitting.fit_transformer(frame, plan, "data")
    theirs = build_transformer(plan.numeric, plan.categorical).fit(prepare_frame(frame, plan))
    a, b = ours.named_transformers_, theirs.named_transformers_
    if plan.numeric:  # the rule on top of scikit-learn's fit: the indicators stay 0/1
        scaler = b["num"]["scale"]
        binary_indicators(scaler.mean_, scaler.var_, scaler.scale_, len(plan.numeric))
    if plan.numeric:
        for step in ("impute",):
            np.testing.assert_array_equal(a["num"][step].statistics_, b["num"][step].statistics_)
        ind_a, ind_b = a["num"]["impute"].indicator_, b["num"]["impute"].indicator_
        assert (ind_a is None) == (ind_b is None)
        if ind_a is not None:
            np.testing.assert_array_equal(ind_a.features_, ind_b.features_)
        for attr in ("mean_", "var_", "scale_"):
            np.testing.assert_allclose(
                getattr(a["num"]["scale"], attr), getattr(b["num"]["scale"], attr), rtol=1e-12
            )
        assert a["num"]["scale"].n_samples_seen_ == b["num"]["scale"].n_samples_seen_
    if plan.categorical:
        np.testing.assert_array_equal(
            a["cat"]["impute"].statistics_, b["cat"]["impute"].statistics_
        )
        for ca, cb in zip(
            a["cat"]["onehot"].categories_, b["cat"]["onehot"].categories_, strict=True
        ):
            np.testing.assert_array_equal(ca, cb)
    assert list(ours.get_feature_names_out()) == list(theirs.get_feature_names_out())
    new = _training_table(50, seed=1)
    np.testing.assert_allclose(
        ours.transform(prepare_frame(new, plan)),
        theirs.transform(prepare_frame(new, plan)),
        rtol=1e-9,
        atol=1e-12,
    )


def test_the_block_fit_survives_the_model_file_round_trip(monkeypatch):
    monkeypatch.setattr(fitting, "block_rows", lambda n_columns: 64)
    frame = _training_table(400)
    pre = Preprocessor.fit(frame, "y")  # checks to_dict -> from_dict itself
    rebuilt = Preprocessor.from_dict(pre.to_dict())
    np.testing.assert_array_equal(rebuilt.transform(frame), pre.transform(frame))


# ---------------------------------------------------------------------- transform in blocks
@pytest.mark.parametrize("block", [50, 64, 299])
def test_block_transform_equals_one_transform(monkeypatch, block):
    frame = _training_table(300)
    pre = Preprocessor.fit(frame, "y")
    whole = pre.transform(frame)
    monkeypatch.setattr(fitting, "block_rows", lambda n_columns: block)
    blocks = pre.transform(frame)
    assert blocks.dtype == np.float32 and blocks.flags.c_contiguous
    np.testing.assert_array_equal(blocks, whole)
    np.testing.assert_array_equal(
        pre.transform(frame, dtype=np.float64), pre.transform(frame, dtype=np.float64)
    )


@pytest.mark.parametrize("row", [3, 250])
def test_block_transform_names_the_line_of_a_bad_value(tmp_path, monkeypatch, row):
    monkeypatch.setattr(fitting, "block_rows", lambda n_columns: 16)
    frame = _training_table(300)
    pre = Preprocessor.fit(frame, "y")
    bad = frame.copy()
    bad["x2"] = bad["x2"].astype(np.float64)
    bad.loc[row, "x2"] = 1e300
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(DataError, match=rf"column 'x2' of line {row + 2} overflows"):
        pre.transform(read_table(path), "bad.csv")


# ---------------------------------------------------------------------- the command
def test_train_reads_compactly_and_predicts_as_before(tmp_path, capsys):
    frame = _training_table(400)
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    model = tmp_path / "m.lrnet"
    argv = ["train", path, "--target", "y", "--hidden", "4", "--epochs", "3", "--no-report"]
    assert main([str(a) for a in [*argv, "--out", model, "-q"]]) == 0
    out = tmp_path / "p.csv"
    assert main(["predict", str(model), str(path), "-o", str(out), "-q"]) == 0
    predicted = pd.read_csv(out)
    assert len(predicted) == 400
    capsys.readouterr()


# ---------------------------------------------------------------------- a bound on allocations
def test_fit_and_transform_allocate_far_less_than_the_float64_table():
    """tracemalloc counts NumPy's and pandas' allocations exactly: no timing, no RSS noise.

    The old path allocated about five float64 copies of the table while fitting; the
    block-wise one allocates a few columns and one block of rows.
    """
    n, d = 200_000, 40
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"f{i}": rng.normal(size=n).astype(np.float32) for i in range(d)})
    frame["y"] = rng.integers(0, 2, n).astype(np.int8)
    table64 = n * d * 8
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        pre = Preprocessor.fit(frame, "y")
        _, fit_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        X = pre.transform(frame)
        _, transform_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert fit_peak - start < 0.6 * table64
    assert transform_peak - before < X.nbytes + 0.6 * table64


# ---------------------------------------------------------------------- the test split
@pytest.mark.parametrize("stratified", [True, False])
def test_split_by_row_positions_equals_the_split_of_the_frame(stratified):
    from argparse import Namespace

    from sklearn.model_selection import train_test_split

    from lrnet.cli.display import Output
    from lrnet.cli.train import test_split

    frame = _training_table(200)
    frame.index = pd.RangeIndex(2, 202)  # line numbers, as a reader's frame would have
    frame.attrs[readers.FIRST_LINE] = 2
    y = frame["y"].to_numpy()
    if not stratified:
        y = y.copy()
        y[0] = 7  # a class of one row: no stratified split
    args = Namespace(test_fraction=0.25, seed=3)
    kw = dict(test_size=0.25, random_state=3, stratify=y if stratified else None)
    expected = train_test_split(frame.copy(), y, **kw)
    got = test_split(frame, y, args, Output(quiet=True))
    assert frame.shape[1] == 0  # emptied, column by column
    for a, b in zip(got[:2], expected[:2], strict=True):
        pd.testing.assert_frame_equal(a, b)
        assert a.attrs[readers.FIRST_LINE] == 2
    for a, b in zip(got[2:], expected[2:], strict=True):
        np.testing.assert_array_equal(a, b)
