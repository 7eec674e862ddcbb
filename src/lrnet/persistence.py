"""Save and load models: arrays plus a JSON header in one ``.npz`` file, never pickle.

File format (version :data:`FORMAT_VERSION`): a zip archive written by ``np.savez``:

``header``
    A 0-d unicode array holding a JSON object: ``format`` ("lrnet-model"),
    ``format_version``, ``lrnet_version``, ``estimator`` ("LRNClassifier"), ``params``
    (``get_params()``, JSON-encoded), ``fitted`` (every scalar/list fitted attribute:
    ``n_features_in_``, ``loss_curve_``, ``history_``, ...), ``label_type`` (the
    ``LabelBinarizer``'s ``y_type_``), ``classes_dtype``, ``arrays`` (name -> dtype,
    shape and SHA-256 of every other member), ``preprocessing`` (plain data from
    :meth:`lrnet.data.Preprocessor.to_dict`, or null) and ``metadata`` (free JSON).
``coef_0 .. coef_{L-1}``, ``intercept_0 .. intercept_{L-1}``
    The weights and intercepts, float32 or float64.
``classes``
    ``classes_`` with its dtype (strings, integers or booleans).
``feature_names_in``
    Present when the estimator was fitted on named columns.

Loading uses ``np.load(allow_pickle=False)`` and ``json``, so it never runs code
from the file.  Anything wrong with a file raises :class:`ModelFileError` (a
``ValueError``) that names the file and the problem; the arrays are checked against
their SHA-256 in the header, and the header's fields by :mod:`lrnet._header`.
Writes go through a temporary file in the same folder and ``os.replace``, so a crash
never leaves half a model.

This module reads and writes a :class:`lrnet.fitted.FittedNetwork`, never estimator
internals: ``save`` takes the description (or any object with ``fitted_network()``),
and ``load`` rebuilds the estimator class registered under the header's
``estimator`` name (:func:`lrnet.fitted.register_estimator`).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._files import atomic_write
from ._header import header_problem
from ._json import from_json, to_json
from ._version import __version__
from .errors import ModelFileError
from .fitted import ARRAY_ATTRIBUTES, ESTIMATORS, FittedNetwork
from .network import Layout

FORMAT_NAME = "lrnet-model"
FORMAT_VERSION = 1
WEIGHT_DTYPES = ("float32", "float64")
#: fitted attributes stored as arrays, or rebuilt, rather than as JSON
SPECIAL = ARRAY_ATTRIBUTES

__all__ = ["FORMAT_VERSION", "Model", "ModelFileError", "load", "load_estimator", "save"]


@dataclass
class Model:
    """What :func:`load` returns: the estimator and the preprocessing saved with it.

    ``predict`` and ``predict_proba`` apply the preprocessing (when the file has one,
    e.g. one written by ``lrnet train``) and then the estimator, so a table goes in;
    without preprocessing they are the estimator's own methods.
    """

    estimator: object
    preprocessor: object | None = None
    metadata: dict = field(default_factory=dict)
    header: dict = field(default_factory=dict)
    path: str | None = None

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
        try:
            fitted[name] = to_json(value)
        except TypeError as err:
            raise TypeError(f"cannot save fitted attribute {name}: {err}") from None
    return fitted


#: dtype kinds of the labels a model file can hold: str, int, uint, bool, float
CLASS_KINDS = "Uiubf"


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


def save(path, model, preprocessing=None, metadata: dict | None = None):
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
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "lrnet_version": __version__,
        "estimator": fitted.estimator,
        "params": _params(fitted.hyperparameters),
        "fitted": _fitted(fitted.attributes),
        "label_type": fitted.label_type,
        "classes_dtype": str(np.asarray(fitted.classes).dtype),
        "arrays": {name: _describe(a) for name, a in arrays.items()},
        "preprocessing": None if preprocessing is None else preprocessing.to_dict(),
        "metadata": to_json(metadata or {}),
    }
    text = json.dumps(header, allow_nan=False)
    path = Path(path)
    with atomic_write(path) as fh:
        np.savez(fh, header=np.array(text), **arrays)
    return path


def _describe(array: np.ndarray) -> dict:
    return {
        "dtype": array.dtype.str,
        "shape": list(array.shape),
        "sha256": hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest(),
    }


# ---------------------------------------------------------------------- loading
def load(path) -> Model:
    """Read a model file written by :func:`save` (or ``lrnet train``).

    Parameters
    ----------
    path : str or path-like
        The model file.

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
    from .data.preprocessing import Preprocessor

    header, arrays = read_file(path)
    try:
        estimator = _build_estimator(read_fitted(header, arrays))
        spec = header.get("preprocessing")
        preprocessor = None if spec is None else Preprocessor.from_dict(spec, str(path))
        metadata = from_json(header.get("metadata") or {})
    except ModelFileError:
        raise
    except (ValueError, TypeError, KeyError) as err:
        reason = str(err).removeprefix(f"{path}: ")  # preprocessing errors name the file
        raise ModelFileError(f"{path}: invalid model file ({reason}).") from None
    return Model(estimator, preprocessor, metadata, header, str(path))


def load_estimator(path):
    """The :class:`~lrnet.LRNClassifier` stored in ``path`` (see :func:`load`)."""
    return load(path).estimator


