"""LS-VID reader on hand-made trees in the released layout (list files, frame folders, a real .mat)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io

from streid.train.data import DatasetError, read_dataset
from streid.train.eval.protocol import protocol_indices

# (pid, cam, n_frames) per list row
TRAIN = [(11, 1, 2), (11, 3, 3), (-1, 2, 2), (4, 15, 2)]
TEST = [(7, 1, 2), (7, 2, 3), (8, 4, 2), (-1, 5, 2)]


def write(root: Path, query: list[int], info_dir: str = "test/data") -> Path:
    """``root/LS-VID`` with prefix lines ``tracklet_<s>/<pid>/<tid>_`` and frames ``<tid>_<frame>_<cam>_<pid>.jpg``."""
    base = root / "LS-VID"
    (base / "list_sequence").mkdir(parents=True)
    for subset, rows in (("train", TRAIN), ("test", TEST)):
        lines = []
        for t, (pid, cam, n) in enumerate(rows):
            folder = base / f"tracklet_{subset}" / f"{max(pid, 0):04d}"
            folder.mkdir(parents=True, exist_ok=True)
            for f in range(n):
                name = f"{t:04d}_{f:04d}_{cam:02d}_{max(pid, 0):04d}.jpg"
                cv2.imwrite(str(folder / name), np.zeros((8, 4, 3), np.uint8))
            lines.append(f"tracklet_{subset}/{max(pid, 0):04d}/{t:04d}_ {pid}")
        (base / "list_sequence" / f"list_seq_{subset}.txt").write_text("\n".join(lines) + "\n")
    (base / info_dir).mkdir(parents=True)
    scipy.io.savemat(str(base / info_dir / "info_test.mat"), {"query": np.array(query, dtype=np.float64)[None]})
    return base


def test_reads_lsvid_tree(tmp_path: Path) -> None:
    write(tmp_path, query=[1, 3])
    ds = read_dataset("lsvid", tmp_path)  # parent of LS-VID/ is accepted
    assert ds.name == "lsvid" and ds.num_train_pids == 2
    assert [(t.pid, t.camid, len(t.frames), t.tid) for t in ds.train] == [(1, 0, 2, 0), (1, 2, 3, 1), (0, 14, 2, 3)]
    assert [(t.pid, t.camid) for t in ds.query] == [(7, 0), (8, 3)]
    assert [(t.pid, t.camid, len(t.frames)) for t in ds.gallery] == [(7, 1, 3), (-1, 4, 2)]
    assert all(Path(f).is_file() for t in ds.train + ds.query + ds.gallery for f in t.frames)
    assert [Path(f).name for f in ds.gallery[0].frames] == [f"0001_{i:04d}_02_0007.jpg" for i in range(3)]
    q, g = protocol_indices(ds, "ap3d")
    assert len(q) == 2 and len(g) == 4  # queries came out of the test pool: ap3d puts them back


def test_info_folder_variant(tmp_path: Path) -> None:
    base = write(tmp_path, query=[2], info_dir="info/data")
    ds = read_dataset("lsvid", base)
    assert [t.pid for t in ds.query] == [7] and len(ds.gallery) == 3


def test_malformed_lsvid_names_path(tmp_path: Path) -> None:
    base = write(tmp_path, query=[1, 9])
    with pytest.raises(DatasetError, match=r"info_test\.mat.*outside 1\.\.4"):
        read_dataset("lsvid", base)
    scipy.io.savemat(str(base / "test" / "data" / "info_test.mat"), {"query": np.array([[1.0]])})
    for f in (base / "tracklet_test" / "0008").iterdir():
        f.unlink()
    with pytest.raises(DatasetError, match=r"tracklet_test/0008/0002_: no frames.*list_seq_test\.txt line 3"):
        read_dataset("lsvid", base)
    (base / "list_sequence" / "list_seq_test.txt").write_text("tracklet_test/0007/0000_\n")
    with pytest.raises(DatasetError, match=r"list_seq_test\.txt: line 1"):
        read_dataset("lsvid", base)
    with pytest.raises(DatasetError, match="list_sequence"):
        read_dataset("lsvid", tmp_path / "LS-VID" / "tracklet_train")
    with pytest.raises(ValueError, match="one fixed split"):
        read_dataset("lsvid", base, split=1)


def test_hdf5_mat_without_reader_names_path(tmp_path: Path) -> None:
    """A v7.3 (HDF5) header is recognised; unreadable here (no h5py, or a fake body) -> DatasetError with the path."""
    base = write(tmp_path, query=[1])
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(116, b" ") + b"\0" * 8 + b"\x00\x02IM"
    (base / "test" / "data" / "info_test.mat").write_bytes(header + b"\0" * 512)
    with pytest.raises(DatasetError, match=r"info_test\.mat"):
        read_dataset("lsvid", base)


def test_matlab_v73_info_file(tmp_path: Path) -> None:
    """The released info_test.mat is MATLAB v7.3 (HDF5 behind a 512-byte MATLAB header): read with h5py."""
    import h5py

    base = write(tmp_path, query=[1])
    mat = base / "test" / "data" / "info_test.mat"
    mat.unlink()
    with h5py.File(mat, "w", userblock_size=512) as f:
        f.create_dataset("query", data=np.array([[1.0], [3.0]]))  # MATLAB stores the row vector transposed
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Sun Nov 22 00:00:00 2026 HDF5 schema 1.00 ."
    with open(mat, "r+b") as fh:
        fh.write(header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02IM")
    ds = read_dataset("lsvid", tmp_path)
    assert [(t.pid, t.camid) for t in ds.query] == [(7, 0), (8, 3)]
