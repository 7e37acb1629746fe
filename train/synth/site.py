"""The site: cameras along a route with transit times, and a schedule of who walks where and when.

A person's walk in one camera is a polyline on the ground plane (one turn in the middle), so the
view of the person (front / back / side) changes as they walk; gait phase follows walked distance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from streid.train.synth.camera import CameraLook
from streid.train.synth.config import ScenesConfig

PERSON_HEIGHT_M = 1.72
STEP_M = 1.45  # distance of one full gait cycle (two steps) for stride 1


@dataclass(frozen=True)
class Walk:
    """A walk on the ground of one camera: waypoints (x, z) in metres, speed, start time, gait offset."""

    pid: int
    camera: int
    waypoints: tuple[tuple[float, float], ...]
    speed: float
    t_start: float
    phase0: float

    @property
    def length(self) -> float:
        pts = np.asarray(self.waypoints)
        return float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())

    @property
    def t_end(self) -> float:
        return self.t_start + self.length / self.speed

    def at(self, t: float, stride: float = 1.0) -> tuple[float, float, str, float]:
        """(x, z, view, gait phase) at time ``t`` (clamped to the walk)."""
        dist = min(max(0.0, (t - self.t_start) * self.speed), self.length)
        walked = dist
        for (x0, z0), (x1, z1) in zip(self.waypoints[:-1], self.waypoints[1:], strict=False):
            seg = math.hypot(x1 - x0, z1 - z0)
            if dist <= seg or (x1, z1) == self.waypoints[-1]:
                f = dist / seg if seg > 0 else 0.0
                dx, dz = x1 - x0, z1 - z0
                view = ("right" if dx > 0 else "left") if abs(dx) >= abs(dz) else "back" if dz > 0 else "front"
                phase = self.phase0 + 2 * math.pi * walked / (STEP_M * stride)
                return x0 + f * dx, z0 + f * dz, view, phase
            dist -= seg
        raise AssertionError("unreachable: the last segment always returns")


def random_walk(
    rng: np.random.Generator, cam: CameraLook, pid: int, t_start: float, *, enter_from: int = 0, inside: bool = False
) -> Walk:
    """A walk through ``cam``: from one side (``enter_from`` -1 left, +1 right, 0 either) across, or
    toward/away from the camera; ``inside`` keeps every point in view (tracklets)."""
    near, far = cam.walk_range()
    z_a, z_b, z_mid = (near + (far - near) * float(rng.random()) ** 1.5 for _ in range(3))  # more near than far
    margin = 0.7 if inside else -0.6  # metres inside (or outside) the view's edge

    def edge_x(z: float, side: int) -> float:
        return side * (cam.half_width_at(z) - margin)

    side = enter_from or (1 if rng.random() < 0.5 else -1)
    kind = rng.random()
    if kind < 0.55:  # across the view, turning half way
        start = (edge_x(z_a, side), z_a)
        mid = (float(rng.uniform(-0.3, 0.3)) * cam.half_width_at(z_mid), z_mid)
        end = (edge_x(z_b, -side), z_b)
    elif kind < 0.8:  # from the far end toward the camera, then out to a side
        start = (float(rng.uniform(-0.5, 0.5)) * cam.half_width_at(far), far)
        mid = (start[0] * 0.5, float(rng.uniform(near, (near + far) / 2)))
        end = (edge_x(mid[1], -side), mid[1] + float(rng.uniform(-1, 1)))
    else:  # from a side, then away from the camera
        start = (edge_x(z_a, side) if not inside else edge_x(near, side) * 0.6, near + 0.3)
        mid = (float(rng.uniform(-0.4, 0.4)) * cam.half_width_at(z_mid), near + 0.6)
        end = (mid[0] * 0.8, far)
    return Walk(
        pid, cam.index, (start, mid, end), float(rng.uniform(0.9, 1.6)), t_start, float(rng.uniform(0, 2 * math.pi))
    )


@dataclass(frozen=True)
class Site:
    """Cameras in a chain with transit times between neighbours, and every walk in every camera."""

    cameras: tuple[CameraLook, ...]
    transit_s: tuple[float, ...]  # transit_s[k]: walking time between camera k and k+1
    walks: tuple[Walk, ...]

    def walks_in(self, camera: int) -> list[Walk]:
        return [w for w in self.walks if w.camera == camera]


def plan_site(rng: np.random.Generator, cameras: list[CameraLook], pids: list[int], cfg: ScenesConfig) -> Site:
    """Schedule ``cfg.people`` walkers (taken from ``pids`` in order) through the camera chain.

    Each walker enters one camera, and walks on along the chain with the transit time between cameras,
    so the same identity appears in several cameras at different times. A camera never holds more
    than ``cfg.max_visible`` walkers at once: a walker waits at the entrance until there is room.
    """
    n = len(cameras)
    transit = tuple(float(rng.uniform(*cfg.transit_s)) for _ in range(max(0, n - 1)))
    walks: list[Walk] = []
    free_at: dict[int, float] = {}  # a person reused for another walk starts after their last one ended
    for i in range(cfg.people):
        pid = pids[i % len(pids)]
        t = float(rng.uniform(0, cfg.duration_s * 0.75)) + free_at.get(pid, 0.0)
        cam = int(rng.integers(n))
        direction = 1 if (cam == 0 or (cam < n - 1 and rng.random() < 0.5)) else -1
        hops = 1 if n == 1 or rng.random() < 0.25 else int(rng.integers(2, n + 1))  # most walk on
        for _ in range(hops):
            walk = random_walk(rng, cameras[cam], pid, t, enter_from=-direction)
            while (
                sum(1 for w in walks if w.camera == cam and w.t_start < walk.t_end and walk.t_start < w.t_end)
                >= cfg.max_visible
            ):
                walk = Walk(walk.pid, cam, walk.waypoints, walk.speed, walk.t_start + 2.0, walk.phase0)
            if walk.t_start >= cfg.duration_s:
                break
            walks.append(walk)
            free_at[pid] = walk.t_end + 1.0
            nxt = cam + direction
            if not 0 <= nxt < n:
                break
            t = walk.t_end + transit[min(cam, nxt)]
            cam = nxt
    return Site(tuple(cameras), transit, tuple(walks))


def site_json(site: Site, cfg: ScenesConfig) -> dict:
    """Camera metadata and layout for ``DIR/scenes/site.json``."""
    frames = round(cfg.duration_s * cfg.fps)
    cams = []
    x = 0.0
    for cam in site.cameras:
        cams.append(
            {
                "name": cam.name,
                "index": cam.index,
                "width": cam.width,
                "height": cam.height,
                "fps": cfg.fps,
                "frames": frames,
                "video": f"{cam.name}.mp4",
                "gt": f"gt/{cam.name}.txt",
                "height_m": round(cam.height_m, 3),
                "tilt_deg": round(cam.tilt_deg, 3),
                "focal_px": round(cam.focal, 2),
                "look": {
                    "background": cam.background,
                    "gain_bgr": [round(g, 4) for g in cam.gain],
                    "noise_std": round(cam.noise_std, 3),
                    "blur_sigma": round(cam.blur_sigma, 3),
                    "jpeg_quality": cam.jpeg_quality,
                },
                "layout": {"route_position_s": round(x, 3)},
            }
        )
        if cam.index < len(site.transit_s):
            x += site.transit_s[cam.index]
    # Walkers go on along the chain in one direction (plan_site: they enter every camera from the side of the one
    # they came from), and world +x is image right, so camera k+1 lies to the right of camera k's frame.
    links = [
        {"from": site.cameras[k].name, "to": site.cameras[k + 1].name, "transit_s": round(s, 3),
         "from_side": "right", "to_side": "left"}
        for k, s in enumerate(site.transit_s)
    ]
    return {
        "cameras": cams,
        "links": links,
        "duration_s": cfg.duration_s,
        "fps": cfg.fps,
        "identities": sorted({w.pid for w in site.walks}),
        "passes": passes(site),
    }


def passes(site: Site) -> dict:
    """What the schedule promises about passes through one camera, as a site operator would know it of a corridor:
    ``once`` (no walker comes back into a camera; false when the site has more walkers than identities and one
    walks twice) and ``max_s``, the longest walk through a camera (from outside the view to outside it, so every
    visible stretch of one pass fits in it)."""
    seen = [(w.pid, w.camera) for w in site.walks]
    longest = max((w.t_end - w.t_start for w in site.walks), default=0.0)
    return {"once": len(set(seen)) == len(seen), "max_s": math.ceil(longest * 10) / 10}
