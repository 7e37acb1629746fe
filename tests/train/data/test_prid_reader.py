"""PRID2011 reader on hand-made multi_shot trees: the 21-frame rule, seeded splits, torchreid split files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streid.train.data import DatasetError, read_dataset
from streid.train.data.config import DataConfig
from streid.train.data.prid import prid_splits
from streid.train.eval.protocol import protocol_indices


def write(root: Path, lengths: dict[int, tuple[int, int]]) -> Path:
    """``lengths[person] = (frames in cam_a, frames in cam_b)``; empty files are enough for a reader."""
    for person, counts in lengths.items():
        for cam, n in zip(("cam_a", "cam_b"), counts, strict=True):
            folder = root / "prid_2011" / "multi_shot" / cam / f"person_{person:04d}"
            folder.mkdir(parents=True)
            for f in range(n):
                (folder / f"{f + 1:04d}.png").touch()
    return root


# 1,2,3,5 are eligible; 4 is short in cam_b; 201 exists in both folders but is not the same person
LENGTHS = {1: (21, 30), 2: (25, 21), 3: (40, 40), 4: (30, 20), 5: (22, 23), 201: (50, 50)}


def test_seeded_splits_follow_the_convention(tmp_path: Path) -> None:
    write(tmp_path, LENGTHS)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    ds = read_dataset("prid2011", tmp_path, split=3)
    again = read_dataset("prid2011", tmp_path, split=3)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written
    people = lambda recs: [Path(t.frames[0]).parent.name for t in recs]  # noqa: E731
    assert people(ds.train) == people(again.train) and people(ds.query) == people(again.query)
    assert ds.num_train_pids == 2 and len(ds.train) == 4 and len(ds.query) == len(ds.gallery) == 2
    assert sorted(set(people(ds.train)) | set(people(ds.query))) == [f"person_{i:04d}" for i in (1, 2, 3, 5)]
    assert not set(people(ds.train)) & set(people(ds.query))
    assert {t.camid for t in ds.query} == {0} and {t.camid for t in ds.gallery} == {1}
    assert [t.pid for t in ds.query] == [t.pid for t in ds.gallery] == [0, 1]
    assert [t.pid for t in ds.train] == [0, 0, 1, 1] and [t.camid for t in ds.train] == [0, 1, 0, 1]
    assert "seed 0" in ds.notes[0]
    _q, g = protocol_indices(ds, "ap3d")
    assert len(g) == 2  # cam-A queries are never appended to the cam-B gallery


def test_prid_splits_deterministic_and_disjoint() -> None:
    persons = [f"person_{i:04d}" for i in range(1, 179)]
    a, b = prid_splits(persons), prid_splits(persons)
    assert a == b and len(a) == 10 and a[0] != a[1]
    assert all(len(s["train"]) == len(s["test"]) == 89 and not set(s["train"]) & set(s["test"]) for s in a)
    assert prid_splits(persons, seed=1) != a


def test_torchreid_split_file_is_used(tmp_path: Path) -> None:
    write(tmp_path, LENGTHS)
    splits = [{"train": ["person_0003", "person_0001"], "test": ["person_0002", "person_0004"]}]
    (tmp_path / "splits_prid2011.json").write_text(json.dumps(splits))
    ds = read_dataset("prid2011", tmp_path)
    assert [Path(t.frames[0]).parent.name for t in ds.query] == ["person_0002", "person_0004"]
    assert [Path(t.frames[0]).parent.name for t in ds.train[::2]] == ["person_0003", "person_0001"]
    assert len(ds.train[0].frames) == 40 and "splits_prid2011.json" in ds.notes[0]
    with pytest.raises(DatasetError, match=r"splits_prid2011\.json: split 1 not in 0\.\.0"):
        read_dataset("prid2011", tmp_path, split=1)


def test_malformed_prid_names_path(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="multi_shot"):
        read_dataset("prid2011", tmp_path)
    write(tmp_path, {1: (2, 2)})
    with pytest.raises(DatasetError, match=r"cam_a: fewer than 2"):
        read_dataset("prid2011", tmp_path)
    (tmp_path / "splits_prid2011.json").write_text(json.dumps([{"train": ["person_0001"], "test": ["person_0009"]}]))
    with pytest.raises(DatasetError, match=r"cam_a/person_0009: missing or empty"):
        read_dataset("prid2011", tmp_path)
    (tmp_path / "splits_prid2011.json").write_text(json.dumps({"train": []}))
    with pytest.raises(DatasetError, match=r"splits_prid2011\.json: expected a list"):
        read_dataset("prid2011", tmp_path)


def test_root_may_be_the_prid_2011_folder(tmp_path: Path) -> None:
    write(tmp_path, LENGTHS)
    ds = read_dataset("prid2011", tmp_path / "prid_2011")
    assert len(ds.query) == 2


def test_split_is_a_config_key() -> None:
    assert DataConfig().split == 0 and DataConfig(format="prid2011", split=9).split == 9
    with pytest.raises(ValueError):
        DataConfig(split=-1)
