"""ONNX export (lrnet.export, ``lrnet export``): onnxruntime against lrnet's own predictions."""

from __future__ import annotations

import functools
import json
import os
import warnings
import zlib

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from conftest import make_table  # noqa: E402
from lrnet import LRNClassifier, load  # noqa: E402
from lrnet.cli import main  # noqa: E402
from lrnet.export import (  # noqa: E402
    DEFAULT_OPSET,
    MAX_OPSET,
    MIN_OPSET,
    frame_inputs,
    save_onnx,
    to_onnx,
)
from lrnet.export.builder import GraphBuilder  # noqa: E402
from lrnet.export.preprocess import build_preprocessing  # noqa: E402

ACTIVATIONS = ["identity", "logistic", "tanh", "relu", "leaky_relu"]
#: target kind -> (label type, class values or None for a multi-label indicator)
TARGETS = {
    "binary-int": [3, 7],
    "binary-str": ["no", "yes"],
    "multiclass-int": [0, 5, 9],
    "multiclass-str": ["a", "b", "c"],
    "multilabel": None,
}
HIDDEN = [(), (5,), (6, 4)]
ATOL, RTOL, MARGIN = 1e-5, 1e-4, 1e-5


def session(proto) -> ort.InferenceSession:
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


@functools.cache
def fitted(activation: str, target: str, hidden: tuple, dtype: str):
    """A tiny fitted estimator and an onnxruntime session of its export."""
    rng = np.random.default_rng(zlib.crc32(repr((activation, target, hidden, dtype)).encode()))
    X = rng.standard_normal((120, 6)).astype(dtype)
    w = rng.standard_normal((6, 3))
    scores = X @ w
    classes = TARGETS[target]
    if classes is None:
        y = (scores > 0).astype(int)
    else:
        y = np.asarray(classes)[np.argmax(scores[:, : len(classes)], axis=1)]
    est = LRNClassifier(
        hidden_layer_sizes=hidden, activation=activation, max_iter=4, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    return est, session(to_onnx(est))


def compare(proba, label, want, want_label, multilabel=False):
    """Probabilities within tolerance; labels equal wherever the decision is clear."""
    np.testing.assert_allclose(proba, want, atol=ATOL, rtol=RTOL)
    if multilabel:
        clear = np.abs(2 * want - 1) > MARGIN
    else:
        top = np.sort(want, axis=1)
        clear = top[:, -1] - top[:, -2] > MARGIN
    got, expected = np.asarray(label), np.asarray(want_label)
    assert got.shape == expected.shape
    assert np.array_equal(got[clear], expected[clear])


@pytest.mark.parametrize("batch", [1, 500])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("hidden", HIDDEN, ids=["h0", "h1", "h2"])
@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_network_matches_lrnet(activation, target, hidden, dtype, batch):
    est, sess = fitted(activation, target, hidden, dtype)
    X = (3 * np.random.default_rng(batch).standard_normal((batch, 6))).astype(np.float32)
    label, proba = sess.run(["label", "probabilities"], {"X": X})
    assert proba.dtype == np.float32 and proba.shape == (batch, est.predict_proba(X[:1]).shape[1])
    X_model = X.astype(dtype)  # the graph runs in the weights' dtype
    compare(proba, label, est.predict_proba(X_model), est.predict(X_model), target == "multilabel")


@pytest.mark.parametrize(
    ("target", "dtype"),
    [("binary-int", np.int64), ("binary-str", object), ("multilabel", np.int64)],
)
def test_label_types(target, dtype):
    est, sess = fitted("relu", target, (5,), "float32")
    label = sess.run(["label"], {"X": np.zeros((4, 6), np.float32)})[0]
    assert label.dtype == dtype
    assert label.shape == ((4, 3) if target == "multilabel" else (4,))


def test_bool_and_float_classes():
    X = np.random.default_rng(0).standard_normal((60, 3))
    for y in (X[:, 0] > 0, np.where(X[:, 0] > 0, 1.0, 2.0)):
        est = LRNClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
        label, proba = session(to_onnx(est)).run(None, {"X": X.astype(np.float32)})
        assert label.dtype == est.classes_.dtype
        compare(proba, label, est.predict_proba(X.astype(np.float32)), est.predict(X))


def test_opset_ir_version_and_checker():
    est, _ = fitted("tanh", "multiclass-str", (5,), "float32")
    for opset, ir in [(19, 9), (20, 9), (21, 10), (MAX_OPSET, None)]:
        proto = to_onnx(est, opset=opset)
        onnx.checker.check_model(proto, full_check=True)
        assert [(o.domain, o.version) for o in proto.opset_import] == [("", opset)]
        if ir is not None:
            assert proto.ir_version == ir
        ops = {n.op_type for n in proto.graph.node}
        assert ops <= {"MatMul", "Add", "Tanh", "Softmax", "ArgMax", "Gather", "Identity"}
    assert DEFAULT_OPSET == 19 and to_onnx(est).ir_version == 9


def test_metadata_of_bare_estimator():
    est, _ = fitted("relu", "multiclass-int", (5,), "float32")
    proto = to_onnx(est)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["classes"]) == [0, 5, 9]
    assert meta["label_type"] == "multiclass"
    assert json.loads(meta["inputs"])[0]["name"] == "X"
    assert meta["lrnet_version"]
    assert [i.name for i in proto.graph.input] == ["X"]
    assert [o.name for o in proto.graph.output] == ["label", "probabilities"]


