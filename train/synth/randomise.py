"""Domain randomisation: the variety that makes models trained on this world work on worlds they never saw.

One knob, ``synth.style.randomise`` (0..1), scales every effect here. At 0 nothing in this module runs and a
world renders exactly as before; above 0 each effect draws from its own random stream (derived from the
seed and the item), so switching randomisation on never changes the draws of the rest of the world.

What it varies (Tobin et al. 2017; Tremblay et al. 2018 for detection):
- people: garment textures and prints on tops and bottoms, body height and build, carried objects;
- scenes: clutter on walls and floors (posters, windows, signs, random textured patches), people-shaped
  distractors that are never labelled (mannequins, figures printed on posters), soft cast shadows;
- imaging: illumination gradients and vignetting, stronger colour casts, motion blur, sensor noise.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import replace

import cv2
import numpy as np

from streid.train.synth.appearance import Appearance, garment_colour
from streid.train.synth.body import Figure

GARMENT_TEXTURES = ("plain", "stripes", "checks", "print", "dots", "vstripes", "two_tone", "camo", "logo")
LOWER_TEXTURES = ("plain", "plain", "plain", "stripes", "camo", "two_tone")
DR_PROPS = ("mannequin", "poster_board", "hydrant", "signpost", "column")


def _hsv(rng: np.random.Generator, s: tuple[float, float] = (0.0, 1.0), v: tuple[float, float] = (0.1, 1.0)) -> tuple:
    r, g, b = colorsys.hsv_to_rgb(float(rng.random()), float(rng.uniform(*s)), float(rng.uniform(*v)))
    return int(b * 255), int(g * 255), int(r * 255)


def randomise_appearance(app: Appearance, rng: np.random.Generator, amount: float, muted_share: float) -> Appearance:
    """A wider spread of looks for one identity: textures, body proportions, hats and bags.

    Called once per identity with that identity's own stream, so every camera and frame shows the same person.
    """
    if amount <= 0:
        return app
    pick = lambda seq: seq[int(rng.integers(len(seq)))]  # noqa: E731
    texture = pick(GARMENT_TEXTURES) if rng.random() < 0.6 * amount else app.upper_pattern
    lower_texture = pick(LOWER_TEXTURES) if rng.random() < 0.5 * amount else "plain"
    height = float(np.clip(app.height + rng.normal(0, 0.06 * amount), 0.78, 1.22))
    build = float(np.clip(app.build * rng.uniform(1 - 0.15 * amount, 1 + 0.2 * amount), 0.75, 1.45))
    hat = app.hat
    if hat is None and rng.random() < 0.15 * amount:
        hat = garment_colour(rng, muted_share)
    return replace(
        app,
        upper_pattern=texture,
        pattern_colour=_hsv(rng) if rng.random() < 0.5 else app.pattern_colour,
        lower_pattern=lower_texture,
        lower_pattern_colour=garment_colour(rng, 0.5),
        texture_seed=int(rng.integers(2**31)),
        height=height,
        build=build,
        hat=hat,
    )


# ------------------------------------------------------------------ distractors and clutter


def mannequin_figure(colour: tuple[int, int, int], px_per_m: float, pose: float) -> Figure:
    """A person-shaped object that is not a person: one flat colour, no face, no gait (never labelled)."""
    h = max(6, round(1.75 * px_per_m))
    w = max(4, round(0.6 * px_per_m))
    img = np.zeros((h + 2, w + 2, 4), np.uint8)
    c = (*colour, 255)
    cx = w / 2
    head_r = max(1, int(h * 0.065))
    cv2.circle(img, (int(cx), head_r + 1), head_r, c, -1)
    cv2.rectangle(img, (int(cx - w * 0.28), int(h * 0.15)), (int(cx + w * 0.28), int(h * 0.52)), c, -1)
    for side in (-1, 1):
        x = int(cx + side * w * 0.12)
        cv2.line(img, (x, int(h * 0.5)), (int(x + side * pose * w * 0.1), h - 1), c, max(1, int(w * 0.16)))
        sx = int(cx + side * w * 0.33)
        cv2.line(img, (sx, int(h * 0.18)), (int(sx + side * w * 0.08), int(h * 0.5)), c, max(1, int(w * 0.1)))
    return Figure(img, w / 2.0, float(h))


def draw_dr_prop(kind: str, colour: tuple[int, int, int], px_per_m: float, rng: np.random.Generator) -> Figure:
    """Street furniture of the randomised world, as a BGRA sprite standing on the ground."""
    if kind == "mannequin":
        return mannequin_figure(colour, px_per_m, float(rng.uniform(-1, 1)))
    size = {"poster_board": (1.0, 2.0), "hydrant": (0.35, 0.8), "signpost": (0.5, 2.6), "column": (0.5, 3.2)}[kind]
    w, h = max(2, round(size[0] * px_per_m)), max(2, round(size[1] * px_per_m))
    img = np.zeros((h + 2, w + 2, 4), np.uint8)
    c = (*colour, 255)
    if kind == "poster_board":
        cv2.rectangle(img, (0, 0), (w, int(h * 0.8)), c, -1)
        poster = _poster(rng, max(2, int(h * 0.7)), max(2, w - 2))
        img[1 : 1 + poster.shape[0], 1 : 1 + poster.shape[1], :3] = poster
        cv2.rectangle(img, (int(w * 0.1), int(h * 0.8)), (int(w * 0.2), h), (60, 60, 60, 255), -1)
        cv2.rectangle(img, (int(w * 0.8), int(h * 0.8)), (int(w * 0.9), h), (60, 60, 60, 255), -1)
    elif kind == "hydrant":
        cv2.rectangle(img, (int(w * 0.2), int(h * 0.15)), (int(w * 0.8), h), c, -1)
        cv2.ellipse(img, (w // 2, int(h * 0.15)), (int(w * 0.3), int(h * 0.12)), 0, 0, 360, c, -1)
    elif kind == "signpost":
        cv2.rectangle(img, (int(w * 0.45), 0), (int(w * 0.55), h), (80, 80, 80, 255), -1)
        cv2.rectangle(img, (0, 0), (w, int(h * 0.25)), c, -1)
    else:  # column
        cv2.rectangle(img, (0, 0), (w, h), c, -1)
        cv2.rectangle(img, (0, 0), (w // 3, h), (*(min(255, int(v * 1.2)) for v in colour), 255), -1)
    return Figure(img, w / 2.0, float(h))


def _poster(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """An advert: colour blocks, stripes and sometimes a printed person (a classic false positive)."""
    img = np.empty((h, w, 3), np.uint8)
    img[:] = _hsv(rng, v=(0.3, 1.0))
    for _ in range(int(rng.integers(1, 4))):
        x0, y0 = int(rng.integers(0, max(1, w))), int(rng.integers(0, max(1, h)))
        x1, y1 = x0 + int(rng.integers(1, max(2, w))), y0 + int(rng.integers(1, max(2, h // 2)))
        cv2.rectangle(img, (x0, y0), (x1, y1), _hsv(rng), -1)
    if rng.random() < 0.5 and h >= 12:
        fig = mannequin_figure(_hsv(rng, v=(0.2, 0.9)), h * 0.8 / 1.75, float(rng.uniform(-1, 1)))
        fh, fw = min(h, fig.bgra.shape[0]), min(w, fig.bgra.shape[1])
        alpha = fig.bgra[:fh, :fw, 3:4].astype(np.float32) / 255.0
        ox = max(0, (w - fw) // 2)
        roi = img[h - fh : h, ox : ox + fw]
        roi[:] = (roi * (1 - alpha[:, : roi.shape[1]]) + fig.bgra[:fh, : roi.shape[1], :3] * alpha[:, : roi.shape[1]])
    return img


def clutter_background(img: np.ndarray, v_base: int, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Paint posters, windows, signs and random textured patches onto an empty view (float32 BGR, in place).

    ``v_base`` is the row where the far wall meets the floor: posters and windows go on the wall, stains,
    markings and mats on the floor.
    """
    h, w = img.shape[:2]
    if amount <= 0:
        return img
    n_wall = int(rng.poisson(6 * amount))
    for _ in range(n_wall):  # posters, windows, signs, people-sized doorways
        ph = int(rng.uniform(0.15, 0.7) * max(4, v_base))
        pw = int(ph * rng.uniform(0.3, 1.5))
        x0 = int(rng.integers(0, max(1, w - pw)))
        y0 = int(rng.integers(0, max(1, v_base - ph)))
        if ph < 4 or pw < 3:
            continue
        kind = rng.random()
        if kind < 0.45:
            patch = _poster(rng, ph, pw).astype(np.float32)
        elif kind < 0.75:  # a window with mullions and a reflection
            patch = np.empty((ph, pw, 3), np.float32)
            patch[:] = _hsv(rng, s=(0.0, 0.3), v=(0.15, 0.7))
            patch += np.linspace(0, rng.uniform(0, 60), pw, dtype=np.float32)[None, :, None]
            for k in range(1, int(rng.integers(1, 4))):
                cv2.line(patch, (pw * k // 3, 0), (pw * k // 3, ph), (200, 200, 200), 1)
        else:  # a random textured panel
            patch = _noise_texture(rng, ph, pw)
        y1, x1 = min(h, y0 + ph), min(w, x0 + pw)
        img[y0:y1, x0:x1] = patch[: y1 - y0, : x1 - x0]
    for _ in range(int(rng.poisson(4 * amount))):  # floor markings, mats, stains
        cx, cy = int(rng.integers(0, w)), int(rng.integers(v_base, max(v_base + 1, h)))
        axes = (int(rng.integers(3, max(4, w // 6))), int(rng.integers(2, max(3, h // 12))))
        cv2.ellipse(img, (cx, cy), axes, 0, 0, 360, _hsv(rng, v=(0.1, 0.9)), -1)
    if rng.random() < 0.5 * amount:  # a textured floor
        floor = _noise_texture(rng, h - v_base, w) if h > v_base else None
        if floor is not None:
            img[v_base:] = img[v_base:] * 0.6 + floor * 0.4
    return img


def _noise_texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Multi-scale coloured noise (a cheap stand-in for random photographic textures)."""
    out = np.zeros((h, w, 3), np.float32)
    base = np.asarray(_hsv(rng, v=(0.2, 0.9)), np.float32)
    for scale in (64, 16, 4):
        small = rng.normal(0, 1, (max(2, h // scale), max(2, w // scale), 3)).astype(np.float32)
        out += cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR) * float(rng.uniform(5, 30))
    return np.clip(base + out, 0, 255)


def shadow_figure(width_px: float, light: float) -> Figure:
    """A soft dark ellipse cast on the ground beside a walker's feet (not part of the person's mask)."""
    rw = max(2, int(width_px * 0.9))
    rh = max(1, int(width_px * 0.25))
    img = np.zeros((2 * rh + 3, 2 * rw + 3, 4), np.uint8)
    cv2.ellipse(img, (rw + 1, rh + 1), (rw, rh), 0, 0, 360, (0, 0, 0, 90), -1, cv2.LINE_AA)
    img[..., 3] = cv2.GaussianBlur(img[..., 3], (0, 0), max(0.5, rh * 0.5))
    return Figure(img, rw + 1 - light * rw * 0.5, float(rh + 1))


# ------------------------------------------------------------------ imaging


def illumination(image: np.ndarray, strength: float, angle: float, vignette: float) -> np.ndarray:
    """A linear light gradient across the frame and a vignette (uint8 BGR in, uint8 out)."""
    if strength <= 0 and vignette <= 0:
        return image
    h, w = image.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    xs = xs / max(1, w - 1) - 0.5
    ys = ys / max(1, h - 1) - 0.5
    gain = 1.0 + strength * (math.cos(angle) * xs + math.sin(angle) * ys) * 2
    gain *= 1.0 - vignette * (xs**2 + ys**2) * 2
    return np.clip(image.astype(np.float32) * gain[..., None], 0, 255).astype(np.uint8)


def motion_blur(image: np.ndarray, length: float, angle: float) -> np.ndarray:
    """Directional blur of ``length`` pixels (camera shake, slow shutter)."""
    k = round(length)
    if k < 2:
        return image
    kernel = np.zeros((k, k), np.float32)
    c = (k - 1) / 2
    dx, dy = math.cos(angle) * c, math.sin(angle) * c
    cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1)
    kernel /= max(kernel.sum(), 1e-6)
    return cv2.filter2D(image, -1, kernel)
