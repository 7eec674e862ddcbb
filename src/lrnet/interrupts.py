"""Ctrl-C and SIGTERM: the first one ends training after the current step, the second aborts.

While :func:`deferring` is active (around every fit), the first SIGINT (and SIGTERM,
when the command line asked for it with :func:`handling`) only records itself: the
training loop reads :func:`pending` after each step, stops there and keeps what it
learned.  A second signal raises :class:`Abort` at once.  Outside a fit, a signal that
:func:`handling` watches raises :class:`Abort` at once, so that ``finally`` blocks and
the atomic writes (:mod:`lrnet._files`) clean up their temporary files.

Signal handlers can only be set from the main thread: elsewhere, and when a caller
installed its own SIGINT handler, nothing is changed and a ``KeyboardInterrupt``
behaves as Python's default (the training loop still keeps the weights when it
catches one at a step boundary).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

__all__ = ["Abort", "deferring", "exit_code", "handling", "pending", "signal_name"]


class Abort(KeyboardInterrupt):
    """A signal that ends the process's current work at once (a second Ctrl-C, SIGTERM)."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal_name(signum))
        self.signum = signum


_lock = threading.Lock()
#: the signals being handled by this module, and the handlers they replaced
_installed: dict[int, object] = {}
#: while a fit runs: the first signal is recorded here instead of raised
_deferring = 0
_pending: int | None = None
#: inside blocked(): a signal that arrived is held here until the block ends
_holding = 0
_held: int | None = None


def signal_name(signum: int) -> str:
    """``'SIGINT'`` for 2."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def exit_code(signum: int) -> int:
    """The exit status of a process ended by ``signum``: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + int(signum)


def _handler(signum, frame) -> None:
    global _held
    if _holding:  # inside blocked(): delivered when it ends
        _held = _held or signum
        return
    _deliver(signum)


def _deliver(signum: int) -> None:
    """What a signal does now: recorded for the fit that defers it, else :class:`Abort`."""
    global _pending
    if _deferring and _pending is None:
        _pending = signum
        return
    raise Abort(signum)


def pending() -> int | None:
    """The signal that asked training to stop, or None."""
    return _pending


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def handling(*signums: int) -> Iterator[None]:
    """Handle ``signums`` (default SIGINT and SIGTERM) for the duration (the command line)."""
    signums = signums or (signal.SIGINT, signal.SIGTERM)
    added = []
    if _in_main_thread():
        for signum in signums:
            if signum not in _installed:
                _installed[signum] = signal.signal(signum, _handler)
                added.append(signum)
    try:
        yield
    finally:
        for signum in added:
            signal.signal(signum, _installed.pop(signum))


@contextlib.contextmanager
def deferring() -> Iterator[None]:
    """Record the first signal instead of raising it, for the duration of a fit.

    SIGINT is handled for the duration when Python's default handler is in place (a
    script or a notebook); a handler of the caller's own is left alone.
    """
    global _deferring, _pending
    own_sigint = (
        _in_main_thread()
        and signal.SIGINT not in _installed
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )
    scope = handling(signal.SIGINT) if own_sigint else contextlib.nullcontext()
    with scope:
        with _lock:
            _deferring += 1
            if _deferring == 1:
                _pending = None
        try:
            yield
        finally:
            with _lock:
                _deferring -= 1
                if _deferring == 0:
                    _pending = None


@contextlib.contextmanager
def blocked() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back for the duration (a commit of several renames).

    Two locks: the signals are masked in this thread, and a signal that reaches this
    module's handler anyway (the kernel gives a process's signal to any thread that
    does not mask it, such as a BLAS worker's) is held until the block ends; then it
    does what it would have done (:class:`Abort`, or the first signal of a fit).
    """
    global _holding, _held
    signums = {signal.SIGINT, signal.SIGTERM}
    if not _in_main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, signums)
    _holding += 1
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
        _holding -= 1
        if not _holding and _held is not None:
            signum, _held = _held, None
            _deliver(signum)
