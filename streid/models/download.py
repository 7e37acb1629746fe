"""Resumable, checksum-verified, atomic download of one file (only when the user runs ``streid models pull``).

Bytes go to ``DEST.part``; an interrupted transfer leaves it there and the next call asks the server for
the rest (HTTP Range). The file appears under its final name only after the whole body arrived and its
sha256 matched (when one is expected); a mismatch deletes the partial file, so a retry starts clean.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from streid.models.registry import ModelError

CHUNK = 1 << 16
USER_AGENT = "streid-models"


class DownloadError(ModelError):
    """The transfer failed (offline, HTTP error, interrupted, checksum mismatch): exit 1, not bad input."""


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def download(url: str, dest: Path, sha256: str | None = None, timeout: float = 30.0,
             progress: Callable[[int, int | None], None] | None = None) -> str:
    """Fetch ``url`` to ``dest`` (resuming ``dest.part``); returns the file's sha256. Raises ModelError (one line)."""
    if not url.startswith(("http://", "https://")):
        raise ModelError(f"{url}: only http(s) URLs are fetched")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest)
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the partial file is already as long as (or longer than) the resource
            part.unlink()
            return download(url, dest, sha256, timeout, progress)
        raise DownloadError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"cannot download {url} ({reason}); offline? fetch it by hand and use "
                         "`streid models import FILE --name NAME`") from None
    with response:
        resumed = response.status == 206
        if not resumed:
            have = 0  # the server sent the whole file: start over
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        got = have
        try:
            with part.open("ab" if resumed else "wb") as f:
                while block := response.read(CHUNK):
                    f.write(block)
                    got += len(block)
                    if progress:
                        progress(got, total)
        except (OSError, http.client.HTTPException) as exc:  # connection reset, timeout, IncompleteRead
            raise DownloadError(f"download of {url} interrupted after {got} bytes ({exc}); run the same command "
                             "again to resume") from None
    if total is not None and got < total:
        raise DownloadError(f"download of {url} interrupted after {got} of {total} bytes; run the same command "
                         "again to resume")
    digest = sha256_file(part)
    if sha256 is not None and digest != sha256.lower():
        part.unlink()
        raise DownloadError(f"checksum mismatch for {url}: got sha256 {digest}, expected {sha256.lower()} "
                         "(file discarded)")
    os.replace(part, dest)
    return digest
