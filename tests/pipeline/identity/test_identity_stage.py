"""The identity stage inside the runner: global ids online in events and videos, a restart resumes the gallery."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from streid.pipeline.events import read_events
from streid.pipeline.identity.config import IdentityConfig
from streid.pipeline.identity.stage import stage_from_config
from streid.pipeline.runner import run_pipeline
from streid.pipeline.scene import SceneFiles
from tests.pipeline.identity.conftest import BandColourEmbedder


def run_once(scenes: dict[str, SceneFiles], out: Path, make_config: Any, later: float = 0.0) -> tuple[list[dict], Any]:
    """One run of the files; ``later`` shifts site time (a live restart's wall clock has moved on)."""
    stage = stage_from_config(IdentityConfig(gate=0.2), out, None)
    stage.t_offsets = dict.fromkeys(scenes, later)
    try:
        result = run_pipeline(make_config(scenes, out), embedder=BandColourEmbedder(), identity=stage)
    finally:
        stage.close()
    return [e for e in read_events(result.events_path) if e["type"] in ("start", "update", "end")], result


def test_runner_assigns_global_ids_and_a_restart_resumes(scenes: dict[str, SceneFiles], tmp_path: Path,
                                                         make_config: Any) -> None:
    out = tmp_path / "live"
    first, result = run_once(scenes, out, make_config)
    assert first and all(e["global_id"] is not None and "runner_up_distance" in e for e in first)
    assert all(e["store_track_id"] == e["track_id"] for e in first)
    for cam in ("cam0", "cam1"):  # three people at once in each camera: never one identity
        ids = {e["track_id"]: e["global_id"] for e in first if e["camera"] == cam and e["type"] == "end"}
        assert len(ids) == 3 and len(set(ids.values())) == 3, ids
    assert set(result.videos) == {"cam0", "cam1"}

    # The process restarts on the same store: the tracker numbers tracks from 1 again, the gallery comes back.
    (out / "events.jsonl").unlink()
    second, _ = run_once(scenes, out, make_config, later=600.0)
    first_ids = {(e["camera"], e["track_id"]): e["global_id"] for e in first if e["type"] == "end"}
    second_ids = {(e["camera"], e["track_id"]): e["global_id"] for e in second if e["type"] == "end"}
    offsets = {cam: max(t for c, t in first_ids if c == cam) for cam in ("cam0", "cam1")}  # new ids from max + 1
    assert all(e["store_track_id"] == e["track_id"] + offsets[e["camera"]] for e in second)
    assert second_ids == first_ids  # the same people (same colours) get their earlier global ids back


def test_streid_run_with_an_embedder_writes_global_ids(scenes: dict[str, SceneFiles], tmp_path: Path) -> None:
    from streid.pipeline.cli import run_from_config
    from streid.pipeline.identity.store import SqliteStore
    from tests.export.conftest import SMALL, model_available, write_checkpoint

    model_available("nl3d")
    ckpt = write_checkpoint(tmp_path / "small.pt", SMALL["nl3d"])
    cameras = [{"name": n, "kind": "file", "uri": str(s.video), "det_file": str(s.gt)} for n, s in scenes.items()]
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"pipeline": {
        "cameras": cameras, "detector": {"kind": "motdet"}, "max_frames": 30, "embedder": {"path": str(ckpt)},
        "tracklets": {"min_height": 20, "update_every": 10, "lost_frames": 5},
        "output": {"dir": str(tmp_path / "out"), "video": False}}}))
    assert run_from_config(config, progress=False) == 0
    events = [json.loads(x) for x in (tmp_path / "out/events.jsonl").read_text().splitlines()]
    starts = [e for e in events if e["type"] == "start"]
    assert starts and all(isinstance(e["global_id"], int) for e in starts)
    store = SqliteStore(tmp_path / "out")
    assert {(t.camera, t.track_id) for t in store.tracklets()} == {(e["camera"], e["track_id"]) for e in starts}
    assert store.get_meta("embedder") == str(ckpt)
    store.close()


def test_wall_clock_anchors_each_camera_and_re_anchors_after_a_reconnect(tmp_path: Path) -> None:
    import time

    stage = stage_from_config(IdentityConfig(), tmp_path, None, live=True)
    before = time.time()
    stage.seen("a", [], 5.0)
    anchor = stage.t_offsets["a"]
    assert before - 5.0 <= anchor <= time.time() - 5.0  # pts 5 s = now
    stage.seen("a", [], 6.0)
    assert stage.t_offsets["a"] == anchor  # a steady stream keeps its anchor
    stage.seen("a", [], 0.5)  # pts went back: the stream restarted; its pts 0.5 is now
    assert anchor + 4.5 <= stage.t_offsets["a"] <= time.time() - 0.5
    stage.close()


def test_a_track_still_in_view_keeps_its_identity_busy() -> None:
    import numpy as np

    from streid.pipeline.identity.matcher import OnlineMatcher
    from streid.pipeline.identity.records import TrackletObs

    emb = np.ones(4, np.float32)
    m = OnlineMatcher(4, gate=0.3)
    (a,) = m.update([TrackletObs("cam0", 1, 0.0, 1.0, emb)])  # first tracklet: in view 0-1 s
    m.extend(("cam0", 1), 10.0)  # ...and still seen at 10 s
    (b,) = m.update([TrackletObs("cam1", 7, 5.0, 6.0, emb)])  # same look, other camera, meanwhile
    assert b.global_id != a.global_id and b.kind == "new"
    (c,) = m.update([TrackletObs("cam1", 8, 12.0, 13.0, emb)])  # after it left: may be the same person
    assert c.global_id in (a.global_id, b.global_id) and c.kind == "match"
