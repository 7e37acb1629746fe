"""PNG of ranked retrievals: each row is a query's middle frame then its top-k gallery tracklets,
bordered green (same identity) or red (wrong), because that is what people look at first."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from streid.train.data.records import TrackletRecord

GREEN, RED, GREY = (0, 170, 0), (0, 0, 220), (128, 128, 128)


def _tile(rec: TrackletRecord, colour: tuple[int, int, int], h: int, w: int, border: int = 4) -> np.ndarray:
    img = cv2.imread(rec.frames[len(rec.frames) // 2], cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"{rec.frames[len(rec.frames) // 2]}: cannot read image")
    img = cv2.resize(img, (w, h))
    return cv2.copyMakeBorder(img, border, border, border, border, cv2.BORDER_CONSTANT, value=colour)


def save_ranked(
    path: str | Path,
    distmat: np.ndarray,
    query: Sequence[TrackletRecord],
    gallery: Sequence[TrackletRecord],
    queries: Sequence[int] = (0, 1, 2, 3),
    top_k: int = 8,
    size: tuple[int, int] = (128, 64),
) -> Path:
    """Write the grid for the given query indices (same-pid-same-cam and junk entries skipped, as in scoring)."""
    h, w = size
    rows = []
    for qi in [q for q in queries if q < len(query)]:
        q = query[qi]
        order = np.argsort(distmat[qi], kind="stable")
        shown = [g for g in (gallery[j] for j in order) if g.pid != -1 and not (g.pid == q.pid and g.camid == q.camid)]
        tiles = [_tile(q, GREY, h, w), np.full((h + 8, 12, 3), 255, np.uint8)]
        tiles += [_tile(g, GREEN if g.pid == q.pid else RED, h, w) for g in shown[:top_k]]
        row = np.concatenate(tiles, axis=1)
        width = (w + 8) + 12 + top_k * (w + 8)  # query tile, gap, top_k tiles: rows align when fewer exist
        rows.append(np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0)), constant_values=255))
    if not rows:
        raise ValueError("no queries to draw")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".part.png")
    cv2.imwrite(str(tmp), np.concatenate(rows, axis=0))
    os.replace(tmp, path)
    return path
