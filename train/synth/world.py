"""The world built from one config and one seed: identities, cameras, backgrounds, props and sites.

Every random stream is derived from (seed, purpose, indices), so any tracklet or frame can be
rendered on its own, in any process, in any order, and come out the same.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from streid.train.synth.appearance import Appearance, hard_negative, sample_appearance
from streid.train.synth.camera import CameraLook, render_background, sample_camera
from streid.train.synth.config import PopulationConfig, SynthConfig
from streid.train.synth.props import INDOOR_PROPS, KINDS, Prop, sample_prop
from streid.train.synth.randomise import DR_PROPS, randomise_appearance
from streid.train.synth.site import Site, plan_site

CROWD = 64  # anonymous passers-by who occlude and distract but are never labelled


def stream(seed: int, purpose: str, *indices: int) -> np.random.Generator:
    """An independent random stream for one purpose and item (stable across processes and runs)."""
    return np.random.default_rng([seed, zlib.crc32(purpose.encode()), *indices])


def sample_group(rng: np.random.Generator, pids: list[int], cfg: PopulationConfig) -> list[Appearance]:
    """Identities for ``pids``; hard negatives copy someone of the same group (so test keeps its own)."""
    people: list[Appearance] = []
    for pid in pids:
        if people and rng.random() < cfg.hard_negative_share:
            people.append(hard_negative(pid, people[int(rng.integers(len(people)))], rng, cfg))
        else:
            people.append(sample_appearance(pid, rng, cfg))
    return people


@dataclass
class World:
    """Lazily built pieces of one synthetic world (cheap to construct; each worker builds its own)."""

    cfg: SynthConfig
    seed: int
    _backgrounds: dict[tuple[str, int], np.ndarray] = field(default_factory=dict, repr=False)
    memo: dict[tuple[str, int], object] = field(default_factory=dict, repr=False)  # per-camera sprites/renderers

    # ----------------------------------------------------------------- identities

    @cached_property
    def split(self) -> tuple[list[int], list[int]]:
        """(train pids, test pids): disjoint, 1-based, test after train."""
        n = self.cfg.population.identities
        n_test = max(2, round(n * self.cfg.population.test_share))
        n_train = n - n_test
        return list(range(1, n_train + 1)), list(range(n_train + 1, n + 1))

    @cached_property
    def people(self) -> dict[int, Appearance]:
        train, test = self.split
        out: dict[int, Appearance] = {}
        amount, muted = self.cfg.style.randomise, self.cfg.population.muted_colours
        for group, pids in enumerate((train, test)):
            for app in sample_group(stream(self.seed, "population", group), pids, self.cfg.population):
                out[app.pid] = randomise_appearance(app, stream(self.seed, "dr-person", app.pid), amount, muted)
        return out

    @cached_property
    def crowd(self) -> list[Appearance]:
        rng = stream(self.seed, "crowd")
        amount, muted = self.cfg.style.randomise, self.cfg.population.muted_colours
        return [
            randomise_appearance(sample_appearance(0, rng, self.cfg.population), stream(self.seed, "dr-crowd", i),
                                 amount, muted)
            for i in range(CROWD)
        ]

    # ----------------------------------------------------------------- cameras

    def cameras(self, kind: str) -> list[CameraLook]:
        """Cameras of one family: "reid" (tracklet crops), "scenes" (videos), "detection" (detector set)."""
        return self._cameras[kind]

    @cached_property
    def _cameras(self) -> dict[str, list[CameraLook]]:
        sc = self.cfg.scenes
        specs = {
            "reid": (self.cfg.reid.cameras, *self.cfg.reid.view),
            "scenes": (sc.cameras, sc.width, sc.height),
            "detection": (self.cfg.detection.cameras or max(3, sc.cameras), sc.width, sc.height),
        }
        return {
            kind: [sample_camera(k, stream(self.seed, f"camera-{kind}", k), self.cfg.style, w, h) for k in range(n)]
            for kind, (n, w, h) in specs.items()
        }

    def background(self, kind: str, index: int) -> np.ndarray:
        key = (kind, index)
        if key not in self._backgrounds:
            self._backgrounds[key] = render_background(self.cameras(kind)[index])
        return self._backgrounds[key]

    def props(self, kind: str, index: int) -> list[Prop]:
        """Static objects of one camera, on the walkable ground."""
        rng = stream(self.seed, f"props-{kind}", index)
        cam = self.cameras(kind)[index]
        near, far = cam.walk_range()
        lo, hi = self.cfg.scenes.occluders
        kinds = INDOOR_PROPS if cam.background == "indoor" else KINDS
        out = []
        for _ in range(int(rng.integers(lo, hi + 1))):
            z = float(rng.uniform(near, far))
            out.append(sample_prop(rng, float(rng.uniform(-0.8, 0.8)) * cam.half_width_at(z), z, kinds))
        amount = self.cfg.style.randomise
        if amount > 0:  # distractors of the randomised world: mannequins, poster boards, columns ...
            dr = stream(self.seed, f"dr-props-{kind}", index)
            for _ in range(int(dr.poisson(2.0 * amount))):
                z = float(dr.uniform(near, far * 1.2))
                out.append(sample_prop(dr, float(dr.uniform(-1.0, 1.0)) * cam.half_width_at(z), z, DR_PROPS))
        return out

    # ----------------------------------------------------------------- sites

    @cached_property
    def scene_site(self) -> Site:
        """The benchmark/demo site: test identities only, so no trained model has seen them."""
        _, test = self.split
        return plan_site(stream(self.seed, "site-scenes"), self.cameras("scenes"), test, self.cfg.scenes)

    @cached_property
    def detection_site(self) -> Site:
        """A separate, busier site of train identities for the detector set (no overlap with scenes)."""
        train, _ = self.split
        n_cams, det = len(self.cameras("detection")), self.cfg.detection
        auto = max(self.cfg.scenes.people, 8) * 2 * max(1, round(n_cams / max(3, self.cfg.scenes.cameras)))
        cfg = self.cfg.scenes.model_copy(
            update={
                "cameras": n_cams,
                "people": det.people or auto,
                "max_visible": self.cfg.scenes.max_visible + 2,
            }
        )
        return plan_site(stream(self.seed, "site-detection"), self.cameras("detection"), train, cfg)
