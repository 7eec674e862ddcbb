"""The saved tabular preprocessing in ONNX, from its plain-data spec (never refitted).

The spec is :meth:`lrnet.data.Preprocessor.to_dict`'s.  The graph reproduces the
columns of scikit-learn's ``ColumnTransformer`` output (``feature_names_out``), in
its order:

numeric block
    the numeric columns with NaN replaced by the training median, then one
    missing-value indicator (1.0 where the value was NaN) per column that had missing
    values in training, in the order of ``missing_indicator``; then all of them
    standardised, ``(x - mean) / scale``, in double as scikit-learn does.
categorical block
    the categorical columns with ``""`` (missing) replaced by the most frequent
    training value, one-hot encoded against the training categories (an unseen
    category is all zeros; in a capped column, a value that is not one of the kept
    categories, seen or not, is its "other" category); then the one-hot
    ``[False, True]`` of each missing-value indicator.

Inputs, one per column and named as the column, with shape [N, 1]: double for
numeric columns (NaN missing), string for categorical ones (``""`` missing).  The
values of a categorical column are compared as lrnet writes them: ``"3"`` for a
whole number (also when it arrives as 3.0), ``"True"`` / ``"False"`` for booleans.
Dropped columns are not inputs.  A column lrnet read from numbers written as text
(decimal comma, thousands separators, percent sign: the spec's ``numbers``) is a
double input that takes the number (a percentage as a fraction: 0.125 for 12.5%).
A long-tailed column that lrnet reads on a log scale (the spec's ``logged``, version 3)
takes its value as in the table: the graph computes ``sign(x) * log(1 + |x|)`` first.
A model with date columns (the spec's ``dates``) is refused: the graph does not parse
dates; train with ``--no-dates`` to export such a table.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from .builder import GraphBuilder, value_info

#: the versions of :meth:`lrnet.data.Preprocessor.to_dict`'s spec this module reads
SPEC_VERSIONS = (1, 2, 3)
#: the spec's keys; any other would be a transformation the graph does not reproduce
KNOWN_PARTS = frozenset(
    {"version", "target", "dropped", "feature_names_out", "numeric", "categorical", "probe"}
    | {"numbers", "capped", "reading"}  # version 2: read before the graph, or in it
    | {"logged"}  # version 3: in the graph
)


def check_spec(spec: dict) -> None:
    """Refuse a spec the graph cannot reproduce, naming the part."""
    if spec.get("version", 1) not in SPEC_VERSIONS:
        raise ValueError(
            f"cannot export preprocessing spec version {spec.get('version')!r}; this "
            f"exporter reads versions {', '.join(map(str, SPEC_VERSIONS))}."
        )
    if spec.get("dates"):
        shown = ", ".join(map(repr, spec["dates"]))
        raise ValueError(
            f"cannot export this model to ONNX: it reads the date column(s) {shown} and "
            "makes features from them (days since 1970, year, month, ...), which the ONNX "
            "graph does not compute. Train with --no-dates (the columns are then text, or "
            "dropped), or compute such features into numeric columns before training."
        )
    if not (spec.get("numeric") or spec.get("categorical")):
        raise ValueError("cannot export preprocessing without numeric or categorical columns.")
    unknown = sorted(set(spec) - KNOWN_PARTS)
    if unknown:
        raise ValueError(
            f"cannot export preprocessing with the part(s) {', '.join(unknown)}: this "
            "exporter knows numeric and categorical columns only."
        )
    cat = spec.get("categorical")
    if cat:
        n = len(cat["columns"])
        for k, cats in enumerate(cat["categories"][n:]):
            if [bool(c) for c in cats] != cats or not cats:
                column = cat["columns"][cat["missing_indicator"][k]]
                raise ValueError(
                    f"cannot export the missing-value indicator of column {column!r}: its "
                    f"categories {cats!r} are not booleans."
                )


def input_columns(spec: dict) -> list[tuple[str, str]]:
    """``(column, 'numeric' | 'categorical')`` for every graph input, in order."""
    num = spec.get("numeric") or {"columns": []}
    cat = spec.get("categorical") or {"columns": []}
    return [(str(c), "numeric") for c in num["columns"]] + [
        (str(c), "categorical") for c in cat["columns"]
    ]


def build_preprocessing(b: GraphBuilder, spec: dict) -> tuple[list, str]:
    """The graph inputs and the name of the float32 features [N, n_features_out]."""
    check_spec(spec)
    inputs, blocks = [], []
    if spec.get("numeric"):
        names = [str(c) for c in spec["numeric"]["columns"]]
        inputs += [value_info(c, np.float64, [None, 1]) for c in names]
        logged = set(spec.get("logged", ()))
        blocks.append(_numeric(b, names, spec["numeric"], [n in logged for n in names]))
    if spec.get("categorical"):
        names = [str(c) for c in spec["categorical"]["columns"]]
        inputs += [value_info(c, object, [None, 1]) for c in names]
        blocks.append(_categorical(b, names, spec["categorical"], spec.get("capped")))
    features = blocks[0] if len(blocks) == 1 else b.op("Concat", blocks, "features", axis=1)
    return inputs, features


def _concat(b: GraphBuilder, names: list[str], hint: str) -> str:
    return names[0] if len(names) == 1 else b.op("Concat", names, hint, axis=1)


def _numeric(b: GraphBuilder, names: list[str], num: dict, logged: list[bool]) -> str:
    """Log scale, median imputation, missing indicators, standardisation; float32 out.

    ``logged``: per column, whether it is read as ``sign(x) * log(1 + |x|)``.
    """
    X = _concat(b, names, "numeric")
    if any(logged):
        X = _signed_log1p(b, X, logged)
    missing = b.op("IsNaN", [X], "numeric_missing")
    medians = b.const(np.array([num["medians"]], np.float64), "medians")
    block = b.op("Where", [missing, medians, X], "numeric_imputed")
    if num["missing_indicator"]:
        chosen = b.const(np.array(num["missing_indicator"], np.int64), "numeric_indicator_columns")
        flags = b.op("Gather", [missing, chosen], "numeric_indicator_flags", axis=1)
        indicators = b.op("Cast", [flags], "numeric_indicators", to=TensorProto.DOUBLE)
        block = b.op("Concat", [block, indicators], "numeric_block", axis=1)
    mean = b.const(np.array([num["mean"]], np.float64), "mean")
    scale = b.const(np.array([num["scale"]], np.float64), "scale")
    centred = b.op("Sub", [block, mean], "numeric_centred")
    scaled = b.op("Div", [centred, scale], "numeric_scaled")
    return b.op("Cast", [scaled], "numeric_features", to=TensorProto.FLOAT)


def _group_rare(b: GraphBuilder, names: list[str], imputed: str, capped: dict) -> str:
    """The imputed strings, a capped column's values not kept replaced by its "other".

    Imputing first is the same as grouping first: the fill value is a kept category or
    "other" itself.
    """
    columns = []
    for j, name in enumerate(names):
        column = b.op(
            "Gather", [imputed, b.const(np.array([j], np.int64), "column")], "column", axis=1
        )
        how = capped.get(name)
        if how is not None:
            kept = b.const(np.array([how["kept"]], object), "kept")
            hits = b.op("Cast", [b.op("Equal", [column, kept], "is_kept")], to=TensorProto.FLOAT)
            axes = b.const(np.array([1], np.int64), "axes")
            found = b.op("ReduceMax", [hits, axes], "kept_found", keepdims=1)
            keep = b.op("Greater", [found, b.const(np.array(0.5, np.float32), "half")], "keep")
            other = b.const(np.array([[how["other"]]], object), "other")
            column = b.op("Where", [keep, column, other], "grouped")
        columns.append(column)
    return _concat(b, columns, "categorical_grouped")


def _categorical(b: GraphBuilder, names: list[str], cat: dict, capped=None) -> str:
    """Most-frequent imputation and one-hot (unseen: all zeros), then the indicators."""
    S = _concat(b, names, "categorical")
    missing = b.op("Equal", [S, b.const(np.array("", object), "empty")], "categorical_missing")
    fill = b.const(np.array([[str(v) for v in cat["most_frequent"]]], object), "most_frequent")
    imputed = b.op("Where", [missing, fill, S], "categorical_imputed")
    if capped:
        imputed = _group_rare(b, names, imputed, capped)
    n = len(names)
    # one output column per (column, category): gather the column, compare with the category
    columns = [j for j in range(n) for _ in cat["categories"][j]]
    values = [str(v) for j in range(n) for v in cat["categories"][j]]
    spread = b.op(
        "Gather",
        [imputed, b.const(np.array(columns, np.int64), "category_columns")],
        "categorical_spread",
        axis=1,
    )
    hot = b.op("Equal", [spread, b.const(np.array([values], object), "categories")], "one_hot")
    parts = [b.op("Cast", [hot], "one_hot_float", to=TensorProto.FLOAT)]
    if cat["missing_indicator"]:
        flags_cols, flags_vals = [], []
        for k, j in enumerate(cat["missing_indicator"]):
            for v in cat["categories"][n + k]:  # [False, True]: "present", "missing"
                flags_cols.append(j)
                flags_vals.append(bool(v))
        spread = b.op(
            "Gather",
            [missing, b.const(np.array(flags_cols, np.int64), "indicator_columns")],
            "indicator_spread",
            axis=1,
        )
        pattern = b.const(np.array([flags_vals], np.bool_), "indicator_categories")
        hot = b.op("Equal", [spread, pattern], "indicator_one_hot")
        parts.append(b.op("Cast", [hot], "indicator_one_hot_float", to=TensorProto.FLOAT))
    return _concat(b, parts, "categorical_features")


def _signed_log1p(b: GraphBuilder, X: str, logged: list[bool]) -> str:
    """``X`` with the ``logged`` columns replaced by ``sign(x) * log(1 + |x|)`` (NaN stays)."""
    one = b.const(np.array(1.0, np.float64), "one")
    magnitude = b.op(
        "Log", [b.op("Add", [b.op("Abs", [X], "numeric_abs"), one], "numeric_1p")], "numeric_log1p"
    )
    signed = b.op("Mul", [b.op("Sign", [X], "numeric_sign"), magnitude], "numeric_signed_log1p")
    mask = b.const(np.array([logged], dtype=bool), "logged_columns")
    return b.op("Where", [mask, signed, X], "numeric_read")
