"""The tracker's thresholds follow the detector: a real detector whose scores never reach 0.6 still starts tracks,
and a run whose tracker starts nothing says which key stopped it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from streid.defaults import models_dir
from streid.pipeline.config import PipelineSection
from streid.pipeline.events import read_events
from streid.pipeline.runner import run_pipeline

CAP = 0.6
BUILTIN = models_dir() / "person_detector.onnx"
pytestmark = pytest.mark.skipif(not BUILTIN.is_file(), reason="built-in detector not made here")


def capped_detector(src: Path, dst: Path, cap: float = CAP) -> Path:
    """The built-in ONNX detector with every class score multiplied by ``cap``: a real model that never scores
    above it (output (B, 4 + classes, anchors): boxes kept, scores scaled)."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(src))
    graph = model.graph
    out = graph.output[0].name
    raw = out + "_uncapped"
    for node in graph.node:
        node.output[:] = [raw if o == out else o for o in node.output]
    consts = {"cap_starts_box": [0], "cap_ends_box": [4], "cap_starts_cls": [4], "cap_ends_cls": [1 << 30],
              "cap_axes": [1]}
    for name, value in consts.items():
        graph.initializer.append(helper.make_tensor(name, TensorProto.INT64, [1], value))
    graph.initializer.append(helper.make_tensor("cap_scale", TensorProto.FLOAT, [], [cap]))
    graph.node.extend([
        helper.make_node("Slice", [raw, "cap_starts_box", "cap_ends_box", "cap_axes"], ["cap_box"]),
        helper.make_node("Slice", [raw, "cap_starts_cls", "cap_ends_cls", "cap_axes"], ["cap_cls"]),
        helper.make_node("Mul", ["cap_cls", "cap_scale"], ["cap_cls_scaled"]),
        helper.make_node("Concat", ["cap_box", "cap_cls_scaled"], [out], axis=1),
    ])
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))
    return dst


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One camera of the tiny synthetic world (walking people, 320x180)."""
    from streid.config import load_config
    from streid.train.synth.build import synthesize

    root = Path(__file__).resolve().parents[2]
    out = tmp_path_factory.mktemp("activation")
    cfg = load_config(root / "configs/synth/tiny.yaml", ["synth.scenes.cameras=1", "synth.scenes.duration_s=6"])
    synthesize(cfg.synth, 3, out, ["scenes"], workers=0)
    return out / "scenes" / "cam1.mp4"


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return capped_detector(BUILTIN, tmp_path_factory.mktemp("capped") / "capped.onnx")


def run(clip: Path, weights: Path, out: Path, params: dict[str, Any] | None = None) -> tuple[Any, list[dict]]:
    cfg = PipelineSection.model_validate({
        "mode": "offline", "cameras": [{"name": "cam1", "kind": "file", "uri": str(clip)}],
        "detector": {"weights": str(weights), "conf": 0.1}, "tracker": {"params": params or {}},
        "output": {"dir": str(out), "video": False, "mot": True},
    })
    result = run_pipeline(cfg)
    rows = (out / "cam1.txt").read_text().splitlines()
    return rows, list(read_events(result.events_path))


@pytest.mark.usefixtures("no_network")
def test_capped_detector_still_starts_tracks(clip: Path, capped: Path, tmp_path: Path) -> None:
    from itertools import islice

    from streid.media import read_frames
    from streid.pipeline.detector import YoloDetector
    from streid.records import Frame

    det = YoloDetector(capped, conf=0.1)
    frames = [Frame("cam1", i / 8, i, img) for i, img in enumerate(islice(read_frames(clip), 12))]
    scores = np.concatenate([d.confidence for d in det.detect(frames)])
    assert len(scores) and scores.max() <= CAP + 1e-6  # the premise: this detector never reaches 0.6
    rows, events = run(clip, capped, tmp_path / "auto")
    assert rows, "no track although the detector fires"
    assert not [e for e in events if e["type"] == "no_tracks"]


@pytest.mark.usefixtures("no_network")
def test_config_threshold_above_the_scores_is_named(clip: Path, capped: Path, tmp_path: Path) -> None:
    rows, events = run(clip, capped, tmp_path / "strict", {"track_activation_threshold": 0.7,
                                                            "high_conf_det_threshold": 0.7})
    assert not rows
    (event,) = [e for e in events if e["type"] == "no_tracks"]
    assert "pipeline.tracker.params.track_activation_threshold is 0.700 (config)" in event["reason"]


@pytest.mark.usefixtures("no_network")
def test_detector_calibration_sets_the_thresholds(clip: Path, capped: Path, tmp_path: Path) -> None:
    import shutil

    from streid.export.calibration import write_detector_calibration
    from streid.pipeline.activation import ActivationThresholds, detector_calibration
    from streid.pipeline.tracker import tracker_factories

    weights = shutil.copy(capped, tmp_path / "calibrated.onnx")
    write_detector_calibration(weights, 0.3, source="test")
    entry = detector_calibration(weights)
    assert entry is not None and entry["track_activation_threshold"] == 0.3
    thresholds = ActivationThresholds(tracker_factories()["bytetrack"], {}, entry, 0.1)
    assert thresholds.values == {"track_activation_threshold": 0.3, "high_conf_det_threshold": 0.3}
    assert not thresholds.warming  # nothing left to estimate from scores
    rows, _ = run(clip, Path(weights), tmp_path / "calibrated")
    assert rows


def test_track_score_floor_follows_the_detector() -> None:
    from streid.pipeline.activation import track_score_floor

    assert track_score_floor(0.2, {"conf": 0.433}) == (0.2, "config")
    assert track_score_floor(0.0, {"conf": 0.433}) == (0.0, "off")  # the default: off whatever the detector says
    assert track_score_floor("detector", {"conf": 0.433}) == (0.433, "detector calibration")
    assert track_score_floor("detector", None)[0] == 0.0  # a user's detector without calibration: off, not a guess
    assert track_score_floor("detector", {"track_activation_threshold": 0.5})[0] == 0.0
    with pytest.raises(ValueError, match="not a number"):
        track_score_floor("detector", {"conf": "high"})
    with pytest.raises(ValueError, match="outside"):
        track_score_floor("detector", {"conf": 4.33})
    for bad in (1.5, -0.1, "auto"):
        with pytest.raises(ValueError, match="min_track_score"):
            PipelineSection.model_validate({"cameras": [{"name": "c", "kind": "test"}],
                                            "tracker": {"min_track_score": bad}})


@pytest.mark.usefixtures("no_network")
def test_track_score_floor_above_every_score_is_named(clip: Path, capped: Path, tmp_path: Path) -> None:
    """A floor no track's mean reaches: no rows, and the no_tracks event names min_track_score, not activation."""
    cfg = PipelineSection.model_validate({
        "mode": "offline", "cameras": [{"name": "cam1", "kind": "file", "uri": str(clip)}],
        "detector": {"weights": str(capped), "conf": 0.1}, "tracker": {"min_track_score": CAP + 0.05},
        "output": {"dir": str(tmp_path), "video": False, "mot": True},
    })
    events = list(read_events(run_pipeline(cfg).events_path))
    assert not (tmp_path / "cam1.txt").read_text().strip()
    (event,) = [e for e in events if e["type"] == "no_tracks"]
    assert "pipeline.tracker.min_track_score 0.650" in event["reason"]
