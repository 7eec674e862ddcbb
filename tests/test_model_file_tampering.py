"""Hand-edited model-file headers: a clear ModelFileError on load, never a crash.

The arrays of a model file are checksummed, its JSON header is not: these tests edit
the header of a saved model the way a person (or a broken tool) might, and check that
``lrnet.load`` names the file and the field, and that ``lrnet inspect`` prints one
line and exits 1, or shows what it can of optional metadata it does not understand.
"""

import json
import math
import shutil

import numpy as np
import pytest

import lrnet
from conftest import make_table
from lrnet.cli import main
from lrnet.persistence import ModelFileError

FAST = ["--hidden", "4", "--epochs", "15", "--lr", "0.01"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model written by ``lrnet train``: preprocessing, metrics metadata, history."""
    folder = tmp_path_factory.mktemp("tamper")
    data = folder / "table.csv"
    make_table(n_rows=80).to_csv(data, index=False)
    model = folder / "base.lrnet"
    assert main(["train", str(data), "--target", "label", *FAST, "--out", str(model), "-q"]) == 0
    return model


@pytest.fixture
def model_file(trained, tmp_path):
    """A fresh copy of the trained model, to edit."""
    return shutil.copy(trained, tmp_path / "m.lrnet")


def edit_header(path, change):
    """Rewrite ``path`` with ``change(header)`` (it edits in place) as its header."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    header = json.loads(str(arrays["header"][()]))
    change(header)
    arrays["header"] = np.array(json.dumps(header))
    with open(path, "wb") as fh:  # np.savez(path) would append '.npz' to the name
        np.savez(fh, **arrays)


def setter(*keys, value=None, delete=False):
    """A header change that sets (or deletes) ``header[k0][k1]...``."""

    def change(header):
        parent = header
        for key in keys[:-1]:
            parent = parent[key]
        if delete:
            del parent[keys[-1]]
        else:
            parent[keys[-1]] = value

    return change


#: header change -> the text the error must hold (besides the file name)
BAD_HEADERS = {
    "fitted-list": (setter("fitted", value=[1]), r"'fitted' must be an object, got a list"),
    "params-list": (setter("params", value=[1]), r"'params' must be an object, got a list"),
    "metadata-list": (setter("metadata", value=[1, 2]), r"'metadata' must be an object"),
    "metadata-string": (setter("metadata", value="x"), r"'metadata' must be an object"),
    "metadata-tagged-float": (
        setter("metadata", value={"__float__": "nan"}),
        r"'metadata' must be an object or null, got a number",
    ),
    "metadata-bad-tag": (
        setter("metadata", "score", value={"__float__": "zz"}),
        r"malformed tagged value",
    ),
    "history-string": (setter("fitted", "history_", value="abc"), r"'fitted\.history_'"),
    "history-record": (
        setter("fitted", "history_", value=[{"epoch": 1, "loss": "low"}]),
        r"'fitted\.history_' .* item 0 is",
    ),
    "loss-curve-string": (setter("fitted", "loss_curve_", value="abc"), r"'fitted\.loss_curve_'"),
    "loss-curve-missing": (
        setter("fitted", "loss_curve_", delete=True),
        r"'fitted\.loss_curve_' is missing",
    ),
    "n-features-string": (
        setter("fitted", "n_features_in_", value="8"),
        r"'fitted\.n_features_in_' must be a non-negative integer",
    ),
    "n-outputs-bool": (setter("fitted", "n_outputs_", value=True), r"'fitted\.n_outputs_'"),
    "out-activation-number": (
        setter("fitted", "out_activation_", value=1),
        r"'fitted\.out_activation_' must be a string",
    ),
    "label-type-number": (setter("label_type", value=5), r"'label_type' must be a string"),
    "params-missing": (setter("params", delete=True), r"'params' is missing"),
    "preprocessing-list": (setter("preprocessing", value=[1]), r"'preprocessing' must be"),
    "target-number": (
        setter("preprocessing", "target", value=7),
        r"'preprocessing\.target' must be a string or null",
    ),
    "feature-names-string": (
        setter("preprocessing", "feature_names_out", value="abc"),
        r"'preprocessing\.feature_names_out'",
    ),
    "hidden-string": (setter("params", "hidden_layer_sizes", value="abc"), r"hidden_layer_sizes"),
    "hidden-mixed": (
        setter("params", "hidden_layer_sizes", value=[4, "a"]),
        r"hidden_layer_sizes",
    ),
    "activation": (setter("params", "activation", value="nope"), r"activation"),
    "dropout-too-many": (setter("params", "dropout", value=[0.5, 0.5]), r"dropout"),
}


@pytest.mark.parametrize("change, message", BAD_HEADERS.values(), ids=BAD_HEADERS)
def test_tampered_header_is_a_model_file_error(model_file, change, message):
    edit_header(model_file, change)
    with pytest.raises(ModelFileError, match=rf"m\.lrnet: .*{message}"):
        lrnet.load(model_file)


@pytest.mark.parametrize("change, message", BAD_HEADERS.values(), ids=BAD_HEADERS)
def test_inspect_reports_a_tampered_header_in_one_line(model_file, change, message, capsys):
    edit_header(model_file, change)
    assert main(["inspect", str(model_file)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and "internal error" not in err
    assert err.startswith("lrnet: error: ") and "m.lrnet: " in err


def test_callbacks_in_the_header_are_ignored(model_file):
    edit_header(model_file, setter("params", "callbacks", value=[1, 2]))
    assert lrnet.load(model_file).estimator.callbacks is None


#: metadata and history that load fine (they are free JSON) but are not what
#: ``lrnet train`` writes: inspect shows what it can -> text it must show
ODD_BUT_VALID = {
    "metrics-string": (setter("metadata", "metrics", value="x"), "'x'"),
    "metrics-partial": (setter("metadata", "metrics", value={"accuracy": 0.5}), "accuracy 0.5000"),
    "metrics-not-numbers": (
        setter("metadata", "metrics", value={"accuracy": "high", "log_loss": None}),
        "'high'",
    ),
    "evaluated-on-number": (setter("metadata", "evaluated_on", value=3), "metrics (3)"),
    "metadata-null": (setter("metadata", value=None), "Training history"),
    "history-without-loss": (setter("fitted", "history_", value=[{"note": "x"}]), "epochs"),
    "history-empty": (setter("fitted", "history_", value=[]), "epochs"),
    "history-missing": (setter("fitted", "history_", delete=True), "epochs"),
}


@pytest.mark.parametrize("change, shown", ODD_BUT_VALID.values(), ids=ODD_BUT_VALID)
def test_inspect_shows_odd_optional_metadata(model_file, change, shown, capsys):
    edit_header(model_file, change)
    lrnet.load(model_file)
    assert main(["inspect", str(model_file)]) == 0
    captured = capsys.readouterr()
    assert shown in captured.out
    assert captured.err == ""
    assert main(["inspect", "--json", str(model_file)]) == 0
    json.loads(capsys.readouterr().out)


def strict_json(text):
    """Parse ``text`` as JSON, rejecting NaN and Infinity as the JSON standard does."""

    def reject(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=reject)


@pytest.mark.parametrize(
    "metadata, expected",
    [
        ({"score": math.nan}, {"score": None}),
        ({"range": [-math.inf, math.inf]}, {"range": [None, None]}),
        (
            {"metrics": {"accuracy": math.nan, "log_loss": math.inf}},
            {"metrics": {"accuracy": None, "log_loss": None}},
        ),
        ({(1, 2): "tuple key", 3: "int key"}, {"(1, 2)": "tuple key", "3": "int key"}),
    ],
    ids=["nan", "inf", "nan-metrics", "non-string-keys"],
)
def test_inspect_json_is_valid_for_python_metadata(tmp_path, metadata, expected, capsys):
    X = np.random.default_rng(0).normal(size=(30, 3))
    y = (X[:, 0] > 0).astype(int)
    with pytest.warns(Warning):  # too few epochs to converge
        clf = lrnet.LRNClassifier(hidden_layer_sizes=(3,), max_iter=3, random_state=0).fit(X, y)
    path = clf.save(tmp_path / "m.lrnet", metadata=metadata)
    assert main(["inspect", "--json", str(path)]) == 0
    assert strict_json(capsys.readouterr().out)["metadata"] == expected
    assert main(["inspect", str(path)]) == 0
