"""A tiny synthetic world written once per session; tests read it (and write their own when they must)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from streid.config import load_config
from streid.train.synth.build import synthesize
from streid.train.synth.config import SynthConfig

REPO = Path(__file__).resolve().parents[3]
TINY = REPO / "configs" / "synth" / "tiny.yaml"


def tiny_config(*overrides: str) -> SynthConfig:
    return load_config(TINY, list(overrides)).synth


@pytest.fixture
def tiny() -> Callable[..., SynthConfig]:
    """The tiny preset's synth section, with optional ``--set`` style overrides."""
    return tiny_config


@pytest.fixture
def tiny_path() -> Path:
    return TINY


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "world"
    synthesize(tiny_config(), 3, out)
    return out
