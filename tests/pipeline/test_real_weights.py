"""torchreid weights end to end: imported by name, run as the pipeline's embedder; the synthetic-only warning."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
import yaml

from streid.pipeline.scene import SceneFiles
from streid.provenance import source_is_synthetic, synthetic_warning
from tests.torchreid_files import write_torchreid_osnet

SHAPE = {"seq_len": 2, "height": 64, "width": 32}


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Two names in the session's model cache: the same random OSNet declared real and synthetic-only."""
    from streid.models.manage import ClipShape, import_model

    root = tmp_path_factory.mktemp("osnet")
    weights = write_torchreid_osnet(root / "osnet_x0_25_site.pth")
    shape = ClipShape(**SHAPE)
    return {learned: import_model(weights, f"osnet_{learned}", learned, shape).name
            for learned in ("real", "synthetic")}


def _config(tmp_path: Path, cameras: list[dict], embedder: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"pipeline": {
        "cameras": cameras, "detector": {"kind": "motdet"}, "max_frames": 30, "embedder": {"path": embedder},
        "tracklets": {"min_height": 20, "update_every": 10, "lost_frames": 5},
        "output": {"dir": str(tmp_path / "out"), "video": False}}}))
    return config


def test_torchreid_checkpoint_runs_as_the_embedder_by_name(scenes: dict[str, SceneFiles], tmp_path: Path,
                                                           imported: dict[str, str]) -> None:
    from streid.models.registry import resolve
    from streid.pipeline.cli import run_from_config
    from streid.pipeline.identity.store import SqliteStore

    cameras = [{"name": n, "kind": "file", "uri": str(s.video), "det_file": str(s.gt)} for n, s in scenes.items()]
    assert run_from_config(_config(tmp_path, cameras, imported["real"]), progress=False) == 0
    events = [json.loads(x) for x in (tmp_path / "out/events.jsonl").read_text().splitlines()]
    starts = [e for e in events if e["type"] == "start"]
    assert starts and all(isinstance(e["global_id"], int) for e in starts)
    store = SqliteStore(tmp_path / "out")
    assert store.get_meta("embedder") == resolve(imported["real"], "reid")  # the store records the artifact
    store.close()


def test_synthetic_only_model_on_real_video_warns_once(scenes: dict[str, SceneFiles], tmp_path: Path,
                                                       imported: dict[str, str],
                                                       caplog: pytest.LogCaptureFixture) -> None:
    from streid.pipeline.cli import run_from_config

    cam = scenes["cam0"]
    real = [{"name": "lobby", "kind": "file", "uri": str(cam.video), "det_file": str(cam.gt)}]
    with caplog.at_level(logging.WARNING, logger="streid.provenance"):
        assert run_from_config(_config(tmp_path / "a", real, imported["synthetic"]), progress=False) == 0
    warnings = [r.getMessage() for r in caplog.records if r.name == "streid.provenance"]
    assert len(warnings) == 1
    assert "synthetic world only" in warnings[0] and "lobby" in warnings[0]
    assert "streid models pull osnet_x0_25_msmt17" in warnings[0]

    caplog.clear()  # the same video inside a folder `streid synth` wrote: synthetic, nothing to say
    synth = tmp_path / "synth_scenes"
    synth.mkdir()
    shutil.copy(cam.video, synth / "cam0.mp4")
    (synth / "site.json").write_text("{}")
    rendered = [{**real[0], "uri": str(synth / "cam0.mp4")}]
    with caplog.at_level(logging.WARNING, logger="streid.provenance"):
        assert run_from_config(_config(tmp_path / "b", rendered, imported["synthetic"]), progress=False) == 0
    assert not [r for r in caplog.records if r.name == "streid.provenance"]


def test_which_sources_and_models_warn(tmp_path: Path, imported: dict[str, str], repo: Path) -> None:
    from streid.models.registry import resolve

    assert source_is_synthetic("test", "") and not source_is_synthetic("rtsp", "rtsp://cam/1")
    assert not source_is_synthetic("usb", "") and not source_is_synthetic("file", str(tmp_path / "x.mp4"))
    rtsp = [("gate", "rtsp", "rtsp://10.0.0.5/stream")]
    assert synthetic_warning({"reid": resolve(imported["real"], "reid")}, rtsp) is None
    builtin = synthetic_warning({"detector": str(repo / "deploy/models/person_detector.onnx")}, rtsp)
    assert builtin is not None and "streid models pull yolo11n" in builtin and "gate" in builtin
    assert synthetic_warning({"reid": resolve(imported["synthetic"], "reid")}, [("t", "test", "")]) is None
