"""An articulated walking figure drawn with OpenCV primitives, from the front, back or side.

The figure is drawn into its own BGRA canvas (alpha = exact person mask, anti-aliased), so callers
composite it anywhere and derive exact ground truth boxes and visibility from the alpha channel.
Coordinates below are in body units: 0 = top of head, 1 = soles; x = 0 is the body's centre line.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from streid.train.synth.appearance import Appearance, Colour

VIEWS = ("front", "back", "left", "right")
SHIFT = 4  # sub-pixel precision for cv2 drawing
ONE = 1 << SHIFT


@dataclass(frozen=True)
class Figure:
    """A drawn person: BGRA pixels, and where the feet touch the ground inside that canvas."""

    bgra: np.ndarray
    foot_x: float
    foot_y: float


def _shade(colour: Colour, factor: float) -> tuple[int, int, int, int]:
    return (
        min(255, int(colour[0] * factor)),
        min(255, int(colour[1] * factor)),
        min(255, int(colour[2] * factor)),
        255,
    )


class _Pen:
    """Maps body units to canvas pixels and draws with sub-pixel, anti-aliased primitives."""

    def __init__(self, canvas: np.ndarray, scale: float, cx: float, top: float) -> None:
        self.canvas, self.scale, self.cx, self.top = canvas, scale, cx, top
        self.aa = cv2.LINE_AA if scale >= 40 else cv2.LINE_8

    def pt(self, x: float, y: float) -> tuple[int, int]:
        return int((self.cx + x * self.scale) * ONE), int((self.top + y * self.scale) * ONE)

    def width(self, w: float) -> int:
        return max(1, round(w * self.scale))

    def line(self, a: tuple[float, float], b: tuple[float, float], w: float, colour: tuple[int, ...]) -> None:
        cv2.line(self.canvas, self.pt(*a), self.pt(*b), colour, self.width(w), self.aa, SHIFT)

    def poly(self, points: list[tuple[float, float]], colour: tuple[int, ...]) -> None:
        pts = np.array([self.pt(x, y) for x, y in points], np.int32)
        cv2.fillPoly(self.canvas, [pts], colour, self.aa, SHIFT)

    def ellipse(
        self,
        c: tuple[float, float],
        rx: float,
        ry: float,
        colour: tuple[int, ...],
        start: float = 0,
        end: float = 360,
        angle: float = 0,
    ) -> None:
        axes = (max(1, int(rx * self.scale * ONE)), max(1, int(ry * self.scale * ONE)))
        cv2.ellipse(self.canvas, self.pt(*c), axes, angle, start, end, colour, -1, self.aa, SHIFT)


def _limb(pen: _Pen, joints: list[tuple[float, float]], widths: list[float], colours: list[tuple[int, ...]]) -> None:
    for (a, b), w, c in zip(itertools.pairwise(joints), widths, colours, strict=False):
        pen.line(a, b, w, c)


def _leg_colours(app: Appearance, shade: float) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(thigh, shin) colours: shorts and skirts show skin below the knee."""
    cloth = _shade(app.lower, shade)
    shin = _shade(app.skin, shade) if app.lower_kind in ("shorts", "skirt") else cloth
    return cloth, shin


def _arm_colours(app: Appearance, shade: float) -> tuple[tuple[int, ...], tuple[int, ...]]:
    sleeve = _shade(app.upper, shade)
    fore = sleeve if app.long_sleeves else _shade(app.skin, shade)
    return sleeve, fore