def read_file(path) -> tuple[dict, dict]:
    """The checked header and arrays of a model file."""
    path = Path(path)
    _check_zip(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "header" not in npz.files:
                raise ModelFileError(f"{path}: not an lrnet model file (no header).")
            header = _parse_header(path, npz["header"])
            problem = header_problem(header)
            if problem:
                raise ModelFileError(
                    f"{path}: {problem}; the file was altered or is not an lrnet model."
                )
            _check_members(path, header, npz.files)
            arrays = {name: npz[name] for name in header["arrays"]}
    except ModelFileError:
        raise
    except ValueError as err:
        if "pickle" in str(err) or "Object arrays" in str(err):
            raise ModelFileError(
                f"{path}: the file holds pickled Python objects, which lrnet "
                "never loads; it was not written by lrnet."
            ) from None
        raise _corrupted(path, err) from None
    except Exception as err:  # zip, zlib and npy parsing errors of a damaged file
        raise _corrupted(path, err) from None
    _check_arrays(path, header, arrays)
    return header, arrays


def _corrupted(path, err) -> ModelFileError:
    reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return ModelFileError(f"{path}: corrupted or truncated model file ({reason}).")


def _check_zip(path: Path) -> None:
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
    if not zipfile.is_zipfile(path):
        raise ModelFileError(
            f"{path}: corrupted or truncated model file (the zip directory at its end is missing)."
        )


def _parse_header(path: Path, raw: np.ndarray) -> dict:
    if raw.shape != () or raw.dtype.kind != "U":
        raise ModelFileError(f"{path}: not an lrnet model file (bad header).")
    try:
        header = json.loads(str(raw[()]))
    except json.JSONDecodeError as err:
        raise ModelFileError(f"{path}: corrupted model file (header is not JSON: {err}).") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise ModelFileError(
            f"{path}: not an lrnet model file (format is "
            f"{header.get('format') if isinstance(header, dict) else None!r})."
        )
    version = header.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path}: invalid format version {version!r}.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: written by lrnet {header.get('lrnet_version', '?')} in model format "
            f"version {version}; this lrnet {__version__} reads format versions up to "
            f"{FORMAT_VERSION}. Upgrade lrnet (pip install -U lrnet) to load it."
        )
    if not isinstance(header.get("arrays"), dict):
        raise ModelFileError(f"{path}: invalid header (no array manifest).")
    return header


def _check_members(path: Path, header: dict, files: list[str]) -> None:
    expected = set(header["arrays"]) | {"header"}
    unknown, absent = set(files) - expected, expected - set(files)
    if unknown:
        raise ModelFileError(
            f"{path}: unexpected member(s) {sorted(unknown)} in the model "
            "file; it was altered or not written by lrnet."
        )
    if absent:
        raise ModelFileError(
            f"{path}: member(s) {sorted(absent)} are missing; the file is incomplete."
        )


def _check_arrays(path: Path, header: dict, arrays: dict) -> None:
    for name, array in arrays.items():
        info = header["arrays"][name]
        if not isinstance(info, dict) or _describe(array) != info:
            raise ModelFileError(
                f"{path}: member {name!r} does not match its checksum, "
                "dtype or shape in the header; the file was altered."
            )
        kinds = "f" if name.startswith(("coef_", "intercept_")) else CLASS_KINDS
        if array.dtype.kind not in kinds or (
            kinds == "f" and array.dtype.name not in WEIGHT_DTYPES
        ):
            raise ModelFileError(f"{path}: member {name!r} has unsupported dtype {array.dtype}.")


def _layer_arrays(header: dict, arrays: dict) -> tuple[list, list]:
    n = sum(name.startswith("coef_") for name in arrays)
    coefs = [arrays[f"coef_{i}"] for i in range(n)]
    intercepts = [arrays[f"intercept_{i}"] for i in range(n)]
    if n == 0 or len({a.dtype for a in coefs + intercepts}) != 1:
        raise ValueError("weights missing or of mixed dtypes")
    units = [coefs[0].shape[0]] + [w.shape[1] for w in coefs]
    for i, (w, b) in enumerate(zip(coefs, intercepts, strict=True)):
        if w.shape != (units[i], units[i + 1]) or b.shape != (units[i + 1],):
            raise ValueError(f"layer {i} has inconsistent shapes {w.shape} and {b.shape}")
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise ValueError(f"layer {i} holds non-finite weights")
    return coefs, intercepts


def read_fitted(header: dict, arrays: dict) -> FittedNetwork:
    """The :class:`FittedNetwork` of a checked header and its arrays."""
    coefs, intercepts = _layer_arrays(header, arrays)
    layout = Layout(tuple([coefs[0].shape[0]] + [w.shape[1] for w in coefs]))
    names = arrays.get("feature_names_in")
    classes = arrays["classes"]
    if header.get("classes_dtype") == "object":
        classes = classes.astype(object)
    return FittedNetwork(
        layer_units=layout.layer_units,
        activation=str(header["params"].get("activation", "relu")),
        label_type=header["label_type"],
        params=layout.pack(coefs, intercepts, coefs[0].dtype),
        classes=classes,
        feature_names=None if names is None else names.astype(object),
        hyperparameters=from_json(header["params"]),
        attributes=from_json(header["fitted"]),
        estimator=header.get("estimator") or "LRNClassifier",
    )


def _build_estimator(fitted: FittedNetwork):
    cls = ESTIMATORS.get(fitted.estimator)
    if cls is None:
        raise ValueError(
            f"estimator {fitted.estimator!r} is not one this lrnet knows ({sorted(ESTIMATORS)})"
        )
    return cls.from_fitted(fitted)
