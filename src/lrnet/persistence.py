"""Save and load models: arrays plus a JSON header in one ``.npz`` file, never pickle.

File format (version :data:`FORMAT_VERSION`): a zip archive of uncompressed ``.npy``
members, as ``np.savez`` writes it:

``header``
    A 0-d unicode array holding a JSON object: ``format`` ("lrnet-model"),
    ``format_version``, ``lrnet_version``, ``estimator`` ("LRNClassifier"), ``params``
    (``get_params()``, JSON-encoded), ``fitted`` (every scalar/list fitted attribute:
    ``n_features_in_``, ``loss_curve_``, ``history_`` (its latest
    :data:`MAX_SAVED_HISTORY` records), ...), ``label_type`` (the
    ``LabelBinarizer``'s ``y_type_``), ``classes_dtype``, ``arrays`` (name -> dtype,
    shape and SHA-256 of every other member), ``preprocessing`` (plain data from
    :meth:`lrnet.data.Preprocessor.to_dict`, or null), ``metadata`` (free JSON) and,
    in a checkpoint only, ``training_state`` (``{"header": free JSON, "arrays": names}``).
``coef_0 .. coef_{L-1}``, ``intercept_0 .. intercept_{L-1}``
    The weights and intercepts, float32 or float64.
``classes``
    ``classes_`` with its dtype (strings, integers or booleans).
``feature_names_in``
    Present when the estimator was fitted on named columns.
``training_state.<name>``
    Numeric arrays of the optional training state (optimizer moments, RNG state, ...).

Loading never runs code from the file and never trusts a size in it: the archive is
read by :mod:`lrnet._archive` (every member's size, dtype and shape checked against
the file and the header's manifest, :mod:`lrnet._manifest`, before its data is read),
the header is at most :data:`MAX_HEADER_BYTES` and :data:`MAX_HEADER_CONTAINERS`
lists and objects, the arrays are checked against their SHA-256, the header's fields
against :mod:`lrnet._header`, and the header's claims (label type, feature names,
preprocessing width) against the arrays.  Anything wrong raises
:class:`ModelFileError` (a ``ValueError``) that names the file and the problem.
Writes go through a temporary file in the same folder and ``os.replace``, so a crash
never leaves half a model.

This module reads and writes a :class:`lrnet.fitted.FittedNetwork`, never estimator
internals: ``save`` takes the description (or any object with ``fitted_network()``),
and ``load`` rebuilds the estimator class registered under the header's
``estimator`` name (:func:`lrnet.fitted.register_estimator`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._archive import MAX_MEMBERS, Archive
from ._files import atomic_write
from ._header import claims_problem, header_problem
from ._json import TagError, to_json, untag
from ._manifest import (
    CLASS_KINDS,
    TRAINING_PREFIX,
    check_members,
    describe,
    manifest,
    state_members,
)
from ._version import __version__
from .errors import ModelFileError
from .fitted import ARRAY_ATTRIBUTES, ESTIMATORS, FittedNetwork
from .network import Layout

FORMAT_NAME = "lrnet-model"
FORMAT_VERSION = 1
#: fitted attributes stored as arrays, or rebuilt, rather than as JSON
SPECIAL = ARRAY_ATTRIBUTES
#: most bytes of the header member (UTF-32 text: a quarter of that in characters)
MAX_HEADER_BYTES = 16 * 2**20
#: most JSON lists and objects in the header (each costs ~60 bytes or more in memory)
MAX_HEADER_CONTAINERS = 100_000
#: ``history_`` records written (the latest): a record is about 600 header bytes, so a
#: model trained for very many epochs or ``partial_fit`` calls still fits the header
MAX_SAVED_HISTORY = 10_000

__all__ = [
    "FORMAT_VERSION",
    "Model",
    "ModelFileError",
    "load",
    "load_estimator",
    "read_training_state",
    "save",
]


@dataclass
class Model:
    """What :func:`load` returns: the estimator and the preprocessing saved with it.

    ``predict`` and ``predict_proba`` apply the preprocessing (when the file has one,
    e.g. one written by ``lrnet train``) and then the estimator, so a table goes in;
    without preprocessing they are the estimator's own methods.  ``training_state`` is
    None unless read by :func:`read_training_state` from a checkpoint.
    """

    estimator: object
    preprocessor: object | None = None
    metadata: dict = field(default_factory=dict)
    header: dict = field(default_factory=dict)
    path: str | None = None
    training_state: dict | None = None

    @property
    def classes_(self) -> np.ndarray:
        """The estimator's classes."""
        return self.estimator.classes_

    def _input(self, X):
        return X if self.preprocessor is None else self.preprocessor.transform(X)

    def predict(self, X):
        """Predicted labels for ``X`` (a table when the model has preprocessing)."""
        return self.estimator.predict(self._input(X))

    def predict_proba(self, X):
        """Class probabilities for ``X`` (a table when the model has preprocessing)."""
        return self.estimator.predict_proba(self._input(X))


