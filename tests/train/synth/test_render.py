"""Rendered people: every view draws a person, and GT boxes fit the pixels the person really changed."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from streid.train.synth.appearance import sample_appearance
from streid.train.synth.body import VIEWS, draw_person
from streid.train.synth.config import PopulationConfig, SynthConfig
from streid.train.synth.render import FrameRenderer
from streid.train.synth.world import World

Tiny = Callable[..., SynthConfig]


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_draws_a_whole_person(view: str) -> None:
    app = sample_appearance(1, np.random.default_rng(0), PopulationConfig())
    fig = draw_person(app, view, 0.7, 120)
    alpha = fig.bgra[..., 3] >= 128
    ys = np.nonzero(alpha)[0]
    assert 110 <= ys.max() - ys.min() + 1 <= 126, "the figure is as tall as asked"
    assert 0.1 < alpha.mean() < 0.5
    assert abs(fig.foot_y - ys.max()) < 4


def test_backpack_shows_from_behind_not_from_the_front() -> None:
    app = sample_appearance(1, np.random.default_rng(0), PopulationConfig())
    from dataclasses import replace

    app = replace(app, backpack=(10, 200, 10), upper=(200, 10, 10), upper_pattern="plain", bag=None)
    green = {v: (np.all(draw_person(app, v, 0.0, 150).bgra[..., :3] == (10, 200, 10), axis=-1)).sum() for v in VIEWS}
    assert green["back"] > 5 * max(1, green["front"])


def test_gt_box_contains_and_fits_the_rendered_person(tiny: Tiny) -> None:
    """Render a frame with and without each person; the pixels that change must lie in its GT box,
    and for a fully visible person the box must be tight around them."""
    world = World(tiny("synth.scenes.people=8"), 5)
    scene = FrameRenderer(world, world.scene_site, "scenes", 0)
    checked = tight = 0
    for index in range(0, 128, 6):
        full, truths = scene.render(index, finish=False)
        for truth in truths:
            if truth.visibility < 0.3:
                continue
            scene.walks = [w for w in world.scene_site.walks_in(0) if w.pid != truth.pid]
            without, _ = scene.render(index, finish=False)
            scene.walks = world.scene_site.walks_in(0)
            changed = np.abs(full.astype(int) - without.astype(int)).sum(axis=2) > 24
            x, y, w, h = truth.box
            inside = changed[y : y + h, x : x + w].sum()
            fringe = changed[max(0, y - 1) : y + h + 1, max(0, x - 1) : x + w + 1].sum()  # anti-aliased edge
            assert inside >= 0.93 * changed.sum(), f"frame {index} pid {truth.pid}: person pixels outside its box"
            assert fringe >= 0.995 * changed.sum(), f"frame {index} pid {truth.pid}: person pixels far outside its box"
            checked += 1
            if truth.visibility > 0.98 and changed.sum() > 50:
                ys, xs = np.nonzero(changed)
                assert xs.min() - x <= 2 and x + w - 1 - xs.max() <= 2, "box is not tight horizontally"
                assert ys.min() - y <= 2 and y + h - 1 - ys.max() <= 2, "box is not tight vertically"
                tight += 1
    assert checked >= 5 and tight >= 2


def test_detection_site_cameras_and_walkers_follow_the_config(tiny: Tiny) -> None:
    """detection.cameras = many viewpoints for the detector set; the walkers scale so frames stay as busy; 0 keeps
    the old site (max(3, scenes.cameras) cameras) so existing worlds render as before."""
    ids = "synth.population.identities=80"  # tiny has 6 training identities: too few walkers for 12 cameras
    base = World(tiny(ids), 5)
    many = World(tiny(ids, "synth.detection.cameras=12"), 5)
    assert len(base.detection_site.cameras) == max(3, base.cfg.scenes.cameras)
    assert len(many.detection_site.cameras) == 12
    per_camera = [len(w.detection_site.walks) / len(w.detection_site.cameras) for w in (base, many)]
    assert per_camera[1] >= 0.5 * per_camera[0]
    views = {(c.height_m, c.tilt_deg, c.focal) for c in many.detection_site.cameras}
    assert len(views) == 12  # twelve distinct viewpoints, not four repeated
    assert [c.height_m for c in base.detection_site.cameras] == [c.height_m for c in many.detection_site.cameras][
        : len(base.detection_site.cameras)]


def test_reid_view_renders_people_as_few_pixels_as_a_coarse_camera(tiny: Tiny) -> None:
    """reid.view sets the frame the tracklet crops are cut from: at 320x180 a person covers a third of the pixels,
    so the crop (scaled to reid.height x reid.width) holds less detail than at the default 960x540."""
    from streid.config import ConfigError
    from streid.train.synth.render import render_tracklet

    near, far = World(tiny(), 5), World(tiny("synth.reid.view=[320,180]"), 5)
    assert (near.cameras("reid")[0].width, far.cameras("reid")[0].width) == (960, 320)

    def detail(world: World) -> float:  # mean absolute horizontal gradient of the crops
        crops = render_tracklet(world, min(world.people), 0, 1, 4)
        return float(np.mean([np.abs(np.diff(c.astype(np.float32), axis=1)).mean() for c in crops]))

    assert near.cameras("reid")[0].height == 540 and far.cameras("reid")[0].height == 180
    assert detail(far) < detail(near)
    with pytest.raises(ConfigError, match="view"):
        tiny("synth.reid.view=[16,16]")
