"""Live mode when cameras fail: retries with a capped back-off, giving up after max_retries, and a dead camera
never holding up the others (real GStreamer, an RTSP address on loopback that nobody serves)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streid.pipeline.config import CameraConfig
from streid.pipeline.events import read_events
from streid.pipeline.runner import Runner
from streid.pipeline.scene import SceneFiles
from streid.pipeline.sources import CameraSource, SourceEvent
from tests.pipeline.test_rtsp import free_port


def closed_rtsp(name: str = "dead") -> CameraConfig:
    """An RTSP camera nobody serves: every connection attempt is refused."""
    return CameraConfig(name=name, kind="rtsp", uri=f"rtsp://127.0.0.1:{free_port()}/test", protocols="tcp",
                        latency_ms=0)


def test_retries_back_off_to_the_cap_then_give_up_after_max_retries() -> None:
    events: list[SourceEvent] = []
    src = CameraSource(closed_rtsp(), live=True, connect_timeout_s=2.0, backoff_initial_s=0.1, backoff_max_s=0.25,
                       max_retries=3, on_event=events.append)
    with src:
        deadline = time.monotonic() + 60
        while not src.finished and time.monotonic() < deadline:
            time.sleep(0.05)
    assert src.finished and src.frames_in == 0
    assert all(e.type == "camera_error" and e.camera == "dead" and e.reason for e in events)
    # the first attempt and 3 retries; delays double up to backoff_max_s; the last error gives up (no retry)
    assert [e.retry_in_s for e in events] == [0.1, 0.2, 0.25, None]


def events_so_far(path: Path) -> list[dict[str, Any]]:
    """The events a running run has written (none yet while the file is missing or a line is half-written)."""
    try:
        return read_events(path)
    except (OSError, ValueError):
        return []


def dead_ended(path: Path) -> bool:
    return any(e["type"] == "camera_end" and e["camera"] == "dead" for e in events_so_far(path))


def stop_after(runner: Runner, stop: threading.Event, happened: Callable[[], bool], camera: str,
               more: int = 10) -> list[int]:
    """Watch a live run: once ``happened()``, note how far ``camera`` was (the list returned), let it process
    ``more`` frames, then stop the run (60 s at most in all)."""
    noted: list[int] = []

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not happened():
            time.sleep(0.1)
        noted.append(runner.metrics.processed[camera])
        while time.monotonic() < deadline and runner.metrics.processed[camera] < noted[0] + more:
            time.sleep(0.1)
        stop.set()

    threading.Thread(target=watch, daemon=True).start()
    return noted


def test_a_dead_camera_does_not_hold_up_the_others(scenes: dict[str, SceneFiles], tmp_path: Path,
                                                   make_config: Any) -> None:
    gt = str(scenes["cam0"].gt)
    dead = closed_rtsp().model_dump(mode="json")
    cfg = make_config(
        scenes, tmp_path, mode="live", width=320, height=180,
        cameras=[{"name": "alive", "kind": "test", "capture_fps": 30, "det_file": gt}, {**dead, "det_file": gt}],
        live={"connect_timeout_s": 2.0, "backoff_initial_s": 0.1, "backoff_max_s": 0.2, "max_retries": 2},
        output={"dir": str(tmp_path), "video": False},
    )
    stop = threading.Event()
    runner = Runner(cfg, stop=stop)
    # once the dead camera gave up, note how far the live one was, let it run on, stop
    at_dead_end = stop_after(runner, stop, lambda: dead_ended(tmp_path / "events.jsonl"), "alive")
    result = runner.run()
    events = read_events(result.events_path)
    errors = [e for e in events if e["type"] == "camera_error"]
    assert {e["camera"] for e in errors} == {"dead"} and [e["retry_in_s"] for e in errors] == [0.1, 0.2, None]
    assert any(e["type"] == "camera_end" and e["camera"] == "dead" for e in events)
    assert result.interrupted and result.summary["cameras"].get("dead", {}).get("processed", 0) == 0
    assert result.summary["cameras"]["alive"]["processed"] >= at_dead_end[0] + 10  # it went on after