def _torso_pattern(
    pen: _Pen, app: Appearance, top: float, bottom: float, half_top: float, half_bottom: float, front: bool
) -> None:
    """Stripes and checks go all round; a print shows on the front only."""
    col = _shade(app.pattern_colour, 1.0)
    span = bottom - top
    if app.upper_pattern == "stripes":
        for i in range(1, 6):
            y = top + span * i / 6
            h = half_top + (half_bottom - half_top) * i / 6
            pen.line((-h, y), (h, y), 0.018, col)
    elif app.upper_pattern == "checks":
        for i in range(1, 5):
            y = top + span * i / 5
            h = half_top + (half_bottom - half_top) * i / 5
            pen.line((-h, y), (h, y), 0.01, col)
        inner = min(half_top, half_bottom)
        for x in np.linspace(-inner, inner, 5)[1:-1]:
            pen.line((float(x), top + 0.01), (float(x), bottom - 0.01), 0.01, col)
    elif app.upper_pattern == "print" and front:
        pen.ellipse((0.0, top + span * 0.35), 0.045, 0.04, col)
        pen.line((-0.03, top + span * 0.55), (0.03, top + span * 0.55), 0.012, col)
    elif app.upper_pattern in ("dots", "camo", "vstripes", "two_tone", "logo"):
        _texture_pattern(pen, app.upper_pattern, app.texture_seed, col, top, bottom, half_top, half_bottom, front)


def _texture_pattern(
    pen: _Pen, kind: str, seed: int, col: tuple[int, ...], top: float, bottom: float, half_top: float,
    half_bottom: float, front: bool,
) -> None:
    """Textures of the domain-randomised world (``randomise.py``), laid out from the identity's own seed."""
    rng = np.random.default_rng(seed)
    span = bottom - top
    inner = min(half_top, half_bottom)
    if kind == "dots":
        for _ in range(14):
            pen.ellipse((float(rng.uniform(-inner, inner)), top + span * float(rng.random())), 0.012, 0.012, col)
    elif kind == "camo":
        for _ in range(7):
            pen.ellipse(
                (float(rng.uniform(-inner, inner)), top + span * float(rng.random())),
                float(rng.uniform(0.02, 0.05)), float(rng.uniform(0.015, 0.04)), col, angle=float(rng.uniform(0, 180)),
            )
    elif kind == "vstripes":
        for x in np.linspace(-inner, inner, 7)[1:-1]:
            pen.line((float(x), top + 0.01), (float(x), bottom - 0.01), 0.014, col)
    elif kind == "two_tone":  # the lower half of the top in another colour (a jacket over a long shirt)
        mid = top + span * float(rng.uniform(0.45, 0.7))
        pen.poly([(-half_top * 0.95, mid), (half_top * 0.95, mid), (half_bottom, bottom), (-half_bottom, bottom)], col)
    elif kind == "logo" and front:
        y = top + span * float(rng.uniform(0.2, 0.45))
        pen.poly([(-0.04, y), (0.04, y), (0.04, y + 0.06), (-0.04, y + 0.06)], col)


def _lower_pattern(pen: _Pen, app: Appearance, hip_y: float, half: float) -> None:
    """Bottoms with a side stripe, two tones or camouflage (domain randomisation only)."""
    if app.lower_pattern == "plain" or app.lower_kind != "trousers":
        return
    col = _shade(app.lower_pattern_colour, 1.0)
    if app.lower_pattern == "stripes":
        for side in (-1, 1):
            pen.line((side * half * 1.7, hip_y + 0.02), (side * half * 1.9, 0.93), 0.012, col)
    elif app.lower_pattern == "two_tone":
        pen.poly([(-half * 1.9, 0.74), (half * 1.9, 0.74), (half * 2.0, 0.8), (-half * 2.0, 0.8)], col)
    elif app.lower_pattern == "camo":
        rng = np.random.default_rng(app.texture_seed + 1)
        for _ in range(5):
            pen.ellipse((float(rng.uniform(-half * 1.8, half * 1.8)), float(rng.uniform(hip_y + 0.03, 0.9))),
                        0.02, 0.015, col)


