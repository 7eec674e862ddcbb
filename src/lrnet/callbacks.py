"""Training callbacks and every decision to stop.

A callback is any object with some of the hooks ``on_train_begin(logs)``,
``on_epoch_end(epoch, logs)`` and ``on_train_end(logs)``; ``on_epoch_end`` returning
``True`` stops training after that epoch.  :class:`Callback` provides empty hooks to
inherit from.
"""

from __future__ import annotations

import numpy as np

from .optim.schedules import ADAPTIVE_FACTOR, ADAPTIVE_MIN_LR


class Callback:
    """Base class with empty hooks."""

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Call once before the first epoch."""

    def on_epoch_end(self, epoch: int, logs: dict) -> bool | None:
        """Call after every epoch; return ``True`` to stop training."""

    def on_train_end(self, logs: dict | None = None) -> None:
        """Call once after the last epoch."""


class ConvergenceMonitor:
    """scikit-learn's stopping rule for the stochastic solvers.

    Without early stopping, an epoch counts as *no improvement* when its training
    loss is above ``best_loss - tol``; with early stopping, when its validation score
    is below ``best_score + tol``.  Once more than ``n_iter_no_change`` such epochs
    follow each other, :meth:`decide` answers ``"stop"``, or under the adaptive
    schedule ``"reduce_lr"`` (divide the rate by 5) until the rate falls to 1e-6.
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

    def decide(self, schedule: str, lr: float) -> str:
        """``"continue"``, ``"reduce_lr"`` or ``"stop"``."""
        if self.no_improvement_count <= self.n_iter_no_change:
            return "continue"
        if schedule == "adaptive" and lr > ADAPTIVE_MIN_LR:
            self.no_improvement_count = 0
            return "reduce_lr"
        return "stop"

    def stop_message(self) -> str:
        """Why training stopped, in scikit-learn's words."""
        what = "Validation score" if self.early_stopping else "Training loss"
        return (
            f"{what} did not improve more than tol={self.tol:f} for "
            f"{self.n_iter_no_change} consecutive epochs."
        )


__all__ = ["Callback", "ConvergenceMonitor", "ADAPTIVE_FACTOR"]
