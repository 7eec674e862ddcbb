"""Columns read as a person means them (issue 15): text numbers, dates, high-cardinality
categories, ID-like columns, headerless files and integer targets that are amounts."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pandas as pd
import pytest

from lrnet.cli import main
from lrnet.data import Preprocessor
from lrnet.data.columns import ColumnOptions, header_looks_like_data, plan_columns
from lrnet.data.dates import date_features, date_format, feature_names
from lrnet.data.numbers import number_format, parse_numbers
from lrnet.data.readers import CsvOptions, read_table
from lrnet.persistence import load

ort = pytest.importorskip("onnxruntime")

FAST = ["--hidden", "4", "--epochs", "3", "--no-report"]


def run(capsys, *args) -> tuple[int, str, str]:
    """Exit status, standard output and standard error of ``lrnet ARGS``."""
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("lrnet: error:")]
    assert len(lines) == 1 and "internal error" not in err, err
    return lines[0]


# ---------------------------------------------------------------------- numbers as text
@pytest.mark.parametrize(
    "values, decimal, expected, fmt",
    [
        (["39,1", "18,7", None, "181"], None, [39.1, 18.7, np.nan, 181], (",", "", False)),
        (["1,234,567", "12", "-3"], None, [1234567, 12, -3], (".", ",", False)),
        (["1.234.567,5", "3,25"], None, [1234567.5, 3.25], (",", ".", False)),
        (["12.5%", "3 %", "100%"], None, [0.125, 0.03, 1.0], (".", "", True)),
        (["1 234,5", "7"], None, [1234.5, 7], (",", " \u00a0\u202f", False)),
        (["1'234.5", "7"], None, [1234.5, 7], (".", "'", False)),
        (["1,234", "5,678"], ",", [1.234, 5.678], (",", "", False)),  # --decimal ,
        (["1,234", "5,678"], None, [1234, 5678], (".", ",", False)),  # a guess, noted
        (["621", "2,054"], None, [621, 2054], (".", ",", False)),  # 621: below 1000
        (["1234", "5,678"], None, [1234, 5.678], (",", "", False)),  # 1234: no separator
        (["0,125", "1,500"], None, [0.125, 1.5], (",", "", False)),  # never '0,125'
        (["12%", "1.500%"], None, [0.12, 0.015], (".", "", True)),
    ],
)
def test_number_formats(values, decimal, expected, fmt):
    series = pd.Series(values, name="x", dtype=object)
    found, _ = number_format(series, decimal)
    assert (found["decimal"], found["thousands"], found["percent"]) == fmt
    np.testing.assert_allclose(parse_numbers(series, found, "t"), expected)


@pytest.mark.parametrize(
    "values", [["a", "1"], ["1.2.3", "4"], ["1,2,3", "4,5"], ["12:30", "1"], ["1,5", "2.5"]]
)
def test_text_that_is_not_a_number(values):
    assert number_format(pd.Series(values, dtype=object)) is None


def test_ambiguous_comma_is_noted_with_the_fix():
    frame = pd.DataFrame({"amount": ["1,234", "5,678", "9,100"] * 10, "y": [0, 1, 1] * 10})
    plan = plan_columns(frame, "y")
    assert plan.numbers["amount"] == {"decimal": ".", "thousands": ",", "percent": False}
    assert any("pass --decimal , then" in note for note in plan.notes)
    plan = plan_columns(frame, "y", options=ColumnOptions(decimal=","))
    assert plan.numbers["amount"]["decimal"] == "," and plan.reading == {"decimal": ","}


def penguin_like(n: int = 120, seed: int = 0) -> pd.DataFrame:
    """A ``;`` table with decimal commas, percentages, thousands separators."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    bill = rng.normal(40, 3, n) + 4 * y
    return pd.DataFrame(
        {
            "bill": [f"{v:.1f}".replace(".", ",") for v in bill],
            "share": [f"{v:.1f}%" for v in rng.uniform(0, 100, n)],
            "mass": [f"{int(v):,}".replace(",", ".") + ",5" for v in rng.uniform(900, 6e3, n)],
            "species": np.array(["a", "b", "c"])[y],
        }
    )


