"""``data.extra_train``: more sets' training identities join root's, numbered after them; tests stay root's."""

from __future__ import annotations

from pathlib import Path

import pytest

from streid.train.data.config import DataConfig
from streid.train.data.datasets import build_dataloaders
from streid.train.data.records import DatasetError
from streid.train.data.registry import read_dataset
from tests.train.conftest import render_tiny_reid


@pytest.fixture(scope="module")
def other_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_tiny_reid(tmp_path_factory, "other_world", 6)  # a second world: other people, other cameras


def _cfg(root: Path, extra: list[Path]) -> DataConfig:
    return DataConfig(format="synthetic", root=str(root), extra_train=[str(e) for e in extra], seq_len=2, height=64,
                      width=32, p=2, k=2, workers=0)


def test_extra_sets_join_training_with_their_own_ids_and_leave_the_test_split_alone(tiny_reid: Path,
                                                                                    other_world: Path) -> None:
    a, b = read_dataset("synthetic", tiny_reid), read_dataset("synthetic", other_world)
    loaders = build_dataloaders(_cfg(tiny_reid, [other_world]))
    ds = loaders.dataset
    assert loaders.num_train_pids == a.num_train_pids + b.num_train_pids
    assert len(ds.train) == len(a.train) + len(b.train)
    added = ds.train[len(a.train):]
    assert [r.frames for r in added] == [r.frames for r in b.train]
    assert {r.pid for r in added} == {r.pid + a.num_train_pids for r in b.train}  # never one of root's classes
    assert min(r.camid for r in added) > max(r.camid for r in a.train)  # cameras of two worlds stay apart
    assert ds.query == a.query and ds.gallery == a.gallery
    assert any(str(other_world) in n for n in ds.notes)
    drawn = {int(pid) for _, pids, _ in loaders.train for pid in pids}  # one epoch of PK batches
    assert drawn & {r.pid for r in added} and drawn - {r.pid for r in added}


def test_a_missing_extra_set_is_an_error_naming_it(tiny_reid: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=str(tmp_path / "nowhere")):
        build_dataloaders(_cfg(tiny_reid, [tmp_path / "nowhere"]))
