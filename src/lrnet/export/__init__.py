"""Export a fitted model, with its tabular preprocessing, to ONNX.

:func:`to_onnx` builds an ``onnx.ModelProto`` from a :class:`lrnet.fitted.FittedNetwork`
and, for a model written by ``lrnet train``, the preprocessing spec
(:meth:`lrnet.data.Preprocessor.to_dict`); :func:`save_onnx` writes one atomically.
Only standard ``ai.onnx`` operators are used, and every model is checked with
``onnx.checker.check_model(full_check=True)``.

Inputs
    A bare estimator: one input ``X``, float32 [N, n_features].  A model with
    preprocessing: one input per column, named as the column, [N, 1]; double for
    numeric columns (NaN: missing), string for categorical ones (``""``: missing).
    This is skl2onnx's DataFrame convention; :func:`frame_inputs` builds the feeds.
Outputs (skl2onnx's, without ZipMap)
    ``label``: the classes (int64, string, bool or double as the classes are), [N];
    for multi-label an int64 indicator [N, L].  ``probabilities``: float32
    [N, n_classes]; binary problems give ``[1 - p, p]``.  A calibrated model
    (``temperature_``) divides the logits by it before the link, as ``predict_proba``
    does, and records it in the ``temperature`` metadata.
Versions
    Opset :data:`DEFAULT_OPSET` (IR version 9) unless asked otherwise; the IR version
    is the lowest that the opset allows.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

try:
    import onnx
    from onnx import helper
except ImportError as err:  # pragma: no cover - exercised without the extra
    raise ImportError("lrnet.export needs the onnx package: pip install 'lrnet[onnx]'") from err

from .._files import atomic_write
from .._version import __version__
from ..fitted import FittedNetwork
from .builder import GraphBuilder, value_info
from .network import build_network, check_network, class_array
from .preprocess import build_preprocessing, check_spec, input_columns

__all__ = [
    "DEFAULT_OPSET",
    "MAX_OPSET",
    "MIN_OPSET",
    "OUTPUTS",
    "frame_inputs",
    "save_onnx",
    "to_onnx",
]

#: the opset written by default (IR version 9): tested in onnxruntime 1.20.1 and 1.32.0
DEFAULT_OPSET = 19
#: Equal on strings (the categorical columns) appeared in opset 19
MIN_OPSET = 19
#: the highest opset this exporter is tested with (or the installed onnx's, if lower)
MAX_OPSET = min(23, onnx.defs.onnx_opset_version())
#: the graph outputs, in order
OUTPUTS = ("label", "probabilities")
#: what a missing value is in each kind of input (also in the metadata)
MISSING = {"numeric": "NaN", "categorical": "empty string"}


def _parts(obj) -> tuple[FittedNetwork, dict | None]:
    """The fitted network and the preprocessing spec (or None) of ``obj``."""
    if isinstance(obj, FittedNetwork):
        return obj, None
    if hasattr(obj, "estimator") and hasattr(obj, "preprocessor"):  # lrnet.persistence.Model
        fitted, _ = _parts(obj.estimator)
        spec = None if obj.preprocessor is None else obj.preprocessor.to_dict()
        return fitted, spec
    if hasattr(obj, "fitted_network"):
        return obj.fitted_network(), None
    raise TypeError(
        f"cannot export a {type(obj).__name__} to ONNX: expected an LRNClassifier, a model "
        "loaded with lrnet.load, or a lrnet.fitted.FittedNetwork."
    )


def _check_opset(opset) -> int:
    if isinstance(opset, bool) or not isinstance(opset, int | np.integer):
        raise TypeError(f"opset must be an integer, got {opset!r}.")
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(
            f"opset {opset} is not supported: the exporter writes opsets {MIN_OPSET} to "
            f"{MAX_OPSET} (Equal on strings needs {MIN_OPSET})."
        )
    return int(opset)


def to_onnx(model, *, opset: int = DEFAULT_OPSET) -> onnx.ModelProto:
    """The ONNX model of a fitted estimator, or of a loaded model with its preprocessing.

    Parameters
    ----------
    model : LRNClassifier, lrnet.persistence.Model or FittedNetwork
        A fitted estimator (input ``X``), or what :func:`lrnet.load` returns (one
        input per table column when the file holds preprocessing).
    opset : int, default=DEFAULT_OPSET
        The ``ai.onnx`` opset, from :data:`MIN_OPSET` to :data:`MAX_OPSET`.

    Returns
    -------
    onnx.ModelProto
        Checked with ``onnx.checker.check_model(full_check=True)``.

    Raises
    ------
    ValueError
        When part of the model cannot be expressed (the message names it).
    """
    opset = _check_opset(opset)
    fitted, spec = _parts(model)
    check_network(fitted)
    columns = []
    if spec is not None:
        check_spec(spec)
        columns = input_columns(spec)
        clash = sorted({c for c, _ in columns} & set(OUTPUTS))
        if clash:
            raise ValueError(
                f"cannot export a model with an input column named {clash[0]!r}: the ONNX "
                f"outputs are named {' and '.join(OUTPUTS)}. Rename the column and retrain."
            )
        n_out = len(spec["feature_names_out"])
        if n_out != fitted.layer_units[0]:
            raise ValueError(
                f"the preprocessing makes {n_out} features but the network reads "
                f"{fitted.layer_units[0]}; the model file is inconsistent."
            )
    b = GraphBuilder(reserved=[c for c, _ in columns] + list(OUTPUTS) + ["X"])
    if spec is None:
        inputs = [value_info("X", np.float32, [None, fitted.layer_units[0]])]
        features = "X"
    else:
        inputs, features = build_preprocessing(b, spec)
    build_network(b, features, fitted)
    outputs = [
        _label_info(fitted),
        value_info("probabilities", np.float32, [None, _n_proba(fitted)]),
    ]
    graph = helper.make_graph(b.nodes, "lrnet", inputs, outputs, initializer=b.initializers)
    proto = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name="lrnet",
        producer_version=__version__,
        doc_string="lrnet classifier"
        + (" with its tabular preprocessing" if spec is not None else ""),
    )
    proto.ir_version = helper.find_min_ir_version_for([helper.make_opsetid("", opset)])
    helper.set_model_props(proto, _metadata(fitted, spec, columns))
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _n_proba(fitted: FittedNetwork) -> int:
    return (
        len(fitted.classes)
        if fitted.label_type != "multilabel-indicator"
        else fitted.layer_units[-1]
    )


def _label_info(fitted: FittedNetwork):
    if fitted.label_type == "multilabel-indicator":
        return value_info("label", np.int64, [None, fitted.layer_units[-1]])
    return value_info("label", class_array(fitted.classes).dtype, [None])


def _metadata(fitted: FittedNetwork, spec: dict | None, columns) -> dict[str, str]:
    """``metadata_props``: JSON strings a server can read without lrnet."""
    classes = class_array(fitted.classes)
    meta = {
        "lrnet_version": __version__,
        "label_type": fitted.label_type,
        "classes": json.dumps([c.item() if isinstance(c, np.generic) else c for c in classes]),
        "outputs": json.dumps(list(OUTPUTS)),
    }
    if fitted.attributes.get("temperature_") is not None:
        meta["temperature"] = repr(float(fitted.attributes["temperature_"]))
    if spec is None:
        names = fitted.feature_names
        meta["inputs"] = json.dumps(
            [{"name": "X", "type": "float32", "shape": ["N", int(fitted.layer_units[0])]}]
        )
        if names is not None:
            meta["feature_names"] = json.dumps([str(n) for n in names])
        meta["missing_values"] = "none: X must be finite"
    else:
        meta["inputs"] = json.dumps(
            [
                {"name": c, "kind": kind, "type": "double" if kind == "numeric" else "string"}
                for c, kind in columns
            ]
        )
        meta["missing_values"] = json.dumps(MISSING)
        meta["dropped_columns"] = json.dumps(sorted(map(str, spec.get("dropped", {}))))
        meta["feature_names"] = json.dumps(spec["feature_names_out"])
        if spec.get("target") is not None:
            meta["target"] = str(spec["target"])
    return meta


def save_onnx(model, path: str | os.PathLike, *, opset: int = DEFAULT_OPSET) -> Path:
    """Write the ONNX model of ``model`` (or an ``onnx.ModelProto``) to ``path``, atomically.

    Parameters
    ----------
    model : LRNClassifier, lrnet.persistence.Model, FittedNetwork or onnx.ModelProto
        What to write (see :func:`to_onnx`).
    path : str or path-like
        The ``.onnx`` file; readers see the old file or the complete new one.
    opset : int, default=DEFAULT_OPSET
        The ``ai.onnx`` opset (ignored for a ``ModelProto``).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    proto = model if isinstance(model, onnx.ModelProto) else to_onnx(model, opset=opset)
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(21, "this is a folder; give a file name", str(path))
    with atomic_write(path) as fh:
        fh.write(proto.SerializeToString())
    return path


