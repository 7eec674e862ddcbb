"""The members of a model file: what the header's manifest may list, and each member's checks.

The manifest (the header's ``arrays``) gives every member other than ``header`` a
dtype, a shape and a SHA-256.  A manifest entry must name a plain dtype of the kinds its
member may hold (:func:`kinds`: float32/float64 weights, labels, feature names, numeric
training state) and a shape; :mod:`lrnet._archive` then holds each member to it before
reading its data.  A checkpoint's training state is members ``training_state.<name>``,
listed under the header's ``training_state``, which must agree with the manifest.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from ._archive import pickled
from ._json import to_json
from .errors import ModelFileError

WEIGHT_DTYPES = ("float32", "float64")
#: dtype kinds of the labels a model file can hold: str, int, uint, bool, float
CLASS_KINDS = "Uiubf"
#: member-name prefix of the training-state arrays
TRAINING_PREFIX = "training_state."
#: names of training-state arrays
STATE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}")
#: dtype kinds of training-state arrays: bool, int, uint, float
STATE_KINDS = "biuf"
#: what a manifest dtype may be: byte order, kind, item size (no objects, no records)
MANIFEST_DTYPE = re.compile(r"[<>|=]([biufU])([1-9][0-9]{0,8})")


def describe(array: np.ndarray) -> dict:
    """The manifest entry of ``array``: dtype, shape and the SHA-256 of its bytes."""
    return {
        "dtype": array.dtype.str,
        "shape": list(array.shape),
        "sha256": hashlib.sha256(np.ascontiguousarray(array)).hexdigest(),
    }


def state_members(state) -> tuple[dict, dict]:
    """The header entry and the members of a ``training_state`` argument."""
    if not isinstance(state, dict) or not set(state) <= {"header", "arrays"}:
        raise TypeError(
            "training_state must be None or a dict with keys 'header' (a JSON-compatible "
            f"dict) and 'arrays' (name -> numeric NumPy array), got {type(state).__name__} "
            f"{sorted(state) if isinstance(state, dict) else ''}".rstrip()
        )
    header, arrays = state.get("header", {}), state.get("arrays", {})
    if not isinstance(header, dict) or not isinstance(arrays, dict):
        raise TypeError("training_state['header'] and ['arrays'] must be dicts")
    members = {}
    for name, array in arrays.items():
        if not isinstance(name, str) or not STATE_NAME.fullmatch(name):
            raise ValueError(
                f"training-state array name {name!r} is not allowed: use 1 to 100 letters, "
                "digits, '_', '.' or '-', not starting with '.' or '-'."
            )
        array = np.asarray(array)
        if array.dtype.kind not in STATE_KINDS or array.dtype.names is not None:
            raise TypeError(
                f"training-state array {name!r} has dtype {array.dtype}; model files hold "
                "bool, integer or float arrays. Convert it, e.g. big integers to uint64 "
                "words or to strings in the header."
            )
        members[TRAINING_PREFIX + name] = np.ascontiguousarray(array)
    try:
        entry = {"header": to_json(header), "arrays": sorted(members)}
    except TypeError as err:
        raise TypeError(f"cannot save training_state['header']: {err}") from None
    return entry, members


def manifest(path: Path, header: dict) -> dict[str, tuple[np.dtype, tuple, str]]:
    """Member name -> the dtype, shape and SHA-256 it must have, from a checked header."""
    return {name: _manifest_entry(path, name, info) for name, info in _items(path, header)}


def _items(path: Path, header: dict):
    """The manifest's entries, once the training-state section agrees with it."""
    state = header.get("training_state")
    listed = set(state["arrays"]) if state is not None else set()
    present = {n for n in header["arrays"] if n.startswith(TRAINING_PREFIX)}
    if listed != present:
        raise ModelFileError(
            f"{path}: the header's training state lists arrays {sorted(listed)[:10]} but "
            f"its manifest has {sorted(present)[:10]}; the file was altered."
        )
    return header["arrays"].items()


def _manifest_entry(path: Path, name: str, info) -> tuple[np.dtype, tuple, str]:
    """The dtype, shape and SHA-256 that member ``name`` must have."""
    problem = _entry_problem(name, info)
    if problem == "objects":
        raise pickled(path)
    if problem:
        raise ModelFileError(
            f"{path}: the header's entry for member {name!r:.100} {problem}; the file was "
            "altered or not written by lrnet."
        )
    return np.dtype(info["dtype"]), tuple(info["shape"]), info["sha256"]


def _entry_problem(name: str, info) -> str | None:
    if not isinstance(info, dict) or not {"dtype", "shape", "sha256"} <= set(info):
        return "is not an object with dtype, shape and sha256"
    dtype, shape, sha256 = info["dtype"], info["shape"], info["sha256"]
    if isinstance(dtype, str) and dtype.lstrip("<>|=").startswith("O"):
        return "objects"
    match = MANIFEST_DTYPE.fullmatch(dtype) if isinstance(dtype, str) else None
    if match is None:
        return f"has dtype {dtype!r:.40}, expected a plain numeric or string dtype"
    allowed = kinds(name)
    if match[1] not in allowed or (allowed == "f" and np.dtype(dtype).name not in WEIGHT_DTYPES):
        return f"has unsupported dtype {np.dtype(dtype)}"
    if not (
        isinstance(shape, list)
        and len(shape) <= 32
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    ):
        return f"has shape {shape!r:.60}, expected a list of sizes"
    if not (isinstance(sha256, str) and re.fullmatch(r"[0-9a-f]{64}", sha256)):
        return "has no valid SHA-256"
    return None


def kinds(name: str) -> str:
    """The dtype kinds member ``name`` may hold."""
    if name.startswith(("coef_", "intercept_")):
        return "f"
    if name.startswith(TRAINING_PREFIX):
        return STATE_KINDS
    return CLASS_KINDS


def check_members(path: Path, manifest: dict, members: set) -> None:
    unknown, absent = members - set(manifest), set(manifest) - members
    if unknown:
        raise ModelFileError(
            f"{path}: unexpected member(s) {sorted(unknown)[:10]} in the model "
            "file; it was altered or not written by lrnet."
        )
    if absent:
        raise ModelFileError(
            f"{path}: member(s) {sorted(absent)[:10]} are missing; the file is incomplete."
        )