def test_decimal_comma_file_trains_predicts_and_names_bad_values(tmp_path, capsys):
    data = tmp_path / "p.csv"
    frame = penguin_like()
    frame.to_csv(data, sep=";", index=False)
    model = tmp_path / "m.lrnet"
    code, _, err = run(capsys, "train", data, *FAST, "--out", model)
    assert code == 0, err
    assert "column 'bill': read as numbers written with a decimal comma." in err
    assert "column 'share': read as numbers written with a percent sign" in err
    assert "column 'mass': read as numbers written with a decimal comma and thousands" in err
    m = load(model)
    assert m.preprocessor.plan.numeric == ["bill", "share", "mass"]
    assert m.preprocessor.plan.categorical == []
    # predict reads the same way; the values are those a person reads
    read = pd.DataFrame(
        {
            "bill": frame["bill"].str.replace(",", ".").astype(float),
            "share": frame["share"].str.rstrip("%").astype(float) / 100,
            "mass": frame["mass"].str.replace(".", "").str.replace(",", ".").astype(float),
        }
    )
    X = m.preprocessor.transform(frame)
    scaler = m.preprocessor.transformer.named_transformers_["num"]["scale"]
    np.testing.assert_allclose(X * scaler.scale_ + scaler.mean_, read, rtol=1e-5, atol=1e-6)
    out = tmp_path / "pred.csv"
    code, _, err = run(capsys, "predict", model, data, "--proba", "-o", out, "-q")
    assert code == 0, err
    expected = m.estimator.predict_proba(X)
    np.testing.assert_allclose(pd.read_csv(out)[["a", "b", "c"]], expected, rtol=1e-5, atol=1e-6)
    bad = frame.head(5).copy()
    bad.loc[2, "bill"] = "4,x"
    bad.to_csv(tmp_path / "bad.csv", sep=";", index=False)
    code, _, err = run(capsys, "predict", model, tmp_path / "bad.csv")
    assert code == 1
    assert "column 'bill' holds numbers written with a decimal comma, as in training, but " in (
        error_line(err)
    )
    assert "line 4 holds '4,x'" in err


def test_decimal_option_is_kept_for_predict(tmp_path, capsys):
    """``--decimal ,``: '1.234' is 1234 (the point separates thousands), also in predict."""
    rng = np.random.default_rng(1)
    n = 80
    thousands = rng.integers(1, 9, n) * 1000 + rng.integers(100, 999, n)
    frame = pd.DataFrame(
        {
            "count": [f"{v // 1000}.{v % 1000:03d}" for v in thousands],  # '3.512'
            "rate": [f"{v:.2f}".replace(".", ",") for v in rng.uniform(0, 9, n)],
            "y": rng.integers(0, 2, n),
        }
    )
    data = tmp_path / "d.csv"
    frame.to_csv(data, sep=";", index=False)
    assert read_table(data)["count"].dtype.kind == "f"  # without --decimal: 3.512
    read = read_table(data, CsvOptions(decimal=","))
    np.testing.assert_array_equal(read["count"], thousands)
    model = tmp_path / "m.lrnet"
    code, _, err = run(capsys, "train", data, "--decimal", ",", *FAST, "--out", model)
    assert code == 0, err
    m = load(model)
    assert m.preprocessor.plan.reading == {"decimal": ","}
    out = tmp_path / "p.csv"
    assert run(capsys, "predict", model, data, "--proba", "-o", out, "-q")[0] == 0
    expected = m.estimator.predict_proba(m.preprocessor.transform(read))
    np.testing.assert_allclose(pd.read_csv(out)[["0", "1"]], expected, rtol=1e-5, atol=1e-6)
    # --decimal . at predict overrides the model's: '3,45' is then no number
    code, _, err = run(capsys, "predict", model, data, "--decimal", ".")
    assert "column 'rate' must be numeric, as in training, but line 2 holds" in error_line(err)


