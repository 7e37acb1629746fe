"""Fixtures of the identity tests that run the pipeline: a 2-camera synthetic site and a cheap stand-in embedder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from streid.pipeline.config import PipelineSection

CAMERAS = ("cam1", "cam2")
SYNTH_SEED = 3  # in this tiny world every walker crosses both cameras: cross-camera links to find


class BandColourEmbedder:
    """A deterministic stand-in for the re-id model (not under test here): mean colour of 4 horizontal bands."""

    def __init__(self, seq_len: int = 4, height: int = 64, width: int = 32) -> None:
        self.meta = {"seq_len": seq_len, "height": height, "width": width, "embedding_dim": 12}

    def embed(self, clips: np.ndarray) -> np.ndarray:
        x = clips.astype(np.float32)
        n, _, h, w, _ = x.shape
        bands = x.reshape(n, x.shape[1], 4, h // 4, w, 3).mean(axis=(1, 3, 4)).reshape(n, 12) - 110.0
        return bands / np.maximum(np.linalg.norm(bands, axis=1, keepdims=True), 1e-6)


@pytest.fixture(scope="session")
def synth_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``streid synth --config configs/synth/tiny.yaml --only scenes --seed 3``: DIR with CAM.mp4, gt/CAM.txt."""
    from streid.config import load_config
    from streid.train.synth.build import synthesize

    root = Path(__file__).resolve().parents[3]
    out = tmp_path_factory.mktemp("synth_site")
    synthesize(load_config(root / "configs/synth/tiny.yaml").synth, SYNTH_SEED, out, ["scenes"], workers=0)
    return out / "scenes"


def tiny_pipeline(**extra: Any) -> PipelineSection:
    """Settings for the tiny world: 8 fps, people 20-120 px tall, short tracks."""
    data: dict[str, Any] = {
        "detector": {"kind": "motdet"},
        "tracker": {"frame_rate": 8, "lost_track_buffer": 16},
        "tracklets": {"seq_len": 4, "crop_height": 64, "crop_width": 32, "min_height": 18, "min_width": 5,
                      "min_aspect": 0.15, "update_every": 16, "lost_frames": 8},
    }
    data.update(extra)
    return PipelineSection.model_validate(data)


@pytest.fixture(scope="session")
def postgres() -> Any:
    """A real PostgreSQL in a temp data folder on a free loopback port (see tests/site_servers.py)."""
    from tests.site_servers import PostgresServer

    server = PostgresServer()
    yield server
    server.close()


@pytest.fixture
def mosquitto() -> Any:
    """A real mosquitto broker on a free loopback port, with persistence in a temp folder."""
    from tests.site_servers import MosquittoServer

    server = MosquittoServer()
    yield server
    server.close()
