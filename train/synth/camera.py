"""Cameras with a persistent look: pose over a ground plane, a procedural background, and the
imaging chain (illumination, white balance, blur, noise, resolution, JPEG) that makes one camera's
pictures of a person differ from another's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from streid.train.synth.config import StyleConfig
from streid.train.synth.randomise import clutter_background, illumination, motion_blur

STREET_GROUND = ((120, 122, 125), (95, 100, 104), (140, 135, 128), (90, 110, 95), (105, 115, 130))
STREET_WALLS = ((150, 160, 175), (110, 120, 140), (170, 170, 165), (90, 95, 110), (60, 80, 120), (140, 150, 120))
INDOOR_FLOOR = ((175, 180, 185), (120, 130, 150), (200, 195, 185), (90, 100, 120), (150, 150, 150))
INDOOR_WALLS = ((210, 215, 220), (180, 200, 215), (190, 190, 200), (150, 170, 160), (200, 210, 200))


@dataclass(frozen=True)
class CameraLook:
    """One camera: where it hangs, how it sees, and how its pictures are degraded."""

    index: int
    name: str
    width: int
    height: int
    height_m: float
    tilt_deg: float
    focal: float  # pixels
    background: str  # "street" | "indoor"
    palette_seed: int
    gain: tuple[float, float, float]  # per-channel (B, G, R) white balance x brightness
    light: float  # -1..1, side the light comes from
    noise_std: float
    blur_sigma: float
    jpeg_quality: int
    resolution: float  # < 1: the sensor is coarser than the output (upsampled crops look soft)
    # domain randomisation (style.randomise > 0): all 0 in a plain world
    gradient: float = 0.0  # strength of a linear light gradient across the frame
    gradient_angle: float = 0.0
    vignette: float = 0.0
    motion_blur: float = 0.0  # pixels
    motion_angle: float = 0.0
    clutter: float = 0.0  # posters, windows, patches on the empty view (0..1)

    # -------------------------------------------------------------- geometry

    def project(self, x: float, y: float, z: float) -> tuple[float, float, float]:
        """World (x right, y up, z forward; metres, camera over the origin) -> (u, v, depth)."""
        t = math.radians(self.tilt_deg)
        rel_y = y - self.height_m
        zc = z * math.cos(t) - rel_y * math.sin(t)
        up = rel_y * math.cos(t) + z * math.sin(t)
        zc = max(zc, 1e-3)
        return self.width / 2 + self.focal * x / zc, self.height / 2 - self.focal * up / zc, zc

    def ground_z_at_row(self, v: float) -> float:
        """Forward distance of the ground point seen at image row ``v`` (inverse of project)."""
        t = math.radians(self.tilt_deg)
        a = (self.height / 2 - v) / self.focal  # = up / zc
        # up = -h cos t + z sin t ; zc = z cos t + h sin t  ->  solve up = a * zc for z
        denom = math.sin(t) - a * math.cos(t)
        return (a * self.height_m * math.sin(t) + self.height_m * math.cos(t)) / max(denom, 1e-4)

    def walk_range(self) -> tuple[float, float]:
        """Near and far ground distances where a whole person stays mostly in view."""
        near = self.ground_z_at_row(self.height * 0.97)
        far = self.ground_z_at_row(self.height * 0.45)
        return max(near, 1.0), max(min(far, near * 4.0, 30.0), near + 2.0)

    def half_width_at(self, z: float) -> float:
        """Lateral half-extent (metres) of the view at ground distance ``z``."""
        _, _, zc = self.project(0.0, 0.0, z)
        return (self.width / 2) * zc / self.focal

    # -------------------------------------------------------------- imaging

    def finish(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Apply this camera's illumination, blur, sensor resolution and noise to a rendered image."""
        gains = np.asarray(self.gain, np.float32)
        lut = np.clip(np.arange(256, dtype=np.float32)[:, None] * gains, 0, 255).astype(np.uint8)
        out = cv2.LUT(image, lut.reshape(1, 256, 3))  # white balance x brightness, saturating like a sensor
        if self.gradient > 0 or self.vignette > 0:
            out = illumination(out, self.gradient, self.gradient_angle, self.vignette)
        if self.blur_sigma > 0.3:
            out = cv2.GaussianBlur(out, (0, 0), self.blur_sigma)
        if self.motion_blur >= 2:
            out = motion_blur(out, self.motion_blur, self.motion_angle)
        if self.noise_std > 0:
            noise = (rng.standard_normal(out.shape[:2], dtype=np.float32) * self.noise_std).astype(np.int16)
            out = cv2.add(out, cv2.merge([noise, noise, noise]), dtype=cv2.CV_8U)
        return out


def sample_camera(index: int, rng: np.random.Generator, style: StyleConfig, width: int, height: int) -> CameraLook:
    """Draw one camera's persistent look from ``style``; ``camera_variation`` widens the spreads."""
    var = style.camera_variation

    def spread(lo: float, hi: float) -> float:
        mid = (lo + hi) / 2
        half = (hi - lo) / 2 * var
        return float(np.clip(rng.uniform(mid - half, mid + half), min(lo, mid - half), max(hi, mid + half)))

    background = style.background
    if background == "mixed":
        background = "street" if rng.random() < 0.6 else "indoor"
    brightness = spread(*style.brightness)
    cast = rng.normal(0, style.colour_cast, 3)
    gain = tuple(float(max(0.3, brightness * (1 + c))) for c in cast)
    look = CameraLook(
        index=index,
        name=f"cam{index + 1}",
        width=width,
        height=height,
        height_m=float(rng.uniform(*style.camera_height_m)),
        tilt_deg=float(rng.uniform(*style.camera_tilt_deg)),
        focal=float(width * rng.uniform(0.8, 1.3)),
        background=background,
        palette_seed=int(rng.integers(2**31)),
        gain=gain,  # type: ignore[arg-type]
        light=float(rng.uniform(-1, 1)),
        noise_std=max(0.0, spread(*style.noise_std)),
        blur_sigma=max(0.0, spread(*style.blur_sigma)),
        jpeg_quality=int(np.clip(spread(*style.jpeg_quality), 20, 98)),
        resolution=float(np.clip(1.0 - rng.uniform(0, 0.45) * var, 0.35, 1.0)),
    )
    return randomise_camera(look, rng, style.randomise)


