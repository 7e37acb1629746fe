"""Render what cameras see: full scene frames with exact ground truth, and tracklet crops for re-id."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from streid.train.synth.body import draw_person
from streid.train.synth.camera import CameraLook
from streid.train.synth.compose import Sprite, Truth, composite
from streid.train.synth.props import INDOOR_PROPS, KINDS, draw_prop, prop_sprite_args, sample_prop
from streid.train.synth.randomise import shadow_figure
from streid.train.synth.site import PERSON_HEIGHT_M, Site, Walk, random_walk
from streid.train.synth.world import World, stream

TRACKLET_FPS = 12.5  # tracklet frames are sampled at half MARS's 25 fps


def person_sprite(
    world: World, cam: CameraLook, walk: Walk, t: float, app_override: object = None, pid: int | None = None
) -> Sprite | None:
    """The walker of ``walk`` at time ``t`` as a sprite (None when behind the camera or tiny)."""
    app = app_override if app_override is not None else world.people[walk.pid]
    x, z, view, phase = walk.at(t, app.stride)  # type: ignore[attr-defined]
    u, v, depth = cam.project(x, 0.0, z)
    _, v_head, _ = cam.project(x, PERSON_HEIGHT_M * app.height, z)  # type: ignore[attr-defined]
    height_px = v - v_head
    if height_px < 4 or depth <= 0.5:
        return None
    fig = draw_person(app, view, phase, height_px, light=cam.light)  # type: ignore[arg-type]
    return Sprite.at_foot(fig, u, v, depth, pid)


def with_shadows(world: World, sprites: list[Sprite]) -> list[Sprite]:
    """Add a soft ground shadow behind every person sprite in a randomised world (never labelled)."""
    if world.cfg.style.randomise <= 0:
        return sprites
    out = list(sprites)
    for s in sprites:
        if s.pid is None:
            continue
        fig = s.figure
        shadow = shadow_figure(fig.bgra.shape[1] * 0.5, 0.5)
        out.append(Sprite.at_foot(shadow, s.left + fig.foot_x, s.top + fig.foot_y, s.depth + 0.05))
    return out


def prop_sprites(world: World, kind: str, index: int) -> list[Sprite]:
    """The static props of one camera as sprites (drawn once per World, then copied)."""
    key = (f"props-{kind}", index)
    if key not in world.memo:
        cam = world.cameras(kind)[index]
        out = []
        for prop in world.props(kind, index):
            u, v, depth, ppm = prop_sprite_args(cam, prop)
            out.append(Sprite.at_foot(draw_prop(prop, ppm), u, v, depth))
        world.memo[key] = out
    return [replace(s) for s in world.memo[key]]  # type: ignore[attr-defined]


@dataclass
class FrameRenderer:
    """Renders frame ``i`` of one camera of a site; props and background are drawn once."""

    world: World
    site: Site
    kind: str
    camera: int

    def __post_init__(self) -> None:
        self.cam = self.site.cameras[self.camera]
        self.walks = self.site.walks_in(self.camera)
        self.props = prop_sprites(self.world, self.kind, self.camera)
        self.fps = self.world.cfg.scenes.fps

    def render(self, index: int, finish: bool = True) -> tuple[np.ndarray, list[Truth]]:
        """(BGR frame, ground truth of every person at least partly in view) for 0-based frame ``index``."""
        t = index / self.fps
        sprites = list(self.props)
        for walk in self.walks:
            if walk.t_start <= t <= walk.t_end:
                sprite = person_sprite(self.world, self.cam, walk, t, pid=walk.pid)
                if sprite is not None:
                    sprites.append(sprite)
        image = self.world.background(self.kind, self.camera).copy()
        truths = composite(image, with_shadows(self.world, sprites))
        if finish:
            image = self.cam.finish(image, stream(self.world.seed, f"noise-{self.kind}", self.camera, index))
        return image, truths


def _crop_boxes(
    rng: np.random.Generator,
    feet: list[tuple[float, float, float]],
    jitter: float,
    scale_jitter: float,
    view: tuple[int, int],
) -> list[tuple[int, int, int, int]]:
    """Detector-like boxes (x, y, w, h) around each frame's person: smooth drift plus per-frame shake."""
    boxes = []
    drift = np.zeros(3)
    for u, v, h in feet:
        drift = 0.75 * drift + rng.normal(0, 1, 3) * (jitter * 0.5, jitter * 0.5, scale_jitter * 0.5)
        shake = rng.normal(0, 1, 3) * (jitter * 0.5, jitter * 0.3, scale_jitter * 0.4)
        bh = h * 1.1 * math.exp(drift[2] + shake[2])
        bh = min(max(bh, 16.0), view[1] - 2)
        bw = bh / 2
        cx = u + (drift[0] + shake[0]) * bw
        cy = v - h / 2 + (drift[1] + shake[1]) * bh
        x0 = int(np.clip(cx - bw / 2, 0, view[0] - bw))
        y0 = int(np.clip(cy - bh / 2, 0, view[1] - bh))
        boxes.append((x0, y0, int(bw), int(bh)))
    return boxes


