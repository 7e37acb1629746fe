"""PNG of ranked retrievals: each row is a query's middle frame then its top-k gallery tracklets,
bordered green (same identity) or red (wrong), because that is what people look at first; under each
picture its rank, distance, identity and camera, so a row can be read without the data set at hand."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from streid.train.data.records import TrackletRecord

GREEN, RED, GREY = (0, 170, 0), (0, 0, 220), (128, 128, 128)
FONT, FONT_SCALE, LINE_H, GAP = cv2.FONT_HERSHEY_SIMPLEX, 0.4, 14, 12  # caption font; query-to-results gap (px)


def _tile(rec: TrackletRecord, colour: tuple[int, int, int], h: int, w: int, border: int = 4) -> np.ndarray:
    img = cv2.imread(rec.frames[len(rec.frames) // 2], cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"{rec.frames[len(rec.frames) // 2]}: cannot read image")
    img = cv2.resize(img, (w, h))
    return cv2.copyMakeBorder(img, border, border, border, border, cv2.BORDER_CONSTANT, value=colour)


def captions(query: TrackletRecord, shown: Sequence[tuple[TrackletRecord, float]]) -> list[tuple[str, str]]:
    """Two lines per picture: the query's, then each result's rank and distance, with identity and camera."""
    out = [("query", f"id {query.pid} C{query.camid}")]
    return out + [(f"#{rank} d {dist:.2f}".replace("-0.00", "0.00"), f"id {g.pid} C{g.camid}")
                  for rank, (g, dist) in enumerate(shown, 1)]


def text_width(line: str) -> int:
    return cv2.getTextSize(line, FONT, FONT_SCALE, 1)[0][0]


def _captioned(tile: np.ndarray, lines: tuple[str, str], width: int) -> np.ndarray:
    """``tile`` centred in a white column ``width`` wide with ``lines`` under it."""
    h, w = tile.shape[:2]
    column = np.full((h + 2 * LINE_H + 4, width, 3), 255, np.uint8)
    column[:h, (width - w) // 2:(width - w) // 2 + w] = tile
    for i, line in enumerate(lines):
        x = (width - text_width(line)) // 2
        cv2.putText(column, line, (x, h + (i + 1) * LINE_H), FONT, FONT_SCALE, (0, 0, 0), 1, cv2.LINE_AA)
    return column


def save_ranked(
    path: str | Path,
    distmat: np.ndarray,
    query: Sequence[TrackletRecord],
    gallery: Sequence[TrackletRecord],
    queries: Sequence[int] = (0, 1, 2, 3),
    top_k: int = 8,
    size: tuple[int, int] = (128, 64),
) -> Path:
    """Write the grid for the given query indices (same-pid-same-cam and junk entries skipped, as in scoring).

    The picture is as wide as its longest row: a gallery with fewer than ``top_k`` candidates leaves no empty band.
    """
    h, w = size
    picked = []
    for qi in [q for q in queries if q < len(query)]:
        q = query[qi]
        order = np.argsort(distmat[qi], kind="stable")
        shown = [(gallery[j], float(distmat[qi, j])) for j in order
                 if gallery[j].pid != -1 and not (gallery[j].pid == q.pid and gallery[j].camid == q.camid)][:top_k]
        picked.append((q, shown, captions(q, shown)))
    # one column width for the grid: a tile or the widest caption line, so columns align and no caption is cut
    width = max([w + 8] + [text_width(t) + 4 for *_, lines in picked for pair in lines for t in pair])
    rows = []
    for q, shown, lines in picked:
        tiles = [_tile(q, GREY, h, w)] + [_tile(g, GREEN if g.pid == q.pid else RED, h, w) for g, _ in shown]
        cols = [_captioned(tile, pair, width) for tile, pair in zip(tiles, lines, strict=True)]
        rows.append(np.concatenate([cols[0], np.full((cols[0].shape[0], GAP, 3), 255, np.uint8), *cols[1:]], axis=1))
    if not rows:
        raise ValueError("no queries to draw")
    widest = max(r.shape[1] for r in rows)
    grid = np.concatenate([np.pad(r, ((0, 0), (0, widest - r.shape[1]), (0, 0)), constant_values=255) for r in rows])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".part.png")
    cv2.imwrite(str(tmp), grid)
    os.replace(tmp, path)
    return path
