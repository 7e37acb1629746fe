"""MARS-layout reader on hand-made trees (real JPEGs, real .mat files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from streid.train.data import DATASETS, DatasetError, read_dataset

TRACKS = {
    "train": [(5, 1, 3), (5, 2, 4), (9, 1, 2)],
    "test": [(1, 1, 3), (1, 2, 2), (2, 1, 2), (-1, 3, 2), (0, 4, 2)],
}


def test_reads_splits_and_relabels_train(tmp_path: Path, mars_writer) -> None:
    root = mars_writer(tmp_path / "mars", TRACKS, query=[1, 3])
    ds = read_dataset("mars", root)
    assert ds.num_train_pids == 2
    assert [t.pid for t in ds.train] == [0, 0, 1]
    assert [len(t.frames) for t in ds.train] == [3, 4, 2]
    assert [(t.pid, t.camid) for t in ds.query] == [(1, 1), (2, 1)]
    assert [(t.pid, t.camid) for t in ds.gallery] == [(1, 2), (-1, 3), (0, 4)]
    assert all(Path(f).is_file() for t in ds.train + ds.query + ds.gallery for f in t.frames)
    assert Path(ds.train[1].frames[0]).parent.name == "0005"
    assert set(DATASETS) >= {"mars", "synthetic"}


def test_missing_info_file_names_path(tmp_path: Path, mars_writer) -> None:
    root = mars_writer(tmp_path / "mars", TRACKS, query=[1])
    (root / "info" / "tracks_test_info.mat").unlink()
    with pytest.raises(DatasetError, match=r"tracks_test_info\.mat"):
        read_dataset("mars", root)


def test_wrong_mat_key_and_bad_range_name_path(tmp_path: Path, mars_writer) -> None:
    root = mars_writer(tmp_path / "mars", TRACKS, query=[1])
    path = root / "info" / "tracks_train_info.mat"
    scipy.io.savemat(str(path), {"other": np.zeros((1, 4))})
    with pytest.raises(DatasetError, match="track_train_info"):
        read_dataset("mars", root)
    scipy.io.savemat(str(path), {"track_train_info": np.array([[1.0, 999.0, 5.0, 1.0]])})
    with pytest.raises(DatasetError, match=r"tracks_train_info\.mat.*outside"):
        read_dataset("mars", root)


def test_missing_image_names_it(tmp_path: Path, mars_writer) -> None:
    root = mars_writer(tmp_path / "mars", TRACKS, query=[1])
    victim = sorted((root / "bbox_test").rglob("*.jpg"))[0]
    victim.unlink()
    with pytest.raises(DatasetError, match=victim.name):
        read_dataset("mars", root)


def test_unknown_format_and_missing_root(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown dataset format"):
        read_dataset("nope", tmp_path)
    with pytest.raises(DatasetError, match="not a folder"):
        read_dataset("mars", tmp_path / "absent")