def render_tracklet(world: World, pid: int, camera: int, tracklet: int, frames: int) -> list[np.ndarray]:
    """``frames`` crops (reid.height x reid.width BGR) of ``pid`` walking in re-id camera ``camera``.

    Crops are off-centre and change scale like a detector's boxes; with probability
    ``reid.occlusion_rate`` a prop or a passer-by comes between the camera and the person, and
    every frame is kept however much of the person it hides.
    """
    cfg = world.cfg.reid
    rng = stream(world.seed, "tracklet", pid, camera, tracklet)
    cam = world.cameras("reid")[camera]
    app = world.people[pid]
    dt = 1.0 / TRACKLET_FPS
    walk = random_walk(rng, cam, pid, 0.0, inside=True)
    span = frames * dt
    t0 = float(rng.uniform(0, max(0.0, walk.t_end - span)))
    times = [t0 + i * dt for i in range(frames)]
    # where the person stands in each frame decides the crop box
    feet = []
    for t in times:
        x, z, _, _ = walk.at(t, app.stride)
        u, v, _ = cam.project(x, 0.0, z)
        feet.append((u, v, v - cam.project(x, PERSON_HEIGHT_M * app.height, z)[1]))
    boxes = _crop_boxes(rng, feet, cfg.crop_jitter, cfg.scale_jitter, (cam.width, cam.height))
    extras: list[tuple[Walk, object]] = []
    static: list[Sprite] = prop_sprites(world, "reid", camera)
    if rng.random() < cfg.occlusion_rate:
        x_mid, z_mid, _, _ = walk.at(t0 + span / 2, app.stride)
        z_occ = max(cam.walk_range()[0] * 0.8, z_mid - float(rng.uniform(0.8, 3.0)))
        if rng.random() < 0.5:  # a static object between camera and person
            kinds = INDOOR_PROPS if cam.background == "indoor" else KINDS
            prop = sample_prop(rng, x_mid + float(rng.normal(0, 0.4)), z_occ, kinds)
            u, v, depth, ppm = prop_sprite_args(cam, prop)
            static.append(Sprite.at_foot(draw_prop(prop, ppm), u, v, depth))
        else:  # a passer-by crossing in front
            side = 1 if rng.random() < 0.5 else -1
            speed = float(rng.uniform(1.0, 1.8))
            x_start = x_mid + side * speed * span * float(rng.uniform(0.3, 0.7))
            passer = Walk(
                0,
                camera,
                ((x_start, z_occ), (x_start - side * 8.0, z_occ + 0.01), (x_start - side * 16.0, z_occ)),
                speed,
                t0,
                float(rng.uniform(0, 6.3)),
            )
            extras.append((passer, world.crowd[int(rng.integers(len(world.crowd)))]))
    if rng.random() < 0.4:  # someone else in the background of the crop
        _, z_mid, _, _ = walk.at(t0 + span / 2, app.stride)
        other = random_walk(rng, cam, 0, t0 - float(rng.uniform(0, 3)), inside=True)
        extras.append((other, world.crowd[int(rng.integers(len(world.crowd)))]))
    background = world.background("reid", camera)
    out = []
    for i, (t, (x0, y0, bw, bh)) in enumerate(zip(times, boxes, strict=False)):
        sprites = [s for s in static if s.left < x0 + bw and s.left + s.figure.bgra.shape[1] > x0]
        me = person_sprite(world, cam, walk, t, pid=pid)
        if me is not None:
            sprites.append(me)
        for other, look in extras:
            s = person_sprite(world, cam, other, t, app_override=look)
            if s is not None:
                sprites.append(s)
        for s in sprites:  # move into patch coordinates
            s.left -= x0
            s.top -= y0
        patch = background[y0 : y0 + bh, x0 : x0 + bw].copy()
        sprites = with_shadows(world, sprites)
        composite(patch, sprites)
        for s in sprites:
            s.left += x0
            s.top += y0
        if cam.resolution < 0.99:  # coarse sensor: detail is lost before the crop is resized
            small = (max(4, int(bw * cam.resolution)), max(8, int(bh * cam.resolution)))
            patch = cv2.resize(patch, small, interpolation=cv2.INTER_AREA)
        crop = cv2.resize(patch, (cfg.width, cfg.height), interpolation=cv2.INTER_LINEAR)
        out.append(cam.finish(crop, stream(world.seed, "crop-noise", pid, camera, tracklet, i)))
    return out
