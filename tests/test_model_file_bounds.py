"""Model files cannot exhaust memory or time, and every bad file is a ModelFileError.

The promise (README, "Model files"): a file of at most S bytes loads or is refused
within 2 s, holding at most a small multiple of S in memory.  These tests build the
files an attacker would (zip bombs, members whose ``.npy`` header or manifest claims a
huge shape, malformed members, headers that contradict the weights, preprocessing that
demands huge work) and fuzz valid files with ``hypothesis`` (fixed seed): each load
must end in a model or a :class:`ModelFileError` naming the file, in bounded time and
memory.  They also cover the optional training-state section of a checkpoint.
"""

from __future__ import annotations

import io
import json
import re
import time
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

import lrnet
from conftest import make_table
from lrnet import LRNClassifier, _archive, _manifest, persistence
from lrnet.data import Preprocessor
from lrnet.data import spec as spec_module
from lrnet.persistence import ModelFileError, read_training_state, save

#: the promise's time bound, per load
SECONDS = 2.0


def _fit(y_kind: str, n_features: int = 5):
    X, y = make_classification(
        n_samples=60, n_features=n_features, n_informative=3, n_classes=3, random_state=0
    )
    if y_kind == "binary":
        y = y % 2
    elif y_kind == "multilabel":
        y = np.c_[y == 1, y == 2].astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return LRNClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Valid model files: one per label type, and one with preprocessing (as bytes)."""
    folder = tmp_path_factory.mktemp("bounds")
    out = {}
    for kind in ("binary", "multiclass", "multilabel"):
        out[kind] = save(folder / f"{kind}.lrnet", _fit(kind)).read_bytes()
    frame = make_table(n_rows=60)
    pre = Preprocessor.fit(frame, "label")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LRNClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0)
        clf.fit(pre.transform(frame), frame["label"].to_numpy(dtype=str))
    out["table"] = save(folder / "table.lrnet", clf, preprocessing=pre).read_bytes()
    return out


# ---------------------------------------------------------------------- helpers
def members_of(data: bytes) -> dict[str, bytes]:
    """The raw ``.npy`` bytes of each member, by name."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {i.filename.removesuffix(".npy"): archive.read(i) for i in archive.infolist()}


def write_zip(path, members: dict[str, bytes], compressed: frozenset = frozenset()) -> None:
    """A zip of raw members (``name.npy``), deflated when named in ``compressed``."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, raw in members.items():
            kind = zipfile.ZIP_DEFLATED if name in compressed else zipfile.ZIP_STORED
            archive.writestr(f"{name}.npy", raw, compress_type=kind)


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def header_of(members: dict[str, bytes]) -> dict:
    return json.loads(str(np.load(io.BytesIO(members["header"]))[()]))


def with_header(members: dict[str, bytes], header: dict) -> dict[str, bytes]:
    return {**members, "header": npy_bytes(np.array(json.dumps(header)))}


def describe(array: np.ndarray) -> dict:
    return _manifest.describe(array)


def load_bounded(path):
    """Load ``path``; return (model or the error, seconds, peak traced bytes)."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        result = lrnet.load(path)
    except ModelFileError as err:
        result = err
    finally:
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result, seconds, peak


