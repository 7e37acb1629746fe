"""scripts/reid_pt_from_onnx.py: the shipped re-id ONNX back to a trainable checkpoint, numerically the same model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from streid.export.checkpoint import load_checkpoint
from streid.export.parity import torch_embeddings
from streid.pipeline.embedder import load_embedder
from streid.train.checkpoint import load_weights, read_checkpoint
from streid.train.models.mobilenet import MobileNetV2Clip


@pytest.fixture(scope="module")
def crops(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Person-sized crops with structure (stripes of random colours and widths), as a re-id folder holds."""
    folder = tmp_path_factory.mktemp("crops")
    rng = np.random.default_rng(0)
    for i in range(32):
        image = np.zeros((96, 40, 3), np.uint8)
        for top in range(0, 96, int(rng.integers(8, 24))):
            image[top:] = rng.integers(0, 255, 3)
        cv2.imwrite(str(folder / f"{i:03d}.jpg"), cv2.GaussianBlur(image, (5, 5), 0))
    return folder


def test_shipped_model_rebuilds_exactly_and_trains_on(repo: Path, crops: Path, tmp_path: Path) -> None:
    out = tmp_path / "rebuilt.pt"
    proc = subprocess.run([sys.executable, "scripts/reid_pt_from_onnx.py", "--images", str(crops), "--out", str(out)],
                          cwd=repo, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "smallest cosine 1.0000" in proc.stdout or "smallest cosine 0.9999" in proc.stdout
    model, config, meta = load_checkpoint(out)
    assert meta["model"] == "mnv2" and config["data"]["format"] == "synthetic" and meta["num_classes"] == 1
    clips = np.random.default_rng(1).integers(0, 255, (4, 8, 128, 64, 3), dtype=np.uint8)
    shipped = load_embedder(repo / "deploy/models/reid_small.onnx").embed(clips)
    assert float(np.min(np.sum(shipped * torch_embeddings(model, clips), axis=1))) > 0.9999
    fresh = MobileNetV2Clip(num_classes=5, freeze=11)  # a fine-tune to 5 new identities: every weight but the head
    skipped = load_weights(fresh, read_checkpoint(out)["model"], skip_heads=True, source=str(out))
    assert skipped and all(k.startswith("classifier") for k in skipped)


def test_an_artifact_that_is_not_mnv2_exits_2_and_writes_nothing(repo: Path, crops: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.pt"
    for onnx in (repo / "deploy/models/person_detector.onnx", tmp_path / "missing.onnx"):
        proc = subprocess.run([sys.executable, "scripts/reid_pt_from_onnx.py", "--onnx", str(onnx), "--images",
                               str(crops), "--out", str(out)], cwd=repo, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and not out.exists()
