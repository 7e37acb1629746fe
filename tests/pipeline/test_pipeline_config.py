"""The pipeline section: shipped deploy configs validate, bad ones fail naming the key; ``streid run`` works."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from streid.config import ConfigError, load_config
from streid.pipeline.scene import SceneFiles


@pytest.mark.parametrize("name", ["offline_files", "live_rtsp", "jetson_csi"])
def test_shipped_deploy_configs_validate(repo: Path, name: str) -> None:
    cfg = load_config(repo / "configs" / "deploy" / f"{name}.yaml")
    assert cfg.pipeline.cameras and len({c.name for c in cfg.pipeline.cameras}) == len(cfg.pipeline.cameras)


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [
        ({"cameras": [{"name": "a", "kind": "file"}]}, "needs 'uri'"),
        ({"cameras": [{"name": "a", "kind": "test", "det_file": "x"}] * 2}, "repeated: a"),
        ({"cameras": [{"name": "a", "kind": "test"}], "detector": {"kind": "motdet"}}, "needs det_file for cameras: a"),
        ({"detector": {"imgsz": 16}}, "imgsz 16: 0 (the model's own) or at least 32"),
        ({"detector": {"zoom_imgsz": 16}}, "zoom_imgsz 16: 0 (one pass) or at least 32"),
        ({"detector": {"zoom_below": 1.5}}, "zoom_below"),
        ({"cameras": [{"name": "a", "kind": "webcam"}]}, "pipeline.cameras.0.kind"),
        ({"tracklets": {"seq_lenn": 4}}, "pipeline.tracklets.seq_lenn: unknown key"),
    ],
)
def test_bad_pipeline_configs_name_the_problem(tmp_path: Path, pipeline: dict, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"pipeline": pipeline}))
    with pytest.raises(ConfigError, match=r"bad\.yaml") as info:
        load_config(path)
    assert message in str(info.value)


def test_no_detector_configured_means_the_default_yolo(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"pipeline": {"cameras": [{"name": "a", "kind": "test"}]}}))
    detector = load_config(path).pipeline.detector
    assert (detector.kind, detector.weights, detector.imgsz) == ("yolo", "", 0)  # deploy/models, at its own size


def test_streid_run_cli(repo: Path, scenes: dict[str, SceneFiles], tmp_path: Path) -> None:
    scene = scenes["cam1"]
    config = {"pipeline": {"cameras": [{"name": "c", "uri": str(scene.video), "det_file": str(scene.gt)}],
                           "detector": {"kind": "motdet"}, "output": {"dir": str(tmp_path / "placeholder")}}}
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    cmd = [sys.executable, "-m", "streid.cli", "run", "--config", str(path), "--no-progress",
           "--set", f"pipeline.output.dir={tmp_path / 'out'}", "--set", "pipeline.output.video=false"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert "45 frames" in proc.stdout
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["events"] == str(tmp_path / "out" / "events.jsonl") and report["videos"] == {}
    bad = subprocess.run([*cmd[:5], str(tmp_path / "missing.yaml")], capture_output=True, text=True, cwd=repo)
    assert bad.returncode == 2 and "missing.yaml" in bad.stderr
