"""Training callbacks and every decision to stop.

A callback is any object with some of the hooks ``on_train_begin(logs)``,
``on_epoch_end(epoch, logs)`` and ``on_train_end(logs)``.  ``on_epoch_end`` returning
``True`` stops training after that epoch.  ``logs`` of ``on_epoch_end`` is the epoch's
history entry: ``epoch`` (1-based), ``loss``, ``validation_loss``, ``validation_score``,
``learning_rate`` and ``time`` (seconds).  The logs of ``on_train_begin`` and
``on_train_end`` carry ``params``, the live flat parameter buffer, so that a callback
can snapshot and restore weights.  :class:`Callback` provides empty hooks.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import numpy as np

from .optim.schedules import ADAPTIVE_FACTOR, ADAPTIVE_MIN_LR


class Callback:
    """Base class with empty hooks."""

    #: set to True when the callback needs a held-out validation split
    requires_validation = False

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Call once before the first epoch."""

    def on_epoch_end(self, epoch: int, logs: dict) -> bool | None:
        """Call after every epoch; return ``True`` to stop training."""

    def on_train_end(self, logs: dict | None = None) -> None:
        """Call once after the last epoch."""


def call_hooks(callbacks, hook: str, *args) -> bool:
    """Call ``hook`` on every callback that has it; True if any asked to stop."""
    stop = False
    for cb in callbacks:
        method = getattr(cb, hook, None)
        if method is not None and method(*args):
            stop = True
    return stop


class BestWeights:
    """The one mechanism that keeps the best weights and puts them back.

    ``record()`` copies the live parameter buffer; ``restore()`` writes the copy back
    into it.  Used by the estimator's ``early_stopping`` and by :class:`EarlyStopping`.
    """

    def __init__(self, params: np.ndarray, record_now: bool = False):
        self.params = params
        self.best: np.ndarray | None = None
        if record_now:
            self.record()

    def record(self) -> None:
        """Remember the current parameters."""
        if self.best is None:
            self.best = self.params.copy()
        else:
            np.copyto(self.best, self.params)

    def restore(self) -> None:
        """Put the remembered parameters back (nothing if none was recorded)."""
        if self.best is not None:
            np.copyto(self.params, self.best)


class EarlyStopping(Callback):
    """Stop when a monitored quantity stops improving.

    Parameters
    ----------
    monitor : {'validation_loss', 'validation_score', 'loss'}, default='validation_loss'
        What to watch.  Losses must decrease, the score must increase.  The validation
        ones make the estimator hold out ``validation_fraction`` of the data.
    patience : int, default=5
        Epochs without improvement before stopping.
    min_delta : float, default=0.0
        Smallest change that counts as an improvement.
    restore_best_weights : bool, default=True
        Put back the weights of the best epoch at the end.
    """

    MONITORS = ("validation_loss", "validation_score", "loss")

    def __init__(
        self, monitor="validation_loss", patience=5, min_delta=0.0, restore_best_weights=True
    ):
        if monitor not in self.MONITORS:
            raise ValueError(
                f"EarlyStopping(monitor={monitor!r}) is not supported; expected one of "
                f"{list(self.MONITORS)}."
            )
        self.monitor = monitor
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best_weights = restore_best_weights

    @property
    def requires_validation(self) -> bool:  # noqa: D102
        return self.monitor != "loss"

    def on_train_begin(self, logs=None):
        """Reset the best value and take a reference to the live parameters."""
        self.best_ = -math.inf
        self.best_epoch_ = None
        self.stopped_epoch_ = None
        self.wait_ = 0
        self._best = BestWeights(logs["params"])

    def on_epoch_end(self, epoch, logs):
        """Track the best epoch; return True once patience runs out."""
        value = logs.get(self.monitor)
        if value is None:
            raise ValueError(
                f"EarlyStopping monitors {self.monitor!r}, which this training run does not "
                "produce. Use monitor='loss', or let the estimator hold out validation data."
            )
        signed = value if self.monitor == "validation_score" else -value
        if signed > self.best_ + self.min_delta:
            self.best_, self.best_epoch_, self.wait_ = signed, logs["epoch"], 0
            if self.restore_best_weights:
                self._best.record()
            return False
        self.wait_ += 1
        if self.wait_ >= self.patience:
            self.stopped_epoch_ = logs["epoch"]
            return True
        return False

    def on_train_end(self, logs=None):
        """Restore the best weights into the live buffer."""
        if self.restore_best_weights:
            self._best.restore()
        self._best = None

    def training_state(self) -> tuple[dict, dict]:
        """What a checkpoint keeps of this callback: its counters and best weights."""
        header = {"best": self.best_, "best_epoch": self.best_epoch_, "wait": self.wait_}
        best = self._best.best if self._best is not None else None
        return header, ({} if best is None else {"best": best.copy()})

    def set_training_state(self, header: dict, arrays: dict) -> None:
        """Continue from :meth:`training_state` (after ``on_train_begin``)."""
        self.best_, self.best_epoch_ = header["best"], header["best_epoch"]
        self.wait_ = header["wait"]
        if "best" in arrays:
            self._best.record()
            np.copyto(self._best.best, arrays["best"])


