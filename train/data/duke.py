"""DukeMTMC-VideoReID reader: ``train|query|gallery/<pid>/<tracklet>/*.jpg``, camid from ``0001_C1_F0001_X...jpg``.

Query and gallery are scored as given (as torchreid does); train pids are relabelled 0..N-1.
"""

from __future__ import annotations

import re
from pathlib import Path

from streid.train.data.records import DatasetError, TrackletRecord, VideoDataset

_CAM = re.compile(r"^\d+_C(\d+)_")


def _split(root: Path, split: str) -> list[TrackletRecord]:
    folder = root / split
    if not folder.is_dir():
        raise DatasetError(folder, "missing folder (expected DukeMTMC-VideoReID: train|query|gallery/<pid>/<tid>)")
    out: list[TrackletRecord] = []
    for pid_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        if not pid_dir.name.isdigit():
            raise DatasetError(pid_dir, "identity folder name is not a number")
        for tdir in sorted(p for p in pid_dir.iterdir() if p.is_dir()):
            frames = tuple(str(p) for p in sorted(tdir.glob("*.jpg")))
            if not frames:
                raise DatasetError(tdir, "tracklet folder holds no .jpg frames")
            m = _CAM.match(Path(frames[0]).name)
            if m is None:
                raise DatasetError(frames[0], "file name does not match <pid>_C<cam>_... (camera unknown)")
            out.append(TrackletRecord(frames=frames, pid=int(pid_dir.name), camid=int(m.group(1)), tid=len(out)))
    return out


def read_duke(root: str | Path, name: str = "dukevideo") -> VideoDataset:
    """Read a DukeMTMC-VideoReID tree; fails with a ``DatasetError`` naming the first bad path."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(root, "dataset root is not a folder")
    raw = _split(root, "train")
    labels = {pid: i for i, pid in enumerate(sorted({t.pid for t in raw}))}
    train = [TrackletRecord(t.frames, labels[t.pid], t.camid, t.tid) for t in raw]
    return VideoDataset(name, train, _split(root, "query"), _split(root, "gallery"), len(labels),
                        notes=["query and gallery folders are disjoint, scored as given"])