# ---------------------------------------------------------------------- saving
def _params(hyperparameters: dict) -> dict:
    params = {}
    for name, value in hyperparameters.items():
        if name == "callbacks" or isinstance(value, np.random.RandomState):
            value = None  # behaviour, not state: not saved
        params[name] = to_json(value)
    return params


def _fitted(attributes: dict) -> dict:
    fitted = {}
    for name, value in attributes.items():
        if name == "history_" and value is not None and len(value) > MAX_SAVED_HISTORY:
            value = list(value)[-MAX_SAVED_HISTORY:]  # the latest records; each has its epoch
        try:
            fitted[name] = to_json(value)
        except TypeError as err:
            raise TypeError(f"cannot save fitted attribute {name}: {err}") from None
    return fitted


def _classes_array(classes: np.ndarray) -> np.ndarray:
    if classes.dtype == object:
        for kind in (str, bool, int, float):
            if all(
                type(c) is kind or isinstance(c, np.generic) and isinstance(c.item(), kind)
                for c in classes
            ):
                return np.array([kind(c) for c in classes])
        raise TypeError(f"cannot save classes of mixed types: {classes.tolist()!r}")
    if classes.dtype.kind not in CLASS_KINDS:
        raise TypeError(
            f"cannot save classes of dtype {classes.dtype}: model files hold string, integer, "
            "boolean or float labels. Fit on converted labels, e.g. y.astype(str)."
        )
    return classes


