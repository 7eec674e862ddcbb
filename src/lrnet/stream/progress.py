"""Progress of a streamed run: a bar over the rows of each pass over the file.

:class:`PassProgress` draws rows done, rows/s and the time left (from the file's row
count: Parquet metadata, or the rows of a CSV file's copy) for the statistics pass,
each epoch and each lbfgs evaluation; :class:`EpochSource` starts a bar at every
epoch of a batch source.  Nothing is drawn unless standard error is a terminal.
"""

from __future__ import annotations

import time

import numpy as np


class PassProgress:
    """A bar over the rows of each pass: rows/s and the time left (ETA), on stderr.

    Drawn only when stderr is a terminal and the run is not ``--quiet``; the ETA comes
    from the file's row count (Parquet metadata, or the rows of a CSV file's copy).
    """

    def __init__(self, enabled: bool, group_rows: np.ndarray):
        from rich.console import Console

        self.console = Console(stderr=True)
        self.enabled = enabled and self.console.is_terminal
        self.group_rows = group_rows
        self.progress = self.task = None
        self.started = self.done = 0

    def start(self, label: str) -> None:
        """Begin a pass over every row of the file."""
        if not self.enabled:
            return
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.close()
        self.progress = Progress(
            TextColumn(f"[bold blue]{label}"),
            BarColumn(),
            TextColumn("{task.completed:,.0f}/{task.total:,.0f} rows  {task.fields[rate]}"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.progress.start()
        total = float(self.group_rows.sum())
        self.task = self.progress.add_task(label, total=total, rate="")
        self.started, self.done = time.perf_counter(), 0

    def group(self, i: int) -> None:
        """A row group was read."""
        if self.progress is None:
            return
        self.done += int(self.group_rows[i])
        rate = self.done / max(time.perf_counter() - self.started, 1e-9)
        self.progress.update(self.task, advance=int(self.group_rows[i]), rate=f"{rate:,.0f} rows/s")

    def close(self) -> None:
        """Stop drawing; safe to call twice."""
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


class EpochSource:
    """A batch source that starts a progress pass at every epoch (same attributes)."""

    def __init__(self, source, progress: PassProgress):
        self.source, self.progress = source, progress
        self.n_samples, self.batch_size = source.n_samples, source.batch_size
        self.epochs = 0

    def epoch(self, rng):
        """The source's epoch, with its bar."""
        self.epochs += 1
        self.progress.start(f"epoch {self.epochs}")
        try:
            yield from self.source.epoch(rng)
        finally:
            self.progress.close()
