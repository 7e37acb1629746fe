"""Loader throughput: P=16,K=4,L=8 clips at 256x128 from a 1,000-tracklet MARS-layout tree, 2 workers.

Usage: .venv/bin/python bench/loader_bench.py [--root EXISTING_TREE] [--batches 20]
Writes a temporary tree of small JPEGs (deleted afterwards) unless --root is given; prints clips/s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import scipy.io

from streid.train.data.config import DataConfig
from streid.train.data.datasets import build_dataloaders


def write_tree(root: Path, tracklets: int = 1000, frames: int = 24, ids: int = 250) -> None:
    """MARS layout, all tracklets in train (test split gets a handful), 128x64 JPEGs as in MARS."""
    rng = np.random.default_rng(0)
    info = root / "info"
    info.mkdir(parents=True)
    for split, key, n in (("train", "track_train_info", tracklets), ("test", "track_test_info", 4)):
        names, rows = [], []
        for t in range(n):
            pid, cam = 1 + t % ids, 1 + t % 6
            start = len(names) + 1
            folder = root / f"bbox_{split}" / f"{pid:04d}"
            folder.mkdir(parents=True, exist_ok=True)
            for f in range(frames):
                name = f"{pid:04d}C{cam}T{t:04d}F{f:03d}.jpg"
                img = rng.integers(0, 255, (128, 64, 3), dtype=np.uint8)
                cv2.imwrite(str(folder / name), img)
                names.append(name)
            rows.append([start, len(names), pid, cam])
        (info / f"{split}_name.txt").write_text("\n".join(names) + "\n")
        scipy.io.savemat(str(info / f"tracks_{split}_info.mat"), {key: np.array(rows, dtype=np.float64)})
    scipy.io.savemat(str(info / "query_IDX.mat"), {"query_IDX": np.array([[1, 2]], dtype=np.float64)})


def measure(root: Path, batches: int, workers: int) -> float:
    cfg = DataConfig(root=str(root), p=16, k=4, seq_len=8, height=256, width=128, workers=workers)
    loaders = build_dataloaders(cfg, seed=0)
    it = iter(loaders.train)
    next(it)  # warm-up: worker start
    t0, clips = time.perf_counter(), 0
    for _ in range(batches):
        try:
            x, _, _ = next(it)
        except StopIteration:
            it = iter(loaders.train)
            x, _, _ = next(it)
        clips += x.shape[0]
    return clips / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--root", type=Path, default=None)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.root
        if root is None:
            root = Path(tmp) / "mars"
            t0 = time.perf_counter()
            write_tree(root)
            print(f"wrote 1000-tracklet tree in {time.perf_counter() - t0:.1f}s")
        rate = measure(root, args.batches, args.workers)
    print(f"loader: {rate:.0f} clips/s ({rate * 8:.0f} frames/s), P=16 K=4 L=8 256x128, {args.workers} workers")


if __name__ == "__main__":
    main()