@pytest.mark.parametrize("opset", [MIN_OPSET - 1, MAX_OPSET + 1])
def test_opset_out_of_range(opset):
    est, _ = fitted("relu", "binary-int", (), "float32")
    with pytest.raises(ValueError, match=f"opset {opset} is not supported"):
        to_onnx(est, opset=opset)


def test_unsupported_parts_are_named():
    est, _ = fitted("relu", "binary-int", (), "float32")
    net = est.fitted_network()
    net.activation = "gelu"
    with pytest.raises(ValueError, match="cannot export the activation 'gelu'"):
        to_onnx(net)
    net = est.fitted_network()
    net.label_type = "continuous"
    with pytest.raises(ValueError, match="targets of type 'continuous'"):
        to_onnx(net)
    with pytest.raises(TypeError, match="cannot export a dict to ONNX"):
        to_onnx({})
    with pytest.raises(TypeError, match="opset must be an integer"):
        to_onnx(est, opset="19")


def test_unfitted_estimator():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        to_onnx(LRNClassifier())


def test_save_load_round_trip(tmp_path):
    est, sess = fitted("leaky_relu", "multiclass-str", (6, 4), "float64")
    path = save_onnx(est, tmp_path / "m.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # no temporary left
    loaded = onnx.load(path)
    onnx.checker.check_model(loaded, full_check=True)
    X = np.random.default_rng(1).standard_normal((50, 6)).astype(np.float32)
    a = sess.run(None, {"X": X})
    b = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"X": X})
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    # a ModelProto is written as it is
    save_onnx(loaded, tmp_path / "again.onnx")
    assert (tmp_path / "again.onnx").read_bytes() == path.read_bytes()


def test_save_bad_paths(tmp_path):
    est, _ = fitted("relu", "binary-int", (), "float32")
    with pytest.raises(FileNotFoundError):
        save_onnx(est, tmp_path / "no" / "m.onnx")
    with pytest.raises(IsADirectoryError, match="this is a folder"):
        save_onnx(est, tmp_path)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ tables through the CLI
def awkward_table(n_rows: int = 240, seed: int = 0) -> pd.DataFrame:
    """:func:`make_table` with column names holding spaces and dots, and more columns."""
    frame = make_table(n_rows, seed).rename(columns={"x1": "unit price", "color": "colour.name"})
    rng = np.random.default_rng(seed + 1)
    frame["n.items"] = rng.integers(0, 5, n_rows)  # numeric, never missing in training
    frame["flag"] = rng.integers(0, 2, n_rows).astype(bool)  # a boolean: categorical
    frame["level"] = rng.choice([1.0, 2.0, 3.5], n_rows)  # numeric
    frame["const"] = "same"  # dropped: constant
    return frame


