"""The network in ONNX: MatMul + Add per layer, the hidden activation, the head.

Read from a :class:`lrnet.fitted.FittedNetwork` only.  The layers run in the dtype
of the weights (a float64 model casts its float32 input to double first); the
probabilities come out as float32.

========================  ===========================================================
label type                outputs
========================  ===========================================================
``binary``                ``probabilities = Sigmoid([-z, z])``, that is ``[1-p, p]``;
                          ``label = classes[z > 0]``
``multiclass``            ``probabilities = Softmax(z)``; ``label = classes[ArgMax(z)]``
``multilabel-indicator``  ``probabilities = Sigmoid(z)``; ``label = int64(z > 0)``
========================  ===========================================================

A model calibrated by temperature scaling (``temperature_`` in the fitted attributes,
:mod:`lrnet.calibration`) divides the logits by ``T`` first: ``z = logits / T``.

Labels are decided from the logits, as lrnet decides them (ties in ArgMax go to the
first class, as ``numpy.argmax``).
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from ..activations import LEAKY_SLOPE
from .builder import GraphBuilder


def _unary(op_type: str):
    def build(b: GraphBuilder, z: str, name: str, dtype) -> str:
        return b.op(op_type, [z], name)

    return build


def _identity(b: GraphBuilder, z: str, name: str, dtype) -> str:
    return z


def _leaky_relu(b: GraphBuilder, z: str, name: str, dtype) -> str:
    """``max(z, 0.01 z)``, lrnet's own form (onnxruntime has no double LeakyRelu)."""
    slope = b.const(np.array(LEAKY_SLOPE, dtype), "leaky_slope")
    return b.op("Max", [z, b.op("Mul", [z, slope], f"{name}_scaled")], name)


#: lrnet activation name -> the nodes that compute it from the pre-activation
ACTIVATION_GRAPHS = {
    "identity": _identity,
    "logistic": _unary("Sigmoid"),
    "tanh": _unary("Tanh"),
    "relu": _unary("Relu"),
    "leaky_relu": _leaky_relu,
}

WEIGHT_TYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}


def check_network(fitted) -> None:
    """Refuse what the graph cannot express, naming it (before any node is built)."""
    if fitted.activation not in ACTIVATION_GRAPHS:
        raise ValueError(
            f"cannot export the activation {fitted.activation!r} to ONNX: the exporter "
            f"knows {', '.join(sorted(ACTIVATION_GRAPHS))}."
        )
    if fitted.label_type not in HEAD_GRAPHS:
        raise ValueError(
            f"cannot export a model for targets of type {fitted.label_type!r} to ONNX; "
            f"supported: {', '.join(sorted(HEAD_GRAPHS))}."
        )
    if fitted.params.dtype not in WEIGHT_TYPES:
        raise ValueError(
            f"cannot export weights of dtype {fitted.params.dtype} to ONNX; "
            "expected float32 or float64."
        )
    class_array(fitted.classes)


def class_array(classes) -> np.ndarray:
    """The classes as a tensor the graph can hold: int64, string, bool or float64."""
    classes = np.asarray(classes)
    kind = classes.dtype.kind
    if kind in "iu":
        if kind == "u" and classes.size and classes.max() > np.iinfo(np.int64).max:
            raise ValueError("cannot export classes above 2**63 - 1 to ONNX (int64 labels).")
        return classes.astype(np.int64)
    if kind == "b":
        return classes
    if kind == "f":
        return classes.astype(np.float64)
    if kind == "U" or kind == "O" and all(isinstance(c, str) for c in classes):
        return classes.astype(object)
    raise ValueError(
        f"cannot export classes of dtype {classes.dtype} to ONNX; labels must be integers, "
        "strings, booleans or floats."
    )


def build_network(
    b: GraphBuilder,
    features: str,
    fitted,
    outputs=("label", "probabilities"),
    proba_type: int = TensorProto.FLOAT,
) -> tuple[str, str]:
    """Nodes from the float32 ``features`` [N, n_features] to the outputs.

    ``outputs``: the names of the label and probability outputs (returned);
    ``proba_type``: the ONNX element type of the probabilities.
    """
    check_network(fitted)
    dtype = fitted.params.dtype
    x = features
    if dtype == np.float64:
        x = b.op("Cast", [x], "features_double", to=TensorProto.DOUBLE)
    coefs, intercepts = fitted.coefs, fitted.intercepts
    last = len(coefs) - 1
    for i, (W, c) in enumerate(zip(coefs, intercepts, strict=True)):
        name = "logits" if i == last else f"hidden_{i + 1}"
        z = b.op("MatMul", [x, b.const(W.astype(dtype), f"coef_{i}")], f"{name}_matmul")
        x = b.op(
            "Add",
            [z, b.const(c.astype(dtype), f"intercept_{i}")],
            f"{name}_pre" if i < last else name,
        )
        if i < last:
            x = ACTIVATION_GRAPHS[fitted.activation](b, x, name, dtype)
    temperature = fitted.attributes.get("temperature_")
    if temperature is not None:
        T = b.const(np.array(temperature, dtype), "temperature")
        x = b.op("Div", [x, T], "calibrated_logits")
    label, proba = HEAD_GRAPHS[fitted.label_type](b, x, class_array(fitted.classes), dtype)
    if WEIGHT_TYPES[dtype] != proba_type:
        proba = b.op("Cast", [proba], "probabilities_cast", to=proba_type)
    b.op("Identity", [proba], out=outputs[1])
    b.op("Identity", [label], out=outputs[0])
    return tuple(outputs)


def _gather_class(b: GraphBuilder, classes: np.ndarray, index: str) -> str:
    return b.op("Gather", [b.const(classes, "classes"), index], "label_values", axis=0)


def _binary(b: GraphBuilder, z: str, classes: np.ndarray, dtype) -> tuple[str, str]:
    both = b.op("Concat", [b.op("Neg", [z], "neg_logits"), z], "both_logits", axis=1)
    proba = b.op("Sigmoid", [both], "proba")
    positive = b.op("Greater", [z, b.const(np.zeros((), dtype), "zero")], "positive")
    index = b.op("Cast", [positive], "class_index_2d", to=TensorProto.INT64)
    flat = b.op("Reshape", [index, b.const(np.array([-1], np.int64), "flat")], "class_index")
    return _gather_class(b, classes, flat), proba


def _multiclass(b: GraphBuilder, z: str, classes: np.ndarray, dtype) -> tuple[str, str]:
    proba = b.op("Softmax", [z], "proba", axis=1)
    index = b.op("ArgMax", [z], "class_index", axis=1, keepdims=0, select_last_index=0)
    return _gather_class(b, classes, index), proba


def _multilabel(b: GraphBuilder, z: str, classes: np.ndarray, dtype) -> tuple[str, str]:
    proba = b.op("Sigmoid", [z], "proba")
    positive = b.op("Greater", [z, b.const(np.zeros((), dtype), "zero")], "positive")
    return b.op("Cast", [positive], "indicator", to=TensorProto.INT64), proba


#: label type (scikit-learn's, as in :mod:`lrnet.heads`) -> graph of the head
HEAD_GRAPHS = {"binary": _binary, "multiclass": _multiclass, "multilabel-indicator": _multilabel}
