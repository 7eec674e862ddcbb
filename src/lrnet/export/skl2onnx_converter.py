"""An skl2onnx converter for ``LRNClassifier``, so that Pipelines holding one convert.

Optional: call :func:`register` once, then ``skl2onnx.to_onnx(pipeline, X)`` converts
a scikit-learn ``Pipeline`` whose last step is an ``LRNClassifier`` (skl2onnx converts
the other steps).  The network's nodes are the ones :func:`lrnet.export.to_onnx`
writes (:mod:`lrnet.export.network`); skl2onnx's ``zipmap`` option applies as for its
own classifiers (``options={'zipmap': False}`` gives the ``probabilities`` tensor).
Multi-label models are refused: use :func:`lrnet.export.to_onnx` for them.
"""

from __future__ import annotations

from onnx import TensorProto, helper, numpy_helper

from .builder import ELEMENT_TYPES, GraphBuilder
from .network import build_network, check_network, class_array


def _shapes(operator) -> None:
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes

    calculate_linear_classifier_output_shapes(operator)


def _convert(scope, operator, container) -> None:
    fitted = operator.raw_operator.fitted_network()
    check_network(fitted)
    if fitted.label_type == "multilabel-indicator":
        raise ValueError(
            "cannot convert a multi-label LRNClassifier with skl2onnx; "
            "use lrnet.export.to_onnx, which outputs the int64 [N, L] indicator."
        )
    b = GraphBuilder(namer=scope.get_unique_variable_name)
    x = operator.inputs[0].full_name
    if operator.inputs[0].type.to_onnx_type().tensor_type.elem_type != TensorProto.FLOAT:
        x = b.op("Cast", [x], "lrnet_features", to=TensorProto.FLOAT)
    label, proba = (v.full_name for v in operator.outputs)
    label_type, proba_type = (v.type.to_onnx_type().tensor_type.elem_type for v in operator.outputs)
    if ELEMENT_TYPES[class_array(fitted.classes).dtype] == label_type:
        build_network(b, x, fitted, (label, proba), proba_type)
    else:  # skl2onnx declares int64 labels for boolean classes
        values, _ = build_network(b, x, fitted, (b.fresh("lrnet_label"), proba), proba_type)
        b.op("Cast", [values], out=label, to=label_type)
    for tensor in b.initializers:
        if tensor.data_type == TensorProto.STRING:
            container.add_initializer(
                tensor.name, TensorProto.STRING, list(tensor.dims), list(tensor.string_data)
            )
        else:
            array = numpy_helper.to_array(tensor)
            container.add_initializer(
                tensor.name, tensor.data_type, list(array.shape), array.ravel().tolist()
            )
    for node in b.nodes:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        container.add_node(
            node.op_type, list(node.input), list(node.output), name=node.name, **attrs
        )


def register() -> None:
    """Register the converter of ``LRNClassifier`` with skl2onnx (needs skl2onnx)."""
    from skl2onnx import update_registered_converter

    from .. import LRNClassifier

    update_registered_converter(
        LRNClassifier,
        "LrnetLRNClassifier",
        _shapes,
        _convert,
        options={"zipmap": [True, False, "columns"], "nocl": [False]},  # labels are classes
    )


__all__ = ["register"]