def new_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows to predict: NaN everywhere training had none, unseen categories, all missing."""
    rows = frame.drop(columns=["label"]).head(40)
    rows = rows.astype({"n.items": np.float64, "flag": object})
    rows.loc[0, "n.items"] = np.nan  # no NaN in training
    rows.loc[1, "x2"] = np.nan
    rows.loc[2, "colour.name"] = "purple"  # unseen
    rows.loc[3, "size"] = "XXL"  # unseen, in a column without missing values in training
    rows.loc[4, "colour.name"] = np.nan  # missing
    rows.loc[5, "size"] = np.nan  # missing where training had none
    rows.loc[6, ["unit price", "x2", "colour.name", "size", "n.items", "flag", "level"]] = np.nan
    rows.loc[7, "unit price"] = 1e6  # far outside the training range, still finite
    return rows


@pytest.fixture(scope="module")
def table_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("table")
    data = folder / "train.csv"
    awkward_table().to_csv(data, index=False)
    model = folder / "m.lrnet"
    code = main(
        ["train", str(data), "--target", "label", "--hidden", "8", "-q", "--out", str(model)]
    )
    assert code == 0
    rows = folder / "new.csv"
    new_rows(awkward_table()).to_csv(rows, index=False)
    return folder, model, rows


def test_table_inputs_and_metadata(table_model):
    _, model, _ = table_model
    proto = to_onnx(load(model))
    inputs = {i.name: i.type.tensor_type.elem_type for i in proto.graph.input}
    T = onnx.TensorProto
    assert inputs == {
        "unit price": T.DOUBLE,
        "x2": T.DOUBLE,
        "n.items": T.DOUBLE,
        "level": T.DOUBLE,
        "colour.name": T.STRING,
        "size": T.STRING,
        "flag": T.STRING,
    }
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["missing_values"]) == {"numeric": "NaN", "categorical": "empty string"}
    assert set(json.loads(meta["dropped_columns"])) == {"customer_id", "const"}
    assert json.loads(meta["classes"]) == ["maybe", "no", "yes"]
    assert meta["target"] == "label"


def test_preprocessing_graph_equals_transform(table_model):
    """The features the graph computes are lrnet's, bit for bit."""
    _, model, rows = table_model
    m = load(model)
    spec = m.preprocessor.to_dict()
    b = GraphBuilder()
    inputs, features = build_preprocessing(b, spec)
    out = onnx.helper.make_tensor_value_info(features, onnx.TensorProto.FLOAT, ["N", None])
    graph = onnx.helper.make_graph(b.nodes, "pre", inputs, [out], initializer=b.initializers)
    proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 19)])
    proto.ir_version = 9
    frame = pd.read_csv(rows)
    meta = to_onnx(m)  # for frame_inputs: the same inputs
    got = session(proto).run(None, frame_inputs(meta, frame))[0]
    assert np.array_equal(got, m.preprocessor.transform(frame))


def test_table_model_matches_predict_proba(table_model, tmp_path):
    folder, model, rows = table_model
    onnx_file = tmp_path / "m.onnx"
    assert main(["export", str(model), "-o", str(onnx_file), "-q"]) == 0
    out = tmp_path / "pred.csv"
    assert main(["predict", str(model), str(rows), "--proba", "-o", str(out), "-q"]) == 0
    expected = pd.read_csv(out)
    proto = onnx.load(onnx_file)
    frame = pd.read_csv(rows)
    sess = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    label, proba = sess.run(["label", "probabilities"], frame_inputs(proto, frame))
    classes = json.loads({p.key: p.value for p in proto.metadata_props}["classes"])
    # predict writes probabilities with 6 significant digits
    np.testing.assert_allclose(proba, expected[classes].to_numpy(), rtol=1e-5, atol=1e-6)
    assert list(label) == list(expected["prediction"])
    # and against the in-memory predictions, at full precision
    m = load(model)
    compare(proba, label, m.predict_proba(frame), m.predict(frame))


def test_feeds_by_hand(table_model):
    """Serving code that builds the inputs itself: NaN and "" for missing values."""
    _, model, _ = table_model
    m = load(model)
    sess = session(to_onnx(m))
    feeds = {
        "unit price": np.array([[0.3], [np.nan]]),
        "x2": np.array([[55.0], [np.nan]]),
        "n.items": np.array([[2.0], [np.nan]]),
        "level": np.array([[3.5], [np.nan]]),
        "colour.name": np.array([["red"], [""]], dtype=object),
        "size": np.array([["M"], [""]], dtype=object),
        "flag": np.array([["True"], [""]], dtype=object),
    }
    label, proba = sess.run(None, feeds)
    frame = pd.DataFrame(
        {
            "unit price": [0.3, np.nan],
            "x2": [55.0, np.nan],
            "n.items": [2, np.nan],
            "level": [3.5, np.nan],
            "colour.name": ["red", np.nan],
            "size": ["M", np.nan],
            "flag": [True, np.nan],
        }
    )
    compare(proba, label, m.predict_proba(frame), m.predict(frame))


def test_binary_table_with_int_labels(tmp_path):
    frame = make_table()
    frame["label"] = (frame["label"] == "yes").astype(int) * 4 + 1  # classes 1 and 5
    data = tmp_path / "t.csv"
    frame.to_csv(data, index=False)
    model = tmp_path / "m.lrnet"
    assert (
        main(["train", str(data), "--target", "label", "--hidden", "", "-q", "--out", str(model)])
        == 0
    )
    m = load(model)
    proto = to_onnx(m)
    label, proba = session(proto).run(None, frame_inputs(proto, frame))
    assert label.dtype == np.int64 and set(label) <= {1, 5}
    compare(proba, label, m.predict_proba(frame), m.predict(frame))


