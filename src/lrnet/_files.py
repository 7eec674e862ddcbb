"""Writes that cannot half-happen: temporary files next to their targets, then renames.

:func:`atomic_write` writes one file: readers see the old file or the complete new
one.  Inside :func:`staging`, every :func:`atomic_write` is held back instead, and
:meth:`Stage.commit` renames them all into place at the end, with Ctrl-C and SIGTERM
held back and an exclusive lock on each target folder, so that a run's outputs (a
model and its report) land together or not at all, and two runs writing the same
files cannot interleave their outputs.

Temporary files are named ``.<name>.<host>.<pid>.<random>.lrnet-tmp``.  A process
killed outright (SIGKILL, power loss) leaves one behind; the next write to the same
target removes those whose process no longer runs on this host
(:func:`remove_stale`).
"""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from . import interrupts

SUFFIX = ".lrnet-tmp"
_stage: contextvars.ContextVar[Stage | None] = contextvars.ContextVar("stage", default=None)


def _host() -> str:
    return socket.gethostname().replace(".", "-") or "host"


def _prefix(path: Path) -> str:
    return f".{path.name}.{_host()}."


def remove_stale(path: str | os.PathLike) -> list[Path]:
    """Remove temporary files for ``path`` left by processes of this host that are gone."""
    path = Path(path)
    removed = []
    prefix = _prefix(path)
    try:
        names = os.listdir(path.parent)
    except OSError:
        return removed
    for name in names:
        if not (name.startswith(prefix) and name.endswith(SUFFIX)):
            continue
        pid = name[len(prefix) :].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                os.unlink(path.parent / name)
                removed.append(path.parent / name)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _named(err: OSError, path: Path) -> OSError:
    """``err`` with ``path`` as its file name, so the message says which file failed."""
    if err.filename is not None or not err.errno:
        return err
    return type(err)(err.errno, err.strerror, str(path))


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", **kwargs) -> Iterator[IO]:
    """Open a temporary file next to ``path``; on success move it onto ``path``.

    Readers of ``path`` see either the old file or the complete new one, never a
    partial write.  On an exception (or a signal) the temporary file is removed and
    ``path`` is left untouched.  Inside :func:`staging`, the move waits for
    :meth:`Stage.commit`.  An ``OSError`` (a full disk) names ``path``.

    Parameters
    ----------
    path : str or path-like
        The file to write.
    mode : {'wb', 'w'}, default='wb'
        Binary or text mode.
    **kwargs
        Passed to :func:`open` (``encoding``, ``newline``).

    Yields
    ------
    file object
        The open temporary file.
    """
    path = Path(path)
    remove_stale(path)
    tmp = None
    try:
        # signals held back while the file is made and named: a Ctrl-C delivered between
        # the two would leave a temporary file that nothing knows of
        with interrupts.blocked():
            try:
                fd, tmp = tempfile.mkstemp(
                    dir=path.parent, prefix=f"{_prefix(path)}{os.getpid()}.", suffix=SUFFIX
                )
            except OSError as err:
                raise _named(err, path) from None
        try:
            with os.fdopen(fd, mode, **kwargs) as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o666 & ~_umask())
        except OSError as err:
            raise _named(err, path) from None
        stage = _stage.get()
        if stage is None:
            os.replace(tmp, path)
        else:
            stage.pending.append((Path(tmp), path))
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise


class Stage:
    """The files written inside :func:`staging`, waiting for :meth:`commit`."""

    def __init__(self):
        self.pending: list[tuple[Path, Path]] = []
        self.committed: list[Path] = []
        #: folders :func:`make_dirs` created for the staged files, removed if not committed
        self.created: list[Path] = []
        self.done = False
        #: a signal that arrived while the commit held it back (the files were written)
        self.signal: int | None = None

    def commit(self) -> list[Path]:
        """Rename every staged file into place, in the order written; returns the targets.

        Ctrl-C and SIGTERM are held back and each target folder is locked meanwhile.
        """
        folders = sorted({str(final.parent.resolve()) for _, final in self.pending})
        self.done = True
        try:
            with interrupts.blocked(), contextlib.ExitStack() as locks:
                for folder in folders:
                    locks.enter_context(_locked(folder))
                while self.pending:
                    tmp, final = self.pending[0]
                    os.replace(tmp, final)
                    self.pending.pop(0)
                    self.committed.append(final)
        except interrupts.Abort as err:  # held back during the renames, delivered after them
            if self.pending:
                raise
            self.signal = err.signum
        return self.committed

    def discard(self) -> None:
        """Remove the staged files that were not committed.

        Without a commit, also the folders :func:`make_dirs` created for them, if empty.
        """
        for tmp, _ in self.pending:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        self.pending.clear()
        if not self.done:
            for folder in reversed(self.created):
                with contextlib.suppress(OSError):  # not empty, or gone: left as it is
                    folder.rmdir()
        self.created.clear()


def make_dirs(folder: str | os.PathLike) -> Path:
    """``mkdir -p folder``, undone by an uncommitted :func:`staging`.

    Inside a stage, the folders this creates are removed again unless the stage is
    committed: a run that fails leaves no empty folder behind.
    """
    folder = Path(folder)
    missing = []
    for part in (folder, *folder.parents):
        if part.exists():
            break
        missing.append(part)
    folder.mkdir(parents=True, exist_ok=True)
    stage = _stage.get()
    if stage is not None:
        stage.created.extend(reversed(missing))  # outermost first
    return folder


def read_back(path: str | os.PathLike) -> bytes:
    """The bytes of ``path`` as written: its staged copy while a :func:`staging` holds it."""
    path = Path(path)
    stage = _stage.get()
    for tmp, final in reversed(stage.pending if stage is not None else []):
        if final == path:
            return tmp.read_bytes()
    return path.read_bytes()


@contextlib.contextmanager
def staging() -> Iterator[Stage]:
    """Hold back every :func:`atomic_write` of the block until ``commit()``.

    Whatever was not committed when the block ends (an error, a signal, no
    ``commit()`` call) is removed, and the targets are left as they were.
    """
    stage = Stage()
    token = _stage.set(stage)
    try:
        yield stage
    finally:
        _stage.reset(token)
        stage.discard()


@contextlib.contextmanager
def _locked(folder: str) -> Iterator[None]:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # a folder we may write but not open: no lock, as before
        yield
        return
    try:
        with contextlib.suppress(OSError):  # filesystems without flock: no lock
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
