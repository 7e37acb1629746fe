"""Shared fixtures: small rendered camera scenes (MP4 + MOT gt) and a pipeline config builder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from streid.pipeline.config import PipelineSection
from streid.pipeline.scene import SceneFiles, render_scene


@pytest.fixture(scope="session")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SceneFiles]:
    """Two cameras of moving coloured boxes: cam0 60 frames, cam1 45 frames (320x180, 25 fps)."""
    root = tmp_path_factory.mktemp("scenes")
    return {
        "cam0": render_scene(root / "cam0.mp4", root / "cam0.txt", frames=60, seed=1),
        "cam1": render_scene(root / "cam1.mp4", root / "cam1.txt", frames=45, seed=2),
    }


def offline_config(scenes: dict[str, SceneFiles], out: Path, **extra: Any) -> PipelineSection:
    """Offline MOT-det config over the scenes, small tracklets (L=4), outputs in ``out``."""
    cameras = [{"name": n, "kind": "file", "uri": str(s.video), "det_file": str(s.gt)} for n, s in scenes.items()]
    data: dict[str, Any] = {
        "mode": "offline",
        "cameras": cameras,
        "detector": {"kind": "motdet"},
        "tracklets": {"seq_len": 4, "crop_height": 32, "crop_width": 16, "min_height": 20, "update_every": 10,
                      "lost_frames": 5},
        "output": {"dir": str(out)},
    }
    data.update(extra)
    return PipelineSection.model_validate(data)


@pytest.fixture
def make_config() -> Any:
    """``make_config(scenes, out, **pipeline_keys)`` -> a validated offline PipelineSection."""
    return offline_config