def test_column_named_like_an_output(tmp_path):
    frame = make_table().rename(columns={"x2": "probabilities"})
    data = tmp_path / "t.csv"
    frame.to_csv(data, index=False)
    model = tmp_path / "m.lrnet"
    assert main(["train", str(data), "--target", "label", "-q", "--out", str(model)]) == 0
    with pytest.raises(ValueError, match="input column named 'probabilities'"):
        to_onnx(load(model))


def test_columns_named_like_internal_values(tmp_path):
    frame = make_table().rename(columns={"x1": "numeric", "x2": "medians", "size": "X"})
    data = tmp_path / "t.csv"
    frame.to_csv(data, index=False)
    model = tmp_path / "m.lrnet"
    assert main(["train", str(data), "--target", "label", "-q", "--out", str(model)]) == 0
    m = load(model)
    proto = to_onnx(m)
    label, proba = session(proto).run(None, frame_inputs(proto, frame))
    compare(proba, label, m.predict_proba(frame), m.predict(frame))


def test_unknown_spec_part_is_named(table_model):
    _, model, _ = table_model
    m = load(model)
    spec = m.preprocessor.to_dict()

    class Fake:
        def to_dict(self):
            return {**spec, "text": {"columns": ["review"]}}

    m.preprocessor = Fake()
    with pytest.raises(ValueError, match="preprocessing with the part.s. text"):
        to_onnx(m)


# ------------------------------------------------------------------ the command line
def test_cli_verify_passes(table_model, tmp_path, capsys):
    folder, model, rows = table_model
    target = tmp_path / "m.onnx"
    assert main(["export", str(model), "-o", str(target), "--verify", str(rows), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verify"]["passed"] and report["verify"]["rows"] == 40
    assert report["verify"]["max_probability_difference"] < 1e-5
    assert report["opset"] == 19 and report["ir_version"] == 9
    assert target.exists()


def test_cli_verify_failure(table_model, tmp_path, capsys, monkeypatch):
    """A graph that disagrees with lrnet: exit 1, the numbers, and no file."""
    import lrnet.export as export

    real = export.to_onnx

    def tampered(model, **kw):
        proto = real(model, **kw)
        for init in proto.graph.initializer:
            if init.name == "intercept_1":
                values = onnx.numpy_helper.to_array(init).copy()
                values[0] += 1.0  # one class only: adding to all would not change a softmax
                init.CopyFrom(onnx.numpy_helper.from_array(values.astype(np.float32), init.name))
        return proto

    monkeypatch.setattr(export, "to_onnx", tampered)
    folder, model, rows = table_model
    target = tmp_path / "m.onnx"
    assert main(["export", str(model), "-o", str(target), "--verify", str(rows)]) == 1
    err = capsys.readouterr().err
    assert "the ONNX model disagrees with lrnet: largest probability difference" in err
    assert "was not written" in err
    assert not target.exists()


def test_cli_bare_estimator_verify(tmp_path, capsys):
    from lrnet.persistence import save

    X = np.random.default_rng(0).standard_normal((80, 4))
    y = np.where(X[:, 0] + X[:, 1] > 0, "up", "down")
    est = LRNClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X.astype(np.float32), y)
    model = tmp_path / "m.lrnet"
    save(model, est)
    data = tmp_path / "x.csv"
    pd.DataFrame(X, columns=list("abcd")).to_csv(data, index=False)
    assert main(["export", str(model), "-o", str(tmp_path / "m.onnx"), "--verify", str(data)]) == 0
    assert "labels agree on 80/80 rows" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--opset", "12"], 2, "--opset 12: lrnet writes opsets 19 to"),
        (["--opset", "x"], 2, "expected a positive integer"),
        (["--verify", "nope.csv"], 2, "--verify nope.csv: no such file"),
    ],
)
def test_cli_usage_errors(table_model, tmp_path, capsys, monkeypatch, args, code, message):
    _, model, _ = table_model
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(model), "-o", "m.onnx", *args]) == code
    assert message in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()


