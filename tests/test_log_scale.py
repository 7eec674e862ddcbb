"""Long-tailed numeric columns read on a log scale (issue 15: columns read as a person
means them): which columns, the transform in predict, the model file and ONNX."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrnet.cli import main
from lrnet.data import Preprocessor
from lrnet.data.columns import ColumnOptions
from lrnet.data.skew import long_tailed, signed_expm1, signed_log1p, skewness
from lrnet.persistence import load

FAST = ["--hidden", "4", "--epochs", "3", "--no-report", "--ensemble", "1"]
RNG = np.random.default_rng(0)


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def table(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """A count with a long tail, a symmetric measure, a signed delay and a label."""
    rng = np.random.default_rng(seed)
    count = np.floor(rng.lognormal(3, 1.5, n))
    return pd.DataFrame(
        {
            "count": count,
            "height": rng.normal(170, 10, n),
            "delay": rng.exponential(20, n) - 10,
            "y": np.where(np.log1p(count) + rng.normal(0, 1, n) > 3, "big", "small"),
        }
    )


# ---------------------------------------------------------------------- the rule
@pytest.mark.parametrize(
    "values, logged",
    [
        (np.floor(RNG.lognormal(3, 1.5, 500)), True),  # counts with a long tail
        (RNG.pareto(1.5, 500) * 1000, True),  # amounts
        (np.r_[np.zeros(460), RNG.lognormal(5, 2, 40)], True),  # mostly zero, a tail
        (RNG.normal(0, 1, 500), False),  # symmetric
        (RNG.gamma(4, 1, 500), False),  # skewness 1: not a long tail
        (RNG.exponential(20, 500) - 10, False),  # a signed quantity: negatives
        (np.r_[RNG.normal(5, 1, 495), [60, 70, 80, 90, 99]], False),  # a few outliers
        (np.repeat([0, 1, 2, 3, 50], 100), False),  # fewer than 10 distinct values
        (np.r_[np.zeros(450), RNG.integers(1, 17, 50)], False),  # a pixel's 0-16: no span
        (100 - np.floor(RNG.lognormal(1, 1.2, 500)).clip(0, 100), False),  # left tail
        (np.r_[np.floor(RNG.lognormal(3, 1.5, 400)), [np.nan] * 100], True),  # gaps ignored
    ],
)
def test_which_columns_are_long_tailed(values, logged):
    assert (long_tailed(values) is not None) == logged


@given(st.lists(st.floats(-1e12, 1e12, allow_nan=False), min_size=1, max_size=50))
def test_signed_log1p_is_monotonic_and_inverted(values):
    x = np.sort(np.array(values))
    y = signed_log1p(x)
    assert np.all(np.diff(y) >= 0)
    np.testing.assert_allclose(signed_expm1(y), x, rtol=1e-9, atol=1e-12)


def test_signed_log1p_keeps_gaps_and_zero():
    out = signed_log1p(np.array([np.nan, 0.0, -0.0, np.e - 1, 1 - np.e]))
    assert np.isnan(out[0])
    np.testing.assert_allclose(out[1:], [0, 0, 1, -1], atol=1e-15)


@pytest.mark.parametrize("values, expected", [([1, 1, 1], 0.0), ([1, 2], 0.0), ([0, 0, 3], 0.7071)])
def test_skewness(values, expected):
    assert skewness(np.array(values, float)) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("factor", [1.0, 1e50, 1e110, 1e150, 1e200, 1e290])
def test_large_amounts_are_decided_like_small_ones(factor):
    """Moments of values near 1e110 used to overflow a Python float (an OverflowError)."""
    counts = np.floor(RNG.lognormal(3, 1.5, 500)) + 1  # below 1e5
    values = counts * factor
    assert np.isfinite(values).all()
    assert skewness(values) == pytest.approx(skewness(counts), rel=1e-9)
    assert long_tailed(counts) is not None
    assert long_tailed(values) is not None


def test_a_column_of_huge_amounts_trains(tmp_path, capsys):
    data = tmp_path / "huge.csv"
    pd.DataFrame({"v": [1e110 * (i + 1) for i in range(10)] * 2, "y": ["a", "b"] * 10}).to_csv(
        data, index=False
    )
    code, _, err = run(capsys, "train", data, "--target", "y", *FAST, "-o", tmp_path / "m.lrnet")
    assert code == 0, err


# ---------------------------------------------------------------------- the preprocessing
def test_long_tailed_column_is_logged_before_scaling():
    frame = table()
    pre = Preprocessor.fit(frame, "y")
    assert pre.plan.logged == ["count"]
    assert any(
        n.startswith("read on a log scale, log(1 + x), 1 long-tailed column(s)")
        and "'count' (" in n
        for n in pre.plan.notes
    )
    X = pre.transform(frame)
    scaler = pre.transformer.named_transformers_["num"]["scale"]
    read = X * scaler.scale_ + scaler.mean_
    np.testing.assert_allclose(read[:, 0], np.log1p(frame["count"]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(read[:, 1:], frame[["height", "delay"]], rtol=1e-5, atol=1e-4)
    assert [r.get("log", False) for r in pre.describe()] == [True, False, False]
    # the fill is shown in the column's units: the median count
    assert pre.describe()[0]["fill"] == frame["count"].median()  # 12 digits: exact


def test_no_log_keeps_the_scale():
    pre = Preprocessor.fit(table(), "y", options=ColumnOptions(log=False))
    assert pre.plan.logged == []
    assert pre.to_dict()["version"] == 1
    assert not any("log scale" in n for n in pre.plan.notes)


def test_text_numbers_are_logged_once_read():
    frame = table()
    frame["count"] = [f"{v:,.0f}".replace(",", ".") + ",0" for v in frame["count"]]
    pre = Preprocessor.fit(frame, "y")
    assert pre.plan.logged == ["count"] and "count" in pre.plan.numbers
    X = pre.transform(frame)
    scaler = pre.transformer.named_transformers_["num"]["scale"]
    expected = np.log1p(table()["count"])
    read = X[:, 0] * scaler.scale_[0] + scaler.mean_[0]
    np.testing.assert_allclose(read, expected, rtol=1e-5, atol=1e-5)


def test_logged_columns_round_trip_through_the_spec():
    frame = table()
    pre = Preprocessor.fit(frame, "y")
    spec = json.loads(json.dumps(pre.to_dict()))
    assert spec["version"] == 3 and spec["logged"] == ["count"]
    rebuilt = Preprocessor.from_dict(spec)
    assert rebuilt.plan.logged == ["count"]
    new = table(50, seed=3)
    new.loc[0, "count"] = np.nan
    new.loc[1, "count"] = -5.0  # never seen in training: still defined
    np.testing.assert_array_equal(rebuilt.transform(new), pre.transform(new))
    assert np.isfinite(pre.transform(new)).all()


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda s: s.update(logged=["nope"]), "logged: 'nope' is not a numeric column"),
        (lambda s: s.update(logged="count"), "logged must be a list of strings"),
        (lambda s: s.update(logged=["count", "count"]), "logged: duplicate column names"),
        (lambda s: s.update(version=4), "unsupported preprocessing version 4"),
    ],
)
def test_tampered_logged_part_is_refused(mutate, message):
    spec = json.loads(json.dumps(Preprocessor.fit(table(), "y").to_dict()))
    mutate(spec)
    with pytest.raises(ValueError, match=f"invalid preprocessing data: {message}"):
        Preprocessor.from_dict(spec)


def test_bad_value_in_a_logged_column_names_its_row():
    pre = Preprocessor.fit(table(), "y")
    new = table(5, seed=1).astype({"count": object})
    new.loc[2, "count"] = "many"
    with pytest.raises(
        ValueError, match="column 'count' must be numeric, as in training, but row 2 holds 'many'"
    ):
        pre.transform(new, "new.csv")


# ---------------------------------------------------------------------- the command
def test_train_notes_it_and_predict_inspect_repeat_it(tmp_path, capsys):
    data, model = tmp_path / "t.csv", tmp_path / "m.lrnet"
    table().to_csv(data, index=False)
    code, out, err = run(capsys, "train", data, "--target", "y", *FAST, "-o", model, "--json")
    assert code == 0, err
    info = json.loads(out)["info"]
    assert info["input columns"] == "3 numeric (1 on a log scale), 0 categorical, 0 dropped"
    assert (
        "read on a log scale, log(1 + x), 1 long-tailed column(s) (skewness shown): 'count' ("
        in err
    )
    assert "(--no-log to keep their scale)." in err
    m = load(model)
    assert m.preprocessor.plan.logged == ["count"]
    rows = table(40, seed=2)
    rows.drop(columns="y").to_csv(tmp_path / "rows.csv", index=False)
    out = tmp_path / "p.csv"
    assert run(capsys, "predict", model, tmp_path / "rows.csv", "--proba", "-o", out, "-q")[0] == 0
    expected = m.estimator.predict_proba(m.preprocessor.transform(rows))
    np.testing.assert_allclose(pd.read_csv(out)[["big", "small"]], expected, rtol=1e-5, atol=1e-6)
    code, out_text, _ = run(capsys, "inspect", model)
    assert code == 0
    assert "(log1p(x) - " in out_text
    assert "log1p(x): sign(x) log(1 + |x|), a long tail (--no-log)" in out_text
    plain = tmp_path / "plain.lrnet"
    code, _, err = run(capsys, "train", data, "--target", "y", *FAST, "-o", plain, "--no-log")
    assert code == 0, err
    assert "log scale" not in err
    assert load(plain).preprocessor.plan.logged == []


def test_stream_logs_the_same_columns(tmp_path, capsys):
    data = tmp_path / "t.parquet"
    table(2000).to_parquet(data)
    model = tmp_path / "m.lrnet"
    code, _, err = run(capsys, "train", data, "--target", "y", *FAST, "-o", model, "--stream")
    assert code == 0, err
    assert "'count' (" in err
    pre = load(model).preprocessor
    assert pre.plan.logged == ["count"]
    scaler = pre.transformer.named_transformers_["num"]["scale"]
    assert scaler.mean_[0] == pytest.approx(np.log1p(table(2000)["count"]).mean(), rel=0.05)


def test_stream_never_decides_on_a_test_row(tmp_path, capsys):
    """The plan is made on the rows left after the test split, as in memory."""
    from lrnet.stream import split

    rng = np.random.default_rng(3)
    n = 400
    roles = split.roles(np.arange(n), 0, 0.2, 0.0)  # --seed 0, --test-fraction 0.2
    test_row = int(np.flatnonzero(roles == split.TEST)[0])
    train_row = int(np.flatnonzero(roles != split.TEST)[0])
    weights = np.array([30, 20, 15, 10, 8, 6, 4, 3, 4]) / 100
    values = rng.choice([1, 2, 3, 4, 5, 6, 7, 8, 1000], n, p=weights)
    columns = {}
    for name, row in (("in_test", test_row), ("in_train", train_row)):
        column = values.astype(float)
        column[row] = 500.0  # the tenth distinct value, in one row only
        assert long_tailed(column) is not None and long_tailed(np.delete(column, row)) is None
        columns[name] = column
    columns["y"] = rng.choice(["a", "b"], n)
    data = tmp_path / "t.parquet"
    pd.DataFrame(columns).to_parquet(data, row_group_size=50)
    model = tmp_path / "m.lrnet"
    code, _, err = run(capsys, "train", data, "--target", "y", *FAST, "-o", model, "--stream")
    assert code == 0, err
    assert load(model).preprocessor.plan.logged == ["in_train"]


def test_logged_columns_export_to_onnx(tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    import onnx

    from lrnet.export import frame_inputs

    data, model = tmp_path / "t.csv", tmp_path / "m.lrnet"
    table().to_csv(data, index=False)
    assert run(capsys, "train", data, "--target", "y", *FAST, "-o", model, "-q")[0] == 0
    rows = table(60, seed=4).drop(columns="y")
    rows.loc[0, "count"] = np.nan
    rows.loc[1, "count"] = -3.0
    rows.loc[2, "count"] = 1e9
    rows.to_csv(tmp_path / "rows.csv", index=False)
    onnx_path = tmp_path / "m.onnx"
    code, out, err = run(
        capsys, "export", model, "-o", onnx_path, "--verify", tmp_path / "rows.csv"
    )
    assert code == 0, err + out
    proto = onnx.load(onnx_path)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    _, proba = session.run(["label", "probabilities"], frame_inputs(proto, rows))
    np.testing.assert_allclose(proba, load(model).predict_proba(rows), rtol=1e-5, atol=1e-6)


def test_decided_on_a_bounded_share_of_a_long_column():
    values = np.floor(np.random.default_rng(5).lognormal(3, 1.5, 1_000_003))
    assert long_tailed(values) == pytest.approx(long_tailed(values[::11]), rel=1e-12)
    values[-1] = -1.0  # one negative value anywhere: a signed quantity
    assert long_tailed(values) is None
