"""Temporal sampling (which frames form a clip) and clip-consistent image transforms.

Sampling functions return frame indices only, so they are testable without images. Augmentation
draws its parameters once per clip and applies them to every frame, because a clip whose frames
are flipped differently is not a plausible video.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import torch

from streid.train.data.config import LOW_RES_HEIGHT

# ImageNet statistics, RGB order; the one place they are defined.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def sample_chunks(n: int, seq_len: int, rng: np.random.Generator) -> list[int]:
    """Split ``n`` frames into ``seq_len`` chunks and take one random frame per chunk (repeat when short)."""
    edges = np.linspace(0, n, seq_len + 1)
    out = []
    for a, b in itertools.pairwise(edges):
        lo, hi = int(a), max(int(a) + 1, int(b))
        out.append(min(int(rng.integers(lo, hi)), n - 1))
    return out


def sample_window(n: int, seq_len: int, window: int, rng: np.random.Generator) -> list[int]:
    """``seq_len`` frames at a fixed stride from a random window of ``window`` consecutive frames."""
    w = min(window, n)
    start = int(rng.integers(0, n - w + 1))
    stride = max(1, w // seq_len)
    return [min(start + i * stride, n - 1) for i in range(seq_len)]


def sample_evenly(n: int, seq_len: int) -> list[int]:
    """``seq_len`` evenly spaced frames (deterministic, for testing)."""
    return [int(i) for i in np.linspace(0, n - 1, seq_len).round()]


def dense_clips(n: int, seq_len: int) -> list[list[int]]:
    """Every consecutive clip of the tracklet; the last one is padded by repeating the final frame."""
    return [[min(s + i, n - 1) for i in range(seq_len)] for s in range(0, n, seq_len)]


def load_frame(path: str, height: int, width: int) -> np.ndarray:
    """Decode and resize one frame to RGB uint8 (H, W, 3)."""
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"{path}: cannot read image")
    if img.shape[:2] != (height, width):
        img = cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def shrink(clip: np.ndarray, height: int) -> np.ndarray:
    """``clip`` as a camera that saw the person ``height`` pixels tall gives it, resized back to its size.

    Crops of far people reach the embedder as a few dozen pixels scaled up; training on full-size crops only leaves
    the model blind to that loss of detail. Area-averaged down like a sensor, bilinear up like the pipeline's crops.
    """
    _, h, w, _ = clip.shape
    if height >= h:
        return clip
    small = (max(2, round(w * height / h)), max(2, height))
    return np.stack([cv2.resize(cv2.resize(f, small, interpolation=cv2.INTER_AREA), (w, h),
                                interpolation=cv2.INTER_LINEAR) for f in clip])


class ClipAugment:
    """Flip, pad-and-crop, low resolution and random erasing with one parameter draw per clip."""

    def __init__(self, flip: bool, crop_pad: int, erasing: float, low_res: float = 0.0,
                 low_res_height: tuple[int, int] = LOW_RES_HEIGHT) -> None:
        self.flip, self.crop_pad, self.erasing = flip, crop_pad, erasing
        self.low_res, self.low_res_height = low_res, low_res_height

    def __call__(self, clip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``clip`` is (L, H, W, 3) uint8; returns an augmented array of the same shape."""
        _, h, w, _ = clip.shape
        if self.low_res > 0 and rng.random() < self.low_res:
            lo, hi = self.low_res_height
            clip = shrink(clip, round(float(np.exp(rng.uniform(np.log(lo), np.log(hi))))))
        if self.flip and rng.random() < 0.5:
            clip = clip[:, :, ::-1]
        if self.crop_pad > 0:
            p = self.crop_pad
            padded = np.pad(clip, ((0, 0), (p, p), (p, p), (0, 0)))
            y, x = int(rng.integers(0, 2 * p + 1)), int(rng.integers(0, 2 * p + 1))
            clip = padded[:, y : y + h, x : x + w]
        if self.erasing > 0 and rng.random() < self.erasing:
            area = rng.uniform(0.02, 0.4) * h * w
            ratio = np.exp(rng.uniform(np.log(0.3), np.log(3.3)))
            eh, ew = min(h, round(np.sqrt(area * ratio))), min(w, round(np.sqrt(area / ratio)))
            y, x = int(rng.integers(0, h - eh + 1)), int(rng.integers(0, w - ew + 1))
            clip = clip.copy()
            clip[:, y : y + eh, x : x + ew] = (np.array(MEAN) * 255).astype(np.uint8)
        return np.ascontiguousarray(clip)


def to_tensor(clip: np.ndarray) -> torch.Tensor:
    """(L, H, W, 3) uint8 RGB -> (L, 3, H, W) float normalised with ``MEAN``/``STD``."""
    t = torch.from_numpy(np.ascontiguousarray(clip)).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (t - mean) / std
