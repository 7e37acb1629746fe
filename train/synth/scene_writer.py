"""Scene videos: one H.264 MP4 per camera, MOTChallenge ground truth per camera, and site.json.

Ground truth lines are ``frame,id,x,y,w,h,conf,class,visibility`` with 1-based frames and the GLOBAL
identity id, so the same person has the same id in every camera.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from streid.train.synth.compose import Truth
from streid.train.synth.parallel import world_map
from streid.train.synth.render import FrameRenderer
from streid.train.synth.site import Site, site_json
from streid.train.synth.world import World

FrameJob = tuple[str, int, int]  # (kind, camera, 0-based frame)


def mot_line(frame: int, truth: Truth) -> str:
    x, y, w, h = truth.box
    return f"{frame},{truth.pid},{x},{y},{w},{h},1,1,{truth.visibility:.4f}\n"


def site_for(world: World, kind: str) -> Site:
    return world.scene_site if kind == "scenes" else world.detection_site


@dataclass(frozen=True)
class RenderFrame:
    """Picklable worker: render one frame of one camera (the renderer is kept per process)."""

    def __call__(self, world: World, job: FrameJob) -> tuple[np.ndarray, list[Truth]]:
        kind, camera, index = job
        return renderer(world, kind, camera).render(index)


def renderer(world: World, kind: str, camera: int) -> FrameRenderer:
    """The FrameRenderer of (kind, camera), built once per World (props and background drawn once)."""
    if (kind, camera) not in world.memo:
        world.memo[(kind, camera)] = FrameRenderer(world, site_for(world, kind), kind, camera)
    return world.memo[(kind, camera)]  # type: ignore[return-value]


def write_scenes(world: World, root: Path, workers: int, progress: Callable[[int], None]) -> dict[str, int]:
    """Render and encode every camera of the scene site into ``root``; returns counts."""
    from streid.media import Mp4Writer

    cfg = world.cfg.scenes
    frames = round(cfg.duration_s * cfg.fps)
    site = world.scene_site
    (root / "gt").mkdir(parents=True, exist_ok=True)
    boxes = 0
    for cam in site.cameras:
        lines = []
        jobs = [("scenes", cam.index, i) for i in range(frames)]
        with Mp4Writer(root / f"{cam.name}.mp4", cam.width, cam.height, cfg.fps, cfg.bitrate_kbps) as writer:
            for i, (image, truths) in enumerate(world_map(world, RenderFrame(), jobs, workers, chunksize=8)):
                writer.write(image)
                lines.extend(mot_line(i + 1, t) for t in sorted(truths, key=lambda t: t.pid))
                progress(1)
        (root / "gt" / f"{cam.name}.txt").write_text("".join(lines), encoding="utf-8")
        boxes += len(lines)
    (root / "site.json").write_text(json.dumps(site_json(site, cfg), indent=2) + "\n", encoding="utf-8")
    return {
        "cameras": len(site.cameras),
        "frames_per_camera": frames,
        "gt_boxes": boxes,
        "identities": len({w.pid for w in site.walks}),
    }
