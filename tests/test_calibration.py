"""Temperature scaling and the expected calibration error (lrnet.calibration).

The temperature is fitted on held-out logits, kept by the estimator as ``temperature_``,
saved in the model file, and applied by ``predict_proba``, ``lrnet predict``,
``lrnet evaluate`` and the ONNX export.
"""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, softmax
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss

import lrnet
from lrnet import LRNClassifier
from lrnet.calibration import (
    DEFAULT_BINS,
    TEMPERATURE_BOUNDS,
    expected_calibration_error,
    fit_temperature,
    reliability_bins,
    scaled_logits,
    temperature_loss,
)
from lrnet.cli import main


def sharpened(link: str, n_outputs: int, scale: float, n: int = 4000, seed: int = 0):
    """Labels drawn from calibrated logits, and those logits multiplied by ``scale``."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(scale=1.5, size=(n, n_outputs))
    if link == "softmax":
        P = softmax(Z, axis=1)
        Y = np.eye(n_outputs)[[rng.choice(n_outputs, p=p) for p in P]]
    else:
        Y = (rng.random((n, n_outputs)) < expit(Z)).astype(float)
    return Z * scale, Y


@pytest.mark.parametrize(
    "link, n_outputs", [("softmax", 3), ("logistic", 1), ("logistic", 4)], ids=str
)
@pytest.mark.parametrize("scale", [0.4, 3.0])
def test_fitted_temperature_undoes_a_known_scaling(link, n_outputs, scale):
    Z, Y = sharpened(link, n_outputs, scale)
    T = fit_temperature(Z, Y, link)
    assert T == pytest.approx(scale, rel=0.15)
    assert temperature_loss(T, Z, Y, link) < temperature_loss(1.0, Z, Y, link)


def test_temperature_loss_is_the_cross_entropy_of_scaled_probabilities():
    Z, Y = sharpened("softmax", 3, 2.0, n=50)
    expected = log_loss(Y.argmax(axis=1), softmax(Z / 1.7, axis=1), labels=[0, 1, 2])
    assert temperature_loss(1.7, Z, Y, "softmax") == pytest.approx(expected, rel=1e-10)


def test_a_calibrated_model_keeps_temperature_one():
    Z, Y = sharpened("logistic", 1, 1.0, n=20000, seed=3)
    assert fit_temperature(Z, Y, "logistic") == pytest.approx(1.0, abs=0.06)


def test_separable_data_stops_at_the_lower_bound():
    Z = np.array([[2.0], [-2.0], [3.0], [-1.0]])
    Y = (Z > 0).astype(float)
    T = fit_temperature(Z, Y, "logistic")
    assert T == pytest.approx(TEMPERATURE_BOUNDS[0], rel=1e-3)


@pytest.mark.parametrize(
    "Z, Y, message",
    [
        (np.zeros((3, 2)), np.zeros((3, 3)), r"logits of shape \(3, 2\) and targets of shape"),
        (np.zeros((0, 2)), np.zeros((0, 2)), "non-empty"),
        (np.array([[np.inf, 0.0]]), np.array([[1.0, 0.0]]), "non-finite"),
    ],
)
def test_fit_temperature_refuses_bad_input(Z, Y, message):
    with pytest.raises(ValueError, match=message):
        fit_temperature(Z, Y, "softmax")


def test_scaled_logits_keeps_the_dtype():
    Z = np.ones((2, 3), np.float32)
    assert scaled_logits(Z, None) is Z
    out = scaled_logits(Z, 2.0)
    assert out.dtype == np.float32 and np.all(out == 0.5)


# ---------------------------------------------------------------------- ECE
def test_ece_of_a_toy_case():
    # two rows at confidence 0.95 (one right): bin (14/15, 1], gap |0.5 - 0.95| = 0.45;
    # two rows at confidence 0.6 (both right): bin (8/15, 9/15], gap |1 - 0.6| = 0.4
    proba = np.array([[0.95, 0.05], [0.95, 0.05], [0.4, 0.6], [0.6, 0.4]])
    y_index = np.array([0, 1, 1, 0])
    bins = reliability_bins(proba, y_index)
    assert len(bins["count"]) == DEFAULT_BINS == 15
    assert bins["count"][14] == 2 and bins["count"][8] == 2 and sum(bins["count"]) == 4
    assert bins["accuracy"][14] == 0.5 and bins["confidence"][8] == pytest.approx(0.6)
    assert bins["accuracy"][0] is None
    assert expected_calibration_error(bins) == pytest.approx(0.5 * 0.45 + 0.5 * 0.4)


@pytest.mark.parametrize("n_bins", [1, 10, 15])
def test_ece_of_perfect_confidence_is_zero(n_bins):
    proba = np.eye(4)[[0, 1, 2, 3, 0]]
    bins = reliability_bins(proba, np.array([0, 1, 2, 3, 0]), n_bins)
    assert bins["edges"] == pytest.approx(np.linspace(0, 1, n_bins + 1))
    assert expected_calibration_error(bins) == 0.0


# ---------------------------------------------------------------------- estimator
def overconfident(seed: int = 0):
    """A wide network without penalty, trained long on noisy labels, and held-out rows."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(900, 8))
    y = np.where(X[:, 0] + X[:, 1] + rng.normal(scale=1.5, size=900) > 0, "yes", "no")
    model = LRNClassifier((64,), alpha=0.0, max_iter=300, learning_rate_init=0.01, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[:300], y[:300])
    return model, X, y


