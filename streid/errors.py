"""Which failures are the user's to fix (one line, exit 2) and which are ours (exit 1); tracebacks only with --debug.

Commands raise :class:`InputError` (or one of the ValueError subclasses: ConfigError, CheckpointError, ...) for
bad input; :func:`classify` also recognises the library errors that bad files and a full disk produce, so every
command gets the same treatment from ``streid.cli.main`` without catching them itself.
"""

from __future__ import annotations

import errno
import sqlite3

EXIT_INPUT = 2
EXIT_BUG = 1
EXIT_SIGNAL = 130


class InputError(ValueError):
    """Bad input a user can fix (a file, a folder, a setting): the message is the whole story."""


def _onnx_failure(exc: BaseException) -> bool:
    """ONNX Runtime's errors for a file that is not a usable model (random bytes, wrong graph)."""
    return type(exc).__module__.startswith("onnxruntime") or "onnxruntime" in type(exc).__module__


def classify(exc: BaseException) -> tuple[int, str]:
    """(exit code, one-line message) for an exception that left a command."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_SIGNAL, "interrupted"
    full = any(text in str(exc) for text in ("No space left on device", "database or disk is full"))
    if full or (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)):
        where = getattr(exc, "filename", None) or first
        return EXIT_INPUT, f"disk full ({where}); free some space and run the same command again (it resumes)"
    if isinstance(exc, (FileNotFoundError, NotADirectoryError, IsADirectoryError)):
        return EXIT_INPUT, f"{exc.strerror or 'not found'}: {exc.filename or first}"
    if isinstance(exc, PermissionError):
        return EXIT_INPUT, f"permission denied: {exc.filename or first}"
    if isinstance(exc, sqlite3.DatabaseError):
        return EXIT_INPUT, f"not a usable identity store: {first}"
    if isinstance(exc, MemoryError):
        return EXIT_INPUT, "out of memory (an input too large? smaller frames or batches help)"
    if isinstance(exc, ValueError) or _onnx_failure(exc) or type(exc).__name__ == "DecompressionBombError":
        return EXIT_INPUT, first
    return EXIT_BUG, f"internal error ({type(exc).__name__}): {first}"
