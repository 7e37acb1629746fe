"""Identities: a persistent appearance per person, including hard negatives that share main colours.

An identity is the whole look (build, skin, hair, garments and their patterns, shoes, accessories);
hard negatives copy another identity's upper/lower colours and differ only in details, so colour
alone never decides who is who.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, replace

import numpy as np

from streid.train.synth.config import PopulationConfig

Colour = tuple[int, int, int]  # BGR

SKIN_TONES: tuple[Colour, ...] = (
    (189, 214, 241),
    (160, 196, 234),
    (130, 171, 217),
    (105, 145, 198),
    (80, 115, 163),
    (55, 80, 120),
    (40, 58, 92),
)
HAIR_COLOURS: tuple[Colour, ...] = ((20, 20, 25), (25, 35, 60), (40, 60, 100), (70, 110, 160), (150, 160, 170))
# Muted clothing tones that dominate real crowds: black, greys, navy, denim, khaki, browns, white.
MUTED: tuple[Colour, ...] = (
    (25, 25, 25),
    (45, 45, 50),
    (80, 80, 85),
    (130, 130, 135),
    (190, 190, 195),
    (225, 228, 230),
    (70, 40, 25),
    (110, 70, 40),
    (140, 100, 60),
    (120, 150, 170),
    (60, 90, 110),
    (40, 60, 80),
    (60, 80, 60),
)
UPPER_PATTERNS = ("plain", "stripes", "checks", "print")
LOWER_KINDS = ("trousers", "shorts", "skirt")
HAIR_STYLES = ("short", "long", "bald", "bun")


@dataclass(frozen=True)
class Appearance:
    """Everything that makes one identity look like itself, in every camera and every frame."""

    pid: int
    height: float  # relative body height (1 = average)
    build: float  # relative width
    skin: Colour
    hair: Colour
    hair_style: str
    upper: Colour
    upper_pattern: str
    pattern_colour: Colour
    long_sleeves: bool
    open_jacket: bool
    inner: Colour  # shirt under an open jacket
    lower: Colour
    lower_kind: str
    shoes: Colour
    backpack: Colour | None
    bag: Colour | None
    bag_side: int  # -1 left, +1 right
    hat: Colour | None
    stride: float  # gait style: relative step length
    arm_swing: float
    hard_negative_of: int | None = None
    # domain randomisation (synth.style.randomise > 0; see randomise.py): textures of the bottoms, a seed
    # for the texture layout, so a print sits in the same place in every frame
    lower_pattern: str = "plain"
    lower_pattern_colour: Colour = (0, 0, 0)
    texture_seed: int = 0


def _bright_colour(rng: np.random.Generator) -> Colour:
    h = float(rng.random())
    s = float(rng.uniform(0.45, 0.95))
    v = float(rng.uniform(0.35, 0.95))
    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return int(b * 255), int(g * 255), int(r * 255)


def _vary(rng: np.random.Generator, colour: Colour, amount: float) -> Colour:
    """The same colour name, another dye lot: small per-channel change."""
    out = np.asarray(colour, np.float64) + rng.normal(0, amount, 3)
    return tuple(int(c) for c in np.clip(out, 0, 255))  # type: ignore[return-value]


def garment_colour(rng: np.random.Generator, muted_share: float) -> Colour:
    if rng.random() < muted_share:
        return _vary(rng, MUTED[int(rng.integers(len(MUTED)))], 10)
    return _bright_colour(rng)


def sample_appearance(pid: int, rng: np.random.Generator, cfg: PopulationConfig) -> Appearance:
    """A fresh identity drawn from ``rng``."""
    pick = lambda seq: seq[int(rng.integers(len(seq)))]  # noqa: E731
    pattern = pick(UPPER_PATTERNS) if rng.random() < cfg.pattern_rate else "plain"
    return Appearance(
        pid=pid,
        height=float(rng.normal(1.0, 0.05)),
        build=float(rng.uniform(0.85, 1.2)),
        skin=_vary(rng, pick(SKIN_TONES), 6),
        hair=_vary(rng, pick(HAIR_COLOURS), 5),
        hair_style=pick(HAIR_STYLES),
        upper=garment_colour(rng, cfg.muted_colours),
        upper_pattern=pattern,
        pattern_colour=garment_colour(rng, 0.4),
        long_sleeves=bool(rng.random() < 0.6),
        open_jacket=bool(rng.random() < 0.2),
        inner=garment_colour(rng, 0.6),
        lower=garment_colour(rng, min(1.0, cfg.muted_colours + 0.15)),
        lower_kind=pick(LOWER_KINDS) if rng.random() < 0.3 else "trousers",
        shoes=garment_colour(rng, 0.8),
        backpack=garment_colour(rng, 0.7) if rng.random() < cfg.accessory_rate else None,
        bag=garment_colour(rng, 0.5) if rng.random() < cfg.accessory_rate * 0.6 else None,
        bag_side=1 if rng.random() < 0.5 else -1,
        hat=garment_colour(rng, 0.6) if rng.random() < cfg.accessory_rate * 0.4 else None,
        stride=float(rng.uniform(0.8, 1.2)),
        arm_swing=float(rng.uniform(0.6, 1.3)),
    )


def details(app: Appearance) -> tuple:
    """What tells two people in the same colours apart."""
    return (
        app.upper_pattern,
        app.long_sleeves,
        app.backpack is None,
        app.bag is None,
        app.hat is None,
        app.hair_style,
        app.open_jacket,
    )


def hard_negative(pid: int, source: Appearance, rng: np.random.Generator, cfg: PopulationConfig) -> Appearance:
    """A different person wearing the same main colours as ``source``; details (pattern, sleeves,
    accessories, hair, shoes, build) are drawn afresh so they are what tells the two apart."""
    fresh = sample_appearance(pid, rng, cfg)
    if details(fresh) == details(source):  # same colours AND same details would be the same look
        fresh = replace(fresh, long_sleeves=not fresh.long_sleeves, hat=None if fresh.hat else source.shoes)
    return replace(
        fresh,
        upper=_vary(rng, source.upper, 6),
        lower=_vary(rng, source.lower, 6),
        lower_kind=source.lower_kind if rng.random() < 0.7 else fresh.lower_kind,
        skin=source.skin if rng.random() < 0.5 else fresh.skin,
        hard_negative_of=source.pid,
    )
