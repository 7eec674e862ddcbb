"""The types of a model file's header fields, as one table, and its claims about the arrays.

The arrays of a model file are protected by their SHA-256 in the header; the header
itself is plain JSON that anyone can edit, so :func:`lrnet.persistence.load` checks
each field's type here before using it (:func:`header_problem`), and then what the
header says about the network against its weights (:func:`claims_problem`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .heads import HEADS


@dataclass(frozen=True)
class _Kind:
    """What a header field must hold: a description and a check (``item``: of list items)."""

    what: str
    ok: Callable[[object], bool]
    item: Callable[[object], bool] | None = None


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _list_kind(what: str, item: Callable[[object], bool], nullable: bool = False) -> _Kind:
    return _Kind(
        what,
        lambda v: (nullable and v is None) or isinstance(v, list) and all(item(x) for x in v),
        item,
    )


#: keys of a ``history_`` record that hold a number or null
HISTORY_KEYS = ("epoch", "loss", "validation_loss", "validation_score", "learning_rate", "time")
OBJECT = _Kind("an object", lambda v: isinstance(v, dict))
OBJECT_OR_NULL = _Kind("an object or null", lambda v: v is None or isinstance(v, dict))
STRING = _Kind("a string", lambda v: isinstance(v, str))
STRING_OR_NULL = _Kind("a string or null", lambda v: v is None or isinstance(v, str))
COUNT = _Kind(
    "a non-negative integer", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0
)
NUMBER_OR_NULL = _Kind("a number or null", lambda v: v is None or _is_number(v))
NUMBERS = _list_kind("a list of numbers", _is_number)
NUMBERS_OR_NULL = _list_kind("a list of numbers or null", _is_number, nullable=True)
STRINGS = _list_kind("a list of strings", lambda v: isinstance(v, str))
HISTORY = _list_kind(
    f"a list of epoch records (objects whose {', '.join(HISTORY_KEYS)} are numbers or null)",
    lambda v: isinstance(v, dict) and all(NUMBER_OR_NULL.ok(v.get(k)) for k in HISTORY_KEYS),
)

#: (where, field) -> (kind, required); ``where`` is a path of objects in the header.
#: The rest of the header (format, arrays, preprocessing details, params values) is
#: checked where it is read; fitted attributes not listed here are free JSON.
HEADER_FIELDS: dict[tuple[tuple[str, ...], str], tuple[_Kind, bool]] = {
    ((), "lrnet_version"): (STRING, False),
    ((), "estimator"): (STRING, False),
    ((), "params"): (OBJECT, True),
    ((), "fitted"): (OBJECT, True),
    ((), "label_type"): (STRING, True),
    ((), "classes_dtype"): (STRING, False),
    ((), "preprocessing"): (OBJECT_OR_NULL, False),
    ((), "metadata"): (OBJECT_OR_NULL, False),
    (("fitted",), "n_features_in_"): (COUNT, True),
    (("fitted",), "n_outputs_"): (COUNT, True),
    (("fitted",), "n_layers_"): (COUNT, True),
    (("fitted",), "out_activation_"): (STRING, True),
    (("fitted",), "n_iter_"): (COUNT, False),
    (("fitted",), "t_"): (COUNT, False),
    (("fitted",), "loss_"): (NUMBER_OR_NULL, False),
    (("fitted",), "loss_curve_"): (NUMBERS, True),
    (("fitted",), "history_"): (HISTORY, False),
    (("fitted",), "validation_scores_"): (NUMBERS_OR_NULL, False),
    (("fitted",), "best_validation_score_"): (NUMBER_OR_NULL, False),
    (("fitted",), "best_loss_"): (NUMBER_OR_NULL, False),
    (("preprocessing",), "target"): (STRING_OR_NULL, False),
    (("preprocessing",), "feature_names_out"): (STRINGS, False),
    ((), "training_state"): (OBJECT_OR_NULL, False),
    (("training_state",), "header"): (OBJECT, True),
    (("training_state",), "arrays"): (STRINGS, True),
}


def _json_kind(value) -> str:
    if value is None:
        return "null"
    for types, name in ((bool, "a boolean"), (int | float, "a number"), (str, "a string")):
        if isinstance(value, types):
            return name
    return {list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def _got(value, kind: _Kind) -> str:
    if isinstance(value, list) and kind.item is not None:
        i, bad = next((i, v) for i, v in enumerate(value) if not kind.item(v))
        shown = repr(bad) if len(repr(bad)) <= 60 else repr(bad)[:57] + "..."
        return f"a list whose item {i} is {shown}"
    return _json_kind(value)


def header_problem(header: dict) -> str | None:
    """What is wrong with the types of the header's fields (:data:`HEADER_FIELDS`), or None.

    ``header`` is decoded (tagged values undone, :func:`lrnet._json.untag`).
    """
    for (where, name), (kind, required) in HEADER_FIELDS.items():
        parent = header
        for key in where:
            parent = parent.get(key)
        if not isinstance(parent, dict):
            continue  # an optional parent that is null, or absent
        label = ".".join((*where, name))
        if name not in parent:
            if required:
                return f"header field {label!r} is missing"
        elif not kind.ok(parent[name]):
            return f"header field {label!r} must be {kind.what}, got {_got(parent[name], kind)}"
    return None


def claims_problem(
    header: dict, units: tuple[int, ...], classes: np.ndarray, names: np.ndarray | None
) -> str | None:
    """What the header claims that the arrays contradict, or None.

    The label type's head (:mod:`lrnet.heads`) must have as many output units as the
    last layer for the stored classes, and the recorded output activation; the
    feature names must name the first layer's inputs.  (Whether the classes fit the
    label type, e.g. two for ``binary``, is scikit-learn's ``LabelBinarizer``'s rule,
    checked when the estimator is rebuilt.)
    """
    label_type = header["label_type"]
    head = HEADS.get(label_type)
    if head is None:
        return f"label type {label_type!r:.60} is not one of {sorted(HEADS)}"
    if classes.ndim != 1 or (names is not None and names.ndim != 1):
        return "classes and feature_names_in must be 1-D arrays"
    n, outputs = len(classes), units[-1]
    if head.n_outputs(n) != outputs:
        return (
            f"the {n} classes and {outputs} output unit(s) do not fit label type "
            f"{label_type!r}, whose head has {head.n_outputs(n)} output unit(s) for {n} classes"
        )
    link = header["fitted"]["out_activation_"]
    if link != head.link:
        return f"out_activation_ {link!r:.60} does not fit label type {label_type!r}: {head.link!r}"
    if names is not None and len(names) != units[0]:
        return (
            f"feature_names_in holds {len(names)} names but the first layer takes {units[0]} "
            "features"
        )
    return None
