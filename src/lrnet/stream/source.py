"""The batch source of a streamed fit: row groups in a random order, a shuffle buffer.

Each epoch :class:`StreamSource` draws an order of the row groups from the fit's
generator, reads them one after the other in pieces of at most a few tens of thousands
of rows (in a background thread, at most :data:`AHEAD` pieces ahead of training) and
passes their training rows through a
:class:`ShuffleBuffer` of a fixed number of rows: the buffer fills first, then every
incoming row takes the place of a row drawn at random from the buffer, which goes to
the next batch; at the end of the epoch the buffer empties in a random order.  Memory
holds the buffer, a few pieces and one batch, whatever the size of the file or of its
row groups.

A row stays in the buffer for a number of arrivals that is geometric with mean the
buffer size, so the buffer alone moves rows only about that far; the random order of
the row groups is what decorrelates a sorted file (the rank correlation of a row's
position in the file and in the epoch is about ``1 / sqrt(row groups)``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator

import numpy as np

#: ``load(group) -> iterable of (X, Y, sample_weight or None)``: a row group's training
#: rows, in pieces
Loader = Callable[[int], Iterable[tuple]]
#: pieces read ahead of training
AHEAD = 2
_DONE = object()


class _GroupRead(int):
    """The marker that a row group has been read (its index)."""


class ShuffleBuffer:
    """A fixed-size buffer of rows that emits them in a random order, as batches.

    Parameters
    ----------
    capacity : int
        Rows the buffer holds.
    batch_size : int
        Rows per emitted batch (the last one of an epoch may be smaller).
    shapes : tuple
        ``(n_features, n_outputs, with_weights)``.
    dtype : numpy dtype
        Of X, Y and the weights.
    """

    def __init__(self, capacity: int, batch_size: int, shapes: tuple, dtype=np.float32):
        d, k, weighted = shapes
        self.capacity, self.batch_size = int(capacity), int(batch_size)
        self.X = np.empty((self.capacity, d), dtype)
        self.Y = np.empty((self.capacity, k), dtype)
        self.sw = np.empty(self.capacity, dtype) if weighted else None
        self.Xb = np.empty((self.batch_size, d), dtype)
        self.Yb = np.empty((self.batch_size, k), dtype)
        self.swb = np.empty(self.batch_size, dtype) if weighted else None
        self.count = 0  # rows in the buffer
        self.fill = 0  # rows in the batch being gathered

    def _batch(self, m: int | None = None):
        m = self.batch_size if m is None else m
        sw = None if self.swb is None else self.swb[:m]
        return self.Xb[:m], self.Yb[:m], sw

    def push(self, X, Y, sw, rng: np.random.Generator) -> Iterator[tuple]:
        """Take rows in; yield each batch that fills up."""
        pos, m = 0, X.shape[0]
        while pos < m:
            if self.count < self.capacity:  # filling
                take = min(self.capacity - self.count, m - pos)
                rows = slice(self.count, self.count + take)
                self.X[rows], self.Y[rows] = X[pos : pos + take], Y[pos : pos + take]
                if self.sw is not None:
                    self.sw[rows] = sw[pos : pos + take]
                self.count += take
                pos += take
                continue
            r = min(m - pos, self.batch_size - self.fill)
            slots = rng.choice(self.capacity, r, replace=False)  # distinct: each row once
            out = slice(self.fill, self.fill + r)
            self.Xb[out], self.Yb[out] = self.X[slots], self.Y[slots]
            self.X[slots], self.Y[slots] = X[pos : pos + r], Y[pos : pos + r]
            if self.sw is not None:
                self.swb[out] = self.sw[slots]
                self.sw[slots] = sw[pos : pos + r]
            self.fill += r
            pos += r
            if self.fill == self.batch_size:
                self.fill = 0
                yield self._batch()

    def drain(self, rng: np.random.Generator) -> Iterator[tuple]:
        """Empty the buffer in a random order, then the last, partial batch."""
        order = rng.permutation(self.count)
        pos = 0
        while pos < len(order):
            r = min(len(order) - pos, self.batch_size - self.fill)
            idx, out = order[pos : pos + r], slice(self.fill, self.fill + r)
            self.Xb[out], self.Yb[out] = self.X[idx], self.Y[idx]
            if self.sw is not None:
                self.swb[out] = self.sw[idx]
            self.fill += r
            pos += r
            if self.fill == self.batch_size:
                self.fill = 0
                yield self._batch()
        self.count = 0
        if self.fill:
            m, self.fill = self.fill, 0
            yield self._batch(m)


class StreamSource:
    """A :class:`lrnet.sources.BatchSource` over the row groups of a file.

    Parameters
    ----------
    n_groups : int
        Row groups of the file.
    load : callable
        ``load(i) -> iterable of (X, Y, sample_weight or None)``: the training rows of
        group ``i`` (possibly none) in pieces, prepared for the network.
    n_samples : int
        Training rows in all groups.
    batch_size : int
        Rows per batch.
    buffer_rows : int
        Rows of the shuffle buffer.
    shapes : tuple
        ``(n_features, n_outputs, with_weights)``.
    shuffle : bool, default=True
        Random group order and the shuffle buffer; False reads the rows in file order.
    on_group : callable or None
        Called with the group's index after each group is read (progress).
    dtype : numpy dtype, default=float32
        Of the batches.
    """

    def __init__(
        self,
        n_groups: int,
        load: Loader,
        n_samples: int,
        batch_size: int,
        buffer_rows: int,
        shapes: tuple,
        shuffle: bool = True,
        on_group: Callable[[int], None] | None = None,
        dtype=np.float32,
    ):
        self.n_groups = n_groups
        self.load = load
        self.n_samples = int(n_samples)
        self.batch_size = int(min(batch_size, max(n_samples, 1)))
        self.shuffle = shuffle
        self.on_group = on_group
        capacity = max(1, min(int(buffer_rows), self.n_samples)) if shuffle else 1
        self.buffer = ShuffleBuffer(capacity, self.batch_size, shapes, dtype)

    def groups(self, rng: np.random.Generator) -> Iterator[tuple]:
        """The pieces of every group in the epoch's order, read ahead in a thread."""
        order = rng.permutation(self.n_groups) if self.shuffle else np.arange(self.n_groups)
        pieces: queue.Queue = queue.Queue(maxsize=AHEAD)
        stop = threading.Event()

        def put(item) -> bool:
            while not stop.is_set():
                try:
                    pieces.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def read() -> None:
            try:
                for group in order:
                    for piece in self.load(int(group)):
                        if not put(piece):
                            return
                    if not put(_GroupRead(group)):
                        return
                put(_DONE)
            except BaseException as err:  # raised again in the training thread
                put(err)

        thread = threading.Thread(target=read, name="lrnet-stream", daemon=True)
        thread.start()
        try:
            while (item := pieces.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                if isinstance(item, _GroupRead):
                    if self.on_group is not None:
                        self.on_group(int(item))
                    continue
                yield item
        finally:
            stop.set()
            thread.join()

    def epoch(self, rng: np.random.Generator) -> Iterator[tuple]:
        """Yield the batches of one pass over the file."""
        if not self.shuffle:
            yield from self._in_order(rng)
            return
        for X, Y, sw in self.groups(rng):
            yield from self.buffer.push(X, Y, sw, rng)
        yield from self.buffer.drain(rng)

    def _in_order(self, rng) -> Iterator[tuple]:
        bs = self.batch_size
        pending = None
        for X, Y, sw in self.groups(rng):
            if pending is not None:  # rows left from the previous group
                X = np.concatenate((pending[0], X))
                Y = np.concatenate((pending[1], Y))
                sw = None if sw is None else np.concatenate((pending[2], sw))
            full = X.shape[0] - X.shape[0] % bs
            for start in range(0, full, bs):
                stop = start + bs
                yield X[start:stop], Y[start:stop], None if sw is None else sw[start:stop]
            rest = slice(full, X.shape[0])
            pending = (X[rest], Y[rest], None if sw is None else sw[rest])
        if pending is not None and pending[0].shape[0]:
            yield pending