# ---------------------------------------------------------------------- bombs
@pytest.fixture(scope="module")
def deflate_bomb(tmp_path_factory):
    """A file of about 0.6 MB whose coef_0 member inflates to 128 MiB (header consistent)."""
    path = tmp_path_factory.mktemp("bomb") / "m.lrnet"
    members = members_of(save(path, _fit("binary")).read_bytes())
    shape = (1 << 13, 1 << 12)  # float32: 128 MiB
    header = header_of(members)
    header["arrays"]["coef_0"] = {"dtype": "<f4", "shape": list(shape), "sha256": "0" * 64}
    members = with_header(members, header)
    del members["coef_0"]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, raw in members.items():
            archive.writestr(f"{name}.npy", raw, compress_type=zipfile.ZIP_STORED)
        with archive.open("coef_0.npy", "w", force_zip64=True) as fh:
            head = io.BytesIO()
            fields = {"descr": "<f4", "fortran_order": False, "shape": shape}
            np.lib.format.write_array_header_1_0(head, fields)
            fh.write(head.getvalue())
            zeros = bytes(1 << 22)
            for _ in range(shape[0] * shape[1] * 4 // len(zeros)):
                fh.write(zeros)
    return path


def test_compressed_bomb_is_refused_before_it_is_inflated(deflate_bomb):
    size = deflate_bomb.stat().st_size
    assert size < 4 << 20
    error, seconds, peak = load_bounded(deflate_bomb)
    assert isinstance(error, ModelFileError)
    assert "member 'coef_0' is compressed or encrypted" in str(error)
    assert seconds < SECONDS
    assert peak < 4 * size + (8 << 20)  # nowhere near the 128 MiB it inflates to


@pytest.mark.parametrize("where", ["npy", "manifest", "both"])
def test_a_claimed_huge_shape_is_refused_before_allocation(files, tmp_path, where):
    members = members_of(files["binary"])
    header = header_of(members)
    huge = (1 << 20, 1 << 18)  # 1 TiB of float32, 2 TiB of float64
    descr = header["arrays"]["coef_0"]["dtype"]
    if where in ("npy", "both"):
        stream = io.BytesIO()
        fields = {"descr": descr, "fortran_order": False, "shape": huge}
        np.lib.format.write_array_header_1_0(stream, fields)
        members["coef_0"] = stream.getvalue() + bytes(64)
    if where in ("manifest", "both"):
        header["arrays"]["coef_0"]["shape"] = list(huge)
    path = tmp_path / "m.lrnet"
    write_zip(path, with_header(members, header))
    error, seconds, peak = load_bounded(path)
    assert isinstance(error, ModelFileError)
    n_bytes = (1 << 38) * np.dtype(descr).itemsize
    expected = f"declares {n_bytes} bytes" if where == "both" else "does not match its"
    assert f"m.lrnet: member 'coef_0' {expected}" in str(error)
    assert peak < 8 << 20 and seconds < SECONDS


def test_too_many_members_are_refused_before_the_directory_is_parsed(files, tmp_path):
    members = members_of(files["binary"])
    members.update({f"extra_{i}": b"x" for i in range(_archive.MAX_MEMBERS)})
    path = tmp_path / "m.lrnet"
    write_zip(path, members)
    with pytest.raises(ModelFileError, match=r"m\.lrnet: the zip directory lists 10\d\d members"):
        lrnet.load(path)


def test_overlapping_members_are_refused(files, tmp_path):
    """A second directory entry pointing at the same data (a bomb without compression)."""
    members = members_of(files["binary"])
    members["pad_a"] = npy_bytes(np.zeros(4096, np.float64))
    path = tmp_path / "m.lrnet"
    write_zip(path, members)
    data = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        start = archive.start_dir
    end = data.rindex(b"PK\x05\x06")
    directory = data[start:end]
    at = directory.index(b"pad_a.npy") - 46  # its entry: 46 fixed bytes, then the name
    size = 46 + sum(int.from_bytes(directory[at + k : at + k + 2], "little") for k in (28, 30, 32))
    twin = directory[at : at + size].replace(b"pad_a.npy", b"pad_b.npy")
    eocd = bytearray(data[end:])
    for k in (8, 10):  # entries on this disk, in all
        eocd[k : k + 2] = (int.from_bytes(eocd[k : k + 2], "little") + 1).to_bytes(2, "little")
    eocd[12:16] = (len(directory) + len(twin)).to_bytes(4, "little")
    path.write_bytes(data[:end] + twin + bytes(eocd))
    assert len(zipfile.ZipFile(path).infolist()) == len(members) + 1
    with pytest.raises(ModelFileError, match=r"m\.lrnet: the members claim \d+ bytes in all"):
        lrnet.load(path)


def test_the_header_member_is_bounded(files, tmp_path, monkeypatch):
    path = tmp_path / "m.lrnet"
    path.write_bytes(files["binary"])
    size = zipfile.ZipFile(path).getinfo("header.npy").file_size
    monkeypatch.setattr(persistence, "MAX_HEADER_BYTES", size - 1)
    with pytest.raises(
        ModelFileError, match=rf"m\.lrnet: the header member holds {size} bytes; lrnet reads"
    ):
        lrnet.load(path)


def test_header_containers_are_bounded(files, tmp_path, monkeypatch):
    path = tmp_path / "m.lrnet"
    path.write_bytes(files["table"])
    monkeypatch.setattr(persistence, "MAX_HEADER_CONTAINERS", 50)
    with pytest.raises(
        ModelFileError, match=r"m\.lrnet: the header holds up to \d+ JSON lists and objects; lrnet"
    ):
        lrnet.load(path)


def test_a_deeply_nested_header_is_refused(files, tmp_path):
    members = members_of(files["binary"])
    text = json.dumps(header_of(members))[:-1] + ', "deep": ' + "[" * 5000 + "]" * 5000 + "}"
    members["header"] = npy_bytes(np.array(text))
    path = tmp_path / "m.lrnet"
    write_zip(path, members)
    with pytest.raises(
        ModelFileError, match=r"m\.lrnet: corrupted model file \(header is not JSON"
    ):
        lrnet.load(path)


@pytest.mark.parametrize(
    "limit, value, message",
    [
        ("MAX_HEADER_BYTES", 1000, r"the model file's header would hold \d+ bytes"),
        ("MAX_HEADER_CONTAINERS", 3, r"and up to \d+ JSON lists and objects, more than"),
        ("MAX_MEMBERS", 8, r"the model file would hold 11 members, more than the 8"),
    ],
)
def test_save_refuses_what_load_would_refuse(tmp_path, monkeypatch, limit, value, message):
    monkeypatch.setattr(persistence, limit, value)
    state = {"arrays": {f"a{i}": np.zeros(1) for i in range(5)}}
    path = tmp_path / "m.lrnet"
    with pytest.raises(ValueError, match=message):
        save(path, _fit("binary"), training_state=state)
    assert not path.exists()


@pytest.mark.parametrize("records", [50, 30_000])
def test_a_long_history_is_saved_as_its_latest_records(tmp_path, records):
    # 30,000 partial_fit calls' records were ~18 MiB of header: save refused the model
    model = _fit("binary")
    last = model.history_[-1]
    model.history_ = [{**last, "epoch": i + 1} for i in range(records)]
    save(tmp_path / "m.lrnet", model)
    history = lrnet.load(tmp_path / "m.lrnet").estimator.history_
    kept = min(records, persistence.MAX_SAVED_HISTORY)
    assert len(history) == kept and len(model.history_) == records  # the estimator's untouched
    assert [h["epoch"] for h in history] == list(range(records - kept + 1, records + 1))


# ---------------------------------------------------------------------- malformed members
def _fortran(raw: bytes) -> bytes:
    array = np.load(io.BytesIO(raw))
    stream = io.BytesIO()
    descr = np.lib.format.dtype_to_descr(array.dtype)
    fields = {"descr": descr, "fortran_order": True, "shape": array.shape}
    np.lib.format.write_array_header_1_0(stream, fields)
    return stream.getvalue() + array.tobytes()


def _npy_version_3(array):
    raw = bytearray(npy_bytes(array))
    raw[6] = 3
    return bytes(raw)


MALFORMED = {
    "raw-bytes": lambda raw: b"\x01\x02 not an array at all" * 3,
    "empty": lambda raw: b"",
    "wrong-magic": lambda raw: b"\x93NUMPZ" + raw[6:],
    "truncated-header": lambda raw: raw[:20],
    "truncated-data": lambda raw: raw[:-4],
    "extra-data": lambda raw: raw + b"\0\0\0\0",
    "npy-version-3": lambda raw: _npy_version_3(np.load(io.BytesIO(raw))),
    "fortran-order": _fortran,
    "bad-dict": lambda raw: raw.replace(b"'descr'", b"'dexcr'", 1),
}


@pytest.mark.parametrize("member", ["coef_0", "classes", "header"])
@pytest.mark.parametrize("damage", MALFORMED.values(), ids=MALFORMED)
def test_a_malformed_member_is_a_model_file_error(files, tmp_path, member, damage):
    members = members_of(files["multiclass"])
    members[member] = damage(members[member])
    path = tmp_path / "m.lrnet"
    write_zip(path, members)
    with pytest.raises(ModelFileError, match=rf"m\.lrnet: member '{member}' (is damaged|declares)"):
        lrnet.load(path)


def test_a_member_with_a_structured_dtype_is_refused(files, tmp_path):
    members = members_of(files["multiclass"])
    members["classes"] = npy_bytes(np.zeros(3, dtype=[("a", "<i4"), ("b", "<f4")]))
    path = tmp_path / "m.lrnet"
    write_zip(path, members)
    with pytest.raises(ModelFileError, match=r"member 'classes' is damaged or not a \.npy array"):
        lrnet.load(path)


@pytest.mark.parametrize(
    "dtype, message",
    [
        ("|O", "pickled Python objects"),
        ("|V8", r"has dtype '\|V8', expected a plain numeric or string dtype"),
        ("(1000000000,)<f8", "expected a plain numeric or string dtype"),
        ("<U0", "expected a plain numeric or string dtype"),
        ("<i8", "has unsupported dtype int64"),
        ("<f2", "has unsupported dtype float16"),
    ],
)
def test_manifest_dtypes_are_plain(files, tmp_path, dtype, message):
    members = members_of(files["binary"])
    header = header_of(members)
    header["arrays"]["coef_0"]["dtype"] = dtype
    path = tmp_path / "m.lrnet"
    write_zip(path, with_header(members, header))
    with pytest.raises(ModelFileError, match=rf"m\.lrnet: .*{message}"):
        lrnet.load(path)


def test_a_compressed_but_otherwise_valid_file_is_refused(files, tmp_path):
    path = tmp_path / "m.lrnet"
    write_zip(path, members_of(files["binary"]), compressed=frozenset({"classes"}))
    with pytest.raises(
        ModelFileError, match=r"m\.lrnet: member 'classes' is compressed or encrypted; lrnet"
    ):
        lrnet.load(path)


def test_a_duplicated_member_is_refused(files, tmp_path):
    path = tmp_path / "m.lrnet"
    path.write_bytes(files["binary"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile: duplicate name
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr("classes.npy", members_of(files["binary"])["classes"])
    with pytest.raises(ModelFileError, match=r"member 'classes\.npy' appears twice"):
        lrnet.load(path)


# ---------------------------------------------------------------------- header claims
def edited(files, kind, tmp_path, change, arrays=None):
    """A copy of ``files[kind]`` with ``change(header)`` and replaced arrays."""
    members = members_of(files[kind])
    header = header_of(members)
    for name, array in (arrays or {}).items():
        members[name] = npy_bytes(array)
        header["arrays"][name] = describe(array)
    change(header)
    path = tmp_path / "m.lrnet"
    write_zip(path, with_header(members, header))
    return path


def _set(*keys, value):
    def change(header):
        parent = header
        for key in keys[:-1]:
            parent = parent[key]
        parent[keys[-1]] = value

    return change


CLAIMS = {
    "binary-as-multilabel": (
        "binary",
        _set("label_type", value="multilabel-indicator"),
        r"the 2 classes and 1 output unit\(s\) do not fit label type 'multilabel-indicator'",
    ),
    "multilabel-as-binary": (
        "multilabel",
        _set("label_type", value="binary"),
        r"the 2 classes and 2 output unit\(s\) do not fit label type 'binary'",
    ),
    "multiclass-as-multilabel": (
        "multiclass",
        _set("label_type", value="multilabel-indicator"),
        r"out_activation_ 'softmax' does not fit label type 'multilabel-indicator'",
    ),
    "binary-link": (
        "binary",
        _set("fitted", "out_activation_", value="softmax"),
        r"out_activation_ 'softmax' does not fit label type 'binary': 'logistic'",
    ),
    "unknown-label-type": (
        "binary",
        _set("label_type", value="continuous"),
        r"label type 'continuous' is not one of \['binary', 'multiclass', ",
    ),
}


@pytest.mark.parametrize("kind, change, message", CLAIMS.values(), ids=CLAIMS)
def test_header_claims_must_match_the_weights(files, tmp_path, kind, change, message):
    path = edited(files, kind, tmp_path, change)
    with pytest.raises(ModelFileError, match=rf"m\.lrnet: invalid model file \({message}"):
        lrnet.load(path)


@pytest.mark.parametrize("n_names", [4, 6])
def test_feature_names_must_name_the_first_layer(files, tmp_path, n_names):
    names = np.array([f"f{i}" for i in range(n_names)])
    path = edited(files, "binary", tmp_path, lambda h: None, {"feature_names_in": names})
    with pytest.raises(
        ModelFileError,
        match=rf"feature_names_in holds {n_names} names but the first layer takes 5 features",
    ):
        lrnet.load(path)


def test_classes_must_be_one_dimensional(files, tmp_path):
    classes = np.array([[0, 1]])
    path = edited(files, "binary", tmp_path, lambda h: None, {"classes": classes})
    with pytest.raises(ModelFileError, match="classes and feature_names_in must be 1-D"):
        lrnet.load(path)


def _add_category(header):
    header["preprocessing"]["categorical"]["categories"][0].append("zzz")


def _many_categories(n):
    def change(header):
        header["preprocessing"]["categorical"]["categories"][0] = [f"c{i:07d}" for i in range(n)]

    return change


def _many_numeric(n):
    def change(header):
        header["preprocessing"]["numeric"]["columns"] = [f"x{i}" for i in range(n)]

    return change


PREPROCESSING = {
    "width": (_add_category, r"the preprocessing makes \d+ features but the network's first"),
    "categories": (_many_categories(200_000), r"\d+ categories in all, more than the 50000"),
    "categories-width": (_many_categories(40_000), r"makes \d+ features but the network"),
    "numeric-columns": (_many_numeric(6_000), r"6000 numeric columns, more than the 5000"),
    "probe-rows": (
        lambda h: h["preprocessing"]["probe"]["input"].update(x1=[0.0] * 100_000),
        r"the probe must hold 3 values of column 'x1'",
    ),
    "names-out": (
        lambda h: h["preprocessing"]["feature_names_out"].pop(),
        r"feature_names_out holds \d+ names for \d+ features",
    ),
}


@pytest.mark.parametrize("change, message", PREPROCESSING.values(), ids=PREPROCESSING)
def test_preprocessing_is_bounded_by_the_weights_and_limits(files, tmp_path, change, message):
    path = edited(files, "table", tmp_path, change)
    error, seconds, _ = load_bounded(path)
    assert isinstance(error, ModelFileError), error
    assert str(error).startswith(f"{path}: invalid model file (invalid preprocessing data: ")
    assert re.search(message, str(error)), str(error)
    assert seconds < SECONDS


def test_the_rebuild_limits_apply_when_training(tmp_path):
    import pandas as pd

    rng = np.random.default_rng(0)
    n = spec_module.MAX_CATEGORICAL_COLUMNS + 1
    frame = pd.DataFrame({f"c{i}": rng.choice(["a", "b"], 30) for i in range(n)})
    frame["label"] = rng.choice(["x", "y"], 30)
    with pytest.raises(
        ValueError, match=rf"train\.csv: invalid preprocessing data: {n} categorical columns"
    ):
        Preprocessor.fit(frame, "label", source="train.csv")


# ---------------------------------------------------------------------- fuzzing
def _check_outcome(path) -> None:
    result, seconds, peak = load_bounded(path)
    assert isinstance(result, lrnet.persistence.Model | ModelFileError), result
    if isinstance(result, ModelFileError):
        assert str(result).startswith(f"{path}: ")
    assert seconds < SECONDS, seconds
    assert peak < 4 * path.stat().st_size + (32 << 20), peak


FUZZ = settings(
    derandomize=True,
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(
    kind=st.sampled_from(["binary", "multiclass", "multilabel", "table"]),
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), max_size=4),
    keep=st.one_of(st.none(), st.floats(0, 1, exclude_max=True)),
)
def test_fuzz_byte_mutations(files, tmp_path, kind, flips, keep):
    data = bytearray(files[kind])
    for where, mask in flips:
        data[int(where * len(data))] ^= mask
    if keep is not None:
        data = data[: int(keep * len(data))]
    path = tmp_path / "m.lrnet"
    path.write_bytes(bytes(data))
    _check_outcome(path)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value[:3]):
            yield from _paths(item, (*prefix, i))


@FUZZ
@given(
    kind=st.sampled_from(["binary", "multilabel", "table"]),
    pick=st.floats(0, 1, exclude_max=True),
    value=st.one_of(
        JSON,
        st.integers(10**4, 2 * 10**5).map(lambda n: ["c"] * n),  # a huge list, bounded by size
        st.sampled_from(["binary", "multiclass", "multilabel-indicator", "logistic"]),
    ),
    delete=st.booleans(),
)
def test_fuzz_header_edits(files, tmp_path, kind, pick, value, delete):
    members = members_of(files[kind])
    header = header_of(members)
    paths = [p for p in _paths(header) if p]
    where = paths[int(pick * len(paths))]
    parent = header
    for key in where[:-1]:
        parent = parent[key]
    if delete and isinstance(parent, dict):
        del parent[where[-1]]
    else:
        parent[where[-1]] = value
    path = tmp_path / "m.lrnet"
    write_zip(path, with_header(members, header))
    _check_outcome(path)


# ---------------------------------------------------------------------- training state
@pytest.fixture(scope="module")
def state():
    generator = np.random.default_rng(7)
    return {
        "header": {
            "epoch": 3,
            "rng": generator.bit_generator.state,  # 128-bit ints in JSON
            "best_loss": float("inf"),
            "schedule": {"step": 12, "lr": 1e-3},
        },
        "arrays": {
            "adam.m": np.linspace(-1, 1, 7),
            "adam.t": np.array(12, dtype=np.int64),
            "rng_words": np.array([2**64 - 1, 2**63 + 5], dtype=np.uint64),
            "best_params": np.arange(6, dtype=np.float32).reshape(2, 3),
            "improved": np.array([True, False]),
        },
    }


def test_training_state_round_trip(tmp_path, state):
    clf = _fit("multiclass")
    path = save(tmp_path / "ckpt.lrnet", clf, training_state=state)
    model, read = read_training_state(path)
    assert model.training_state is read
    assert read["header"] == state["header"]
    assert read["header"]["rng"]["state"]["state"] > 2**64
    assert set(read["arrays"]) == set(state["arrays"])
    for name, array in state["arrays"].items():
        assert read["arrays"][name].dtype == array.dtype
        np.testing.assert_array_equal(read["arrays"][name], array)
    X = np.random.default_rng(0).normal(size=(5, 5))
    np.testing.assert_array_equal(model.predict_proba(X), clf.predict_proba(X))


def test_load_ignores_the_training_state(tmp_path, state):
    clf = _fit("binary")
    plain = lrnet.load(save(tmp_path / "plain.lrnet", clf))
    model = lrnet.load(save(tmp_path / "ckpt.lrnet", clf, training_state=state))
    assert model.training_state is None and plain.training_state is None
    assert "training_state" in model.header and "training_state" not in plain.header
    X = np.random.default_rng(0).normal(size=(5, 5))
    np.testing.assert_array_equal(model.predict_proba(X), plain.predict_proba(X))
    assert read_training_state(tmp_path / "plain.lrnet")[1] is None


def test_empty_training_state(tmp_path):
    path = save(tmp_path / "ckpt.lrnet", _fit("binary"), training_state={})
    assert read_training_state(path)[1] == {"header": {}, "arrays": {}}


def test_tampered_training_state_is_refused(tmp_path, state):
    path = save(tmp_path / "ckpt.lrnet", _fit("binary"), training_state=state)
    members = members_of(path.read_bytes())
    members["training_state.adam.m"] = npy_bytes(np.linspace(-1, 1, 7) + 1)
    write_zip(path, members)
    with pytest.raises(
        ModelFileError, match="member 'training_state.adam.m' does not match its checksum"
    ):
        read_training_state(path)
    lrnet.load(path)  # the model itself is intact; load does not read the state's data


def test_training_state_list_must_match_the_manifest(tmp_path, state):
    path = save(tmp_path / "ckpt.lrnet", _fit("binary"), training_state=state)
    members = members_of(path.read_bytes())
    header = header_of(members)
    header["training_state"]["arrays"].pop()
    write_zip(path, with_header(members, header))
    with pytest.raises(ModelFileError, match=r"the header's training state lists arrays"):
        lrnet.load(path)


@pytest.mark.parametrize(
    "bad, error, message",
    [
        ([1, 2], TypeError, "training_state must be None or a dict"),
        ({"arrays": {}, "extra": 1}, TypeError, r"training_state must be .* \['arrays', 'extra'\]"),
        ({"header": [1]}, TypeError, r"training_state\['header'\] and \['arrays'\] must be"),
        ({"arrays": {"a/b": np.zeros(2)}}, ValueError, "training-state array name 'a/b'"),
        ({"arrays": {"": np.zeros(2)}}, ValueError, "training-state array name ''"),
        ({"arrays": {"x": np.array(["s"])}}, TypeError, "array 'x' has dtype <U1"),
        ({"arrays": {"x": np.array([2**70])}}, TypeError, "array 'x' has dtype object"),
        ({"header": {"f": print}}, TypeError, r"cannot save training_state\['header'\]"),
    ],
)
def test_bad_training_state_is_refused_on_save(tmp_path, bad, error, message):
    path = tmp_path / "ckpt.lrnet"
    with pytest.raises(error, match=message):
        save(path, _fit("binary"), training_state=bad)
    assert not path.exists()