def test_calibrate_lowers_the_validation_log_loss_of_an_overconfident_model():
    model, X, y = overconfident()
    X_val, y_val, X_test, y_test = X[300:600], y[300:600], X[600:], y[600:]
    labels_before = model.predict(X_test)
    val_before = log_loss(y_val, model.predict_proba(X_val))
    test_before = log_loss(y_test, model.predict_proba(X_test))
    assert model.calibrate(X_val, y_val) is model
    assert model.temperature_ > 1.5  # over-confident: softened
    assert log_loss(y_val, model.predict_proba(X_val)) < val_before
    assert log_loss(y_test, model.predict_proba(X_test)) < test_before
    np.testing.assert_array_equal(model.predict(X_test), labels_before)
    # decision_function, predict_proba and predict_log_proba agree on the scaled logits
    d = model.decision_function(X_test)
    np.testing.assert_allclose(model.predict_proba(X_test)[:, 1], expit(d), rtol=1e-5)
    np.testing.assert_allclose(
        model.predict_log_proba(X_test), np.log(model.predict_proba(X_test)), rtol=1e-5
    )


def test_a_refit_drops_the_temperature():
    model, X, y = overconfident()
    model.calibrate(X[300:600], y[300:600])
    model.set_params(max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[:300], y[:300])
    assert not hasattr(model, "temperature_")


@pytest.mark.parametrize(
    "kind, message",
    [
        ("label", r"y has label\(s\) \['maybe'\] that are not among the classes"),
        ("length", "X has 3 rows but y has 2 labels"),
    ],
)
def test_calibrate_refuses_bad_labels(kind, message):
    model, X, _ = overconfident()
    y = ["yes", "no", "maybe"] if kind == "label" else ["yes", "no"]
    with pytest.raises(ValueError, match=message):
        model.calibrate(X[:3], y)


def test_calibrate_needs_a_fitted_model():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        LRNClassifier().calibrate(np.zeros((2, 2)), [0, 1])


def test_temperature_round_trips_through_the_model_file(tmp_path):
    model, X, y = overconfident()
    model.calibrate(X[300:600], y[300:600])
    path = model.save(tmp_path / "m.lrnet")
    loaded = lrnet.load(path).estimator
    assert loaded.temperature_ == model.temperature_
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("bad", [-1.0, 0.0, "2", True])
def test_a_tampered_temperature_is_refused(bad):
    model, X, y = overconfident()
    fitted = model.fitted_network()
    fitted.attributes["temperature_"] = bad
    with pytest.raises(ValueError, match="temperature_ is .*expected a positive number"):
        LRNClassifier.from_fitted(fitted)


# ---------------------------------------------------------------------- command line
@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """``lrnet train --calibrate`` on a noisy table, with an over-fitting network."""
    folder = tmp_path_factory.mktemp("calibrated")
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(500, 6)), columns=[f"x{i}" for i in range(6)])
    noise = rng.normal(scale=1.2, size=500)
    frame["label"] = np.where(frame.x0 - frame.x1 + noise > 0, "up", "down")
    data = folder / "t.csv"
    frame.to_csv(data, index=False)
    model = folder / "m.lrnet"
    args = ["train", str(data), "-o", str(model), "--no-report", "--calibrate", "--json"]
    args += ["--hidden", "64", "--epochs", "200", "--lr", "0.01", "--alpha", "0"]
    return data, model, args


def test_train_calibrate_saves_the_temperature(calibrated, capsys):
    data, model, args = calibrated
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    note = [n for n in doc["notes"] if n.startswith("calibrated on ")]
    assert len(note) == 1 and "temperature" in note[0]
    saved = lrnet.load(model)
    T = saved.estimator.temperature_
    assert T > 1
    cal = saved.metadata["calibration"]
    rows = cal["validation_rows"]
    assert cal["temperature"] == T and 0 < rows <= 200  # the validation split of 400 rows
    assert cal["validation_log_loss_after"] < cal["validation_log_loss_before"]
    assert doc["info"]["calibration"].startswith(f"temperature {T:.4g}, fitted on {rows} ")


