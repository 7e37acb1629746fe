"""What people look at to judge the world: a contact sheet (identities x cameras) and an annotated clip."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from streid.train.synth.render import render_tracklet
from streid.train.synth.scene_writer import renderer
from streid.train.synth.world import World

CELL = (96, 192)  # (w, h) of one contact-sheet cell
MARGIN = 56


def id_colour(pid: int) -> tuple[int, int, int]:
    """A stable, distinct box colour per identity."""
    hue = (pid * 47) % 180
    bgr = cv2.cvtColor(np.uint8([[[hue, 220, 255]]]), cv2.COLOR_HSV2BGR)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


def contact_sheet(world: World, progress: Callable[[int], None]) -> np.ndarray:
    """Rows: the first test identities; columns: every re-id camera (one crop from a fresh tracklet)."""
    pids = world.split[1][: world.cfg.preview.identities]
    n_cams = len(world.cameras("reid"))
    cw, ch = CELL
    sheet = np.full((MARGIN // 2 + len(pids) * (ch + 4), MARGIN + n_cams * (cw + 4), 3), 245, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    for c in range(n_cams):
        cv2.putText(sheet, f"cam{c + 1}", (MARGIN + c * (cw + 4) + 24, 20), font, 0.5, (20, 20, 20), 1, cv2.LINE_AA)
    for r, pid in enumerate(pids):
        y = MARGIN // 2 + r * (ch + 4)
        cv2.putText(sheet, f"{pid:04d}", (4, y + ch // 2), font, 0.45, (20, 20, 20), 1, cv2.LINE_AA)
        twin = world.people[pid].hard_negative_of
        if twin is not None:
            cv2.putText(sheet, f"~{twin:04d}", (4, y + ch // 2 + 18), font, 0.35, (0, 0, 160), 1, cv2.LINE_AA)
        for c in range(n_cams):
            crop = render_tracklet(world, pid, c, 9000 + c, 3)[1]
            x = MARGIN + c * (cw + 4)
            sheet[y : y + ch, x : x + cw] = cv2.resize(crop, CELL, interpolation=cv2.INTER_AREA)
        progress(1)
    return sheet


def annotate(image: np.ndarray, truths: list) -> np.ndarray:
    out = image.copy()
    for t in truths:
        x, y, w, h = t.box
        colour = id_colour(t.pid)
        cv2.rectangle(out, (x, y), (x + w - 1, y + h - 1), colour, 1)
        cv2.putText(
            out,
            f"{t.pid} {t.visibility:.0%}",
            (x, max(10, y - 3)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.35,
            colour,
            1,
            cv2.LINE_AA,
        )
    return out


def write_preview(world: World, root: Path, workers: int, progress: Callable[[int], None]) -> dict[str, int]:
    """``contact_sheet.png`` and ``clip.mp4`` (first camera of the scene site, boxes with global ids)."""
    from streid.media import Mp4Writer

    root.mkdir(parents=True, exist_ok=True)
    sheet = contact_sheet(world, progress)
    if not cv2.imwrite(str(root / "contact_sheet.png"), sheet):
        raise RuntimeError(f"cannot write {root / 'contact_sheet.png'}")
    cfg = world.cfg.scenes
    frames = max(1, min(round(world.cfg.preview.clip_s * cfg.fps), round(cfg.duration_s * cfg.fps)))
    scene = renderer(world, "scenes", 0)
    total = round(cfg.duration_s * cfg.fps)
    first = min((w.t_start for w in scene.walks), default=0.0)  # start when the first person walks in
    start = max(0, min(round(first * cfg.fps), total - frames))
    with Mp4Writer(root / "clip.mp4", scene.cam.width, scene.cam.height, cfg.fps, cfg.bitrate_kbps) as writer:
        for i in range(start, start + frames):
            image, truths = scene.render(i)
            writer.write(annotate(image, truths))
            progress(1)
    return {"sheet_rows": min(len(world.split[1]), world.cfg.preview.identities), "clip_frames": frames}
