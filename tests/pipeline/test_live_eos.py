"""An end of stream from a live camera is a dropped camera (reported, retried, the others go on); a file's end of
stream is the normal end of its camera. Real GStreamer and a loopback RTSP server whose streams end."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from streid.pipeline.config import CameraConfig
from streid.pipeline.events import read_events
from streid.pipeline.runner import Runner
from streid.pipeline.scene import SceneFiles
from streid.pipeline.sources import CameraSource, SourceEvent, is_live_source
from tests.pipeline.test_live_faults import events_so_far, stop_after
from tests.pipeline.test_rtsp import free_port, serve

EOS = "end of stream from a live source"
STREAM_FRAMES = 10  # every connection to the server gets a stream this long, then EOS


@pytest.mark.parametrize(("kind", "where", "live"), [
    ("rtsp", "rtsp://127.0.0.1:8554/cam", True),
    ("usb", "", True),
    ("csi", "", True),
    ("uri", "rtsp://127.0.0.1:8554/cam", True),
    ("uri", "RTSPS://127.0.0.1/cam", True),
    ("uri", "rtmp://127.0.0.1/live/cam", True),
    ("uri", "srt://127.0.0.1:9000", True),
    ("uri", "udp://127.0.0.1:5000", True),
    ("uri", "file:///videos/door.mp4", False),
    ("uri", "https://example.org/door.mp4", False),
    ("file", "door.mp4", False),
    ("test", "", False),
])
def test_which_cameras_are_live_feeds(kind: str, where: str, live: bool) -> None:
    cam = CameraConfig(name="c", kind=kind, uri=where)  # type: ignore[arg-type]
    assert is_live_source(cam) is live


def wait_for(events: list[SourceEvent], types: list[str], timeout_s: float) -> None:
    """Until ``events`` hold ``types`` in this order (other events between them allowed)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        seen = iter(e.type for e in list(events))
        if all(t in seen for t in types):
            return
        time.sleep(0.05)


@pytest.mark.parametrize("kind", ["rtsp", "uri"])
def test_an_rtsp_stream_that_ends_is_a_failure_retried_with_back_off(kind: str) -> None:
    port = free_port()
    server = serve(port, frames=STREAM_FRAMES)
    events: list[SourceEvent] = []
    cam = CameraConfig(name="door", kind=kind, uri=f"rtsp://127.0.0.1:{port}/test", latency_ms=0)  # type: ignore[arg-type]
    src = CameraSource(cam, width=160, height=90, live=True, stall_timeout_s=5.0, connect_timeout_s=10.0,
                       backoff_initial_s=0.1, backoff_max_s=0.4, max_retries=1, on_event=events.append)
    try:
        with src:
            # EOS, reconnect, frames again, EOS again: never the end of the camera
            wait_for(events, ["camera_error", "camera_recovered", "camera_error"], 30)
            finished = src.finished
    finally:
        server.kill()
        server.wait()
    errors = [e for e in events if e.type == "camera_error"]
    assert len(errors) >= 2 and all(e.camera == "door" and e.reason == EOS for e in errors), events
    # a stream that delivered frames resets the back-off: every EOS is retried after backoff_initial_s, and
    # max_retries (failures in a row) never gives up on a camera that keeps coming back
    assert [e.retry_in_s for e in errors] == [0.1] * len(errors)
    assert not finished and src.failures >= 2 and src.frames_in > STREAM_FRAMES


def test_live_rtsp_eos_is_retried_while_a_file_ends_cleanly_and_the_others_go_on(
        scenes: dict[str, SceneFiles], tmp_path: Path, make_config: Any) -> None:
    port = free_port()
    server = serve(port, frames=STREAM_FRAMES)
    gt = str(scenes["cam0"].gt)
    cfg = make_config(
        scenes, tmp_path, mode="live", width=320, height=180,
        cameras=[{"name": "alive", "kind": "test", "capture_fps": 30, "det_file": gt},
                 {"name": "recorded", "kind": "file", "uri": str(scenes["cam1"].video), "det_file": gt},
                 {"name": "door", "kind": "rtsp", "uri": f"rtsp://127.0.0.1:{port}/test", "latency_ms": 0,
                  "det_file": gt}],
        live={"connect_timeout_s": 10.0, "stall_timeout_s": 5.0, "backoff_initial_s": 0.1, "backoff_max_s": 0.4,
              "max_retries": 1},
        output={"dir": str(tmp_path), "video": False},
    )
    stop = threading.Event()
    runner = Runner(cfg, stop=stop)

    def door_came_back_and_file_ended() -> bool:
        seen = [(e["type"], e["camera"]) for e in events_so_far(tmp_path / "events.jsonl") if "camera" in e]
        door = iter(t for t, c in seen if c == "door")
        return all(t in door for t in ("camera_error", "camera_recovered")) and ("camera_end", "recorded") in seen

    after_eos = stop_after(runner, stop, door_came_back_and_file_ended, "alive")  # then the live camera runs on
    try:
        result = runner.run()
    finally:
        server.kill()
        server.wait()
    events = read_events(result.events_path)
    errors = [e for e in events if e["type"] == "camera_error"]
    assert errors and {e["camera"] for e in errors} == {"door"}, errors  # the file's EOS is no error
    assert all(e["reason"] == EOS and e["retry_in_s"] == 0.1 for e in errors)
    assert any(e["type"] == "camera_recovered" and e["camera"] == "door" for e in events)
    ended = {e["camera"] for e in events if e["type"] == "camera_end"}
    assert ended == {"recorded"} and result.failed == {}  # the door camera never ended: it was retried
    cams = result.summary["cameras"]
    rec = cams["recorded"]
    assert rec["processed"] + rec["dropped"] == rec["frames_in"] == 45  # every frame of the file
    assert cams["door"]["processed"] > 0
    assert result.interrupted and cams["alive"]["processed"] >= after_eos[0] + 10  # it went on after
