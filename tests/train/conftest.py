"""A tiny synthetic re-id world (MARS layout, 6 training identities) shared by the training CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from streid.config import load_config
from streid.train.synth.build import synthesize

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny_reid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = load_config(REPO / "configs" / "synth" / "tiny.yaml", ["synth.reid.height=64", "synth.reid.width=32"])
    out = tmp_path_factory.mktemp("world")
    synthesize(cfg.synth, 5, out, parts=["reid"])
    return out / "reid"
