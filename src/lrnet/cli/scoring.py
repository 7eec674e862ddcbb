"""What ``train`` and ``evaluate`` add around the metrics: class priors and order, calibration.

* The class-prior baseline of every report uses the training rows' class frequencies,
  which ``lrnet train`` records in the model file (``class_priors``), so that
  ``lrnet evaluate`` compares with the same baseline.
* An ordered categorical target (a pandas ``Categorical`` with ``ordered=True``, as
  Parquet files keep it) is shown in its categories' order (``class_order``).
* ``lrnet train --calibrate`` holds out the validation split itself, trains on the
  rest (the split scores every epoch and drives early stopping, as the estimator's own
  hold-out would), and fits the temperature on it (:mod:`lrnet.calibration`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from ..calibration import TEMPERATURE_BOUNDS
from .display import Output, UsageError


def target_order(series: pd.Series) -> list[str] | None:
    """The categories of an ordered categorical target, as text; else None."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype) and dtype.ordered:
        return [str(c) for c in dtype.categories]
    return None


def class_priors(y, classes) -> dict[str, float]:
    """Class name -> share of the rows ``y``, in the order of ``classes``."""
    y = np.asarray(y)
    return {str(c): float(np.mean(y == c)) for c in classes}


def saved_priors(metadata: dict, classes) -> list[float] | None:
    """The training priors a model file records, aligned with ``classes``; or None."""
    priors = metadata.get("class_priors") if isinstance(metadata, dict) else None
    if not isinstance(priors, dict):
        return None
    values = [priors.get(str(c)) for c in classes]
    if not all(isinstance(v, int | float) and v >= 0 for v in values) or not sum(values) > 0:
        return None
    return values


def saved_order(metadata: dict) -> list[str] | None:
    """The class display order a model file records (``class_order``), or None."""
    order = metadata.get("class_order") if isinstance(metadata, dict) else None
    if isinstance(order, list) and all(isinstance(name, str) for name in order):
        return order
    return None


def note_warnings(metrics: dict, where: str, out: Output) -> None:
    """One note per metric that does not beat the class-prior baseline."""
    for text in metrics.get("warnings", ()):
        out.note(f"{where}: {text}")


# ---------------------------------------------------------------------- calibration
def check_calibrate(args) -> None:
    """``--calibrate`` needs a validation split: refused before any data is read."""
    if getattr(args, "calibrate", False) and args.validation_fraction == 0:
        raise UsageError(
            "--calibrate fits the temperature on the validation split, but "
            "--validation-fraction is 0, so there is none. Set --validation-fraction above "
            "0 (e.g. 0.1), or drop --calibrate."
        )


def calibration_split(X, y, args, why: str | None):
    """``(X_fit, y_fit, X_val, y_val)``: the validation split held out for calibration.

    ``why``: the reason a stratified split of ``y`` is impossible, or None.
    """
    if why is not None:
        raise UsageError(
            f"--calibrate needs a validation split, but with --validation-fraction "
            f"{args.validation_fraction} {why}. Raise --validation-fraction, or drop --calibrate."
        )
    X_fit, X_val, y_fit, y_val = train_test_split(
        X, y, test_size=args.validation_fraction, random_state=args.seed, stratify=y
    )
    return X_fit, y_fit, X_val, y_val


def calibrate(estimator, X_val, y_val, out: Output) -> dict:
    """Fit ``estimator.temperature_`` on the validation split; a note says what changed.

    Returns ``temperature``, ``validation_rows`` and the validation log-loss before
    and after, for the model file's metadata.
    """
    classes = estimator.classes_
    before = log_loss(y_val, estimator.predict_proba(X_val), labels=classes)
    T = float(estimator.calibrate(X_val, y_val).temperature_)
    after = log_loss(y_val, estimator.predict_proba(X_val), labels=classes)
    out.note(
        f"calibrated on {len(y_val)} validation rows: temperature {T:.4g} "
        f"(validation log-loss {before:.4f} -> {after:.4f})."
    )
    if np.isclose(T, TEMPERATURE_BOUNDS, rtol=1e-3).any():
        out.note(
            f"the temperature reached the end {T:.4g} of its range {TEMPERATURE_BOUNDS}: the "
            "validation split may be too small or too easy to calibrate on."
        )
    return {
        "temperature": T,
        "validation_rows": int(len(y_val)),
        "validation_log_loss_before": float(before),
        "validation_log_loss_after": float(after),
    }


def calibration_info(calibration: dict | None) -> dict:
    """The report's line on calibration: ``{}`` without ``--calibrate``."""
    if calibration is None:
        return {}
    return {
        "calibration": f"temperature {calibration['temperature']:.4g}, fitted on "
        f"{calibration['validation_rows']:,} validation rows (validation log-loss "
        f"{calibration['validation_log_loss_before']:.4f} -> "
        f"{calibration['validation_log_loss_after']:.4f})"
    }


def parameter_count(estimator) -> int:
    """Weights and intercepts of every layer: the one count ``train`` and ``inspect`` show."""
    return int(
        sum(w.size + b.size for w, b in zip(estimator.coefs_, estimator.intercepts_, strict=True))
    )