def randomise_camera(look: CameraLook, rng: np.random.Generator, amount: float) -> CameraLook:
    """Wider light, colour and motion for a domain-randomised world; drawn after every plain draw, so a
    plain world (amount 0) is unchanged."""
    if amount <= 0:
        return look
    cast = rng.normal(0, 0.12 * amount, 3)
    return replace(
        look,
        gain=tuple(float(max(0.25, g * (1 + c))) for g, c in zip(look.gain, cast, strict=True)),
        gradient=float(rng.uniform(0, 0.35) * amount),
        gradient_angle=float(rng.uniform(0, 2 * math.pi)),
        vignette=float(rng.uniform(0, 0.6) * amount),
        motion_blur=float(rng.choice([0.0, rng.uniform(2, 7)], p=[1 - 0.35 * amount, 0.35 * amount])),
        motion_angle=float(rng.uniform(0, math.pi)),
        clutter=float(rng.uniform(0.3, 1.0) * amount),
        noise_std=look.noise_std * float(rng.uniform(1.0, 1.0 + amount)),
    )


def _texture(rng: np.random.Generator, h: int, w: int, base: tuple[int, int, int], amount: float) -> np.ndarray:
    """Low-frequency blotches plus fine grain: surfaces are never flat colour."""
    small = rng.normal(0, amount, (max(2, h // 40), max(2, w // 40), 1)).astype(np.float32)
    coarse = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)[..., None]
    fine = rng.normal(0, amount * 0.4, (h, w, 1)).astype(np.float32)
    return np.clip(np.asarray(base, np.float32) + coarse + fine, 0, 255)


def render_background(cam: CameraLook) -> np.ndarray:
    """The empty view of ``cam``: a textured ground plane with perspective tiles, walls, windows, doors."""
    rng = np.random.default_rng(cam.palette_seed)
    h, w = cam.height, cam.width
    indoor = cam.background == "indoor"
    ground_cols, wall_cols = (INDOOR_FLOOR, INDOOR_WALLS) if indoor else (STREET_GROUND, STREET_WALLS)
    ground = ground_cols[int(rng.integers(len(ground_cols)))]
    img = _texture(rng, h, w, ground, 5)
    # the far wall/facade stands at the far end of the walkable area
    far_z = cam.walk_range()[1] + float(rng.uniform(1, 6))
    _, v_base, _ = cam.project(0, 0, far_z)
    v_base = int(np.clip(v_base, h * 0.1, h * 0.6))
    wall = _texture(rng, v_base, w, wall_cols[int(rng.integers(len(wall_cols)))], 12)
    img[:v_base] = wall
    x = 0
    while x < w:  # facade segments / shop fronts / corridor panels
        seg = int(rng.integers(w // 8, w // 3))
        col = np.asarray(wall_cols[int(rng.integers(len(wall_cols)))], np.float32) * float(rng.uniform(0.8, 1.1))
        img[:v_base, x : x + seg] = img[:v_base, x : x + seg] * 0.4 + col * 0.6
        top = int(rng.integers(0, max(1, v_base // 3)))
        if not indoor and top > 0:
            img[:top, x : x + seg] = np.asarray((230, 200, 170), np.float32) * float(rng.uniform(0.8, 1.05))
        win_h = max(3, v_base // 5)
        for wy in range(top + win_h // 2, v_base - win_h, win_h * 2):
            for wx in range(x + 4, x + seg - 8, max(8, seg // 3)):
                shade = (40, 45, 55) if not indoor else (160, 140, 120)
                cv2.rectangle(img, (wx, wy), (wx + max(3, seg // 6), wy + win_h), shade, -1)
        if rng.random() < 0.5:  # a door at ground level
            dw = max(4, seg // 4)
            dx = x + int(rng.integers(0, max(1, seg - dw)))
            cv2.rectangle(img, (dx, int(v_base * 0.55)), (dx + dw, v_base), (50, 60, 70), -1)
        x += seg
    # paving / floor tiles in perspective
    line_col = tuple(float(c) * 0.8 for c in ground)
    step = float(rng.uniform(0.8, 2.0))
    near, _far = cam.walk_range()
    for z in np.arange(max(0.5, near * 0.5), far_z, step):
        _, v, _ = cam.project(0, 0, float(z))
        if v_base < v < h:
            cv2.line(img, (0, int(v)), (w, int(v)), line_col, 1)
    for xw in np.arange(-60, 60, step):
        a = cam.project(float(xw), 0, max(0.5, near * 0.5))
        b = cam.project(float(xw), 0, far_z)
        cv2.line(img, (int(a[0]), int(a[1])), (int(b[0]), int(max(b[1], v_base))), line_col, 1)
    if cam.clutter > 0:
        clutter_background(img, v_base, cam.clutter, np.random.default_rng([cam.palette_seed, 1]))
    return np.clip(img, 0, 255).astype(np.uint8)
