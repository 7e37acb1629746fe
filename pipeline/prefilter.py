"""The detector's prefilter: a Gaussian low-pass of the frames of noisy cameras before detection.

Downscaling a 640x360 frame to a 320 detector input averages only 2x2 pixels, so the sensor noise and compression
blocks of a grainy camera reach the network as texture: it misses people and boxes noise. Low-passing such frames
first helps them, but on clean cameras it only blurs, and it moved the multi-camera results of clean validation sites
both ways. So the filter can be kept to the cameras that need it: each camera's noise is measured as the detector
would see it (:func:`noise_level`, sampled every few frames, running median) and the filter applies while it is at
least ``min_noise`` grey levels (0 = every camera).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MAX_PREFILTER = 4.0  # detector-input pixels: beyond this a person is a blur
NOISE_EVERY = 7  # frames of one camera between two noise samples (prime: not in step with a codec's keyframes)
NOISE_WINDOW = 15  # samples in a camera's running median (about 100 frames)
NOISE_FIRST = 3  # samples before a camera is first filtered: a stream opens on a keyframe, noisier than the rest
# Immerkaer (1996): this kernel cancels any locally linear image and leaves noise of std sigma at 6 sigma
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def check_prefilter(sigma: Any) -> float:
    """``sigma`` as a float in [0, MAX_PREFILTER], or ValueError."""
    value = float(sigma)
    if not 0.0 <= value <= MAX_PREFILTER:
        raise ValueError(f"prefilter sigma must be in [0, {MAX_PREFILTER}], got {sigma!r}")
    return value


def check_min_noise(level: Any) -> float:
    """``level`` as a float in [0, 64] grey levels, or ValueError."""
    value = float(level)
    if not 0.0 <= value <= 64.0:
        raise ValueError(f"prefilter min_noise must be in [0, 64] grey levels, got {level!r}")
    return value


@dataclass(frozen=True)
class Prefilter:
    """A low-pass of ``sigma`` detector-input pixels for the cameras whose noise is at least ``min_noise``."""

    sigma: float
    min_noise: float = 0.0
    source: str = "config"

    def describe(self) -> str:
        cameras = f"cameras with noise >= {self.min_noise:g} grey levels" if self.min_noise else "every camera"
        return f"sigma {self.sigma:g} input pixels on {cameras} ({self.source})"


def resolve_prefilter(calibration: dict[str, Any] | None, sigma: float | None,
                      min_noise: float | None) -> Prefilter | None:
    """The prefilter in force (None = off): the config's values over the detector artifact's.

    ``sigma`` None = the artifact's (``prefilter.sigma`` in its calibration, chosen on validation sites), else off;
    0 = off. ``min_noise`` None = the artifact's when the sigma is too, else 0 (a sigma set in the config filters
    every camera unless ``min_noise`` is set as well).
    """
    own = (calibration or {}).get("prefilter") or {}
    if not isinstance(own, dict):
        raise ValueError(f"prefilter must be a mapping with a sigma, got {own!r}")
    value = check_prefilter(own.get("sigma", 0.0) if sigma is None else sigma)
    if not value:
        if min_noise and sigma is None:  # a gate with nothing to gate: say so instead of ignoring the key
            log.warning("pipeline.detector.prefilter_min_noise %g has no effect: the detector carries no prefilter "
                        "(set pipeline.detector.prefilter to a sigma, e.g. 0.7)", min_noise)
        return None
    source = "detector calibration" if sigma is None and min_noise is None else "config"
    if min_noise is None:
        min_noise = own.get("min_noise", 0.0) if sigma is None else 0.0
    return Prefilter(value, check_min_noise(min_noise), source)


def noise_level(image: np.ndarray, imgsz: int) -> float:
    """The noise of a frame as a detector of input ``imgsz`` sees it: std in grey levels after the resize.

    Immerkaer's estimator with the median instead of the mean of the filter response, so edges and texture
    (a minority of pixels) do not count as noise.
    """
    import cv2

    grey = (cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image).astype(np.float32)
    height, width = grey.shape[:2]
    scale = imgsz / max(height, width)
    if scale < 1:  # in float: rounding to 8 bits would add its own noise and quantise the estimate
        grey = cv2.resize(grey, (max(3, round(width * scale)), max(3, round(height * scale))),
                          interpolation=cv2.INTER_AREA)
    response = cv2.filter2D(grey, -1, _NOISE_KERNEL)[1:-1, 1:-1]
    return float(np.median(np.abs(response))) / (6 * 0.6745)  # median |N(0, s)| = 0.6745 s


class NoiseGate:
    """Which cameras get the prefilter now: each camera's running median of :func:`noise_level` samples."""

    def __init__(self, prefilter: Prefilter) -> None:
        self.prefilter = prefilter
        self._samples: dict[str, deque[float]] = {}
        self._seen: dict[str, int] = {}
        self._on: dict[str, bool] = {}

    def sigma(self, camera: str, image: np.ndarray, imgsz: int) -> float:
        """The low-pass sigma for this frame of ``camera`` (0 = as it is)."""
        p = self.prefilter
        if not p.min_noise:
            return p.sigma
        seen = self._seen.get(camera, 0)
        self._seen[camera] = seen + 1
        if seen % NOISE_EVERY == 0:
            samples = self._samples.setdefault(camera, deque(maxlen=NOISE_WINDOW))
            samples.append(noise_level(image, imgsz))
            level = float(np.median(samples))
            # a frame no larger than the input is not low-passed at all (:func:`smooth`): not reported as filtered
            on = level >= p.min_noise and len(samples) >= NOISE_FIRST and max(image.shape[:2]) > imgsz
            if self._on.get(camera) != on:
                log.info("detector prefilter %s on camera %s: noise %.1f grey levels (min_noise %g)",
                         "on" if on else "off", camera, level, p.min_noise)
            self._on[camera] = on
        return p.sigma if self._on[camera] else 0.0

    def state(self) -> dict[str, dict[str, Any]]:
        """Camera -> whether its frames are filtered now (``on``) and its running noise level (``noise``)."""
        return {c: {"on": on, "noise": round(float(np.median(self._samples[c])), 2)} for c, on in self._on.items()}


def smooth(image: np.ndarray, imgsz: int, sigma: float) -> tuple[np.ndarray, tuple[float, float]]:
    """The frame low-passed for a detector input of ``imgsz``, and the (x, y) factors from its pixels to the frame's.

    A Gaussian of ``sigma`` input pixels (``sigma`` x the downscale factor in frame pixels), so sensor noise and
    compression blocks finer than the input grid are averaged away instead of aliased into it. A frame more than
    twice the input size is first halved (Gaussian pyramid) until it is not, so a 1080p frame stays cheap; the
    factors then map boxes back (an odd side halves to (n + 1) / 2). 0 = the frame as it is."""
    scale = max(image.shape[:2]) / imgsz
    if sigma <= 0 or scale <= 1:
        return image, (1.0, 1.0)
    import cv2

    height, width = image.shape[:2]
    while scale > 2:
        image = cv2.pyrDown(image)
        scale = max(image.shape[:2]) / imgsz
    return cv2.GaussianBlur(image, (0, 0), sigma * scale), (width / image.shape[1], height / image.shape[0])