def test_cli_bad_paths(table_model, tmp_path, capsys):
    _, model, _ = table_model
    assert main(["export", str(model), "-o", str(tmp_path / "no" / "m.onnx")]) == 2
    assert "the folder" in capsys.readouterr().err
    assert main(["export", str(model), "-o", str(tmp_path)]) == 2
    assert "this is a folder" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "none.lrnet"), "-o", str(tmp_path / "m.onnx")]) == 1
    assert "lrnet: error:" in capsys.readouterr().err
    assert main(["export", str(model)]) == 2  # -o is required
    assert "-o/--output" in capsys.readouterr().err


def test_cli_missing_column_in_verify_data(table_model, tmp_path, capsys):
    folder, model, rows = table_model
    data = tmp_path / "short.csv"
    pd.read_csv(rows).drop(columns=["size"]).to_csv(data, index=False)
    assert main(["export", str(model), "-o", str(tmp_path / "m.onnx"), "--verify", str(data)]) == 1
    assert "missing 1 feature column(s)" in capsys.readouterr().err


# ------------------------------------------------------------------ README quick start + example
def test_readme_quick_start_model_and_serving_example(tmp_path):
    """The README's Python quick-start model, exported, served by the example without lrnet."""
    import subprocess
    import sys
    from pathlib import Path

    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0)
    clf = LRNClassifier(hidden_layer_sizes=(64,), early_stopping=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    clf.save(tmp_path / "digits64.lrnet")
    target = tmp_path / "digits64.onnx"
    assert main(["export", str(tmp_path / "digits64.lrnet"), "-o", str(target), "-q"]) == 0
    label, proba = ort.InferenceSession(str(target)).run(None, {"X": X_test.astype(np.float32)})
    compare(proba, label, clf.predict_proba(X_test.astype(np.float32)), clf.predict(X_test))

    example = Path(__file__).resolve().parents[1] / "examples" / "onnx_serving.py"
    code = (
        "import runpy, sys; sys.modules['lrnet'] = None; "  # importing lrnet would fail
        f"sys.argv = ['onnx_serving.py', {str(target)!r}]; "
        f"runpy.run_path({str(example)!r}, run_name='__main__')"
    )
    env = {**os.environ, "ORT_DISABLE_TELEMETRY": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    accuracy = float(done.stdout.split("accuracy on the 1797 digits: ")[1].split()[0])
    assert accuracy == pytest.approx(np.mean(clf.predict(X / 16) == y), abs=2e-3)
    assert "latency, 10000 row(s)" in done.stdout


# ------------------------------------------------------------------ optional skl2onnx converter
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("target", ["multiclass-str", "binary-int"])
def test_skl2onnx_pipeline(target, dtype):
    skl2onnx = pytest.importorskip("skl2onnx")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from lrnet.export.skl2onnx_converter import register

    register()
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((100, 4)) * [1, 10, 100, 0.1] + 5).astype(dtype)
    y = np.asarray(TARGETS[target])[(X[:, 0] > 5).astype(int) + (X[:, 1] > 5) * (target[0] == "m")]
    pipe = make_pipeline(StandardScaler(), LRNClassifier(hidden_layer_sizes=(5,), max_iter=30))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(X, y)
    proto = skl2onnx.to_onnx(pipe, X[:1], options={id(pipe[-1]): {"zipmap": False}})
    label, proba = session(proto).run(None, {"X": X})
    compare(proba, label, pipe.predict_proba(X), pipe.predict(X))


def test_skl2onnx_refuses_multilabel():
    skl2onnx = pytest.importorskip("skl2onnx")
    from lrnet.export.skl2onnx_converter import register

    register()
    est, _ = fitted("relu", "multilabel", (5,), "float32")
    with pytest.raises(ValueError, match="cannot convert a multi-label LRNClassifier"):
        skl2onnx.to_onnx(est, np.zeros((1, 6), np.float32))


@pytest.mark.parametrize(
    ("blocked", "extra", "message"),
    [
        ("onnx", [], "lrnet.export needs the onnx package: pip install 'lrnet[onnx]'"),
        ("onnxruntime", ["--verify"], "--verify needs onnxruntime: pip install 'lrnet[onnx]'"),
    ],
)
def test_cli_without_the_extra(table_model, tmp_path, blocked, extra, message):
    import subprocess
    import sys

    _, model, rows = table_model
    args = ["export", str(model), "-o", str(tmp_path / "m.onnx")] + (
        [extra[0], str(rows)] if extra else []
    )
    code = (
        f"import sys; sys.modules[{blocked!r}] = None; from lrnet.cli import main; "
        f"sys.exit(main({args!r}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 1
    assert message in done.stderr
    assert not (tmp_path / "m.onnx").exists()
