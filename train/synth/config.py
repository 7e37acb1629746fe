"""Typed `synth:` section (pydantic only): the world's population, camera style, and each output.

Difficulty knobs live here by name: ``population.hard_negative_share``, ``reid.occlusion_rate``,
``style.camera_variation`` / ``style.colour_cast``, ``reid.crop_jitter`` / ``reid.scale_jitter``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from streid.config import Section

Range = tuple[float, float]


def _ordered(name: str, value: tuple[float, float]) -> None:
    if value[0] > value[1]:
        raise ValueError(f"{name}: lower bound {value[0]} is above upper bound {value[1]}")


class PopulationConfig(Section):
    """Who lives in the world: how many identities, how many are test-only, how alike they are."""

    identities: int = Field(200, ge=4, description="identities in the whole world")
    test_share: float = Field(0.5, gt=0, lt=1, description="share of identities held out for test (disjoint)")
    hard_negative_share: float = Field(0.3, ge=0, le=1, description="share that copies another's main colours")
    accessory_rate: float = Field(0.45, ge=0, le=1, description="chance of each accessory kind")
    pattern_rate: float = Field(0.35, ge=0, le=1, description="chance that a top has stripes/checks/print")
    muted_colours: float = Field(0.7, ge=0, le=1, description="share of garments in dark/grey/denim tones")


class StyleConfig(Section):
    """How the cameras of this world look; a second world differs here (transfer studies)."""

    background: Literal["street", "indoor", "mixed"] = "street"
    camera_height_m: Range = (2.5, 6.0)
    camera_tilt_deg: Range = (8.0, 30.0)
    brightness: Range = (0.7, 1.2)
    colour_cast: float = Field(0.1, ge=0, le=0.5, description="per-camera white-balance shift (gain spread)")
    camera_variation: float = Field(1.0, ge=0, le=2, description="scales noise/blur/JPEG/resolution spread")
    noise_std: Range = (2.0, 8.0)
    jpeg_quality: Range = (55.0, 92.0)
    blur_sigma: Range = (0.0, 1.2)
    randomise: float = Field(
        0.0, ge=0, le=1,
        description="domain randomisation: textures, body shapes, clutter, distractors, shadows, light, motion "
        "blur (0 = off, the world renders exactly as without it; 1 = full)",
    )

    @model_validator(mode="after")
    def _check(self) -> StyleConfig:
        for name in ("camera_height_m", "camera_tilt_deg", "brightness", "noise_std", "jpeg_quality", "blur_sigma"):
            _ordered(name, getattr(self, name))
        return self


class ReidConfig(Section):
    """Tracklet crops in MARS's layout."""

    cameras: int = Field(6, ge=2, le=9, description="MARS names cameras with one digit")
    cameras_per_identity: tuple[int, int] = (2, 4)
    tracklets_per_camera: tuple[int, int] = (1, 2)
    frames: tuple[int, int] = Field((16, 48), description="frames per tracklet (MARS: F<3 digits>)")
    height: int = Field(256, ge=32)
    width: int = Field(128, ge=16)
    crop_jitter: float = Field(0.08, ge=0, le=0.5, description="box centre jitter, share of box size")
    scale_jitter: float = Field(0.12, ge=0, le=0.6, description="box scale jitter (log-uniform)")
    occlusion_rate: float = Field(0.35, ge=0, le=1, description="share of tracklets with an occluder")
    view: tuple[int, int] = Field(
        (960, 540), description="width, height of the camera frame the crops are cut from: a smaller one renders "
        "people as few pixels as a far or coarse camera does (the crops are then scaled up to height x width)"
    )

    @model_validator(mode="after")
    def _check(self) -> ReidConfig:
        for name in ("cameras_per_identity", "tracklets_per_camera", "frames"):
            _ordered(name, getattr(self, name))
        if self.cameras_per_identity[0] < 1 or self.frames[0] < 1 or self.tracklets_per_camera[0] < 1:
            raise ValueError("cameras_per_identity, tracklets_per_camera and frames must start at >= 1")
        if self.cameras_per_identity[1] > self.cameras:
            raise ValueError(f"cameras_per_identity upper bound exceeds cameras ({self.cameras})")
        if min(self.view) < 32:
            raise ValueError(f"view {list(self.view)}: width and height must be at least 32 px")
        if self.frames[1] > 999:
            raise ValueError("frames above 999 do not fit MARS's F<3 digits> names")
        return self


class ScenesConfig(Section):
    """Full-frame videos of a site: people walk through cameras with transit times between them."""

    cameras: int = Field(3, ge=1)
    width: int = Field(640, ge=64)
    height: int = Field(360, ge=64)
    fps: float = Field(15.0, gt=0)
    duration_s: float = Field(60.0, gt=0)
    people: int = Field(24, ge=1, description="walkers over the whole duration (test identities first)")
    max_visible: int = Field(6, ge=1, description="crowd cap per camera at one time")
    transit_s: Range = (3.0, 12.0)
    occluders: tuple[int, int] = Field((1, 3), description="static objects per camera")
    bitrate_kbps: int = Field(2000, ge=100)

    @model_validator(mode="after")
    def _check(self) -> ScenesConfig:
        _ordered("transit_s", self.transit_s)
        _ordered("occluders", self.occluders)
        return self


class DetectionConfig(Section):
    """YOLO person-detection set cut from scene frames of a separate, train-identity site."""

    images: int = Field(400, ge=2, description="frames in total (all cameras)")
    val_share: float = Field(0.2, gt=0, lt=1)
    min_visibility: float = Field(0.25, ge=0, le=1, description="people less visible than this are not labelled")
    min_height_px: int = Field(12, ge=1)
    cameras: int = Field(0, ge=0, description="cameras of the detection site; 0 = max(3, scenes.cameras). Many "
                         "cameras = many viewpoints, distances and backgrounds, which a detector needs to generalise")
    people: int = Field(0, ge=0, description="walkers of the detection site; 0 = 2 x max(8, scenes.people), "
                        "scaled by cameras / scenes.cameras so that a frame stays as busy")


class PreviewConfig(Section):
    identities: int = Field(8, ge=1, description="rows of the contact sheet")
    clip_s: float = Field(6.0, gt=0, description="length of the annotated clip")


class SynthConfig(Section):
    """The whole synthetic world; one seed (run.seed, or --seed) drives every random choice."""

    population: PopulationConfig = Field(default_factory=PopulationConfig)
    style: StyleConfig = Field(default_factory=StyleConfig)
    reid: ReidConfig = Field(default_factory=ReidConfig)
    scenes: ScenesConfig = Field(default_factory=ScenesConfig)
    detection: DetectionConfig = Field(default_factory=DetectionConfig)
    preview: PreviewConfig = Field(default_factory=PreviewConfig)