def _head(pen: _Pen, app: Appearance, view: str, x: float, y: float) -> None:
    rx, ry = 0.052, 0.064
    skin = _shade(app.skin, 1.0)
    hair = _shade(app.hair, 1.0)
    side = 1 if view == "right" else -1
    if app.hair_style == "long":
        pen.poly(
            [(x - rx * 1.05, y), (x + rx * 1.05, y), (x + rx * 1.1, y + 0.11), (x - rx * 1.1, y + 0.11)]
            if view in ("front", "back")
            else [
                (x - side * rx * 1.1, y - 0.02),
                (x, y - 0.02),
                (x - side * 0.01, y + 0.11),
                (x - side * rx * 1.2, y + 0.1),
            ],
            hair,
        )
    pen.ellipse((x, y), rx, ry, skin)
    if view == "back":
        pen.ellipse((x, y - 0.004), rx * 1.04, ry * 1.02, hair)
    elif view == "front":
        if app.hair_style != "bald":
            pen.ellipse((x, y - 0.02), rx * 1.04, ry * 0.62, hair, 180, 360)
        if pen.scale >= 60:
            eye = _shade(app.skin, 0.45)
            pen.ellipse((x - 0.018, y + 0.004), 0.006, 0.005, eye)
            pen.ellipse((x + 0.018, y + 0.004), 0.006, 0.005, eye)
            pen.line((x - 0.012, y + 0.035), (x + 0.012, y + 0.035), 0.004, _shade(app.skin, 0.6))
    else:
        pen.ellipse((x + side * 0.045, y + 0.008), 0.012, 0.014, skin)  # nose
        if app.hair_style != "bald":
            start, end = (110, 300) if side > 0 else (-120, 70)
            pen.ellipse((x - side * 0.006, y - 0.006), rx * 1.03, ry * 0.98, hair, start, end)
    if app.hair_style == "bun" and view != "front":
        pen.ellipse((x - (0 if view == "back" else side * 0.05), y - 0.05), 0.025, 0.022, hair)
    if app.hat is not None:
        hat = _shade(app.hat, 1.0)
        pen.ellipse((x, y - 0.035), rx * 1.08, 0.04, hat, 180, 360)
        brim = (x + side * 0.035, y - 0.032) if view in ("left", "right") else (x, y - 0.03)
        pen.ellipse(brim, 0.07 if view in ("left", "right") else 0.065, 0.012, _shade(app.hat, 0.8))


