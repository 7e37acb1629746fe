"""A trainable detector rebuilt from the shipped ONNX computes what the ONNX computes, in eval and in training mode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from streid.train.detector_onnx import load_images, max_difference, module_path, rebuild

REPO = Path(__file__).resolve().parents[2]
ONNX = REPO / "deploy/models/person_detector.onnx"
YAML = str(REPO / "configs/detector/models/yolo11-mnv2.yaml")

pytestmark = pytest.mark.usefixtures("no_network")


def test_module_path_undoes_the_scope_repeats() -> None:
    assert module_path("/model.0/m.1/conv/conv.0/conv.0.0/Conv") == "model.0.m.1.conv.0.0"
    assert module_path("/model.8/m.0/cv1/conv/Conv") == "model.8.m.0.cv1.conv"
    assert module_path("/model.18/cv3.2/cv3.2.0/cv3.2.0.0/conv/Conv") == "model.18.cv3.2.0.0.conv"


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """Four street-like pictures: a grey ground, dark upright blobs of people's proportions, noise."""
    import cv2

    folder = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(0)
    for i in range(4):
        im = np.full((360, 640, 3), rng.integers(60, 200), np.uint8)
        for _ in range(5):
            x, y, h = int(rng.integers(0, 600)), int(rng.integers(0, 250)), int(rng.integers(40, 110))
            cv2.rectangle(im, (x, y), (x + h // 3, y + h), tuple(int(c) for c in rng.integers(0, 255, 3)), -1)
        im = np.clip(im + rng.normal(0, 8, im.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"{i}.jpg"), im)
    return load_images(folder, 320, 4)


@pytest.mark.skipif(not ONNX.is_file(), reason="built-in detector not made yet (scripts/make_default_models.sh)")
def test_rebuilt_detector_matches_onnx_and_keeps_it_in_training_mode(images: np.ndarray) -> None:
    import torch

    yolo = rebuild(ONNX, YAML, images)
    assert max_difference(yolo, ONNX, images) < 1e-2
    model = yolo.model
    with torch.no_grad():
        maps_eval = model.eval()(torch.from_numpy(images))[1]
        maps_train = model.train()(torch.from_numpy(images))  # BatchNorm on batch statistics: the calibrated ones
    for key in ("boxes", "scores"):
        a, b = maps_eval[key], maps_train[key]
        assert torch.allclose(a, b, atol=1e-2), (key, float((a - b).abs().max()))
    bn = model.model[8].cv1.bn
    assert not torch.allclose(bn.running_var, torch.ones_like(bn.running_var))  # statistics, not an identity


@pytest.mark.skipif(not ONNX.is_file(), reason="built-in detector not made yet (scripts/make_default_models.sh)")
def test_onnx_of_another_architecture_is_refused(images: np.ndarray) -> None:
    with pytest.raises(ValueError, match="does not fit"):
        rebuild(ONNX, "yolo11n.yaml", images)
