"""The tiny synthetic world's re-id split at 64 x 32, written once per session for the training tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from streid.config import load_config
from streid.train.synth.build import synthesize

REPO = Path(__file__).resolve().parents[2]


def render_tiny_reid(tmp_path_factory: pytest.TempPathFactory, name: str, seed: int) -> Path:
    """The tiny world's re-id split at 64 x 32 rendered with ``seed`` into a fresh folder; its ``reid`` root."""
    cfg = load_config(REPO / "configs" / "synth" / "tiny.yaml", ["synth.reid.height=64", "synth.reid.width=32"])
    out = tmp_path_factory.mktemp(name)
    synthesize(cfg.synth, seed, out, parts=["reid"])
    return out / "reid"


@pytest.fixture(scope="session")
def tiny_reid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_tiny_reid(tmp_path_factory, "world", 5)
