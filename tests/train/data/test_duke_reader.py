"""DukeMTMC-VideoReID reader on a hand-made tree."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from streid.train.data import DatasetError, read_dataset


def write(root: Path, split: str, pid: int, tid: int, cam: int, n: int = 2) -> Path:
    folder = root / split / f"{pid:04d}" / f"{tid:04d}"
    folder.mkdir(parents=True)
    for f in range(n):
        cv2.imwrite(str(folder / f"{pid:04d}_C{cam}_F{f:04d}_X{tid:05d}.jpg"), np.zeros((8, 4, 3), np.uint8))
    return folder


def test_reads_duke_tree(tmp_path: Path) -> None:
    write(tmp_path, "train", 7, 1, 2, 3)
    write(tmp_path, "train", 9, 2, 5)
    write(tmp_path, "query", 11, 3, 1)
    write(tmp_path, "gallery", 11, 4, 6)
    ds = read_dataset("dukevideo", tmp_path)
    assert [(t.pid, t.camid, len(t.frames)) for t in ds.train] == [(0, 2, 3), (1, 5, 2)]
    assert [(t.pid, t.camid) for t in ds.query] == [(11, 1)] and [(t.pid, t.camid) for t in ds.gallery] == [(11, 6)]
    assert ds.num_train_pids == 2


def test_malformed_duke_names_path(tmp_path: Path) -> None:
    write(tmp_path, "train", 7, 1, 2)
    with pytest.raises(DatasetError, match="query"):
        read_dataset("dukevideo", tmp_path)
    bad = write(tmp_path, "query", 8, 1, 1, n=1)
    next(bad.iterdir()).rename(bad / "frame.jpg")
    (tmp_path / "gallery").mkdir()
    with pytest.raises(DatasetError, match=r"frame\.jpg"):
        read_dataset("dukevideo", tmp_path)
