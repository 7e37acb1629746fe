"""Real clips for parity checks and INT8 calibration: rendered by the synthetic world, or read from disk.

Both give uint8 BGR arrays (N, L, H, W, 3), the artifacts' input, so the same clips feed PyTorch (through
the training stage's preprocessing) and the exported graph (preprocessing inside).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def synthetic_clips(
    n: int, seq_len: int, height: int, width: int, seed: int = 0, identities: int = 32
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` clips of walking people from the synthetic world's test identities, with (pids, cameras).

    Clips go round-robin over identities and cameras, so a few clips already span several people.
    """
    from streid.train.synth.config import ReidConfig, SynthConfig
    from streid.train.synth.render import render_tracklet
    from streid.train.synth.world import World

    cfg = SynthConfig()
    cfg.population = cfg.population.model_copy(update={"identities": max(4, identities)})
    cfg.reid = ReidConfig(height=height, width=width)
    world = World(cfg, seed)
    test_pids = world.split[1]
    cameras = len(world.cameras("reid"))
    clips, pids, cams = [], [], []
    for i in range(n):
        pid = test_pids[i % len(test_pids)]
        cam = (i // len(test_pids)) % cameras
        tracklet = 1 + i // (len(test_pids) * cameras)
        frames = render_tracklet(world, pid, cam, tracklet, seq_len)
        clips.append(np.stack(frames))
        pids.append(pid)
        cams.append(cam)
    return np.ascontiguousarray(np.stack(clips), dtype=np.uint8), np.array(pids), np.array(cams)


def tracklet_dirs(root: Path) -> list[Path]:
    """Folders under ``root`` (itself included) that hold images: one tracklet each (MARS layout or flat)."""
    folders = sorted({p.parent for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES})
    return folders


def clips_from_dir(root: str | Path, seq_len: int, height: int, width: int, limit: int = 64) -> np.ndarray:
    """Up to ``limit`` clips read off image folders: per folder, ``seq_len`` evenly spaced frames, resized.

    Raises ``FileNotFoundError`` / ``ValueError`` naming the folder when nothing usable is there.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: calibration folder not found")
    clips = []
    for folder in tracklet_dirs(root):
        images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        frames = []
        for index in np.linspace(0, len(images) - 1, seq_len).round().astype(int):
            image = cv2.imread(str(images[index]), cv2.IMREAD_COLOR)
            if image is None:
                raise ValueError(f"{images[index]}: cannot read image")
            if image.shape[:2] != (height, width):
                image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
            frames.append(image)
        clips.append(np.stack(frames))
        if len(clips) >= limit:
            break
    if not clips:
        raise ValueError(f"{root}: no images ({', '.join(IMAGE_SUFFIXES)}) to calibrate on")
    return np.stack(clips).astype(np.uint8)
