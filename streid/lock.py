"""Holding an output folder: an exclusive lock (two runs into one folder would interleave their rows and files)
and private files (stored people are no one else's business: folders 0700, files 0600 while held).

``flock`` on ``DIR/.streid.lock``: the kernel releases it when the process ends, however it ends (kill -9
included), so a stale lock never blocks a restart. The file names the holder for the second run's message.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from streid.errors import InputError

LOCK_FILE = ".streid.lock"


@contextmanager
def output_lock(folder: str | Path, private: bool = True) -> Iterator[Path]:
    """Hold ``folder`` for this process; InputError naming the holder (pid, host, command) when another has it.

    ``private``: the process umask is 077 while held, so everything written (store, crops, events, videos) is
    readable by its owner only, whatever the user's umask (the umask is process-wide: this is for a command's
    main body, not a library call inside a larger program).
    """
    folder = Path(folder)
    old_umask = os.umask(0o077) if private else None
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700 if private else 0o777)
        with _locked(folder):
            yield folder
    finally:
        if old_umask is not None:
            os.umask(old_umask)


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    path = folder / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise InputError(f"{folder} is in use by {holder}; wait for it to end or use another output folder") from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time(),
                                 "command": " ".join(sys.argv)[:300]}).encode())
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another process"
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("since", 0)))
    return f"pid {info.get('pid')} on {info.get('host')} since {since} ({info.get('command', '?')})"
