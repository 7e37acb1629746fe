"""iLIDS-VID reader: ``i-LIDS-VID/sequences/cam1|cam2/personXXX/*.png`` and the official split file
``train-test people splits/train_test_splits_ilidsvid.mat`` (key ``ls_set``: 10 x 300, 1-based indices
into the sorted cam1 person folders). As torchreid: for split s, the second half of row s is train, the first
half test; test query = cam1, gallery = cam2; train uses both cameras, pids relabelled 0..N-1.
The split is the ``data.split`` config key (shared with PRID2011); papers report the mean over all 10.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from streid.train.data.mars import _load_mat
from streid.train.data.records import DatasetError, TrackletRecord, VideoDataset


def _tracklet(root: Path, cam: int, person: str, pid: int, tid: int) -> TrackletRecord:
    folder = root / "i-LIDS-VID" / "sequences" / f"cam{cam}" / person
    frames = tuple(str(p) for p in sorted(folder.glob("*.png")))
    if not frames:
        raise DatasetError(folder, "missing or empty person folder (expected *.png frames)")
    return TrackletRecord(frames=frames, pid=pid, camid=cam - 1, tid=tid)


def read_ilids(root: str | Path, split: int = 0, name: str = "ilidsvid") -> VideoDataset:
    """Read iLIDS-VID split ``split`` (0..9)."""
    root = Path(root)
    cam1 = root / "i-LIDS-VID" / "sequences" / "cam1"
    if not cam1.is_dir():
        raise DatasetError(cam1, "missing folder (expected iLIDS-VID layout)")
    persons = sorted(p.name for p in cam1.iterdir() if p.is_dir())
    split_path = root / "train-test people splits" / "train_test_splits_ilidsvid.mat"
    ls_set = _load_mat(split_path, "ls_set").astype(np.int64)
    if not 0 <= split < ls_set.shape[0]:
        raise DatasetError(split_path, f"split {split} not in 0..{ls_set.shape[0] - 1}")
    row = ls_set[split]
    if row.min() < 1 or row.max() > len(persons):
        raise DatasetError(split_path, f"person indices outside 1..{len(persons)} (cam1 has {len(persons)} folders)")
    half = len(row) // 2
    train_people = [persons[i - 1] for i in sorted(row[half:].tolist())]
    test_people = [persons[i - 1] for i in sorted(row[:half].tolist())]
    train = [
        _tracklet(root, cam, p, label, 2 * label + cam - 1) for label, p in enumerate(train_people) for cam in (1, 2)
    ]
    query = [_tracklet(root, 1, p, pid, pid) for pid, p in enumerate(test_people)]
    gallery = [_tracklet(root, 2, p, pid, pid) for pid, p in enumerate(test_people)]
    notes = [f"split {split}: cam1 query, cam2 gallery"]
    return VideoDataset(name, train, query, gallery, len(train_people), notes=notes)