def frame_inputs(proto: onnx.ModelProto, frame) -> dict[str, np.ndarray]:
    """Feeds for onnxruntime from the table ``frame`` (a DataFrame), by the graph's inputs.

    Numeric columns become float64 [N, 1] (NaN where missing); categorical columns
    strings [N, 1], written as lrnet writes them (3.0 as ``"3"``), ``""`` where
    missing.  A model without preprocessing gets ``X`` as float32.
    """
    import pandas as pd
    from pandas.api import types

    kinds = {i["name"]: i.get("kind") for i in json.loads(_prop(proto, "inputs"))}
    if list(kinds) == ["X"] and kinds["X"] is None:
        return {"X": np.ascontiguousarray(frame, dtype=np.float32)}
    feeds = {}
    for name, kind in kinds.items():
        series = frame[name]
        if kind == "numeric":
            values = pd.to_numeric(series, errors="raise").to_numpy(np.float64, na_value=np.nan)
        else:
            if types.is_float_dtype(series.dtype):  # 3.0 read where training saw 3
                v = series.to_numpy()
                whole = np.isfinite(v) & (v == np.round(v))
                series = series.astype(object).where(~whole, v.astype(np.int64, copy=False))
            values = series.astype("string").fillna("").to_numpy(dtype=object)
        feeds[name] = values.reshape(-1, 1)
    return feeds


def _prop(proto: onnx.ModelProto, key: str) -> str:
    for prop in proto.metadata_props:
        if prop.key == key:
            return prop.value
    raise ValueError(f"the ONNX model has no {key!r} metadata: it was not written by lrnet.")
