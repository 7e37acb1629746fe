"""Detector export: ultralytics' exporter, offline, atomic, checked against PyTorch; clear errors for bad weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from streid.export.detector import export_detector
from streid.export.errors import ExportError, ParityError, TensorRTUnavailable

IMGSZ = 64


pytestmark = pytest.mark.usefixtures("no_network")  # tests/conftest.py: any connect() fails the test


def write_yolo(path: Path, names: dict[int, str] | None = None) -> Path:
    """An untrained one-class YOLO11n checkpoint in ultralytics' format (built from the packaged yaml)."""
    import torch

    from streid.offline import import_ultralytics

    import_ultralytics()
    from ultralytics.nn.tasks import DetectionModel

    torch.manual_seed(0)
    names = names or {0: "person"}
    model = DetectionModel("yolo11n.yaml", nc=len(names), verbose=False)
    model.names = names
    for module in model.modules():  # untrained BN stats are 0/1: vary them so parity is not checked on a trivial map
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    torch.save({"model": model, "train_args": {"imgsz": IMGSZ}, "epoch": -1}, path)
    return path


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_yolo(tmp_path_factory.mktemp("detector") / "best.pt")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_onnx_export_matches_pytorch_and_runs_in_the_pipeline(weights: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from streid.export.detector import onnx_metadata
    from streid.pipeline.detector import YoloDetector
    from streid.records import Frame

    target = tmp_path / "models" / "person_detector.onnx"
    result = export_detector(weights, target)
    assert result.path == target and target.is_file() and leftovers(target.parent) == []
    assert (result.imgsz, result.precision, result.dynamic) == (IMGSZ, "fp32", True)  # size from train_args
    assert result.names == {0: "person"}
    assert result.parity is not None and result.parity.checked and result.parity.batches == (1, 2)
    assert result.parity.box_px < 0.05 and result.parity.score < 1e-3
    meta = onnx_metadata(target)
    assert meta["imgsz"] == [IMGSZ, IMGSZ] and meta["names"] == {0: "person"}

    monkeypatch.setenv("STREID_MODELS", str(target.parent))  # no weights configured -> the default model
    detector = YoloDetector(conf=0.0)
    assert detector.weights == target and detector.imgsz == IMGSZ  # imgsz from the ONNX metadata
    rng = np.random.default_rng(0)
    frames = [Frame(f"cam{i}", 0.0, 0, rng.integers(0, 255, (90, 160, 3), dtype=np.uint8)) for i in range(3)]
    out = detector.detect(frames)
    assert len(out) == 3 and all(len(d) > 0 for d in out)
    assert all(set(d.class_id.tolist()) == {0} and d.xyxy.shape[1] == 4 for d in out)


def test_default_detector_missing_says_how_to_make_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streid.pipeline.detector import YoloDetector

    monkeypatch.setenv("STREID_MODELS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"make_default_models\.sh.*pipeline\.detector\.weights"):
        YoloDetector()


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 not a checkpoint", None])
def test_bad_weights_are_a_clear_error_and_leave_nothing(weights: Path, tmp_path: Path, content: bytes | None) -> None:
    bad = tmp_path / "bad.pt"
    if content is None:  # a real checkpoint cut short
        bad.write_bytes(weights.read_bytes()[:4096])
    else:
        bad.write_bytes(content)
    target = tmp_path / "out" / "bad.onnx"
    with pytest.raises(ExportError, match=r"bad\.pt: not a readable ultralytics checkpoint"):
        export_detector(bad, target)
    assert not target.exists() and leftovers(target.parent) == []


def test_missing_wrong_kind_and_non_person_weights(weights: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="detector weights not found"):
        export_detector(tmp_path / "none.pt")
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"x")
    with pytest.raises(ExportError, match=r"expected ultralytics YOLO weights \(\.pt\)"):
        export_detector(onnx)
    cars = write_yolo(tmp_path / "cars.pt", {0: "car", 1: "person"})
    with pytest.raises(ExportError, match="class 0 is 'car'"):
        export_detector(cars, tmp_path / "cars.onnx")
    with pytest.raises(ExportError, match="INT8 needs calibration images"):
        export_detector(weights, tmp_path / "q.onnx", int8=True)  # no data set: never ultralytics' coco8 download
    with pytest.raises(ValueError, match="format 'tflite'"):
        export_detector(weights, fmt="tflite")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cars.pt", "model.onnx"]


def test_failed_parity_leaves_no_artifact(weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import streid.export.detector as detector

    def disagree(*args: object, **kwargs: object) -> None:
        raise ParityError("model.onnx: boxes 9 px")

    monkeypatch.setattr(detector, "onnx_parity", disagree)
    target = tmp_path / "det.onnx"
    target.write_bytes(b"previous artifact")
    with pytest.raises(ParityError):
        export_detector(weights, target)
    assert target.read_bytes() == b"previous artifact" and leftovers(tmp_path) == []


def test_engine_without_tensorrt_explains(weights: Path, tmp_path: Path) -> None:
    try:
        import tensorrt  # noqa: F401

        pytest.skip("TensorRT is installed here")
    except ImportError:
        pass
    with pytest.raises(TensorRTUnavailable) as info:
        export_detector(weights, tmp_path / "det.engine", fmt="engine", half=True)
    line = info.value.trtexec_line
    assert line.startswith("trtexec --onnx=") and f"--maxShapes=images:8x3x{IMGSZ}x{IMGSZ}" in line and "--fp16" in line
    assert leftovers(tmp_path) == [] and not (tmp_path / "det.engine").exists()


def test_streid_export_detector_cli(weights: Path, tmp_path: Path) -> None:
    from streid.cli import app

    out = tmp_path / "static.onnx"
    runner = CliRunner()
    result = runner.invoke(app, ["export", "detector", "--weights", str(weights), "--out", str(out), "--static"])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}: onnx fp32 imgsz {IMGSZ} batch 1" in result.output and "max |ONNX - PyTorch|" in result.output
    bad = runner.invoke(app, ["export", "detector", "--weights", str(tmp_path / "none.pt")])
    assert bad.exit_code == 1 and "detector weights not found" in bad.output
