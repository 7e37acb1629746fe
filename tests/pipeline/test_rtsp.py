"""A loopback RTSP camera that goes away and comes back: reported, retried with back-off, recovered."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streid.pipeline.config import CameraConfig
from streid.pipeline.sources import CameraSource, SourceEvent

SERVER = Path(__file__).with_name("rtsp_server.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(port: int, frames: int = -1) -> subprocess.Popen:
    """The loopback RTSP server; with ``frames`` every client's stream ends (EOS) after that many frames."""
    proc = subprocess.Popen([sys.executable, str(SERVER), str(port), str(frames)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def frames_within(src: CameraSource, n: int, timeout_s: float) -> int:
    got, end = 0, time.monotonic() + timeout_s
    while got < n and time.monotonic() < end:
        got += src.read(0.1) is not None
    return got


@pytest.fixture
def port() -> int:
    return free_port()


def test_rtsp_camera_reconnects_with_backoff_after_the_server_restarts(port: int) -> None:
    events: list[SourceEvent] = []
    server = serve(port)
    cam = CameraConfig(name="door", kind="rtsp", uri=f"rtsp://127.0.0.1:{port}/test", protocols="tcp", latency_ms=0)
    # a generous connect timeout: on a loaded machine the first frame can take several seconds (a timed-out first
    # connection would add a retry at the initial delay and break the doubling checked below)
    src = CameraSource(cam, width=160, height=90, live=True, stall_timeout_s=1.0, connect_timeout_s=15.0,
                       backoff_initial_s=0.2, backoff_max_s=1.0, on_event=events.append)
    try:
        src.start()
        assert frames_within(src, 5, 15) == 5
        server.kill()
        server.wait()
        deadline = time.monotonic() + 15  # the camera is down: errors with growing delays
        while sum(e.type == "camera_error" for e in events) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        errors = [e for e in events if e.type == "camera_error"]
        assert len(errors) >= 2 and all(e.camera == "door" and e.reason for e in errors)
        delays = [e.retry_in_s for e in errors]
        assert delays == sorted(delays) and delays[1] == pytest.approx(2 * delays[0])
        server = serve(port)
        before = src.frames_in
        assert frames_within(src, 5, 15) == 5
        assert src.frames_in > before and not src.finished
        assert events[-1].type == "camera_recovered"
    finally:
        src.close()
        server.kill()
        server.wait()


def test_a_frozen_rtsp_camera_trips_the_stall_watchdog_and_recovers(port: int) -> None:
    import signal

    events: list[SourceEvent] = []
    server = serve(port)
    cam = CameraConfig(name="hall", kind="rtsp", uri=f"rtsp://127.0.0.1:{port}/test", latency_ms=0)
    src = CameraSource(cam, live=True, stall_timeout_s=1.0, connect_timeout_s=2.0, backoff_initial_s=0.2,
                       backoff_max_s=0.5, on_event=events.append)
    try:
        src.start()
        assert frames_within(src, 3, 15) == 3
        server.send_signal(signal.SIGSTOP)  # the camera freezes: no EOS, no error, just no frames
        deadline = time.monotonic() + 10
        while not any("stalled" in e.reason for e in events) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert any(e.type == "camera_error" and "stalled" in e.reason for e in events), events
        server.send_signal(signal.SIGCONT)
        assert frames_within(src, 3, 20) == 3
        assert any(e.type == "camera_recovered" for e in events)
    finally:
        src.close()
        server.send_signal(signal.SIGCONT)
        server.kill()
        server.wait()