class HistoryLogger(Callback):
    """Write the training history to ``path``: CSV for ``.csv``, else JSON lines.

    The file is rewritten after every epoch (through a temporary file and a rename),
    so it is complete even if training is interrupted.
    """

    FIELDS = ("epoch", "loss", "validation_loss", "validation_score", "learning_rate", "time")

    def __init__(self, path):
        self.path = path

    def on_train_begin(self, logs=None):
        """Start a new history."""
        self.rows_ = []

    def on_epoch_end(self, epoch, logs):
        """Append the epoch and rewrite the file."""
        self.rows_.append({k: logs.get(k) for k in self.FIELDS})
        path = Path(self.path)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", newline="") as fh:
            if path.suffix.lower() == ".csv":
                writer = csv.DictWriter(fh, fieldnames=self.FIELDS)
                writer.writeheader()
                writer.writerows(self.rows_)
            else:
                for row in self.rows_:
                    fh.write(json.dumps(row) + "\n")
        os.replace(tmp, path)


class ConvergenceMonitor:
    """scikit-learn's stopping rule for the stochastic solvers.

    Without early stopping, an epoch counts as *no improvement* when its training
    loss is above ``best_loss - tol``; with early stopping, when its validation score
    is below ``best_score + tol``.  Once more than ``n_iter_no_change`` such epochs
    follow each other, :meth:`decide` answers ``"stop"``, or under the adaptive
    schedule ``"reduce_lr"`` with the rate divided by 5, until the rate falls to 1e-6:
    the whole adaptive learning-rate rule is here.
    """

    def __init__(self, tol: float, n_iter_no_change: int, early_stopping: bool):
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.no_improvement_count = 0
        self.best_loss = np.inf
        self.best_validation_score = -np.inf

    def update(self, loss: float, validation_score: float | None) -> bool:
        """Record one epoch; return ``True`` when it is the best so far (early stopping)."""
        if self.early_stopping:
            if validation_score < self.best_validation_score + self.tol:
                self.no_improvement_count += 1
            else:
                self.no_improvement_count = 0
            if validation_score > self.best_validation_score:
                self.best_validation_score = validation_score
                return True
            return False
        if loss > self.best_loss - self.tol:
            self.no_improvement_count += 1
        else:
            self.no_improvement_count = 0
        self.best_loss = min(self.best_loss, loss)
        return False

    def decide(self, schedule: str, lr: float) -> tuple[str, float]:
        """``("continue" | "reduce_lr" | "stop", learning rate of the next epoch)``."""
        if self.no_improvement_count <= self.n_iter_no_change:
            return "continue", lr
        if schedule == "adaptive" and lr > ADAPTIVE_MIN_LR:
            self.no_improvement_count = 0
            return "reduce_lr", lr / ADAPTIVE_FACTOR
        return "stop", lr

    def stop_message(self) -> str:
        """Why training stopped, in scikit-learn's words."""
        what = "Validation score" if self.early_stopping else "Training loss"
        return (
            f"{what} did not improve more than tol={self.tol:f} for "
            f"{self.n_iter_no_change} consecutive epochs."
        )
