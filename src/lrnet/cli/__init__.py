"""The ``lrnet`` command: ``train``, ``evaluate``, ``predict``, ``inspect``, ``export``.

:func:`main` returns the exit code: 0 on success, 1 for an error the user can fix
(printed as one line, without a traceback), 2 for a usage error.  Set
``LRNET_DEBUG=1`` to get the traceback of an error instead.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import warnings

from .. import interrupts
from ..data.readers import DataError
from ..persistence import ModelFileError
from .display import Output, UsageError, UserError, printable
from .parser import build_parser


def _handlers():
    from . import apply, export, inspect, train

    return {
        "train": train.run,
        "evaluate": apply.run_evaluate,
        "predict": apply.run_predict,
        "inspect": inspect.run,
        "export": export.run,
    }


def _error(message: str) -> None:
    text = printable(" ".join(str(message).split()))
    print(f"lrnet: error: {text}", file=sys.stderr, flush=True)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    first = str(message).strip().splitlines()[0] if str(message).strip() else category.__name__
    print(f"lrnet: warning: {printable(first)}", file=sys.stderr, flush=True)


def _return_freed_memory() -> None:
    """Have glibc map arrays of 1 MiB or more on their own, so that freeing returns them.

    Otherwise glibc raises its mmap threshold after the first large free, later arrays
    of a few MiB come from the heap, which does not shrink, and the peak memory of
    ``lrnet train`` holds every table it has already let go (issue 14: 2.4x instead of
    2.7x the design matrix at 1.6M rows).  Elsewhere than glibc this does nothing.
    """
    try:
        ctypes.CDLL("libc.so.6").mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Run the ``lrnet`` command line with ``argv`` (default: ``sys.argv[1:]``).

    Parameters
    ----------
    argv : list of str or None
        The arguments after the program name.

    Returns
    -------
    int
        The exit code: 0 success, 1 error, 2 usage error.
    """
    _return_freed_memory()
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            prog = f"lrnet {args.command}" if args.command else "lrnet"
            _error(f"unrecognized arguments: {' '.join(extra)}. See '{prog} --help'.")
            return 2
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    out = Output(json_mode=getattr(args, "json", False), quiet=args.quiet)
    debug = bool(os.environ.get("LRNET_DEBUG"))
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        # NumPy's "overflow encountered in cast" and the like say nothing a user can act
        # on; the checks that follow them turn real problems into error messages
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            with interrupts.handling(signal.SIGINT, signal.SIGTERM):
                return _handlers()[args.command](args, out)
        except BrokenPipeError:  # e.g. `lrnet predict ... | head`: stop quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 141
        except UsageError as err:
            if debug:
                raise
            _error(err)
            return 2
        except (UserError, DataError, ModelFileError, ValueError, OSError) as err:
            if debug:
                raise
            _error(_describe_os_error(err) if isinstance(err, OSError) else err)
            return 1
        except KeyboardInterrupt as err:
            signum = getattr(err, "signum", signal.SIGINT)
            name = interrupts.signal_name(signum)
            _error(f"interrupted ({name}); existing files were left as they were.")
            return interrupts.exit_code(signum)
        except MemoryError as err:
            if debug:
                raise
            _error(
                f"not enough memory ({err or 'MemoryError'}). Use smaller --hidden layers or "
                "--batch-size, or a smaller --chunk-size for predict."
            )
            return 1
        except Exception as err:  # a bug: still one line, and the way to the traceback
            if debug:
                raise
            _error(
                f"unexpected internal error ({type(err).__name__}: {err}). Run again with "
                "LRNET_DEBUG=1 for the traceback, and please report it."
            )
            return 1


def _describe_os_error(err: OSError) -> str:
    where = f"{err.filename}: " if err.filename else ""
    return f"{where}{err.strerror or err}."
