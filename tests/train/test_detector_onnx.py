"""A trainable detector rebuilt from the shipped ONNX computes what the ONNX computes, in eval and in training mode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from streid.train.detector_onnx import load_images, module_path, parity, rebuild

REPO = Path(__file__).resolve().parents[2]
ONNX = REPO / "deploy/models/person_detector.onnx"
YAML = str(REPO / "configs/detector/models/yolo11-mnv2.yaml")

pytestmark = pytest.mark.usefixtures("no_network")


def test_module_path_undoes_the_scope_repeats() -> None:
    assert module_path("/model.0/m.1/conv/conv.0/conv.0.0/Conv") == "model.0.m.1.conv.0.0"
    assert module_path("/model.8/m.0/cv1/conv/Conv") == "model.8.m.0.cv1.conv"
    assert module_path("/model.18/cv3.2/cv3.2.0/cv3.2.0.0/conv/Conv") == "model.18.cv3.2.0.0.conv"


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[np.ndarray]:
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
    return load_images(folder, 4)


@pytest.mark.skipif(not ONNX.is_file(), reason="built-in detector not made yet (scripts/make_default_models.sh)")
def test_rebuilt_detector_matches_onnx_and_keeps_it_in_training_mode(images: list[np.ndarray]) -> None:
    import torch

    from streid.export.detector import to_input

    yolo = rebuild(ONNX, YAML, images, 320)
    check = parity(yolo, ONNX, images[0], 320)  # ParityError beyond the FP32 export bar
    assert max(check.box_px, check.score) < 1e-2
    model, x = yolo.model, torch.from_numpy(to_input(images, 320))
    with torch.no_grad():
        maps_eval = model.eval()(x)[1]
        maps_train = model.train()(x)  # BatchNorm on batch statistics: the calibrated ones
    for key in ("boxes", "scores"):
        a, b = maps_eval[key], maps_train[key]
        assert torch.allclose(a, b, atol=1e-2), (key, float((a - b).abs().max()))
    bn = model.model[8].cv1.bn
    assert not torch.allclose(bn.running_var, torch.ones_like(bn.running_var))  # statistics, not an identity


@pytest.mark.skipif(not ONNX.is_file(), reason="built-in detector not made yet (scripts/make_default_models.sh)")
def test_onnx_of_another_architecture_is_refused(images: list[np.ndarray]) -> None:
    with pytest.raises(ValueError, match="does not fit"):
        rebuild(ONNX, "yolo11n.yaml", images, 320)


def test_hostile_inputs_fail_in_one_line(tmp_path: Path, images: list[np.ndarray]) -> None:
    """A file that is no ONNX, an image that is no image, a mangled source record: ValueError naming the file."""
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"\x00not a protobuf\xff" * 8)
    with pytest.raises(ValueError, match="not an ONNX model"):
        rebuild(fake, YAML, images, 320)
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "a.jpg").write_bytes(b"GIF89a")
    with pytest.raises(ValueError, match=r"cannot read a\.jpg"):
        load_images(tmp_path / "imgs", 4)
    from streid.train.detector_onnx import provenance_path, rebuilt_from

    weights = tmp_path / "w.pt"
    provenance_path(weights).write_text('{"onnx": "x.onnx"}')
    with pytest.raises(ValueError, match=r"w\.pt\.source\.json: not a rebuilt checkpoint's source record"):
        rebuilt_from(weights)


def test_card_of_a_detector_fine_tuned_from_rebuilt_weights_names_the_onnx(tmp_path: Path) -> None:
    """The card does not call rebuilt weights "local weights": it names the ONNX, its hash and that ONNX's own card."""
    from streid.train.detector import DataSummary, DetectorRun, model_card
    from streid.train.detector_onnx import provenance_path, rebuilt_from, write_provenance

    onnx = tmp_path / "person_detector.onnx"
    onnx.write_bytes(b"graph")
    card_text = "# Person detector\n\nAn ultralytics YOLO continued from stage 3.\n\n## Made by\n"
    onnx.with_suffix(".md").write_text(card_text)
    weights = tmp_path / "from_onnx.pt"
    assert rebuilt_from(weights) is None
    write_provenance(weights, onnx, 4.8e-3)
    assert provenance_path(weights).name == "from_onnx.pt.source.json"
    run_dir = tmp_path / "stage5"
    (run_dir / "yolo").mkdir(parents=True)
    (run_dir / "yolo" / "args.yaml").write_text(f"model: {weights}\n")
    run = DetectorRun(run_dir, run_dir / "best.pt", run_dir / "last.pt", DataSummary("d.yaml", "seed 402", 1, 1, 1, 1),
                      1, 60.0, [60.0], {"mAP50": 0.9}, threads=2)
    card = model_card(run, command="streid train detector", config_yaml="detector_train: {}\n",
                      artifact={"path": "p.onnx", "format": "onnx", "precision": "fp32", "imgsz": 320,
                                "dynamic": True, "names": {0: "person"}, "size_bytes": 10})
    assert "rebuilt by scripts/detector_pt_from_onnx.py from `person_detector.onnx`" in card
    assert "whose card says: An ultralytics YOLO continued from stage 3." in card and "local weights" not in card
