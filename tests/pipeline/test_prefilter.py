"""The detector's prefilter: the low-pass removes noise finer than the input grid, each camera's noise is measured
as the detector sees it, only cameras at least ``min_noise`` noisy are filtered, and the values resolve from the
model's calibration with the config overriding them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from streid.defaults import models_dir
from streid.errors import InputError
from streid.pipeline.detector import YoloDetector
from streid.pipeline.prefilter import (
    NOISE_EVERY,
    NOISE_FIRST,
    NOISE_WINDOW,
    NoiseGate,
    Prefilter,
    noise_level,
    resolve_prefilter,
    smooth,
)
from streid.records import Frame

BUILTIN = models_dir() / "person_detector.onnx"


def scene(height: int, width: int, noise: float, seed: int = 0) -> np.ndarray:
    """A clean picture with many hard edges (a gradient, bars, boxes), plus Gaussian noise of std ``noise``."""
    y, x = np.mgrid[0:height, 0:width]
    grey = 40 + 120 * x / width + 40 * ((x // 37) % 2) + 50 * (((x // 90) + (y // 70)) % 2)
    rng = np.random.default_rng(seed)
    image = np.clip(np.repeat(grey[..., None], 3, 2) + rng.normal(0, noise, (height, width, 1)), 0, 255)
    return image.astype(np.uint8)


def test_the_noise_level_is_the_noise_as_the_detector_input_holds_it_not_the_edges() -> None:
    assert noise_level(scene(180, 320, 0.0), 320) < 0.5  # edges everywhere, no noise
    assert noise_level(scene(180, 320, 8.0), 320) == pytest.approx(8.0, rel=0.12)  # at the input size already
    # 640x360 into a 320 input: 2x2 pixels averaged, so the noise the network sees halves
    assert noise_level(scene(360, 640, 8.0), 320) == pytest.approx(4.0, rel=0.15)
    assert noise_level(scene(360, 640, 8.0)[..., 0], 640) == pytest.approx(8.0, rel=0.12)  # grey frames too


def test_only_cameras_at_least_min_noise_noisy_are_filtered_and_a_camera_can_change() -> None:
    gate = NoiseGate(Prefilter(0.7, min_noise=5.0))
    noisy, clean = scene(360, 640, 20.0), scene(360, 640, 2.0)
    # decided on the median of the first NOISE_FIRST samples (a stream opens on a noisier keyframe), not the first
    first = [gate.sigma("n", noisy, 320) for _ in range(NOISE_FIRST * NOISE_EVERY)]
    assert first.index(0.7) == (NOISE_FIRST - 1) * NOISE_EVERY and set(first[first.index(0.7):]) == {0.7}
    assert gate.sigma("c", clean, 320) == 0.0
    assert {c: s["on"] for c, s in gate.state().items()} == {"n": True, "c": False}
    assert gate.state()["n"]["noise"] == pytest.approx(10.0, rel=0.15)
    for _ in range(1, NOISE_WINDOW * NOISE_EVERY):  # a full window of clean samples
        assert gate.sigma("c", clean, 320) == 0.0
    # camera c turns grainy (night): the running median follows once most samples of its window are grainy
    flips = [gate.sigma("c", scene(360, 640, 20.0, seed=i), 320) for i in range(NOISE_WINDOW * NOISE_EVERY)]
    half = NOISE_WINDOW // 2 * NOISE_EVERY
    assert flips.index(0.7) == half and set(flips[half:]) == {0.7}
    assert gate.state()["c"]["on"]
    assert NoiseGate(Prefilter(0.5)).sigma("c", clean, 320) == 0.5  # min_noise 0: every camera
    small = NoiseGate(Prefilter(0.7, min_noise=5.0))  # frames no larger than the input: never low-passed
    assert {small.sigma("s", scene(180, 320, 10.0, seed=i), 320) for i in range(4 * NOISE_EVERY)} == {0.0}
    assert small.state()["s"]["on"] is False and small.state()["s"]["noise"] > 5.0


def test_the_prefilter_averages_noise_finer_than_the_input_grid_and_nothing_else() -> None:
    rng = np.random.default_rng(0)
    frame = np.clip(128 + rng.normal(0, 20, (360, 640, 3)), 0, 255).astype(np.uint8)
    assert smooth(frame, 320, 0.0) == (frame, (1.0, 1.0))  # off
    assert smooth(frame, 640, 0.5)[0] is frame  # no downscale: nothing finer than the input grid to remove
    out, factor = smooth(frame, 320, 0.5)  # 2x downscale: sigma 1 frame pixel
    assert factor == (1.0, 1.0) and out.shape == frame.shape and out.dtype == np.uint8
    assert out.std() < 0.5 * frame.std()  # the noise is mostly gone ...
    assert abs(float(out.mean()) - float(frame.mean())) < 0.5  # ... and the picture is not darker or brighter
    edge = np.zeros((360, 640, 3), np.uint8)
    edge[:, 320:] = 255
    kept = smooth(edge, 320, 0.5)[0][180]
    assert kept[300].max() == 0 and kept[340].min() == 255  # an edge moves by no more than a few pixels
    big, factor = smooth(np.repeat(np.repeat(edge, 3, 0), 3, 1), 320, 0.5)  # 1920x1080: halved twice first
    assert big.shape == (270, 480, 3) and factor == (4.0, 4.0)
    assert smooth(np.zeros((1081, 1921, 3), np.uint8), 320, 0.5)[1] == (1921 / 481, 1081 / 271)  # odd sides
    assert big[135, 220].max() == 0 and big[135, 260].min() == 255


def test_the_config_overrides_the_models_prefilter_value_by_value(caplog: pytest.LogCaptureFixture) -> None:
    own = {"prefilter": {"sigma": 0.7, "min_noise": 5.0, "source": "validation"}}
    assert resolve_prefilter(None, None, None) is None
    assert resolve_prefilter(None, None, 2.0) is None and "prefilter_min_noise 2 has no effect" in caplog.text
    assert resolve_prefilter(own, None, None) == Prefilter(0.7, 5.0, "detector calibration")
    assert resolve_prefilter(own, 0.5, None) == Prefilter(0.5, 0.0, "config")  # a sigma alone: every camera
    assert resolve_prefilter(own, None, 2.0) == Prefilter(0.7, 2.0, "config")
    assert resolve_prefilter(own, 0, None) is None  # off
    assert resolve_prefilter({"prefilter": {"sigma": 0.7}}, None, None) == Prefilter(0.7, 0.0, "detector calibration")
    with pytest.raises(ValueError, match="min_noise"):
        resolve_prefilter(own, None, 99)
    with pytest.raises(ValueError, match="prefilter sigma"):
        resolve_prefilter(own, 9, None)


@pytest.mark.skipif(not BUILTIN.is_file(), reason="built-in detector not made here")
def test_the_prefilter_comes_from_the_models_calibration_and_the_config_overrides_it(tmp_path: Path) -> None:
    from streid.export.calibration import write_detector_calibration
    from streid.pipeline.config import PipelineSection
    from streid.pipeline.runner import build_detector

    weights = shutil.copy(BUILTIN, tmp_path / "det.onnx")
    entry = write_detector_calibration(weights, 0.4, source="test",
                                       prefilter={"sigma": 0.7, "min_noise": 5, "source": "validation"})
    assert entry["prefilter"] == {"sigma": 0.7, "min_noise": 5.0, "source": "validation"}
    own = YoloDetector(weights, zoom_imgsz=0)
    assert own.prefilter == Prefilter(0.7, 5.0, "detector calibration")  # the model's own choice ...
    assert YoloDetector(weights, prefilter=0).prefilter is None  # ... which the config overrides
    section = PipelineSection.model_validate({"cameras": [{"name": "a", "kind": "test"}],
                                              "detector": {"weights": str(weights), "prefilter": 0.35,
                                                           "prefilter_min_noise": 3}})
    assert build_detector(section).prefilter == Prefilter(0.35, 3.0, "config")
    # through the real detector: only the grainy camera's frames are filtered
    for i in range(2 * NOISE_EVERY + 1):  # NOISE_FIRST samples each
        own.detect([Frame("grainy", i / 10, i, scene(360, 640, 24.0, seed=i)),
                    Frame("clean", i / 10, i, scene(360, 640, 2.0))])
    assert {c: s["on"] for c, s in own.noise_gate.state().items()} == {"grainy": True, "clean": False}
    with pytest.raises(ValueError, match="prefilter sigma"):
        write_detector_calibration(weights, 0.4, prefilter={"sigma": 9})
    with pytest.raises(ValueError, match="min_noise"):
        write_detector_calibration(weights, 0.4, prefilter={"sigma": 0.7, "min_noise": -1})


@pytest.mark.skipif(not BUILTIN.is_file(), reason="built-in detector not made here")
@pytest.mark.parametrize("entry", [{"sigma": "soft"}, {"sigma": 0.7, "min_noise": "high"}])
def test_a_hand_edited_prefilter_is_one_line_naming_the_file(tmp_path: Path, entry: dict) -> None:
    import json

    from streid.export.calibration import DETECTOR_KEY, _rewrite_props
    from streid.pipeline.activation import detector_calibration

    calib = {**detector_calibration(BUILTIN), "prefilter": entry}
    weights = shutil.copy(BUILTIN, tmp_path / "edited.onnx")
    _rewrite_props(weights, {DETECTOR_KEY: json.dumps(calib)})
    with pytest.raises(InputError, match=r"edited\.onnx: unusable prefilter"):
        YoloDetector(weights)


@pytest.mark.usefixtures("no_network")
@pytest.mark.skipif(not BUILTIN.is_file(), reason="built-in detector not made here")
@pytest.mark.parametrize("upscale", [2, 4])
def test_with_the_prefilter_boxes_stay_in_frame_coordinates(tmp_path: Path, upscale: int) -> None:
    """Each person is boxed where the plain frame boxes them: at 640x360 the low-passed frame keeps the frame's size,
    at 1280x720 it is halved first and the boxes are mapped back."""
    import cv2

    from streid.config import load_config
    from streid.media import read_frames
    from streid.train.synth.build import synthesize

    root = Path(__file__).resolve().parents[2]
    cfg = load_config(root / "configs/synth/tiny.yaml", ["synth.scenes.cameras=1", "synth.scenes.duration_s=4"])
    synthesize(cfg.synth, 3, tmp_path, ["scenes"], workers=0)
    frames = [Frame("c", i / 8, i, cv2.resize(im, None, fx=upscale, fy=upscale))
              for i, im in enumerate(read_frames(tmp_path / "scenes" / "cam1.mp4")) if i % 4 == 0]
    plain, smoothed = (YoloDetector(conf=0.4, prefilter=p, zoom_imgsz=0) for p in (0.0, 0.5))
    matched = 0
    for f in frames:
        a, b = plain.detect([f])[0], smoothed.detect([f])[0]
        for box in b.xyxy:
            if len(a):
                matched += int(np.abs(a.xyxy - box).max(axis=1).min() < 4 * upscale)  # frame pixels
    assert matched >= 5


@pytest.mark.skipif(not BUILTIN.is_file(), reason="built-in detector not made here")
def test_a_run_reports_which_cameras_the_prefilter_ended_on(scenes: dict, tmp_path: Path, make_config: Any) -> None:
    import json

    from streid.pipeline.runner import run_pipeline

    detector = {"kind": "yolo", "zoom_imgsz": 0, "prefilter": 0.7, "prefilter_min_noise": 2.1}
    result = run_pipeline(make_config(scenes, tmp_path, detector=detector,
                                      output={"dir": str(tmp_path), "video": False}))
    cameras = json.loads(result.metrics_path.read_text())["cameras"]
    for name in ("cam0", "cam1"):  # flat coloured boxes: nothing to filter
        assert cameras[name]["prefilter"]["on"] is False and cameras[name]["prefilter"]["noise"] < 2.1
