"""A tiny synthetic camera scene: coloured person-sized boxes walking over a textured background.

Writes an MP4 (through :class:`streid.media.Mp4Writer`) and its MOTChallenge ``gt.txt``, so tests,
benchmarks and demos can run real pipelines without a camera, a data set or a detector.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from streid.media import Mp4Writer


@dataclass
class SceneFiles:
    video: Path
    gt: Path
    frames: int


def render_scene(video: str | Path, gt: str | Path, *, frames: int = 60, width: int = 320, height: int = 180,
                 people: int = 3, fps: float = 25.0, seed: int = 0) -> SceneFiles:
    """Render ``frames`` frames of ``people`` boxes bouncing inside the frame; gt ids start at 1."""
    rng = np.random.default_rng(seed)
    background = (rng.integers(60, 110, (height // 8, width // 8, 3), dtype=np.uint8)
                  .repeat(8, 0).repeat(8, 1))
    background = np.pad(background, ((0, height - background.shape[0]), (0, width - background.shape[1]), (0, 0)),
                        mode="edge")
    bh = rng.uniform(0.35, 0.55, people) * height
    bw = bh * rng.uniform(0.35, 0.45, people)
    x = rng.uniform(4, width - bw - 4)
    y = rng.uniform(4, height - bh - 4)
    vx = rng.uniform(1.0, 3.0, people) * rng.choice([-1, 1], people)
    vy = rng.uniform(0.2, 1.0, people) * rng.choice([-1, 1], people)
    colours = rng.integers(0, 256, (people, 2, 3))
    rows: list[str] = []
    Path(gt).parent.mkdir(parents=True, exist_ok=True)
    with Mp4Writer(video, width, height, fps) as writer:
        for f in range(frames):
            image = background.copy()
            for p in range(people):
                x0, y0 = round(float(x[p])), round(float(y[p]))
                x1, y1 = round(float(x[p] + bw[p])), round(float(y[p] + bh[p]))
                mid = (y0 + y1) // 2
                image[y0:mid, x0:x1] = colours[p, 0]  # "shirt" and "trousers": two colours per identity
                image[mid:y1, x0:x1] = colours[p, 1]
                rows.append(f"{f + 1},{p + 1},{x0},{y0},{x1 - x0},{y1 - y0},1,1,1")
            writer.write(image)
            x += vx
            y += vy
            bounce_x = (x < 3) | (x + bw > width - 3)
            bounce_y = (y < 3) | (y + bh > height - 3)
            vx[bounce_x] *= -1
            vy[bounce_y] *= -1
            x = np.clip(x, 3, width - bw - 3)
            y = np.clip(y, 3, height - bh - 3)
    Path(gt).write_text("\n".join(rows) + "\n")
    return SceneFiles(Path(video), Path(gt), frames)