def test_predict_and_evaluate_apply_the_temperature(calibrated, tmp_path, capsys):
    data, model, args = calibrated
    if not model.exists():
        assert main(args) == 0
    saved = lrnet.load(model)
    frame = pd.read_csv(data)
    expected = saved.predict_proba(frame)
    T = saved.estimator.temperature_
    raw = expit(saved.estimator.decision_function(saved.preprocessor.transform(frame)) * T)
    assert not np.allclose(expected[:, 1], raw, atol=1e-3)  # the temperature matters
    out = tmp_path / "p.csv"
    assert main(["predict", str(model), str(data), "-o", str(out), "--proba", "-q"]) == 0
    predicted = pd.read_csv(out)
    np.testing.assert_allclose(predicted[["down", "up"]], expected, rtol=1e-4)
    capsys.readouterr()
    assert main(["evaluate", str(model), str(data), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)["metrics"]
    assert metrics["log_loss"] == pytest.approx(
        log_loss(frame["label"], expected, labels=saved.classes_)
    )


def test_onnx_export_applies_the_temperature(calibrated):
    ort = pytest.importorskip("onnxruntime")
    from lrnet.export import frame_inputs, to_onnx

    data, model, args = calibrated
    if not model.exists():
        assert main(args) == 0
    saved = lrnet.load(model)
    proto = to_onnx(saved)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert float(meta["temperature"]) == saved.estimator.temperature_
    frame = pd.read_csv(data)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    labels, proba = session.run(None, frame_inputs(proto, frame))
    np.testing.assert_allclose(proba, saved.predict_proba(frame), atol=1e-5)
    np.testing.assert_array_equal(labels, saved.predict(frame))


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--validation-fraction", "0"], "--calibrate fits the temperature on the validation"),
        (["--validation-fraction", "0.01"], "--calibrate needs a validation split, but with"),
    ],
)
def test_calibrate_without_a_validation_split_is_refused(tmp_path, capsys, extra, message):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=60), "label": ["a", "b", "c"] * 20})
    data = tmp_path / "t.csv"
    frame.to_csv(data, index=False)
    code = main(["train", str(data), "--calibrate", "-o", str(tmp_path / "m.lrnet"), *extra])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert not (tmp_path / "m.lrnet").exists()


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
def test_every_head_applies_the_temperature_in_predict_proba_and_onnx(kind):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5)).astype(np.float32)
    score = X[:, :3] + rng.normal(scale=1.0, size=(300, 3))
    y = {
        "binary": score[:, 0] > 0,
        "multiclass": score.argmax(axis=1),
        "multilabel": (score > 0).astype(int),
    }[kind]
    model = LRNClassifier((32,), alpha=0.0, max_iter=200, learning_rate_init=0.02, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[:150], y[:150])
    raw = model.predict_proba(X[150:])
    model.calibrate(X[150:], y[150:])
    T = model.temperature_
    assert T != 1.0
    logits = model.decision_function(X[150:]).reshape(150, -1)  # already divided by T
    if kind == "multiclass":
        np.testing.assert_allclose(model.predict_proba(X[150:]), softmax(logits, axis=1), atol=1e-6)
    else:
        p = expit(logits)
        expected = np.hstack([1 - p, p]) if kind == "binary" else p
        np.testing.assert_allclose(model.predict_proba(X[150:]), expected, atol=1e-6)
    assert not np.allclose(model.predict_proba(X[150:]), raw, atol=1e-3)
    ort = pytest.importorskip("onnxruntime")
    from lrnet.export import to_onnx

    proto = to_onnx(model)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    labels, proba = session.run(None, {"X": X})
    np.testing.assert_allclose(proba, model.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(labels, model.predict(X))


def test_sample_weights_of_zero_drop_rows():
    Z, Y = sharpened("softmax", 3, 2.5, n=600, seed=5)
    weights = np.r_[np.ones(300), np.zeros(300)]
    assert fit_temperature(Z, Y, "softmax", weights) == pytest.approx(
        fit_temperature(Z[:300], Y[:300], "softmax"), rel=1e-4
    )
    with pytest.raises(ValueError, match="summing to 0: expected one weight per row"):
        fit_temperature(Z, Y, "softmax", np.zeros(600))


def test_calibrate_with_sample_weights():
    model, X, y = overconfident()
    weights = np.r_[np.ones(150), np.zeros(150)]
    T = model.calibrate(X[300:600], y[300:600], sample_weight=weights).temperature_
    assert T == pytest.approx(model.calibrate(X[300:450], y[300:450]).temperature_, rel=1e-4)