def save(path, model, preprocessing=None, metadata: dict | None = None, training_state=None):
    """Write a fitted network (and its preprocessing) to ``path``, atomically.

    Parameters
    ----------
    path : str or path-like
        Destination, conventionally ``*.lrnet``.
    model : FittedNetwork or a fitted estimator
        The description, or an object whose ``fitted_network()`` returns it (a
        fitted :class:`~lrnet.LRNClassifier`).
    preprocessing : lrnet.data.Preprocessor or None
        Tabular preprocessing to store with it (as plain data).
    metadata : dict or None
        Extra JSON-compatible information (training data, metrics).
    training_state : dict or None
        A checkpoint's state: ``{"header": JSON-compatible dict, "arrays": {name:
        bool, integer or float array}}``, read back by :func:`read_training_state`.
        :func:`load` ignores it; lrnet versions before this section refuse the file.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    fitted = model if isinstance(model, FittedNetwork) else model.fitted_network()
    coefs, intercepts = fitted.layout.views(fitted.params)
    arrays = {f"coef_{i}": np.ascontiguousarray(w) for i, w in enumerate(coefs)}
    arrays.update({f"intercept_{i}": np.ascontiguousarray(b) for i, b in enumerate(intercepts)})
    arrays["classes"] = _classes_array(np.asarray(fitted.classes))
    if fitted.feature_names is not None:
        arrays["feature_names_in"] = np.asarray(fitted.feature_names, dtype=str)
    state = None
    if training_state is not None:
        state, members = state_members(training_state)
        arrays.update(members)
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "lrnet_version": __version__,
        "estimator": fitted.estimator,
        "params": _params(fitted.hyperparameters),
        "fitted": _fitted(fitted.attributes),
        "label_type": fitted.label_type,
        "classes_dtype": str(np.asarray(fitted.classes).dtype),
        "arrays": {name: describe(a) for name, a in arrays.items()},
        "preprocessing": None if preprocessing is None else preprocessing.to_dict(),
        "metadata": to_json(metadata or {}),
    }
    if state is not None:
        header["training_state"] = state
    text = json.dumps(header, allow_nan=False)
    _check_writable(text, arrays)
    path = Path(path)
    with atomic_write(path) as fh:
        np.savez(fh, header=np.array(text), **arrays)
    return path


def _check_writable(text: str, arrays: dict) -> None:
    """Refuse to write a file that :func:`load` would refuse for its size."""
    size = 4 * len(text)  # the header is stored as UTF-32
    containers = text.count("[") + text.count("{")
    if size > MAX_HEADER_BYTES or containers > MAX_HEADER_CONTAINERS:
        raise ValueError(
            f"the model file's header would hold {size} bytes and up to {containers} JSON "
            f"lists and objects, more than the {MAX_HEADER_BYTES} bytes and "
            f"{MAX_HEADER_CONTAINERS} that lrnet loads; store less metadata."
        )
    if len(arrays) + 1 > MAX_MEMBERS:
        raise ValueError(
            f"the model file would hold {len(arrays) + 1} members, more than the "
            f"{MAX_MEMBERS} that lrnet loads; store fewer training-state arrays."
        )


# ---------------------------------------------------------------------- loading
def load(path, training_state: bool = False) -> Model:
    """Read a model file written by :func:`save` (or ``lrnet train``).

    Parameters
    ----------
    path : str or path-like
        The model file.
    training_state : bool, default=False
        Also read a checkpoint's training state into ``Model.training_state``
        (see :func:`read_training_state`); otherwise only its sizes are checked.

    Returns
    -------
    Model
        ``.estimator`` (a fitted :class:`~lrnet.LRNClassifier`), ``.preprocessor``
        (a :class:`~lrnet.data.Preprocessor` or None), ``.metadata`` and ``.header``.

    Raises
    ------
    ModelFileError
        A ``ValueError`` naming the file and what is wrong with it.
    """
    header, arrays = read_file(path, training_state)
    try:
        fitted = read_fitted(header, arrays)
        estimator = _build_estimator(fitted)
        preprocessor = _read_preprocessing(header, fitted.layer_units[0], str(path))
        metadata = header.get("metadata") or {}
        state = _read_state(header, arrays) if training_state else None
    except ModelFileError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, ArithmeticError, RecursionError) as err:
        reason = str(err).removeprefix(f"{path}: ")  # preprocessing errors name the file
        raise ModelFileError(f"{path}: invalid model file ({reason}).") from None
    return Model(estimator, preprocessor, metadata, header, str(path), state)


def load_estimator(path):
    """The :class:`~lrnet.LRNClassifier` stored in ``path`` (see :func:`load`)."""
    return load(path).estimator


def read_training_state(path) -> tuple[Model, dict | None]:
    """The model of a checkpoint file and its training state.

    Returns
    -------
    model : Model
        As :func:`load` gives it, with ``model.training_state`` set.
    state : dict or None
        ``{"header": dict, "arrays": {name: numpy.ndarray}}`` as given to :func:`save`,
        or None when the file has no training state.
    """
    model = load(path, training_state=True)
    return model, model.training_state


def _read_preprocessing(header: dict, n_features: int, source: str):
    spec = header.get("preprocessing")
    if spec is None:
        return None
    from .data.preprocessing import Preprocessor
    from .data.spec import from_dict

    return Preprocessor(*from_dict(spec, source, n_features=n_features))


def _read_state(header: dict, arrays: dict) -> dict | None:
    entry = header.get("training_state")
    if entry is None:
        return None
    return {
        "header": entry["header"],
        "arrays": {n.removeprefix(TRAINING_PREFIX): arrays[n] for n in entry["arrays"]},
    }


def read_file(path, training_state: bool = True) -> tuple[dict, dict]:
    """The checked header (tagged values decoded) and arrays of a model file.

    Reads are bounded (:mod:`lrnet._archive`); ``training_state=False`` checks the
    training-state members' sizes but leaves them out.
    """
    path = Path(path)
    _check_file(path)
    with Archive(path) as archive:
        if "header" not in archive.members:
            raise ModelFileError(f"{path}: not an lrnet model file (no header).")
        size = archive.members["header"].file_size
        if size > MAX_HEADER_BYTES:
            raise ModelFileError(
                f"{path}: the header member holds {size} bytes; lrnet reads headers of at "
                f"most {MAX_HEADER_BYTES} bytes. The file was altered or not written by lrnet."
            )
        header = _parse_header(path, archive.read("header")[0])
        problem = header_problem(header)
        if problem:
            raise ModelFileError(
                f"{path}: {problem}; the file was altered or is not an lrnet model."
            )
        expected = manifest(path, header)
        check_members(path, expected, set(archive.members) - {"header"})
        arrays = {}
        for name, (dtype, shape, sha256) in expected.items():
            skip = not training_state and name.startswith(TRAINING_PREFIX)
            array, digest = archive.read(name, dtype, shape, data=not skip)
            if not skip and digest != sha256:
                raise ModelFileError(
                    f"{path}: member {name!r} does not match its checksum, dtype or shape "
                    "in the header; the file was altered."
                )
            if not skip:
                arrays[name] = array
    return header, arrays


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file.")
    if path.is_dir():
        raise ModelFileError(f"{path}: is a directory, expected a model file.")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as err:
        raise ModelFileError(f"{path}: cannot read the model file ({err.strerror}).") from None
    if not magic:
        raise ModelFileError(f"{path}: the model file is empty.")
    if magic != b"PK\x03\x04":
        raise ModelFileError(f"{path}: not an lrnet model file (not a zip archive).")


def _parse_header(path: Path, raw: np.ndarray) -> dict:
    if raw.shape != () or raw.dtype.kind != "U":
        raise ModelFileError(f"{path}: not an lrnet model file (bad header).")
    text = str(raw[()])
    containers = text.count("[") + text.count("{")  # an upper bound, brackets in strings too
    if containers > MAX_HEADER_CONTAINERS:
        raise ModelFileError(
            f"{path}: the header holds up to {containers} JSON lists and objects; lrnet reads "
            f"at most {MAX_HEADER_CONTAINERS}. The file was altered or not written by lrnet."
        )
    try:
        header = json.loads(text, object_hook=untag)
    except TagError as err:
        raise ModelFileError(
            f"{path}: {err}; the file was altered or is not an lrnet model."
        ) from None
    except (ValueError, RecursionError) as err:  # JSONDecodeError, digits, depth
        raise ModelFileError(
            f"{path}: corrupted model file (header is not JSON: {str(err)[:200]})."
        ) from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise ModelFileError(
            f"{path}: not an lrnet model file (format is "
            f"{header.get('format') if isinstance(header, dict) else None!r:.100})."
        )
    version = header.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path}: invalid format version {version!r:.100}.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: written by lrnet {header.get('lrnet_version', '?')!s:.100} in model "
            f"format version {version}; this lrnet {__version__} reads format versions up "
            f"to {FORMAT_VERSION}. Upgrade lrnet (pip install -U lrnet) to load it."
        )
    if not isinstance(header.get("arrays"), dict):
        raise ModelFileError(f"{path}: invalid header (no array manifest).")
    return header


def _layer_arrays(arrays: dict) -> tuple[list, list]:
    n = sum(name.startswith("coef_") for name in arrays)
    coefs = [arrays[f"coef_{i}"] for i in range(n)]
    intercepts = [arrays[f"intercept_{i}"] for i in range(n)]
    if n == 0 or len({a.dtype for a in coefs + intercepts}) != 1:
        raise ValueError("weights missing or of mixed dtypes")
    if coefs[0].ndim != 2:
        raise ValueError(f"layer 0 has weights of shape {coefs[0].shape}, expected 2-D")
    units = [coefs[0].shape[0]] + [w.shape[-1] for w in coefs]
    for i, (w, b) in enumerate(zip(coefs, intercepts, strict=True)):
        if w.shape != (units[i], units[i + 1]) or b.shape != (units[i + 1],):
            raise ValueError(f"layer {i} has inconsistent shapes {w.shape} and {b.shape}")
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise ValueError(f"layer {i} holds non-finite weights")
    return coefs, intercepts


def read_fitted(header: dict, arrays: dict) -> FittedNetwork:
    """The :class:`FittedNetwork` of a checked, decoded header and its arrays."""
    coefs, intercepts = _layer_arrays(arrays)
    layout = Layout(tuple([coefs[0].shape[0]] + [w.shape[1] for w in coefs]))
    names = arrays.get("feature_names_in")
    classes = arrays["classes"]
    problem = claims_problem(header, layout.layer_units, classes, names)
    if problem:
        raise ValueError(problem)
    if header.get("classes_dtype") == "object":
        classes = classes.astype(object)
    return FittedNetwork(
        layer_units=layout.layer_units,
        activation=str(header["params"].get("activation", "relu")),
        label_type=header["label_type"],
        params=layout.pack(coefs, intercepts, coefs[0].dtype),
        classes=classes,
        feature_names=None if names is None else names.astype(object),
        hyperparameters=header["params"],
        attributes=header["fitted"],
        estimator=header.get("estimator") or "LRNClassifier",
    )


def _build_estimator(fitted: FittedNetwork):
    cls = ESTIMATORS.get(fitted.estimator)
    if cls is None:
        raise ValueError(
            f"estimator {fitted.estimator!r} is not one this lrnet knows ({sorted(ESTIMATORS)})"
        )
    return cls.from_fitted(fitted)