def _frontal(pen: _Pen, app: Appearance, view: str, phase: float) -> None:
    b = app.build
    front = view == "front"
    s = math.sin(phase)
    hip_y, knee_y, ankle_y = 0.52, 0.74, 0.955
    shoulder_y = 0.2
    half_sh, half_hip = 0.105 * b, 0.08 * b
    # legs: the swinging leg's foot lifts; left and right alternate
    for side, lift in ((-1, max(0.0, s)), (1, max(0.0, -s))):
        x = side * 0.043 * b
        thigh, shin = _leg_colours(app, 1.0 if side > 0 else 0.9)
        ankle = (x * 1.1, ankle_y - 0.035 * lift)
        knee = (x * 1.05, knee_y - 0.012 * lift)
        _limb(pen, [(x, hip_y), knee, ankle], [0.07 * b, 0.058 * b], [thigh, shin])
        pen.ellipse((ankle[0], ankle[1] + 0.03), 0.032, 0.022, _shade(app.shoes, 1.0))
    if app.lower_kind == "skirt":
        pen.poly(
            [(-half_hip, hip_y - 0.03), (half_hip, hip_y - 0.03), (half_hip * 1.5, 0.7), (-half_hip * 1.5, 0.7)],
            _shade(app.lower, 1.0),
        )
    else:
        pen.poly(
            [
                (-half_hip, hip_y - 0.03),
                (half_hip, hip_y - 0.03),
                (half_hip * 1.02, hip_y + 0.05),
                (-half_hip * 1.02, hip_y + 0.05),
            ],
            _shade(app.lower, 1.0),
        )
    _lower_pattern(pen, app, hip_y, half_hip)
    # arms hang beside the torso and swing (fore-shortened from the front)
    for side, swing in ((-1, s), (1, -s)):
        sh = (side * (half_sh - 0.012), shoulder_y + 0.015)
        elbow = (side * (half_sh + 0.012), 0.36 - 0.015 * abs(swing) * app.arm_swing)
        wrist = (side * (half_sh + 0.005), 0.49 - 0.05 * max(0.0, swing) * app.arm_swing)
        sleeve, fore = _arm_colours(app, 0.92 if side < 0 else 1.0)
        _limb(pen, [sh, elbow, wrist], [0.05 * b, 0.042 * b], [sleeve, fore])
        pen.ellipse((wrist[0], wrist[1] + 0.012), 0.018, 0.022, _shade(app.skin, 1.0))
    # torso
    pen.line((0, 0.12), (0, 0.19), 0.045, _shade(app.skin, 0.9))
    torso = [(-half_sh, shoulder_y), (half_sh, shoulder_y), (half_hip * 1.05, hip_y), (-half_hip * 1.05, hip_y)]
    pen.poly(torso, _shade(app.upper, 1.0))
    pen.ellipse((-half_sh + 0.02, shoulder_y + 0.012), 0.03, 0.022, _shade(app.upper, 1.0))
    pen.ellipse((half_sh - 0.02, shoulder_y + 0.012), 0.03, 0.022, _shade(app.upper, 1.0))
    if app.open_jacket and front:
        pen.poly([(-0.03, shoulder_y), (0.03, shoulder_y), (0.025, hip_y), (-0.025, hip_y)], _shade(app.inner, 1.0))
    _torso_pattern(pen, app, shoulder_y + 0.02, hip_y - 0.01, half_sh * 0.9, half_hip, front)
    # accessories: a backpack covers the back and shows straps in front; a bag hangs at one hip
    if app.backpack is not None:
        if front:
            strap = _shade(app.backpack, 0.8)
            pen.line((-0.06, shoulder_y), (-0.065, 0.36), 0.018, strap)
            pen.line((0.06, shoulder_y), (0.065, 0.36), 0.018, strap)
        else:
            pen.poly([(-0.085, 0.22), (0.085, 0.22), (0.09, 0.45), (-0.09, 0.45)], _shade(app.backpack, 1.0))
            pen.poly([(-0.06, 0.35), (0.06, 0.35), (0.065, 0.43), (-0.065, 0.43)], _shade(app.backpack, 0.8))
    if app.bag is not None:
        side = app.bag_side if front else -app.bag_side
        pen.line((-side * 0.07, shoulder_y), (side * 0.08, 0.46), 0.012, _shade(app.bag, 0.7))
        pen.poly(
            [(side * 0.09, 0.44), (side * 0.17, 0.44), (side * 0.165, 0.55), (side * 0.095, 0.55)], _shade(app.bag, 1.0)
        )
    _head(pen, app, view, 0.0, 0.07)


