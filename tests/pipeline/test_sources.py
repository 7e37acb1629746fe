"""Camera sources on real GStreamer pipelines: offline order, missing files, live drops."""

from __future__ import annotations

import time

import numpy as np

from streid.media import read_frames
from streid.pipeline.config import CameraConfig
from streid.pipeline.scene import SceneFiles
from streid.pipeline.sources import CameraSource, SourceEvent, describe, source_properties


def drain(src: CameraSource, timeout_s: float = 30.0) -> list:
    frames, end = [], time.monotonic() + timeout_s
    while not src.finished and time.monotonic() < end:
        frame = src.read(0.1)
        if frame is not None:
            frames.append(frame)
    return frames


def test_offline_file_delivers_every_frame_in_order(scenes: dict[str, SceneFiles]) -> None:
    scene = scenes["cam0"]
    with CameraSource(CameraConfig(name="cam0", uri=str(scene.video)), queue_size=2) as src:
        frames = drain(src)
    assert [f.index for f in frames] == list(range(scene.frames))
    assert np.allclose(np.diff([f.pts for f in frames]), 1 / 25, atol=1e-3)
    assert src.fps == 25.0 and src.dropped == 0
    reference = list(read_frames(scene.video))
    assert all(np.array_equal(f.image, r) for f, r in zip(frames, reference, strict=True))


def test_offline_scales_to_the_configured_size(scenes: dict[str, SceneFiles]) -> None:
    with CameraSource(CameraConfig(name="c", uri=str(scenes["cam1"].video)), width=160, height=96) as src:
        frames = drain(src)
    assert len(frames) == scenes["cam1"].frames and frames[0].image.shape == (96, 160, 3)


def test_missing_file_is_reported_once_and_ends_the_camera(tmp_path) -> None:
    events: list[SourceEvent] = []
    missing = tmp_path / "nope.mp4"
    with CameraSource(CameraConfig(name="gone", uri=str(missing)), on_event=events.append) as src:
        assert drain(src, 10) == []
    assert [(e.camera, e.type, e.retry_in_s) for e in events] == [("gone", "camera_error", None)]
    assert str(missing) in events[0].reason and "not found" in events[0].reason


def test_live_queue_is_bounded_and_stale_frames_are_dropped_and_counted() -> None:
    cam = CameraConfig(name="fast", kind="test", capture_fps=100)
    with CameraSource(cam, width=160, height=90, live=True, queue_size=2) as src:
        time.sleep(1.0)  # a consumer that is far behind
        assert src.queue.qsize() <= 2
        frames_in, dropped = src.frames_in, src.dropped
        newest = [src.read(0.5), src.read(0.5)]
    assert frames_in > 20 and dropped >= frames_in - 2
    assert newest[-1] is not None and newest[-1].index >= frames_in - 3  # what we read is fresh


def test_describe_uses_software_elements_without_jetson_ones() -> None:
    rtsp = CameraConfig(name="r", kind="rtsp", uri="rtsp://127.0.0.1:1/x", protocols="udp", latency_ms=50)
    desc = describe(rtsp, 640, 360, live=True, hardware=True)
    assert "rtspsrc name=src protocols=udp latency=50" in desc and "127.0.0.1" not in desc  # a property, not text
    assert source_properties(rtsp) == {"location": "rtsp://127.0.0.1:1/x"}
    assert "nvvidconv" not in desc and "drop=false" in desc
    assert "width=640,height=360" in desc
    usb_cam = CameraConfig(name="u", kind="usb", device="/dev/video3")
    assert describe(usb_cam, 0, 0, live=True, hardware=False).startswith("v4l2src name=src")
    assert source_properties(usb_cam) == {"device": "/dev/video3"}
    csi = describe(CameraConfig(name="c", kind="csi", sensor_id=1), 1280, 720, live=True, hardware=True)
    assert "nvarguscamerasrc name=src" in csi and "nvvidconv" in csi


def test_undecodable_file_is_reported_with_the_gstreamer_reason(tmp_path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    events: list[SourceEvent] = []
    with CameraSource(CameraConfig(name="bad", uri=str(bad)), on_event=events.append) as src:
        assert drain(src, 20) == []
    assert len(events) == 1 and events[0].type == "camera_error" and events[0].retry_in_s is None
    assert events[0].reason  # e.g. "typefind: Could not determine type of stream."
