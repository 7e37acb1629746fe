"""SIGTERM to ``deploy/run_camera.py`` mid-run: playable MP4s, every started tracklet ended, exit 130."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from streid.media import count_frames
from streid.pipeline.events import read_events
from streid.pipeline.scene import SceneFiles


def test_sigterm_mid_run_finalises_videos_and_events(repo: Path, scenes: dict[str, SceneFiles],
                                                     tmp_path: Path) -> None:
    out = tmp_path / "out"
    gt = str(scenes["cam0"].gt)
    config = {"pipeline": {
        "mode": "offline",
        "cameras": [  # an endless test source (uses cam0's boxes for its first 60 frames) and a file
            {"name": "endless", "kind": "test", "capture_fps": 25, "det_file": gt},
            {"name": "cam1", "kind": "file", "uri": str(scenes["cam1"].video), "det_file": str(scenes["cam1"].gt)},
        ],
        "width": 320, "height": 180,
        "detector": {"kind": "motdet"},
        "tracklets": {"seq_len": 4, "crop_height": 32, "crop_width": 16, "min_height": 20, "lost_frames": 1000},
        "output": {"dir": str(out)},
    }}
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = subprocess.Popen([sys.executable, str(repo / "deploy/run_camera.py"), "--config", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    events_path = out / "events.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:  # wait until the endless camera started tracks
        if events_path.exists() and any(e["type"] == "start" and e["camera"] == "endless"
                                        for e in read_events(events_path)):
            break
        time.sleep(0.2)
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    report = json.loads(stdout.strip().splitlines()[-1])
    assert report["interrupted"] is True
    processed = {c: v["processed"] for c, v in json.loads((out / "metrics.json").read_text())["cameras"].items()}
    assert processed["endless"] > 0
    assert {c: count_frames(out / f"{c}.mp4") for c in processed} == processed  # every processed frame written
    assert not list(out.glob("*.part"))
    events = read_events(events_path)
    starts = sorted((e["camera"], e["track_id"]) for e in events if e["type"] == "start")
    ends = sorted((e["camera"], e["track_id"]) for e in events if e["type"] == "end")
    assert starts and starts == ends  # lost_frames is huge: every end here comes from the shutdown flush
