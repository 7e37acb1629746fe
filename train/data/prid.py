"""PRID2011 reader: ``prid_2011/multi_shot/cam_a|cam_b/person_XXXX/*.png`` (``root`` holds ``prid_2011``
or is it).

The field's convention (Wang et al. ECCV 2014, followed by torchreid): only persons 1..200 are the same
people in both cameras; of those, the 178 with at least 21 frames in each camera are used, split at
random 50/50 into train/test, 10 splits. Test query = cam_a, gallery = cam_b; train uses both cameras,
pids relabelled 0..N-1.

Splits: a torchreid ``splits_prid2011.json`` (a list of ``{"train": [...], "test": [...]}`` person folder
names) in ``root`` is used when present, so numbers compare with published ones. Without it, splits are
drawn in memory from a fixed seed (``prid_splits``) and nothing is written into the dataset folder; the
dataset notes say so, because those numbers are not comparable to published splits.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from streid.train.data.records import DatasetError, TrackletRecord, VideoDataset

SPLIT_FILES = ("splits_prid2011.json", "splits.json")
SHARED_PERSONS = 200  # person_0001..person_0200 are the same people in cam_a and cam_b
_PERSON = re.compile(r"^person_(\d{4})$")


def _cams(root: Path) -> tuple[Path, Path]:
    for base in (root / "prid_2011", root):
        cam_a, cam_b = base / "multi_shot" / "cam_a", base / "multi_shot" / "cam_b"
        if cam_a.is_dir() or cam_b.is_dir():
            for cam in (cam_a, cam_b):
                if not cam.is_dir():
                    raise DatasetError(cam, "missing folder (expected PRID2011 layout: multi_shot/cam_a|cam_b)")
            return cam_a, cam_b
    raise DatasetError(root / "prid_2011" / "multi_shot", "missing folder (expected PRID2011 layout)")


def _frames(folder: Path) -> tuple[str, ...]:
    return tuple(str(p) for p in sorted(folder.glob("*.png")))


def eligible_persons(cam_a: Path, cam_b: Path, min_frames: int = 21) -> list[str]:
    """Person folders 1..200 with at least ``min_frames`` frames in both cameras (178 on the real data)."""
    out = []
    for n in range(1, SHARED_PERSONS + 1):
        name = f"person_{n:04d}"
        if all(len(list((cam / name).glob("*.png"))) >= min_frames for cam in (cam_a, cam_b)):
            out.append(name)
    return out


def prid_splits(persons: list[str], num_splits: int = 10, seed: int = 0) -> list[dict[str, list[str]]]:
    """``num_splits`` random 50/50 train/test splits of ``persons``, the same for the same inputs and seed."""
    rng = np.random.default_rng(seed)
    half = len(persons) // 2
    out = []
    for _ in range(num_splits):
        perm = rng.permutation(len(persons))
        out.append({"train": sorted(persons[i] for i in perm[:half]), "test": sorted(persons[i] for i in perm[half:])})
    return out


def _load_splits(path: Path) -> list[dict[str, list[str]]]:
    try:
        splits = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(path, f"not a readable JSON file: {exc}") from None
    ok = isinstance(splits, list) and splits and all(
        isinstance(s, dict) and isinstance(s.get("train"), list) and isinstance(s.get("test"), list) for s in splits
    )
    if not ok:
        raise DatasetError(path, 'expected a list of {"train": [person folders], "test": [person folders]}')
    return splits


def read_prid(
    root: str | Path, split: int = 0, name: str = "prid2011", min_frames: int = 21, seed: int = 0
) -> VideoDataset:
    """Read PRID2011 split ``split``; fails with a ``DatasetError`` naming the first bad path."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(root, "dataset root is not a folder")
    cam_a, cam_b = _cams(root)
    split_file = next((root / f for f in SPLIT_FILES if (root / f).is_file()), None)
    if split_file is not None:
        splits, source = _load_splits(split_file), split_file.name
    else:
        persons = eligible_persons(cam_a, cam_b, min_frames)
        if len(persons) < 2:
            raise DatasetError(cam_a, f"fewer than 2 of person_0001..0200 have >= {min_frames} frames in both cameras")
        splits, source = prid_splits(persons, seed=seed), f"seed {seed} (no {SPLIT_FILES[0]} in root)"
    where = split_file if split_file is not None else root / SPLIT_FILES[0]
    if not 0 <= split < len(splits):
        raise DatasetError(where, f"split {split} not in 0..{len(splits) - 1} (splits from {source})")
    chosen = splits[split]

    def tracklets(cam: Path, people: list[str], camid: int, tid0: int) -> list[TrackletRecord]:
        out = []
        for pid, person in enumerate(people):
            if not _PERSON.match(str(person)):
                raise DatasetError(where, f"split {split}: {person!r} is not a person_XXXX folder name")
            frames = _frames(cam / person)
            if not frames:
                raise DatasetError(cam / person, "missing or empty person folder (expected *.png frames)")
            out.append(TrackletRecord(frames=frames, pid=pid, camid=camid, tid=tid0 + pid))
        return out

    train_people, test_people = list(chosen["train"]), list(chosen["test"])
    n = len(train_people)
    ta, tb = tracklets(cam_a, train_people, 0, 0), tracklets(cam_b, train_people, 1, n)
    train = [t for pair in zip(ta, tb, strict=True) for t in pair]
    query = tracklets(cam_a, test_people, 0, 0)
    gallery = tracklets(cam_b, test_people, 1, len(test_people))
    notes = [f"split {split} of {len(splits)} from {source}: cam_a query, cam_b gallery"]
    return VideoDataset(name, train, query, gallery, n, notes=notes)
