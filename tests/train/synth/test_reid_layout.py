"""The re-id part is MARS's layout: names, info tables and queries agree with the images on disk."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import scipy.io

NAME = re.compile(r"^(\d{4})C(\d)T(\d{4})F(\d{3})\.jpg$")


def _load(root: Path, split: str) -> tuple[list[str], np.ndarray]:
    names = (root / "info" / f"{split}_name.txt").read_text().split()
    table = scipy.io.loadmat(root / "info" / f"tracks_{split}_info.mat")[f"track_{split}_info"]
    return names, table


def test_info_files_match_images_on_disk(tiny_dir: Path) -> None:
    root = tiny_dir / "reid"
    for split in ("train", "test"):
        names, table = _load(root, split)
        on_disk = sorted(p.name for p in (root / f"bbox_{split}").rglob("*.jpg"))
        assert sorted(names) == on_disk and len(set(names)) == len(names)
        assert table.shape[1] == 4 and table.shape[0] > 0
        assert table[0, 0] == 1 and table[-1, 1] == len(names)
        assert np.all(table[1:, 0] == table[:-1, 1] + 1), "tracklets must tile the name list"
        for start, end, pid, cam in table.astype(int):
            rows = [NAME.match(n) for n in names[start - 1 : end]]
            assert all(rows)
            assert {(int(m[1]), int(m[2]), m[3]) for m in rows} == {(pid, cam, rows[0][3])}
            assert [int(m[4]) for m in rows] == list(range(1, end - start + 2))
        first = root / f"bbox_{split}" / names[0][:4] / names[0]
        image = cv2.imread(str(first))
        assert image is not None and image.shape == (256, 128, 3)


def test_train_and_test_identities_are_disjoint(tiny_dir: Path) -> None:
    root = tiny_dir / "reid"
    train = set(_load(root, "train")[1][:, 2].astype(int))
    test = set(_load(root, "test")[1][:, 2].astype(int))
    assert train and test and not train & test
    folders = {p.name for p in (root / "bbox_train").iterdir()}, {p.name for p in (root / "bbox_test").iterdir()}
    assert not folders[0] & folders[1]


def test_queries_have_a_match_in_another_camera(tiny_dir: Path) -> None:
    root = tiny_dir / "reid"
    _, test = _load(root, "test")
    query = scipy.io.loadmat(root / "info" / "query_IDX.mat")["query_IDX"].ravel().astype(int)
    assert len(query) > 0 and query.min() >= 1 and query.max() <= len(test)
    assert len(set(query)) == len(query)
    for row in query - 1:
        pid, cam = test[row, 2], test[row, 3]
        others = (test[:, 2] == pid) & (test[:, 3] != cam)
        assert others.any(), f"query row {row + 1} (pid {pid}) has no match in another camera"
    pairs = {(test[r, 2], test[r, 3]) for r in query - 1}
    assert len(pairs) == len(query), "one query per (identity, camera)"
