"""MARS official layout reader (also the synthetic world's ``reid/`` output).

Layout: ``bbox_train/``, ``bbox_test/``, ``info/{tracks_train_info.mat, tracks_test_info.mat,
query_IDX.mat, train_name.txt, test_name.txt}``. Track info rows are ``start, end`` (1-based,
inclusive indices into the name list), ``pid``, ``camid``. Image path:
``bbox_<split>/<first 4 chars of name>/<name>``. Train pids are relabelled to 0..N-1 because the
classifier needs contiguous labels; query/gallery keep raw pids (-1 junk, 0 distractor).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io

from streid.train.data.records import DatasetError, TrackletRecord, VideoDataset


def _load_mat(path: Path, key: str) -> np.ndarray:
    if not path.is_file():
        raise DatasetError(path, "missing file (expected MARS layout: info/*.mat)")
    try:
        data = scipy.io.loadmat(str(path))
    except (ValueError, OSError) as exc:
        raise DatasetError(path, f"not a readable .mat file: {exc}") from None
    if key not in data:
        raise DatasetError(path, f"key {key!r} not found (has {sorted(k for k in data if not k.startswith('__'))})")
    return np.asarray(data[key])


def _load_names(path: Path) -> list[str]:
    if not path.is_file():
        raise DatasetError(path, "missing file (expected MARS layout: info/*_name.txt)")
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _tracklets(root: Path, split: str, names: list[str], info: np.ndarray, info_path: Path) -> list[TrackletRecord]:
    if info.ndim != 2 or info.shape[1] < 4:
        raise DatasetError(info_path, f"expected an N x 4 array (start, end, pid, camid), got shape {info.shape}")
    out: list[TrackletRecord] = []
    for tid, row in enumerate(info.astype(np.int64)):
        start, end, pid, camid = (int(v) for v in row[:4])
        if not 1 <= start <= end <= len(names):
            raise DatasetError(info_path, f"row {tid}: frame range {start}..{end} outside 1..{len(names)}")
        frames = tuple(str(root / f"bbox_{split}" / n[:4] / n) for n in names[start - 1 : end])
        first = Path(frames[0])
        if not first.is_file():
            raise DatasetError(first, f"image listed by {info_path.name} row {tid} is missing")
        out.append(TrackletRecord(frames=frames, pid=pid, camid=camid, tid=tid))
    return out


def read_mars(root: str | Path, name: str = "mars") -> VideoDataset:
    """Read a MARS-layout tree; fails with a ``DatasetError`` naming the first bad path."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(root, "dataset root is not a folder")
    info = root / "info"
    train_names = _load_names(info / "train_name.txt")
    test_names = _load_names(info / "test_name.txt")
    train_info_path, test_info_path = info / "tracks_train_info.mat", info / "tracks_test_info.mat"
    train_info = _load_mat(train_info_path, "track_train_info")
    test_info = _load_mat(test_info_path, "track_test_info")
    query_path = info / "query_IDX.mat"
    query_idx = _load_mat(query_path, "query_IDX").reshape(-1).astype(np.int64) - 1

    train_raw = _tracklets(root, "train", train_names, train_info, train_info_path)
    test = _tracklets(root, "test", test_names, test_info, test_info_path)
    if query_idx.size and (query_idx.min() < 0 or query_idx.max() >= len(test)):
        raise DatasetError(query_path, f"query indices outside 1..{len(test)}")
    qset = set(query_idx.tolist())
    query = [test[i] for i in query_idx.tolist()]
    gallery = [t for i, t in enumerate(test) if i not in qset]

    labels = {pid: i for i, pid in enumerate(sorted({t.pid for t in train_raw}))}
    train = [TrackletRecord(t.frames, labels[t.pid], t.camid, t.tid) for t in train_raw]
    notes = [
        "gallery excludes the query tracklets (torchreid convention); protocol 'ap3d' appends them",
        "pid -1 = junk, pid 0 = distractor",
    ]
    return VideoDataset(
        name, train, query, gallery, num_train_pids=len(labels), notes=notes, query_from_test_pool=True
    )
