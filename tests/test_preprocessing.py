"""Tabular preprocessing: column plan, scikit-learn transformers, plain-data round trip."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from conftest import make_table
from lrnet.data import DataError, Preprocessor
from lrnet.data.columns import looks_like_id_name, plan_columns


def test_plan_sorts_and_drops_columns():
    n = 30
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "ticket": [f"T{i:03d}" for i in range(n)],
            "order_no": np.arange(n) * 7 + 3,
            "constant": 5.0,
            "weight": np.linspace(0, 1, n),
            "city": ["a", "b", "c"] * 10,
            "member": [True, False] * 15,
            "y": [0, 1] * 15,
        }
    )
    plan = plan_columns(frame, "y")
    assert plan.numeric == ["weight"]
    assert plan.categorical == ["city", "member"]
    assert plan.dropped == {
        "id": "ID-like name",
        "ticket": "ID-like: all 30 values are unique",
        "order_no": "ID-like: 30 integers in increasing order (a row number or counter)",
        "constant": "constant (always 5.0)",
    }


@pytest.mark.parametrize(
    "name", ["id", "ID", "user_id", "customerId", "row_number", "Unnamed: 0", "id-card", "uuid"]
)
def test_id_names(name):
    assert looks_like_id_name(name)


@pytest.mark.parametrize("name", ["paid", "valid", "width", "idea", "ideal_weight"])
def test_not_id_names(name):
    assert not looks_like_id_name(name)


def test_empty_column_is_an_error():
    frame = pd.DataFrame({"a": [1.0, 2.0], "gone": [np.nan, np.nan], "y": [0, 1]})
    with pytest.raises(DataError, match=r"file\.csv: column\(s\) 'gone' are empty in every row"):
        plan_columns(frame, "y", "file.csv")


def test_no_feature_left_is_an_error():
    frame = pd.DataFrame({"id": range(5), "c": 1, "y": [0, 1, 0, 1, 0]})
    with pytest.raises(DataError, match="no feature column is left"):
        plan_columns(frame, "y")


def test_transform_standardises_encodes_and_imputes(table):
    pre = Preprocessor.fit(table, "label")
    X = pre.transform(table)
    assert X.dtype == np.float32
    names = pre.feature_names_out
    assert "num__missingindicator_x1" in names
    assert "cat__missingindicator_color_True" in names
    numeric = X[:, names.index("num__x2")]
    assert abs(numeric.mean()) < 1e-5 and abs(numeric.std() - 1) < 1e-4
    # a missing number takes the median, with its indicator set
    median = np.nanmedian(table["x1"])
    row = int(np.flatnonzero(table["x1"].isna())[0])
    scaler = pre.transformer.named_transformers_["num"]["scale"]
    assert X[row, names.index("num__x1")] == pytest.approx(
        (median - scaler.mean_[0]) / scaler.scale_[0], rel=1e-5
    )
    assert X[row, names.index("num__missingindicator_x1")] > 0


def test_unseen_category_encodes_as_zeros(table):
    pre = Preprocessor.fit(table, "label")
    new = table.head(2).copy()
    new.loc[:, "color"] = ["ultraviolet", "red"]
    X = pre.transform(new)
    names = pre.feature_names_out
    colors = [names.index(f"cat__color_{c}") for c in ("blue", "green", "red")]
    np.testing.assert_array_equal(X[0, colors], 0)
    np.testing.assert_array_equal(X[1, colors], [0, 0, 1])


def test_uses_scikit_learn_transformers(table):
    pre = Preprocessor.fit(table, "label")
    assert isinstance(pre.transformer, ColumnTransformer)
    assert isinstance(pre.transformer.named_transformers_["num"]["scale"], StandardScaler)
    encoder = pre.transformer.named_transformers_["cat"]["onehot"]
    assert isinstance(encoder, OneHotEncoder) and encoder.handle_unknown == "ignore"
    imputer = pre.transformer.named_transformers_["num"]["impute"]
    assert imputer.add_indicator and imputer.strategy == "median"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_plain_data_round_trip_is_identical(seed):
    frame = make_table(150, seed)
    pre = Preprocessor.fit(frame, "label")
    spec = json.loads(json.dumps(pre.to_dict(), allow_nan=False))
    rebuilt = Preprocessor.from_dict(spec)
    other = make_table(60, seed + 10)
    other.loc[0, "size"] = "XXL"
    np.testing.assert_array_equal(rebuilt.transform(other), pre.transform(other))
    assert rebuilt.feature_names_out == pre.feature_names_out
    rebuilt_scaler = rebuilt.transformer.named_transformers_["num"]["scale"]
    np.testing.assert_array_equal(
        rebuilt_scaler.mean_, pre.transformer.named_transformers_["num"]["scale"].mean_
    )


def test_only_numeric_or_only_categorical():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0] + [np.nan] * 5, "y": [0, 1] * 4})
    pre = Preprocessor.from_dict(Preprocessor.fit(frame, "y").to_dict())
    assert pre.transform(frame).shape == (8, 2)
    frame = pd.DataFrame({"c": ["u", "v", "u"] + [None] * 5, "y": [0, 1] * 4})
    pre = Preprocessor.from_dict(Preprocessor.fit(frame, "y").to_dict())
    assert pre.transform(frame).shape == (8, 4)


def test_numeric_column_with_text_in_new_data(table):
    pre = Preprocessor.fit(table, "label")
    new = table.head(3).astype({"x2": object})
    new.loc[1, "x2"] = "heavy"
    with pytest.raises(
        DataError,
        match="new.csv: column 'x2' must be numeric, as in training, but row 1 holds 'heavy'",
    ):
        pre.transform(new, "new.csv")


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda s: s["numeric"].update(scale=[0.0] * len(s["numeric"]["scale"])), "positive"),
        (lambda s: s["numeric"].update(medians=["a"] * 2), "list of 2 numbers"),
        (lambda s: s["categorical"]["categories"][0].reverse(), "sorted and unique"),
        (lambda s: s.update(version=99), "unsupported preprocessing version 99"),
        (lambda s: s["categorical"].update(missing_indicator=[5]), "sorted column indices"),
        (lambda s: s.pop("probe"), "KeyError"),
    ],
)
def test_malformed_plain_data_is_rejected(table, edit, message):
    spec = Preprocessor.fit(table, "label").to_dict()
    edit(spec)
    with pytest.raises(ValueError, match=message):
        Preprocessor.from_dict(spec, "m.lrnet")


@pytest.mark.parametrize("gaps", [5, 6, 50])
def test_missing_value_indicators_stay_zero_or_one(gaps):
    # a standardised indicator of a rare gap is huge (about 16.6 for 1 gap in 275 rows)
    rng = np.random.default_rng(0)
    x = rng.normal(size=275)
    x[:gaps] = np.nan
    frame = pd.DataFrame({"x": x, "z": rng.normal(size=275), "y": [0, 1] * 137 + [0]})
    pre = Preprocessor.fit(frame, "y")
    out = pre.transform(frame)
    assert out.shape[1] == 3  # x, z and x's indicator
    np.testing.assert_array_equal(out[:, 2], np.isnan(x).astype(out.dtype))
    assert abs(out[:, 1].mean()) < 1e-6 and out[:, 1].std() == pytest.approx(1, rel=1e-5)


@pytest.mark.parametrize("gaps", [1, 2, 4])
def test_rare_gaps_are_filled_without_an_indicator(gaps):
    # an indicator learned from a few rows is memorised: penguins' one training row
    # missing every measurement made a test row missing them all "Adelie" at 0.98
    rng = np.random.default_rng(1)
    x = rng.normal(size=200)
    x[:gaps] = np.nan
    c = rng.choice(["u", "v", "w"], 200, p=[0.5, 0.3, 0.2]).astype(object)
    c[-gaps:] = None
    frame = pd.DataFrame({"x": x, "c": c, "y": [0, 1] * 100})
    pre = Preprocessor.fit(frame, "y")
    spec = pre.to_dict()
    assert spec["numeric"]["missing_indicator"] == []
    assert spec["categorical"]["missing_indicator"] == []
    assert pre.feature_names_out == ["num__x", "cat__c_u", "cat__c_v", "cat__c_w"]
    out = pre.transform(frame)
    np.testing.assert_allclose(out[:gaps, 0], out[:gaps, 0][0])  # the median, scaled
    assert spec["numeric"]["medians"] == [float(np.nanmedian(x))]
    np.testing.assert_array_equal(out[-gaps:, 1:], [[1, 0, 0]] * gaps)  # the most frequent
    assert np.isfinite(out).all()


@pytest.mark.parametrize("rows", [40, 300])
def test_transform_writes_into_rows_of_a_larger_array(rows, monkeypatch):
    from lrnet.data import fitting

    monkeypatch.setattr(fitting, "block_rows", lambda n_columns: 64)  # 300 rows: 5 blocks
    frame = make_table(rows)
    pre = Preprocessor.fit(frame, "label")
    both = np.full((rows + 3, len(pre.feature_names_out)), np.nan, dtype=np.float32)
    got = pre.transform(frame, out=both[:rows])
    assert np.shares_memory(got, both)
    np.testing.assert_array_equal(both[:rows], pre.transform(frame))
    assert np.isnan(both[rows:]).all()
    with pytest.raises(ValueError, match=r"out has shape \(2, \d+\) and dtype float32; expected"):
        pre.transform(frame, out=both[:2])
