"""iLIDS-VID reader on a hand-made tree with a real split .mat file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io

from streid.train.data import DatasetError, read_dataset


def write(root: Path, people: int, ls_set: np.ndarray) -> None:
    for cam in (1, 2):
        for p in range(people):
            folder = root / "i-LIDS-VID" / "sequences" / f"cam{cam}" / f"person{p + 1:03d}"
            folder.mkdir(parents=True)
            for f in range(2):
                cv2.imwrite(str(folder / f"cam{cam}_person{p + 1:03d}_{f:05d}.png"), np.zeros((8, 4, 3), np.uint8))
    (root / "train-test people splits").mkdir()
    scipy.io.savemat(str(root / "train-test people splits" / "train_test_splits_ilidsvid.mat"), {"ls_set": ls_set})


def test_reads_split(tmp_path: Path) -> None:
    write(tmp_path, 4, np.array([[2, 4, 3, 1]], dtype=np.float64))  # test = persons 2,4; train = 1,3
    ds = read_dataset("ilidsvid", tmp_path)
    assert ds.num_train_pids == 2 and len(ds.train) == 4
    assert [Path(t.frames[0]).parent.name for t in ds.train] == ["person001"] * 2 + ["person003"] * 2
    assert [Path(t.frames[0]).parent.name for t in ds.query] == ["person002", "person004"]
    assert {t.camid for t in ds.query} == {0} and {t.camid for t in ds.gallery} == {1}
    assert [t.pid for t in ds.query] == [t.pid for t in ds.gallery]


def test_bad_split_file_names_path(tmp_path: Path) -> None:
    write(tmp_path, 2, np.array([[1, 5]], dtype=np.float64))
    with pytest.raises(DatasetError, match=r"train_test_splits_ilidsvid\.mat.*outside"):
        read_dataset("ilidsvid", tmp_path)


def test_split_comes_from_config(tmp_path: Path) -> None:
    from streid.train.data.config import DataConfig

    write(tmp_path, 4, np.array([[2, 4, 3, 1], [1, 3, 2, 4]], dtype=np.float64))
    cfg = DataConfig(format="ilidsvid", root=str(tmp_path), split=1)
    ds = read_dataset(cfg.format, cfg.root, cfg.split)
    assert [Path(t.frames[0]).parent.name for t in ds.query] == ["person001", "person003"]
    assert "split 1" in ds.notes[0]
    with pytest.raises(DatasetError, match=r"split 2 not in 0\.\.1"):
        read_dataset("ilidsvid", tmp_path, split=2)


def test_data_configs_validate() -> None:
    from streid.config import load_config

    root = Path(__file__).parents[3] / "configs" / "data"
    formats = {load_config(p).data.format for p in root.glob("*.yaml")}
    assert formats >= {"mars", "synthetic", "dukevideo", "lsvid", "ilidsvid", "prid2011"}
