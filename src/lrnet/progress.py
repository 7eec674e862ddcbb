"""A rich progress bar for training, as a callback (see :mod:`lrnet.callbacks`).

Pass it to the estimator: ``LRNClassifier(callbacks=[ProgressBar()])``.  It prints one
line per epoch (loss, validation loss and accuracy when a validation split exists)
above a live bar, on standard error.  It is silent when standard error is not a
terminal, so logs and pipes stay clean, or when ``enabled=False``.
"""

from __future__ import annotations

import math

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from .callbacks import Callback


def format_epoch(logs: dict, total: int | None = None) -> str:
    """One line for an epoch's history entry, e.g. ``epoch 3/200  loss 0.4120 ...``."""
    epoch = logs.get("epoch", "?")
    width = len(str(total)) if total else 3
    parts = [f"epoch {epoch:>{width}}" + (f"/{total}" if total else "")]
    for key, label in (
        ("loss", "loss"),
        ("validation_loss", "val loss"),
        ("validation_score", "val acc"),
    ):
        value = logs.get(key)
        if value is not None and math.isfinite(value):
            parts.append(f"{label} {value:.4f}")
    if logs.get("learning_rate") is not None:
        parts.append(f"lr {logs['learning_rate']:.2g}")
    seconds = logs.get("time")
    if seconds is not None:
        parts.append(f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s")
    return "  ".join(parts)


class ProgressBar(Callback):
    """Show training progress: a bar and one line per epoch.

    Parameters
    ----------
    console : rich.console.Console or None
        Where to draw; default: a console on standard error.
    enabled : bool or None
        ``None`` (default) shows progress only when the console is a terminal.
    """

    def __init__(self, console: Console | None = None, enabled: bool | None = None):
        self.console = console if console is not None else Console(stderr=True)
        self.enabled = self.console.is_terminal if enabled is None else bool(enabled)
        self._progress = None
        self._task = None
        self._total = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Start the bar; ``logs['max_epochs']`` sets its length."""
        if not self.enabled:
            return
        self.close()
        self._total = (logs or {}).get("max_epochs")
        self._progress = Progress(
            TextColumn("[bold blue]training"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=self.console,
        )
        self._progress.start()
        self._task = self._progress.add_task("train", total=self._total, status="")

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        """Print the epoch's line and advance the bar; never asks to stop."""
        if self._progress is None:
            return None
        self._progress.console.print(format_epoch(logs, self._total), highlight=False)
        loss = logs.get("loss")
        status = f"loss {loss:.4f}" if loss is not None and math.isfinite(loss) else ""
        self._progress.update(self._task, advance=1, status=status)
        return None

    def on_train_end(self, logs: dict | None = None) -> None:
        """Fill the bar (training may stop early) and stop drawing."""
        if self._progress is not None:
            done = self._progress.tasks[0].completed
            self._progress.update(self._task, total=max(done, 1), completed=max(done, 1))
        self.close()

    def close(self) -> None:
        """Stop drawing, e.g. after an exception; safe to call twice."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __getstate__(self):
        # the console and the live display hold locks and file handles: not state
        state = self.__dict__.copy()
        state["console"], state["_progress"], state["_task"] = None, None, None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.console = Console(stderr=True)