def _profile(pen: _Pen, app: Appearance, view: str, phase: float) -> None:
    d = 1 if view == "right" else -1
    b = app.build
    hip_y, shoulder_y = 0.52, 0.2
    amp = 0.42 * app.stride
    near_first = [(phase + math.pi, 0.8), (phase, 1.0)]  # far limbs darker, drawn first

    def leg(ph: float, shade: float) -> None:
        th = amp * math.sin(ph)
        bend = 0.55 * max(0.0, math.sin(ph - 1.2))
        knee = (d * 0.22 * math.sin(th), hip_y + 0.22 * math.cos(th))
        sh = th - bend
        ankle = (knee[0] + d * 0.215 * math.sin(sh), knee[1] + 0.215 * math.cos(sh))
        thigh, shin = _leg_colours(app, shade)
        _limb(pen, [(0.0, hip_y), knee, ankle], [0.072 * b, 0.058 * b], [thigh, shin])
        pen.ellipse((ankle[0] + d * 0.025, ankle[1] + 0.025), 0.045, 0.02, _shade(app.shoes, shade))

    def arm(ph: float, shade: float) -> None:
        th = -0.45 * app.arm_swing * math.sin(ph)
        elbow = (d * 0.15 * math.sin(th), shoulder_y + 0.02 + 0.15 * math.cos(th))
        fa = th + 0.35
        wrist = (elbow[0] + d * 0.14 * math.sin(fa), elbow[1] + 0.14 * math.cos(fa))
        sleeve, fore = _arm_colours(app, shade)
        _limb(pen, [(0.0, shoulder_y + 0.02), elbow, wrist], [0.05 * b, 0.042 * b], [sleeve, fore])
        pen.ellipse(wrist, 0.02, 0.02, _shade(app.skin, shade))

    (far_ph, far_sh), (near_ph, near_sh) = near_first
    arm(far_ph, far_sh)
    leg(far_ph, far_sh)
    leg(near_ph, near_sh)
    if app.backpack is not None:
        pen.poly(
            [(-d * 0.05, 0.22), (-d * 0.14, 0.24), (-d * 0.14, 0.44), (-d * 0.05, 0.45)], _shade(app.backpack, 1.0)
        )
    half = 0.062 * b
    if app.lower_kind == "skirt":
        pen.poly(
            [(-half, hip_y - 0.03), (half, hip_y - 0.03), (half * 1.8, 0.7), (-half * 1.6, 0.7)], _shade(app.lower, 1.0)
        )
    else:
        pen.ellipse((0.0, hip_y), half * 1.05, 0.045, _shade(app.lower, 1.0))
    _lower_pattern(pen, app, hip_y, half * 0.6)
    pen.line((0, 0.12), (0, 0.19), 0.045, _shade(app.skin, 0.9))
    torso = [(-half, shoulder_y), (half * 1.1, shoulder_y), (half * 1.1, hip_y), (-half, hip_y)]
    pen.poly(torso, _shade(app.upper, 1.0))
    pen.ellipse((0.0, shoulder_y + 0.015), half * 1.05, 0.03, _shade(app.upper, 1.0))
    _torso_pattern(pen, app, shoulder_y + 0.02, hip_y - 0.01, half, half, front=False)
    if app.open_jacket:
        pen.line((d * half * 1.05, shoulder_y + 0.02), (d * half * 1.05, hip_y), 0.02, _shade(app.inner, 1.0))
    if app.bag is not None and app.bag_side == d:
        pen.line((0.0, shoulder_y), (d * 0.02, 0.46), 0.012, _shade(app.bag, 0.7))
        pen.poly([(-0.02, 0.44), (0.07, 0.44), (0.065, 0.55), (-0.015, 0.55)], _shade(app.bag, 1.0))
    if app.backpack is not None:
        pen.line((d * 0.02, shoulder_y + 0.005), (-d * 0.04, 0.36), 0.016, _shade(app.backpack, 0.75))
    arm(near_ph, near_sh)
    _head(pen, app, view, d * 0.01, 0.07)


def draw_person(app: Appearance, view: str, phase: float, height_px: float, light: float = 0.0) -> Figure:
    """Draw ``app`` ``height_px`` tall, walking at gait ``phase`` (radians), seen from ``view``.

    ``light`` in [-1, 1] tilts a left-to-right shading gradient so the figure has volume.
    """
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    scale = max(4.0, float(height_px))
    w = math.ceil(scale * 0.5) + 4
    h = math.ceil(scale * 1.02) + 4
    canvas = np.zeros((h, w, 4), np.uint8)
    pen = _Pen(canvas, scale, w / 2.0, 2.0)
    if view in ("front", "back"):
        _frontal(pen, app, view, phase)
    else:
        _profile(pen, app, view, phase)
    if light:
        ramp = 1.0 + light * 0.22 * np.linspace(-1.0, 1.0, w, dtype=np.float32)
        vert = 1.02 - 0.12 * np.linspace(0.0, 1.0, h, dtype=np.float32) ** 2
        gain = vert[:, None] * ramp[None, :]
        canvas[..., :3] = np.clip(canvas[..., :3] * gain[..., None], 0, 255).astype(np.uint8)
    return Figure(canvas, w / 2.0, 2.0 + scale)
