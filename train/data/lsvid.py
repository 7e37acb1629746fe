"""LS-VID reader (Li et al., ICCV 2019), in the layout the authors release and public code reads.

Layout (``root`` is the ``LS-VID`` folder or its parent)::

    LS-VID/
      list_sequence/list_seq_train.txt   list_seq_val.txt   list_seq_test.txt
      tracklet_train/  tracklet_val/  tracklet_test/   (frame folders)
      test/data/info_test.mat  info_val.mat             (key ``query``: 1-based rows of list_seq_<subset>)

A list line is ``<tracklet path prefix> <pid>``; the tracklet's frames are the image files whose path
starts with ``root/<prefix>`` (``tracklet_train/0001/0001_0001_`` -> ``0001_0001_<cam>_<n>.jpg``), sorted by
name. The camera is the third ``_``-separated field of a frame's file name (1..15, stored 0-based).
Some copies keep ``list_sequence`` and ``data`` under ``info/``; both are accepted. ``info_*.mat`` is
often MATLAB v7.3 (HDF5), which needs ``h5py``; v5 files are read with scipy.

Query rows come out of the test list; the gallery is the rest (torchreid-style), so, as on MARS, the
``ap3d`` protocol puts the queries back into the gallery. Train pids are relabelled 0..N-1 and junk
(pid -1) train tracklets are dropped; test pids are kept raw.
"""

from __future__ import annotations

import bisect
import os
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.io

from streid.train.data.records import DatasetError, TrackletRecord, VideoDataset

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def _base(root: Path) -> Path:
    """``root`` itself when it holds ``list_sequence`` (or ``info/list_sequence``), else ``root/LS-VID``."""
    for cand in (root, root / "LS-VID"):
        if (cand / "list_sequence").is_dir() or (cand / "info" / "list_sequence").is_dir():
            return cand
    raise DatasetError(root / "list_sequence", "missing folder (expected LS-VID layout: list_sequence/list_seq_*.txt)")


def _first_existing(base: Path, *rels: str) -> Path:
    """The first of ``base/rel`` (some copies nest metadata under ``info/``); the canonical one if none exists."""
    for cand in (base / r for r in rels):
        if cand.exists():
            return cand
    return base / rels[0]


def _read_list(path: Path) -> list[tuple[str, int]]:
    if not path.is_file():
        raise DatasetError(path, "missing file (expected LS-VID layout: list_sequence/list_seq_<subset>.txt)")
    out: list[tuple[str, int]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
            raise DatasetError(path, f"line {n}: expected '<tracklet prefix> <pid>', got {line.strip()!r}")
        out.append((parts[0], int(parts[1])))
    return out


def _load_query_idx(path: Path) -> np.ndarray:
    """0-based query rows from ``info_<subset>.mat`` (v5 via scipy, v7.3/HDF5 via h5py when installed)."""
    if not path.is_file():
        raise DatasetError(path, "missing file (expected LS-VID layout: test/data/info_<subset>.mat, key 'query')")
    try:
        data = scipy.io.loadmat(str(path))
        if "query" not in data:
            raise DatasetError(path, f"key 'query' not found (has {sorted(k for k in data if not k.startswith('__'))})")
        raw = np.asarray(data["query"])
    except NotImplementedError:  # MATLAB v7.3 = HDF5
        try:
            import h5py
        except ImportError:
            raise DatasetError(path, "MATLAB v7.3 (HDF5) file: `pip install h5py` to read it") from None
        try:
            with h5py.File(path, "r") as f:
                if "query" not in f:
                    raise DatasetError(path, f"key 'query' not found (has {sorted(f.keys())})")
                raw = np.asarray(f["query"])
        except OSError as exc:
            raise DatasetError(path, f"not a readable HDF5 .mat file: {exc}") from None
    except (ValueError, OSError) as exc:
        raise DatasetError(path, f"not a readable .mat file: {exc}") from None
    return raw.reshape(-1).astype(np.int64) - 1


class _Listing:
    """Sorted image names per folder, listed once, so 15k prefixes cost one scandir per folder."""

    def __init__(self) -> None:
        self._names: dict[Path, list[str]] = {}

    def frames(self, root: Path, prefix: str, list_path: Path, line: int) -> tuple[str, ...]:
        target = root / prefix
        folder, start = (target, "") if prefix.endswith("/") or target.is_dir() else (target.parent, target.name)
        if folder not in self._names:
            if not folder.is_dir():
                raise DatasetError(folder, f"missing tracklet folder (listed by {list_path.name} line {line})")
            with os.scandir(folder) as it:
                self._names[folder] = sorted(e.name for e in it if e.name.lower().endswith(IMAGE_SUFFIXES))
        names = self._names[folder]
        lo = bisect.bisect_left(names, start)
        hi = lo
        while hi < len(names) and names[hi].startswith(start):
            hi += 1
        if lo == hi:
            raise DatasetError(target, f"no frames match this prefix (listed by {list_path.name} line {line})")
        return tuple(str(folder / n) for n in names[lo:hi])


def _camid(frame: str) -> int:
    fields = Path(frame).stem.split("_")
    if len(fields) < 3 or not fields[2].isdigit():
        raise DatasetError(frame, "file name does not match <a>_<b>_<camera>_... (camera unknown)")
    return int(fields[2]) - 1


def _tracklets(base: Path, entries: list[tuple[str, int]], list_path: Path, listing: _Listing) -> list[TrackletRecord]:
    out: list[TrackletRecord] = []
    for tid, (prefix, pid) in enumerate(entries):
        frames = listing.frames(base, prefix, list_path, tid + 1)
        out.append(TrackletRecord(frames=frames, pid=pid, camid=_camid(frames[0]), tid=tid))
    return out


def read_lsvid(root: str | Path, subset: Literal["test", "val"] = "test", name: str = "lsvid") -> VideoDataset:
    """Read LS-VID; query/gallery from ``subset`` (``val`` for model selection, ``test`` for reporting)."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(root, "dataset root is not a folder")
    base = _base(root)
    listing = _Listing()
    lists = "list_sequence/list_seq_{}.txt"
    train_path = _first_existing(base, lists.format("train"), "info/" + lists.format("train"))
    eval_path = _first_existing(base, lists.format(subset), "info/" + lists.format(subset))
    query_path = _first_existing(base, f"test/data/info_{subset}.mat", f"info/data/info_{subset}.mat")
    train_raw = [t for t in _tracklets(base, _read_list(train_path), train_path, listing) if t.pid != -1]
    pool = _tracklets(base, _read_list(eval_path), eval_path, listing)
    query_idx = _load_query_idx(query_path)
    if query_idx.size and (query_idx.min() < 0 or query_idx.max() >= len(pool)):
        raise DatasetError(query_path, f"query indices outside 1..{len(pool)} (rows of {eval_path.name})")
    qset = set(query_idx.tolist())
    query = [pool[i] for i in query_idx.tolist()]
    gallery = [t for i, t in enumerate(pool) if i not in qset]
    labels = {pid: i for i, pid in enumerate(sorted({t.pid for t in train_raw}))}
    train = [TrackletRecord(t.frames, labels[t.pid], t.camid, t.tid) for t in train_raw]
    notes = [
        f"query/gallery from list_seq_{subset}.txt; gallery excludes the queries (torchreid), 'ap3d' appends them",
    ]
    return VideoDataset(name, train, query, gallery, len(labels), notes=notes, query_from_test_pool=True)
