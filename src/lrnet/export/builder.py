"""A small helper over ``onnx.helper``: fresh value names, nodes and constants.

Every value the exporter creates gets a name that no graph input or output uses, so
a table column may be called anything (``"x.1"``, ``"unit price"``, ``"Add_0"``)
without clashing with the graph's own values.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

#: NumPy dtype -> ONNX element type, for the tensors the exporter writes
ELEMENT_TYPES = {
    np.dtype(np.float32): TensorProto.FLOAT,
    np.dtype(np.float64): TensorProto.DOUBLE,
    np.dtype(np.int64): TensorProto.INT64,
    np.dtype(np.bool_): TensorProto.BOOL,
    np.dtype(object): TensorProto.STRING,
}


class GraphBuilder:
    """Collects nodes and initializers; hands out value names that are still free."""

    def __init__(self, reserved=(), namer=None):
        self.nodes: list = []
        self.initializers: list = []
        self._taken: set[str] = set(reserved)
        self._namer = namer

    def fresh(self, hint: str) -> str:
        """``hint``, or ``hint_2``, ``hint_3``, ...: the first name not yet used.

        With a ``namer`` (skl2onnx's ``scope.get_unique_variable_name``), its choice.
        """
        if self._namer is not None:
            return self._namer(hint)
        name, n = hint, 1
        while name in self._taken:
            n += 1
            name = f"{hint}_{n}"
        self._taken.add(name)
        return name

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, out=None, **attrs):
        """Add one node; returns the name of its (single) output.

        ``out`` names the output exactly (a graph output); otherwise a fresh name from
        ``hint`` (default: the operator's name) is used.
        """
        output = out if out is not None else self.fresh(hint or op_type)
        self.nodes.append(
            helper.make_node(op_type, inputs, [output], name=self.fresh(f"node_{output}"), **attrs)
        )
        return output

    def const(self, value, hint: str, dtype=None) -> str:
        """An initializer holding ``value`` (strings as an object array); returns its name."""
        array = np.asarray(value, dtype=dtype)
        name = self.fresh(hint)
        if array.dtype == object or array.dtype.kind == "U":
            tensor = helper.make_tensor(
                name,
                TensorProto.STRING,
                array.shape,
                [str(v).encode("utf-8") for v in array.ravel()],
            )
        else:
            tensor = numpy_helper.from_array(array, name)
        self.initializers.append(tensor)
        return name


def value_info(name: str, dtype, shape) -> object:
    """A graph input or output description (``None`` in ``shape``: the batch axis)."""
    dims = ["N" if d is None else d for d in shape]
    return helper.make_tensor_value_info(name, ELEMENT_TYPES[np.dtype(dtype)], dims)
