"""The detector's zoom pass: each pass keeps the boxes of its valid size range, the config overrides what the
model's calibration chose, and a real ONNX detector runs both passes and merges them as documented."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from streid.defaults import models_dir
from streid.errors import InputError
from streid.pipeline.detector import YoloDetector, Zoom, merge_passes, resolve_zoom
from streid.records import Detections, Frame

BUILTIN = models_dir() / "person_detector.onnx"


def boxes(*rows: tuple[float, float, float, float, float]) -> Detections:
    a = np.array(rows, np.float32).reshape(-1, 5)
    return Detections(a[:, :4], a[:, 4], np.zeros(len(a), np.int64))


def test_each_pass_keeps_its_size_range_and_nms_settles_the_band() -> None:
    zoom = Zoom(576, below=0.35, overlap=0.7)  # frame 360 high: zoom keeps h < 126, first pass h >= 88.2
    first = boxes((10, 100, 90, 300, 0.9),     # h 200: a near person, first pass only
                  (300, 10, 310, 50, 0.8),     # h 40: too small for the first pass, dropped
                  (400, 100, 440, 200, 0.5))   # h 100: in the band
    zoomed = boxes((12, 100, 88, 250, 0.95),   # h 150: the near person's fragment, too large for zoom: dropped
                   (300, 10, 311, 50, 0.7),    # h 40: the far person, kept from the zoom pass
                   (401, 101, 441, 201, 0.6),  # h 100: same person as the first pass's band box, higher score
                   (600, 20, 620, 80, 0.3))    # h 60: zoom only
    out = merge_passes(first, zoomed, 360, zoom, iou=0.5)
    got = sorted(zip(out.xyxy.tolist(), [round(float(c), 2) for c in out.confidence], strict=True))
    assert got == sorted([([10, 100, 90, 300], 0.9), ([300, 10, 311, 50], 0.7), ([401, 101, 441, 201], 0.6),
                          ([600, 20, 620, 80], 0.3)])
    assert len(merge_passes(Detections.empty(), Detections.empty(), 360, zoom, 0.5)) == 0


def test_config_values_override_the_models_zoom() -> None:
    own = {"conf": 0.4, "zoom": {"imgsz": 576, "below": 0.3, "overlap": 0.8}}
    assert resolve_zoom(own, None, None, None) == Zoom(576, 0.3, 0.8, "detector calibration")
    assert resolve_zoom(own, 0, None, None) is None  # 0 = one pass
    assert resolve_zoom(own, 480, 0.5, None) == Zoom(480, 0.5, 0.8, "config")
    assert resolve_zoom({"conf": 0.4}, None, None, None) is None  # a model without one: one pass
    assert resolve_zoom(None, 640, None, None) == Zoom(640, 0.35, 0.7, "config")
    with pytest.raises(ValueError, match="detector zoom"):
        resolve_zoom(None, 640, 1.5, None)


@pytest.mark.skipif(not BUILTIN.is_file(), reason="built-in detector not made here")
@pytest.mark.usefixtures("no_network")
def test_a_real_detector_runs_both_passes_and_merges_them(tmp_path: Path) -> None:
    from streid.export.calibration import write_detector_calibration
    from streid.pipeline.activation import detector_calibration

    weights = shutil.copy(BUILTIN, tmp_path / "det.onnx")
    write_detector_calibration(weights, 0.4, source="test", zoom={"imgsz": 448, "below": 0.5, "source": "test"})
    assert detector_calibration(weights)["zoom"] == {"imgsz": 448, "below": 0.5, "overlap": 0.7, "source": "test"}
    rng = np.random.default_rng(0)
    frames = [Frame(f"cam{i}", 0.0, 0, rng.integers(0, 255, (180, 320, 3), dtype=np.uint8)) for i in range(2)]
    frames[1].image[40:140, 100:130] = 30  # something person-shaped-ish, so some boxes come out
    both = YoloDetector(weights, conf=0.01)
    assert both.zoom == Zoom(448, 0.5, 0.7, "detector calibration")
    one = YoloDetector(weights, conf=0.01, zoom_imgsz=0)
    zoom_only = YoloDetector(weights, imgsz=448, conf=0.01, zoom_imgsz=0)
    assert one.zoom is None and one.imgsz == both.imgsz
    a, b, merged = one.detect(frames), zoom_only.detect(frames), both.detect(frames)
    assert sum(len(d) for d in a) and sum(len(d) for d in b)
    for x, y, m in zip(a, b, merged, strict=True):
        want = merge_passes(x, y, 180, both.zoom, both.iou)
        np.testing.assert_allclose(m.xyxy, want.xyxy, atol=1e-3)
        np.testing.assert_allclose(m.confidence, want.confidence, atol=1e-5)
    with pytest.raises(ValueError, match="zoom"):
        write_detector_calibration(weights, 0.4, zoom={"imgsz": 16})


@pytest.mark.skipif(not BUILTIN.is_file(), reason="built-in detector not made here")
def test_a_fixed_size_model_refuses_a_zoom_pass_in_one_line(tmp_path: Path) -> None:
    import onnx

    model = onnx.load(str(BUILTIN))
    for dim, value in zip(model.graph.input[0].type.tensor_type.shape.dim[2:], (320, 320), strict=True):
        dim.dim_value = value
    onnx.save(model, str(tmp_path / "fixed.onnx"))
    with pytest.raises(InputError, match="zoom_imgsz needs a model that takes another input size"):
        YoloDetector(tmp_path / "fixed.onnx", zoom_imgsz=576)
    assert YoloDetector(tmp_path / "fixed.onnx", zoom_imgsz=0).zoom is None  # one pass runs as before


@pytest.mark.skipif(not BUILTIN.is_file(), reason="built-in detector not made here")
def test_the_config_reaches_the_pipelines_detector() -> None:
    from streid.pipeline.config import PipelineSection
    from streid.pipeline.runner import build_detector

    def built(**detector: object) -> YoloDetector:
        return build_detector(PipelineSection.model_validate({"cameras": [{"name": "a", "kind": "test"}],
                                                              "detector": detector}))

    own = built().zoom  # the built-in detector's own choice, from its calibration metadata
    assert own is not None and own.source == "detector calibration" and own.imgsz > built().imgsz
    assert built(zoom_imgsz=0).zoom is None
    assert built(zoom_imgsz=512, zoom_below=0.3).zoom == Zoom(512, 0.3, own.overlap, "config")


@pytest.mark.skipif(not BUILTIN.is_file(), reason="built-in detector not made here")
def test_a_zoom_no_larger_than_the_first_pass_is_dropped_or_refused() -> None:
    own = YoloDetector().zoom
    assert own is not None
    assert YoloDetector(imgsz=own.imgsz).zoom is None  # the model's own zoom adds nothing at that size: one pass
    with pytest.raises(InputError, match="zoom_imgsz 320 must be larger than the first pass's imgsz 320"):
        YoloDetector(imgsz=320, zoom_imgsz=320)


@pytest.mark.skipif(not BUILTIN.is_file(), reason="built-in detector not made here")
@pytest.mark.parametrize("zoom", [{"imgsz": "abc"}, {"imgsz": 448, "below": 5}, {"imgsz": [448]}])
def test_a_hand_edited_zoom_in_the_metadata_is_one_line_naming_the_file(tmp_path: Path, zoom: dict) -> None:
    import json

    from streid.export.calibration import _rewrite_props
    from streid.pipeline.activation import DETECTOR_KEY

    weights = shutil.copy(BUILTIN, tmp_path / "edited.onnx")
    _rewrite_props(weights, {DETECTOR_KEY: json.dumps({"version": 1, "conf": 0.4, "zoom": zoom})})
    with pytest.raises(InputError, match=r"edited\.onnx: unusable zoom in its streid.detector_calibration"):
        YoloDetector(weights)
