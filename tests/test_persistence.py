"""Model files: round trips, and every way a file can be wrong, without unpickling."""

import io
import json
import pickle
import warnings
import zipfile

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

import lrnet
from conftest import make_table
from lrnet import LRNClassifier
from lrnet.callbacks import EarlyStopping
from lrnet.data import Preprocessor
from lrnet.persistence import FORMAT_VERSION, ModelFileError, load_estimator, save
from lrnet.progress import ProgressBar

#: attributes that are training state, not needed to predict, and not saved
NOT_SAVED = {"_state"}


def fitted(y_kind="multiclass", dtype=np.float32, **params):
    X, y = make_classification(
        n_samples=120, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    X = X.astype(dtype)
    if y_kind == "binary":
        y = y % 2
    elif y_kind == "strings":
        y = np.array(["cat", "dog", "emu"])[y]
    elif y_kind == "bools":
        y = y == 1
    elif y_kind == "multilabel":
        y = np.c_[y == 1, y == 2].astype(int)
    settings = dict(hidden_layer_sizes=(7,), max_iter=20, random_state=0)
    settings.update(params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LRNClassifier(**settings).fit(X, y)
    return clf, X, y


@pytest.mark.parametrize("y_kind", ["binary", "multiclass", "strings", "bools", "multilabel"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_gives_identical_predictions(tmp_path, y_kind, dtype):
    clf, X, y = fitted(y_kind, dtype)
    path = clf.save(tmp_path / "m.lrnet")
    model = lrnet.load(path)
    loaded = model.estimator
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.score(X, y) == clf.score(X, y)
    assert loaded.classes_.dtype == clf.classes_.dtype
    assert loaded.coefs_[0].dtype == dtype
    assert set(vars(clf)) - NOT_SAVED == set(vars(loaded))
    assert loaded.history_ == clf.history_
    assert loaded.loss_curve_ == clf.loss_curve_
    assert loaded.get_params() == clf.get_params()
    np.testing.assert_array_equal(model.predict(X), clf.predict(X))


def test_every_fitted_attribute_is_restored(tmp_path):
    clf, X, _ = fitted(early_stopping=True, max_iter=60, n_iter_no_change=3)
    loaded = load_estimator(clf.save(tmp_path / "m.lrnet"))
    public = {k for k in vars(clf) if k.endswith("_") and not k.startswith("_")}
    for name in public - {"coefs_", "intercepts_", "classes_"}:
        assert getattr(loaded, name) == getattr(clf, name), name
    assert loaded._label_binarizer.y_type_ == clf._label_binarizer.y_type_
    assert loaded.validation_scores_ == clf.validation_scores_


def test_object_dtype_classes_keep_their_dtype(tmp_path):
    clf, X, _ = fitted("strings")
    clf.classes_ = clf.classes_.astype(object)
    clf._label_binarizer.classes_ = clf.classes_
    loaded = load_estimator(clf.save(tmp_path / "m.lrnet"))
    assert loaded.classes_.dtype == object
    assert list(loaded.predict(X)) == list(clf.predict(X))


def test_feature_names_are_saved(tmp_path):
    import pandas as pd

    clf, X, y = fitted()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(frame, y)
    loaded = load_estimator(clf.save(tmp_path / "m.lrnet"))
    assert list(loaded.feature_names_in_) == list(frame.columns)
    np.testing.assert_array_equal(loaded.predict_proba(frame), clf.predict_proba(frame))


def test_partial_fit_continues_after_load(tmp_path):
    clf, X, y = fitted()
    loaded = load_estimator(clf.save(tmp_path / "m.lrnet"))
    loaded.partial_fit(X, y)
    assert loaded.n_iter_ == 1


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_warm_start_after_load_matches_warm_start_in_memory(tmp_path, solver):
    """A loaded model's warm start extends its history like the original's would."""
    clf, X, y = fitted(dtype=np.float64, solver=solver)
    loaded = load_estimator(clf.save(tmp_path / "m.lrnet"))
    for est in (clf, loaded):
        est.set_params(warm_start=True, max_iter=4)
        est.fit(X, y)
    assert len(loaded.loss_curve_) == len(clf.loss_curve_) > 4
    assert loaded.loss_curve_ == clf.loss_curve_
    assert loaded.t_ == clf.t_ and len(loaded.history_) == len(clf.history_)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_preprocessing_round_trip(tmp_path):
    frame = make_table()
    pre = Preprocessor.fit(frame, "label")
    X = pre.transform(frame)
    clf = LRNClassifier(hidden_layer_sizes=(8,), max_iter=300, tol=1e-3, random_state=0)
    clf.fit(X, frame["label"].to_numpy(dtype=str))
    path = save(tmp_path / "m.lrnet", clf, preprocessing=pre, metadata={"note": [1, 2.5]})
    model = lrnet.load(path)
    new = make_table(50, seed=1)
    np.testing.assert_array_equal(model.preprocessor.transform(new), pre.transform(new))
    np.testing.assert_array_equal(model.predict(new), clf.predict(pre.transform(new)))
    np.testing.assert_array_equal(model.predict_proba(new), clf.predict_proba(pre.transform(new)))
    assert model.preprocessor.plan.dropped == pre.plan.dropped
    assert model.metadata == {"note": [1, 2.5]}


def test_pickle_still_works_with_callbacks(tmp_path):
    clf, X, y = fitted(callbacks=[ProgressBar(enabled=False)])
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    loaded = load_estimator(clf.save(tmp_path / "m.lrnet"))
    assert loaded.callbacks is None  # behaviour, not state: not saved
    joblib = pytest.importorskip("joblib")
    joblib.dump(loaded, tmp_path / "m.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "m.joblib").predict(X), clf.predict(X))


#: the training extras of issue 5, with a callback that holds out validation data
EXTRAS = dict(
    hidden_layer_sizes=(8, 4),
    solver="adamw",
    weight_decay=0.05,
    warmup_fraction=0.1,
    max_grad_norm=1.0,
    label_smoothing=0.1,
    init="he",
)


@pytest.mark.parametrize("y_kind", ["binary", "strings", "multilabel"])
@pytest.mark.parametrize(
    "schedule, dropout",
    [("cosine", (0.2, 0.3)), ("onecycle", [0.2, 0.3]), ("cosine", 0.25)],
    ids=["tuple", "list", "scalar"],
)
def test_training_extras_round_trip(tmp_path, y_kind, schedule, dropout):
    callbacks = [EarlyStopping(patience=3)]
    clf, X, y = fitted(
        y_kind, learning_rate=schedule, dropout=dropout, callbacks=callbacks, **EXTRAS
    )
    loaded = lrnet.load(clf.save(tmp_path / "m.lrnet")).estimator
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))

    params, again = clf.get_params(), loaded.get_params()
    assert params.pop("callbacks") == callbacks
    assert again.pop("callbacks") is None  # behaviour, not state: never saved
    # JSON has no tuples: a sequence of dropout rates loads as a list of the same rates
    # (only hidden_layer_sizes is turned back into a tuple)
    assert again["dropout"] == (list(dropout) if isinstance(dropout, tuple) else dropout)
    assert again == {**params, "dropout": again["dropout"]}

    # the loaded parameters train the same model again
    refit = LRNClassifier(**again, callbacks=[EarlyStopping(patience=3)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        refit.fit(X, y)
    np.testing.assert_array_equal(refit.predict_proba(X), clf.predict_proba(X))


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path):
    clf, _, _ = fitted()
    path = tmp_path / "m.lrnet"
    clf.save(path)
    clf.save(path)  # replaces
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.lrnet"]


def test_save_of_unfitted_estimator_fails(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        LRNClassifier().save(tmp_path / "m.lrnet")
    assert not (tmp_path / "m.lrnet").exists()


# ---------------------------------------------------------------------- bad files
@pytest.fixture
def model_file(tmp_path):
    clf, _, _ = fitted()
    return clf.save(tmp_path / "m.lrnet")


def rewrite(path, header=None, members=None, drop=()):
    """Rewrite a model file with a changed header or members."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files if name not in drop}
    if header is not None:
        arrays["header"] = np.array(json.dumps(header(json.loads(str(arrays["header"][()])))))
    arrays.update(members or {})
    with open(path, "wb") as fh:  # np.savez(path) would append '.npz' to the name
        np.savez(fh, **arrays)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.99])
def test_truncated_file_is_rejected(model_file, keep):
    data = model_file.read_bytes()
    model_file.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match=r"m\.lrnet: corrupted or truncated"):
        lrnet.load(model_file)


def test_flipped_bytes_are_rejected(model_file):
    data = bytearray(model_file.read_bytes())
    for offset in range(200, len(data) - 200, max(1, len(data) // 7)):
        damaged = bytearray(data)
        damaged[offset] ^= 0xFF
        model_file.write_bytes(bytes(damaged))
        with pytest.raises(ValueError, match=r"m\.lrnet: "):
            lrnet.load(model_file)


def test_tampered_weights_are_rejected(model_file):
    with np.load(model_file) as npz:
        coef = npz["coef_0"] + 1
    rewrite(model_file, members={"coef_0": coef})
    with pytest.raises(ValueError, match="does not match its checksum"):
        lrnet.load(model_file)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_tampered_preprocessing_is_rejected(tmp_path):
    frame = make_table()
    pre = Preprocessor.fit(frame, "label")
    clf = LRNClassifier(hidden_layer_sizes=(4,), max_iter=300, random_state=0)
    clf.fit(pre.transform(frame), frame["label"].to_numpy(dtype=str))
    path = save(tmp_path / "m.lrnet", clf, preprocessing=pre)

    def shift_mean(header):
        header["preprocessing"]["numeric"]["mean"][0] += 1.0
        return header

    rewrite(path, header=shift_mean)
    with pytest.raises(ValueError, match="does not reproduce the stored probe output"):
        lrnet.load(path)


def test_newer_format_version_is_rejected(model_file):
    rewrite(model_file, header=lambda h: {**h, "format_version": FORMAT_VERSION + 1})
    with pytest.raises(
        ValueError,
        match=r"m\.lrnet: written by lrnet .* format version 2; "
        r"this lrnet .* reads format versions up to 1\. Upgrade lrnet",
    ):
        lrnet.load(model_file)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda h: {**h, "format": "something-else"}, "not an lrnet model file"),
        (lambda h: {**h, "label_type": "binary"}, "do not fit label type"),
        (lambda h: {**h, "fitted": {**h["fitted"], "__class__": 1}}, "unexpected fitted"),
        (lambda h: {**h, "params": {**h["params"], "activation": "evil"}}, "activation"),
        (lambda h: {**h, "fitted": {**h["fitted"], "n_features_in_": 3}}, "n_features_in_"),
    ],
)
def test_inconsistent_header_is_rejected(model_file, change, message):
    rewrite(model_file, header=change)
    with pytest.raises(ModelFileError, match=message):
        lrnet.load(model_file)


def test_foreign_files_are_rejected(tmp_path):
    text = tmp_path / "notes.lrnet"
    text.write_text("hello")
    with pytest.raises(ValueError, match=r"notes\.lrnet: not an lrnet model file"):
        lrnet.load(text)
    npz = tmp_path / "arrays.lrnet"
    with open(npz, "wb") as fh:
        np.savez(fh, a=np.arange(3))
    with pytest.raises(ValueError, match=r"arrays\.lrnet: not an lrnet model file \(no header"):
        lrnet.load(npz)
    npy = tmp_path / "array.lrnet"
    with open(npy, "wb") as fh:
        np.save(fh, np.arange(3))
    with pytest.raises(ValueError, match="not a zip archive"):
        lrnet.load(npy)
    empty = tmp_path / "empty.lrnet"
    empty.touch()
    with pytest.raises(ValueError, match="empty"):
        lrnet.load(empty)
    with pytest.raises(ValueError, match="no such model file"):
        lrnet.load(tmp_path / "absent.lrnet")


def test_unexpected_member_is_rejected(model_file):
    rewrite(model_file, members={"extra": np.zeros(2)})
    with pytest.raises(ValueError, match=r"unexpected member\(s\) \['extra'\]"):
        lrnet.load(model_file)


def test_missing_member_is_rejected(model_file):
    rewrite(model_file, drop=("intercept_1",))
    with pytest.raises(ValueError, match=r"member\(s\) \['intercept_1'\] are missing"):
        lrnet.load(model_file)


class Payload:
    """Unpickling this object creates a marker file (via the builtin ``open``)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("member", ["coef_0", "classes", "header", "smuggled"])
def test_pickle_payload_is_never_executed(model_file, tmp_path, member):
    marker = tmp_path / "pwned"
    evil = np.array([Payload(marker)], dtype=object)

    def list_member(header):
        header["arrays"][member] = {"dtype": "|O", "shape": [1], "sha256": "0"}
        return header

    rewrite(model_file, header=None if member == "header" else list_member, members={member: evil})
    with pytest.raises(ValueError, match=r"m\.lrnet: ") as info:
        lrnet.load(model_file)
    assert not marker.exists()
    if member != "smuggled":
        assert "pickled" in str(info.value) or "not an lrnet model file" in str(info.value)

    # the payload is live: unpickling the member the unsafe way does create the marker
    with zipfile.ZipFile(model_file) as archive:
        raw = archive.read(f"{member}.npy")
    np.load(io.BytesIO(raw), allow_pickle=True)
    assert marker.exists()
