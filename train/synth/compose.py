"""Paint sprites far-to-near and keep, for each person, exactly which of its pixels stay visible.

Ground truth comes from here: a person's box is the bounding box of its own mask inside the image
and its visibility is the share of that mask not covered by nearer sprites or cut by the border.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streid.train.synth.body import Figure

MASK_LEVEL = 128  # alpha at or above this counts as the person's pixel


@dataclass
class Sprite:
    """A figure placed in an image: its canvas' top-left corner, depth (larger = farther) and owner."""

    figure: Figure
    left: int
    top: int
    depth: float
    pid: int | None = None  # None for props; people carry their global identity id

    @classmethod
    def at_foot(cls, figure: Figure, u: float, v: float, depth: float, pid: int | None = None) -> Sprite:
        return cls(figure, round(u - figure.foot_x), round(v - figure.foot_y), depth, pid)


@dataclass(frozen=True)
class Truth:
    """Ground truth of one person in one image: box (x, y, w, h) in pixels, and visibility 0..1."""

    pid: int
    box: tuple[int, int, int, int]
    visibility: float
    depth: float


def _clip(sprite: Sprite, h: int, w: int) -> tuple[slice, slice, slice, slice] | None:
    fh, fw = sprite.figure.bgra.shape[:2]
    y0, x0 = max(0, sprite.top), max(0, sprite.left)
    y1, x1 = min(h, sprite.top + fh), min(w, sprite.left + fw)
    if y0 >= y1 or x0 >= x1:
        return None
    return (
        slice(y0, y1),
        slice(x0, x1),
        slice(y0 - sprite.top, y1 - sprite.top),
        slice(x0 - sprite.left, x1 - sprite.left),
    )


def composite(image: np.ndarray, sprites: list[Sprite]) -> list[Truth]:
    """Alpha-blend ``sprites`` into ``image`` (in place), farthest first; return truth for people in view."""
    h, w = image.shape[:2]
    order = sorted(sprites, key=lambda s: -s.depth)
    visible: list[tuple[Sprite, tuple[slice, slice], np.ndarray]] = []
    for sprite in order:
        clip = _clip(sprite, h, w)
        if clip is None:
            continue
        iy, ix, fy, fx = clip
        rgba = sprite.figure.bgra[fy, fx]
        alpha = rgba[..., 3:4].astype(np.float32) * (1.0 / 255.0)
        roi = image[iy, ix]
        roi[:] = (roi * (1.0 - alpha) + rgba[..., :3] * alpha + 0.5).astype(np.uint8)
        for _other, (oy, ox), vis in visible:  # nearer paint hides what is under it
            y0, y1 = max(oy.start, iy.start), min(oy.stop, iy.stop)
            x0, x1 = max(ox.start, ix.start), min(ox.stop, ix.stop)
            if y0 < y1 and x0 < x1:
                cover = alpha[y0 - iy.start : y1 - iy.start, x0 - ix.start : x1 - ix.start, 0]
                vis[y0 - oy.start : y1 - oy.start, x0 - ox.start : x1 - ox.start] *= 1.0 - cover
        if sprite.pid is not None:
            visible.append((sprite, (iy, ix), alpha[..., 0].copy()))
    truths = []
    for sprite, (iy, ix), vis in visible:
        own = sprite.figure.bgra[..., 3] >= MASK_LEVEL
        total = int(own.sum())
        inside = own[iy.start - sprite.top : iy.stop - sprite.top, ix.start - sprite.left : ix.stop - sprite.left]
        if total == 0 or not inside.any():
            continue
        ys, xs = np.nonzero(inside)
        box = (
            int(ix.start + xs.min()),
            int(iy.start + ys.min()),
            int(xs.max() - xs.min() + 1),
            int(ys.max() - ys.min() + 1),
        )
        seen = int(((vis >= MASK_LEVEL / 255.0) & inside).sum())
        truths.append(Truth(int(sprite.pid), box, seen / total, sprite.depth))  # type: ignore[arg-type]
    return truths