# ---------------------------------------------------------------------- dates
@pytest.mark.parametrize(
    "values, fmt, time",
    [
        (["2013-01-01", "2013-02-03"], "%Y-%m-%d", False),
        (["01/31/2020", "02/01/2020"], "%m/%d/%Y", False),
        (["13/01/2020", "01/02/2020"], "%d/%m/%Y", False),  # day-first: month-first fails
        (["2013-01-01 05:00:00", "2013-01-01 06:30:00"], "%Y-%m-%d %H:%M:%S", True),
        (["2013-01-01T05:00:00Z", "2013-01-01T06:00:00+01:00"], "%Y-%m-%dT%H:%M:%S%z", True),
        (["Jan 3, 2020", "Feb 4, 2021"], "%b %d, %Y", False),
    ],
)
def test_date_formats(values, fmt, time):
    assert date_format(pd.Series(values, dtype=object)) == {"format": fmt, "time": time}


@pytest.mark.parametrize(
    "values", [["12:30", "13:00"], ["2020-01-01", "soon"], ["2020-01", "2020-02"], ["a", "b"]]
)
def test_not_dates(values):
    assert date_format(pd.Series(values, dtype=object)) is None


def test_date_features_values():
    series = pd.Series(["2020-01-01 06:30", "2013-01-06 23:00", None], name="t")
    how = date_format(series)
    how["features"] = feature_names("t", how, {"t"})
    got = date_features(series, how, "f")
    np.testing.assert_allclose(got["t_days"][:2], [18262 + 6.5 / 24, 15711 + 23 / 24])
    np.testing.assert_array_equal(got["t_year"][:2], [2020, 2013])
    np.testing.assert_array_equal(got["t_month"][:2], [1, 1])
    np.testing.assert_array_equal(got["t_weekday"][:2], [2, 6])  # Wednesday, Sunday
    np.testing.assert_array_equal(got["t_hour"][:2], [6.5, 23])
    assert all(np.isnan(v[2]) for v in got.values())
    # a datetime column (Parquet) gives the same features
    parsed = pd.Series(pd.to_datetime(series), name="t")
    assert date_format(parsed) == {"format": None, "time": True}
    again = date_features(parsed, {**how, "format": None}, "f")
    for name, values in got.items():
        np.testing.assert_array_equal(again[name], values)


def test_feature_names_avoid_existing_columns():
    how = {"format": "%Y-%m-%d", "time": False}
    names = feature_names("d", how, {"d", "d_year"})
    assert names == {
        "days": "d_days",
        "year": "d_year_",
        "month": "d_month",
        "weekday": "d_weekday",
    }


