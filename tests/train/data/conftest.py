"""Write tiny MARS-layout trees for tests (real JPEGs and .mat files)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io


def write_mars(root: Path, tracks: dict[str, list[tuple[int, int, int]]], query: list[int], size=(16, 8)) -> Path:
    """``tracks[split]`` = list of (pid, camid, n_frames); frames coloured by pid so a colour model can re-identify."""
    info = root / "info"
    info.mkdir(parents=True)
    for split, key in (("train", "track_train_info"), ("test", "track_test_info")):
        names, rows = [], []
        for t, (pid, cam, n) in enumerate(tracks[split]):
            start = len(names) + 1
            for f in range(n):
                pname = f"{max(pid, 0):04d}" if pid >= 0 else "00-1"
                name = f"{pname}C{cam}T{t:04d}F{f:03d}.jpg"
                folder = root / f"bbox_{split}" / name[:4]
                folder.mkdir(parents=True, exist_ok=True)
                rng = np.random.default_rng(pid + 100)
                img = np.full((*size, 3), rng.integers(0, 255, 3), dtype=np.uint8)
                cv2.imwrite(str(folder / name), img)
                names.append(name)
            rows.append([start, len(names), pid, cam])
        (info / f"{split}_name.txt").write_text("\n".join(names) + "\n")
        scipy.io.savemat(str(info / f"tracks_{split}_info.mat"), {key: np.array(rows, dtype=np.float64)})
    scipy.io.savemat(str(info / "query_IDX.mat"), {"query_IDX": np.array(query, dtype=np.float64)[None]})
    return root


@pytest.fixture
def mars_writer():
    """The tree writer, as a fixture so test modules need no package imports."""
    return write_mars
