"""A YOLO person-detection set cut from frames of a separate site populated by train identities.

    images/{train,val}/<cam>_<frame>.jpg   labels/{train,val}/<cam>_<frame>.txt   data.yaml
Labels are ``0 cx cy w h`` (normalised); people hidden below ``min_visibility`` or shorter than
``min_height_px`` are left unlabelled, as an annotator would skip them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from streid.train.synth.parallel import world_map
from streid.train.synth.scene_writer import RenderFrame, site_for
from streid.train.synth.world import World, stream


def plan_frames(world: World) -> list[tuple[str, int, int, str]]:
    """(kind, camera, frame, split) for every detection image, deterministic from the seed."""
    cfg = world.cfg.detection
    rng = stream(world.seed, "detection-plan")
    n_cams = len(site_for(world, "detection").cameras)
    frames = max(1, round(world.cfg.scenes.duration_s * world.cfg.scenes.fps))
    picks = sorted({(k % n_cams, int(rng.integers(frames))) for k in range(cfg.images)})
    n_val = min(len(picks) - 1, max(1, round(len(picks) * cfg.val_share)))
    val = set(rng.choice(len(picks), size=n_val, replace=False).tolist())
    return [("detection", cam, frame, "val" if i in val else "train") for i, (cam, frame) in enumerate(picks)]


def write_detection(world: World, root: Path, workers: int, progress: Callable[[int], None]) -> dict[str, int]:
    cfg = world.cfg.detection
    plan = plan_frames(world)
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
    cams = site_for(world, "detection").cameras
    counts = {"train": 0, "val": 0, "boxes": 0}
    jobs = [(kind, cam, frame) for kind, cam, frame, _ in plan]
    for (_, cam, frame, split), (image, truths) in zip(
        plan, world_map(world, RenderFrame(), jobs, workers, 4), strict=False
    ):
        h, w = image.shape[:2]
        stem = f"{cams[cam].name}_{frame + 1:06d}"
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, cams[cam].jpeg_quality])
        if not ok:
            raise RuntimeError(f"JPEG encoding failed for {stem}")
        (root / "images" / split / f"{stem}.jpg").write_bytes(data.tobytes())
        lines = []
        for t in sorted(truths, key=lambda t: t.pid):
            x, y, bw, bh = t.box
            if t.visibility < cfg.min_visibility or bh < cfg.min_height_px:
                continue
            cx, cy = np.clip([(x + bw / 2) / w, (y + bh / 2) / h], 0, 1)
            lines.append(f"0 {cx:.6f} {cy:.6f} {bw / w:.6f} {bh / h:.6f}\n")
        (root / "labels" / split / f"{stem}.txt").write_text("".join(lines), encoding="utf-8")
        counts[split] += 1
        counts["boxes"] += len(lines)
        progress(1)
    return counts


def data_yaml(final_root: Path) -> str:
    """ultralytics' dataset file; ``path`` is absolute because ultralytics resolves relative ones elsewhere."""
    return f"path: {final_root.resolve()}\ntrain: images/train\nval: images/val\nnames:\n  0: person\n"
