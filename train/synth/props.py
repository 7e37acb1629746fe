"""Static objects that stand on the ground and hide people: poles, bins, cars, benches, planters, signs."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from streid.train.synth.body import Figure
from streid.train.synth.camera import CameraLook
from streid.train.synth.randomise import DR_PROPS, draw_dr_prop

KINDS = ("pole", "bin", "car", "bench", "planter", "sign")
INDOOR_PROPS = ("pole", "bin", "bench", "planter", "sign")  # no cars in a corridor
SIZES_M = {
    "pole": (0.14, 3.0),
    "bin": (0.6, 1.0),
    "car": (4.2, 1.45),
    "bench": (1.8, 0.85),
    "planter": (1.3, 1.2),
    "sign": (0.8, 1.9),
}


@dataclass(frozen=True)
class Prop:
    """One static object: kind, ground position (metres) and a colour."""

    kind: str
    x: float
    z: float
    colour: tuple[int, int, int]


def sample_prop(rng: np.random.Generator, x: float, z: float, kinds: tuple[str, ...] = KINDS) -> Prop:
    grey = float(rng.uniform(40, 170))  # street furniture is mostly muted: a grey with a little colour
    colour = tuple(int(np.clip(grey + c, 0, 255)) for c in rng.normal(0, 25, 3))
    return Prop(kinds[int(rng.integers(len(kinds)))], float(x), float(z), colour)  # type: ignore[arg-type]


def draw_prop(prop: Prop, px_per_m: float) -> Figure:
    """The prop as a BGRA sprite with its ground contact at (foot_x, foot_y)."""
    if prop.kind in DR_PROPS:
        rng = np.random.default_rng([int(abs(prop.x) * 1000), int(abs(prop.z) * 1000), *prop.colour])
        return draw_dr_prop(prop.kind, prop.colour, px_per_m, rng)
    wm, hm = SIZES_M[prop.kind]
    w = max(2, round(wm * px_per_m))
    h = max(2, round(hm * px_per_m))
    c = (*prop.colour, 255)
    dark = (*(int(v * 0.5) for v in prop.colour), 255)
    img = np.zeros((h + 2, w + 2, 4), np.uint8)
    if prop.kind == "pole":
        cv2.rectangle(img, (0, 0), (w, h), (90, 95, 100, 255), -1)
        cv2.rectangle(img, (0, 0), (w // 2, h), (120, 125, 130, 255), -1)
    elif prop.kind == "bin":
        cv2.rectangle(img, (0, h // 8), (w, h), c, -1)
        cv2.rectangle(img, (0, 0), (w, h // 8), dark, -1)
    elif prop.kind == "car":
        body_top = int(h * 0.45)
        cv2.rectangle(img, (0, body_top), (w, int(h * 0.85)), c, -1)
        cab = np.array([[int(w * 0.2), body_top], [int(w * 0.3), 0], [int(w * 0.7), 0], [int(w * 0.82), body_top]])
        cv2.fillPoly(img, [cab], c)
        win = np.array(
            [
                [int(w * 0.25), body_top - 1],
                [int(w * 0.32), int(h * 0.07)],
                [int(w * 0.68), int(h * 0.07)],
                [int(w * 0.77), body_top - 1],
            ]
        )
        cv2.fillPoly(img, [win], (60, 50, 40, 255))
        r = max(1, int(h * 0.17))
        for cx in (int(w * 0.2), int(w * 0.8)):
            cv2.circle(img, (cx, h - r), r, (20, 20, 20, 255), -1)
    elif prop.kind == "bench":
        cv2.rectangle(img, (0, int(h * 0.45)), (w, int(h * 0.6)), c, -1)
        cv2.rectangle(img, (0, 0), (w, int(h * 0.2)), c, -1)
        for x in (int(w * 0.08), int(w * 0.88)):
            cv2.rectangle(img, (x, 0), (x + max(1, w // 20), h), dark, -1)
    elif prop.kind == "planter":
        cv2.rectangle(img, (int(w * 0.1), int(h * 0.55)), (int(w * 0.9), h), (60, 80, 110, 255), -1)
        cv2.ellipse(img, (w // 2, int(h * 0.45)), (w // 2, int(h * 0.45)), 0, 0, 360, (50, 120, 60, 255), -1)
        cv2.ellipse(img, (int(w * 0.4), int(h * 0.35)), (w // 4, int(h * 0.25)), 0, 0, 360, (70, 150, 80, 255), -1)
    else:  # sign
        cv2.rectangle(img, (int(w * 0.45), int(h * 0.4)), (int(w * 0.55), h), (90, 90, 90, 255), -1)
        cv2.rectangle(img, (0, 0), (w, int(h * 0.5)), c, -1)
        cv2.rectangle(img, (w // 6, h // 8), (w - w // 6, h // 5), (240, 240, 240, 255), -1)
    return Figure(img, w / 2.0, float(h))


def prop_sprite_args(cam: CameraLook, prop: Prop) -> tuple[float, float, float, float]:
    """(u, v, depth, pixels per metre) of a prop's ground contact in ``cam``."""
    u, v, zc = cam.project(prop.x, 0.0, prop.z)
    return u, v, zc, cam.focal / zc