def dated(n: int = 150, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    when = pd.Timestamp("2021-03-01") + pd.to_timedelta(rng.uniform(0, 400, n), unit="D")
    y = (when.day_of_week >= 5).astype(int)  # the weekend: learnable from the date only
    return pd.DataFrame({"when": when.strftime("%Y-%m-%d %H:%M"), "x": rng.normal(size=n), "y": y})


def test_dates_train_predict_and_refuse_onnx(tmp_path, capsys):
    data = tmp_path / "d.csv"
    frame = dated()
    frame.loc[4, "when"] = None
    frame.to_csv(data, index=False)
    model = tmp_path / "m.lrnet"
    code, _, err = run(capsys, "train", data, *FAST, "--out", model)
    assert code == 0, err
    assert "column 'when': read as dates (%Y-%m-%d %H:%M); features: days since 1970" in err
    pre = load(model).preprocessor
    assert pre.columns == ["x", "when"]
    assert {"num__when_days", "num__when_weekday", "num__when_hour"} <= set(pre.feature_names_out)
    assert pre.to_dict()["version"] == 2
    assert run(capsys, "predict", model, data, "-o", tmp_path / "p.csv", "-q")[0] == 0
    bad = frame.head(6)
    bad.loc[3, "when"] = "tomorrow"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    code, _, err = run(capsys, "predict", model, tmp_path / "bad.csv")
    assert "column 'when' holds dates in the format %Y-%m-%d %H:%M, as in training, but " in (
        error_line(err)
    )
    assert "line 5 holds 'tomorrow'" in err
    code, _, err = run(capsys, "export", model, "-o", tmp_path / "m.onnx")
    assert code == 1
    assert "reads the date column(s) 'when'" in error_line(err) and "--no-dates" in err


def test_no_dates_leaves_the_text(tmp_path, capsys):
    data = tmp_path / "d.csv"
    frame = dated(60)
    frame["when"] = frame["when"].str[:7] + "-01"  # a month: repeats, so not an ID
    frame.to_csv(data, index=False)
    model = tmp_path / "m.lrnet"
    code, _, err = run(capsys, "train", data, "--no-dates", *FAST, "--out", model)
    assert code == 0, err
    pre = load(model).preprocessor
    assert "read as dates" not in err and pre.plan.dates == {}
    assert pre.plan.categorical == ["when"]
    assert pre.to_dict()["version"] == 1  # nothing new: older lrnet versions read it


# ---------------------------------------------------------------------- many categories
def wide(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """A flights-like table: a timestamp per row, a 1,500-level tail number."""
    rng = np.random.default_rng(seed)
    tail = [f"N{v:04d}" for v in rng.zipf(1.3, n) % 1500]
    time = pd.Timestamp("2013-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, 365, n)), "D")
    return pd.DataFrame(
        {
            "time_hour": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tailnum": tail,
            "carrier": rng.choice(list("ABCDEFGH"), n),
            "delay": rng.normal(size=n),
            "late": rng.integers(0, 2, n),
        }
    )


def test_timestamps_and_many_levels_stay_small():
    frame = wide()
    levels = frame["tailnum"].nunique()
    pre = Preprocessor.fit(frame, "late")
    plan = pre.plan
    assert set(plan.dates) == {"time_hour"} and plan.dates["time_hour"]["time"]
    kept = plan.capped["tailnum"]["kept"]
    assert len(kept) == 30 and "carrier" not in plan.capped
    counts = frame["tailnum"].value_counts()
    assert set(kept) <= set(counts.index[counts >= 5])
    assert min(counts[kept]) >= counts.drop(kept).max()  # the most frequent
    note = next(n for n in plan.notes if n.startswith("column 'tailnum'"))
    assert f"{levels:,} distinct values; kept the 30 most frequent" in note
    assert f"the other {levels - 30:,} grouped as '(other)'" in note
    # 6 date features + 31 + 8 one-hot + delay: not thousands of inputs
    assert len(pre.feature_names_out) == 5 + 31 + 8 + 1


@pytest.mark.parametrize("k", [3, 12])
def test_max_categories_and_unseen_values_join_other(k):
    frame = wide(600)
    pre = Preprocessor.fit(frame, "late", options=ColumnOptions(dates=False, max_categories=k))
    names = pre.feature_names_out
    tail = [n for n in names if n.startswith("cat__tailnum_")]
    assert len(tail) == k + 1 and "cat__tailnum_(other)" in tail
    rows = frame.head(3).copy()
    rows["tailnum"] = ["never-seen", pre.plan.capped["tailnum"]["kept"][0], None]
    X = pre.transform(rows)
    other = names.index("cat__tailnum_(other)")
    assert X[0, other] == 1 and X[1, other] == 0
    assert X[0, [names.index(t) for t in tail]].sum() == 1
    rebuilt = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    np.testing.assert_array_equal(rebuilt.transform(rows), X)


def test_other_is_renamed_when_a_value_has_its_name():
    frame = wide(600)
    frame.loc[frame["tailnum"] == frame["tailnum"].iloc[-1], "tailnum"] = "(other)"
    pre = Preprocessor.fit(frame, "late", options=ColumnOptions(dates=False))
    how = pre.plan.capped["tailnum"]
    assert how["other"] != "(other)" and how["other"] not in how["kept"]


def test_capped_columns_export_to_onnx(tmp_path, capsys):
    data = tmp_path / "w.csv"
    wide(800).to_csv(data, index=False)
    model = tmp_path / "m.lrnet"
    assert run(capsys, "train", data, "--no-dates", *FAST, "--out", model, "-q")[0] == 0
    rows = wide(300, seed=5).drop(columns="late")  # other tail numbers, some never seen
    rows.loc[0, "tailnum"] = None
    rows.to_csv(tmp_path / "rows.csv", index=False)
    code, out, err = run(
        capsys, "export", model, "-o", tmp_path / "m.onnx", "--verify", tmp_path / "rows.csv"
    )
    assert code == 0, err + out
    from lrnet.export import frame_inputs

    m = load(model)
    proto = onnx.load(tmp_path / "m.onnx")
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    frame = pd.read_csv(tmp_path / "rows.csv")
    _, proba = session.run(["label", "probabilities"], frame_inputs(proto, frame))
    np.testing.assert_allclose(proba, m.predict_proba(frame), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- ID-like columns
@pytest.mark.parametrize(
    "values, reason",
    [
        (
            lambda i, r: [f"{r.integers(1 << 62):016x}" for _ in i],
            "ID-like: all 40 values are unique",
        ),
        (
            lambda i, r: [
                str(v)
                for v in r.choice(
                    [
                        "9f1c2e4a-0b7d-4c3e-8a6f-2d5e7c9b1a3f",
                        "0b7d4c3e-9f1c-2e4a-8a6f-1a3f2d5e7c9b",
                    ],
                    40,
                )
            ],
            "ID-like: UUID or hash values",
        ),
        (lambda i, r: [f"name {v}" for v in i[:-2]] + ["name 0", "name 1"], "ID-like: 38 distinct"),
        (lambda i, r: np.repeat(np.arange(20), 2)[i], "ID-like: 20 integers in increasing order"),
        (
            lambda i, r: 1000 - np.repeat(np.arange(25), 2)[i[:40]],
            "ID-like: 20 integers in decreasing",
        ),
        (lambda i, r: r.permutation(40) + 1000, "ID-like: 40 distinct integers filling the range"),
    ],
)
def test_id_like_values(values, reason):
    rng = np.random.default_rng(0)
    index = np.arange(40)
    frame = pd.DataFrame({"ref": values(index, rng), "x": rng.normal(size=40), "y": [0, 1] * 20})
    assert plan_columns(frame, "y").dropped["ref"].startswith(reason)


@pytest.mark.parametrize(
    "values",
    [
        lambda r: r.normal(size=40),  # continuous
        lambda r: r.choice(["red", "green", "blue"], 40),  # a few categories
        lambda r: r.integers(0, 30, 40),  # unordered integers with repeats
        lambda r: np.repeat(np.arange(10), 4),  # ordered, but few values: a group
        lambda r: r.integers(1_000, 2_000_000, 40),  # distinct counts (populations): numbers
    ],
)
def test_not_id_like(values):
    frame = pd.DataFrame({"ref": values(np.random.default_rng(0)), "y": [0, 1] * 20})
    assert "ref" not in plan_columns(frame, "y").dropped


# ---------------------------------------------------------------------- headers
@pytest.mark.parametrize(
    "columns, data, looks",
    [
        (["5.1", "3.5", "1.4", "Iris-setosa"], [[4.9, 3.0, 1.4, "Iris-setosa"]], True),
        (["1", "0", "7"], [["a", "b", "c"]], True),  # numbers over text: half or more
        (["12", "red", "x"], [[3, "red", 1.5]], False),  # 'x' is not a number
        (["12", "red"], [[3, "red"]], True),  # each name has its column's type
        (["age", "2019", "2020"], [[30, 1.0, 2.0]], True),  # most names are numbers
        (["age", "city", "2020"], [[30, "Oslo", 2.0]], False),
        (["x0", "x1"], [[1.0, 2.0]], False),
    ],
)
def test_header_looks_like_data(columns, data, looks):
    frame = pd.DataFrame(data * 3, columns=columns)
    assert (header_looks_like_data(frame) is not None) == looks


def test_headerless_csv_is_noticed_and_read_with_no_header(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 60
    y = rng.integers(0, 2, n)
    frame = pd.DataFrame({"a": rng.normal(size=n) + y, "b": rng.normal(size=n), "c": y})
    data = tmp_path / "h.csv"
    frame.to_csv(data, index=False, header=False, float_format="%.4f")
    code, _, err = run(capsys, "train", data, *FAST, "--out", tmp_path / "m.lrnet")
    assert code == 0, err
    assert "the first line may be data, not a header: the column names" in err
    assert "pass --no-header" in err
    model = tmp_path / "n.lrnet"
    code, _, err = run(capsys, "train", data, "--no-header", *FAST, "--out", model)
    assert code == 0, err
    assert "may be data" not in err
    assert f"read {n} rows and 3 columns" in err
    m = load(model)
    assert m.preprocessor.columns == ["col_0", "col_1"] and m.preprocessor.target == "col_2"
    assert m.preprocessor.plan.reading == {"header": False}
    out = tmp_path / "p.csv"
    code, _, err = run(capsys, "predict", model, data, "-o", out, "-q")  # no header: as trained
    assert code == 0, err
    assert len(pd.read_csv(out)) == n


def test_headerless_file_with_repeated_numbers_suggests_no_header(tmp_path, capsys):
    data = tmp_path / "h.csv"
    data.write_text("1,0,1\n2,1,0\n3,0,1\n")
    code, _, err = run(capsys, "train", data, *FAST, "--out", tmp_path / "m.lrnet")
    assert "duplicate column name(s)" in error_line(err) and "pass --no-header" in err
    frame = read_table(data, CsvOptions(header=False))
    assert list(frame.columns) == ["col_0", "col_1", "col_2"] and len(frame) == 3


def test_no_header_lines_name_rows(tmp_path, capsys):
    data = tmp_path / "h.csv"
    data.write_text("1,a,0\n2,b,1\n3,c,0\nx,d,1\n")
    frame = read_table(data, CsvOptions(header=False))
    from lrnet.data.readers import row_name

    assert row_name(frame.index[3], frame.attrs) == "line 4"


# ---------------------------------------------------------------------- integer targets
@pytest.mark.parametrize(
    "n_rows, n_classes, refused",
    [
        (2000, 300, True),  # a price: 300 values, 15% of the rows
        (2000, 51, False),  # 51 classes in 2.5% of the rows: classes
        (400, 45, False),  # 11%, but not more than 50 classes
        (400, 60, True),
    ],
)
def test_integer_target_with_many_values(tmp_path, capsys, n_rows, n_classes, refused):
    rng = np.random.default_rng(0)
    target = np.resize(np.arange(n_classes) * 37 + 326, n_rows)
    data = tmp_path / "t.csv"
    pd.DataFrame({"x": rng.normal(size=n_rows), "price": target}).to_csv(data, index=False)
    code, _, err = run(capsys, "train", data, *FAST, "--epochs", "1", "--out", tmp_path / "m")
    if refused:
        assert f"the target column 'price' holds {n_classes:,} distinct integers" in (
            error_line(err)
        )
        assert "looks like a regression target" in err
    else:
        assert "regression" not in err


# ---------------------------------------------------------------------- the model file
@pytest.fixture(scope="module")
def full_spec():
    frame = wide(400).assign(share=lambda f: [f"{v:.1f}%" for v in np.linspace(0, 100, len(f))])
    return Preprocessor.fit(frame, "late", options=ColumnOptions(decimal=".")).to_dict()


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda s: s["numbers"]["share"].update(decimal=";"), "known decimal"),
        (lambda s: s["numbers"].update(nope=s["numbers"]["share"]), "not a numeric column"),
        (lambda s: s["dates"]["time_hour"]["features"].pop("hour"), "date features of"),
        (lambda s: s["dates"]["time_hour"].update(format=5), "format, a time flag"),
        (lambda s: s["capped"]["tailnum"]["kept"].pop(0), "must be among its kept"),
        (lambda s: s["capped"].update(delay={"kept": [], "other": "o"}), "not a categorical"),
        (lambda s: s["reading"].update(decimal="x"), "reading must hold"),
    ],
)
def test_tampered_reading_parts_are_refused(full_spec, mutate, message):
    spec = json.loads(json.dumps(full_spec))
    mutate(spec)
    with pytest.raises(ValueError, match=f"invalid preprocessing data: .*{message}"):
        Preprocessor.from_dict(spec)


def test_full_spec_round_trip(full_spec):
    assert full_spec["version"] == 2
    assert set(full_spec) >= {"numbers", "dates", "capped", "reading"}
    pre = Preprocessor.from_dict(json.loads(json.dumps(full_spec)))
    assert pre.plan.reading == {"decimal": "."}
    assert pre.columns == ["delay", "share", "time_hour", "tailnum", "carrier"]
