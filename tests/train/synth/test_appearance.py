"""Identities: hard negatives share main colours but never every detail; populations are seeded."""

from __future__ import annotations

import numpy as np

from streid.train.synth.appearance import details
from streid.train.synth.config import PopulationConfig
from streid.train.synth.world import sample_group


def test_hard_negatives_share_colours_but_differ_in_details() -> None:
    cfg = PopulationConfig(hard_negative_share=1.0)
    people = sample_group(np.random.default_rng(0), list(range(1, 41)), cfg)
    by_pid = {p.pid: p for p in people}
    twins = [p for p in people if p.hard_negative_of is not None]
    assert len(twins) == 39
    for twin in twins:
        source = by_pid[twin.hard_negative_of]
        assert np.abs(np.subtract(twin.upper, source.upper)).max() <= 40
        assert np.abs(np.subtract(twin.lower, source.lower)).max() <= 40
        assert details(twin) != details(source)


def test_population_is_a_function_of_the_seed() -> None:
    cfg = PopulationConfig(hard_negative_share=0.3)
    a = sample_group(np.random.default_rng(7), list(range(1, 21)), cfg)
    b = sample_group(np.random.default_rng(7), list(range(1, 21)), cfg)
    c = sample_group(np.random.default_rng(8), list(range(1, 21)), cfg)
    assert a == b and a != c
    assert 0 < sum(p.hard_negative_of is not None for p in a) < 20
