"""Sources under faulty input: injected pipeline text, image sequences, size changes, truncation, pacing, retries."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from test_sources import drain

from streid.config import ConfigError, load_config
from streid.media import gst
from streid.pipeline.config import CameraConfig, PipelineSection
from streid.pipeline.detector import MOTDetFileDetector
from streid.pipeline.runner import Runner
from streid.pipeline.scene import SceneFiles
from streid.pipeline.sources import CameraSource, SourceEvent, build_pipeline
from streid.records import Detections, Frame


def write_images(folder: Path, sizes: list[tuple[int, int]], start: int = 1, ext: str = "jpg") -> None:
    """Numbered images rendered and encoded by GStreamer (jpegenc / pngenc), one per size."""
    Gst = gst()
    folder.mkdir(parents=True, exist_ok=True)
    enc = "jpegenc" if ext == "jpg" else "pngenc"
    for i, (w, h) in enumerate(sizes):
        p = Gst.parse_launch(f"videotestsrc num-buffers=1 pattern=ball ! video/x-raw,width={w},height={h} ! {enc} ! "
                             "filesink name=out")
        p.get_by_name("out").set_property("location", str(folder / f"{start + i:06d}.{ext}"))
        p.set_state(Gst.State.PLAYING)
        p.get_bus().timed_pop_filtered(10 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
        p.set_state(Gst.State.NULL)


def test_a_pattern_carrying_pipeline_text_is_a_config_error(tmp_path: Path) -> None:
    cfg = tmp_path / "run.yaml"
    cfg.write_text("pipeline:\n  cameras:\n    - name: t\n      kind: test\n"
                   "      pattern: \"ball num-buffers=3 ! jpegenc"
                   f" ! multifilesink location={tmp_path}/x_%d.jpg videotestsrc pattern=ball\"\n")
    with pytest.raises(ConfigError, match=r"pipeline.cameras.0.pattern"):
        load_config(cfg)
    assert not list(tmp_path.glob("x_*"))


@pytest.mark.parametrize(("kind", "uri", "device"), [("rtsp", "http://127.0.0.1/x", "/dev/video0"),
                                                     ("uri", "javascript:alert(1)", "/dev/video0"),
                                                     ("uri", "file:///a b.mp4", "/dev/video0"),
                                                     ("usb", "", "/dev/video0 ! fakesink"),
                                                     ("usb", "", "/dev/../etc/passwd")])
def test_uris_and_devices_are_validated(kind: str, uri: str, device: str) -> None:
    with pytest.raises(ValueError, match=r"uri|device"):
        CameraConfig(name="c", kind=kind, uri=uri, device=device)


def test_an_rtsp_password_with_a_bang_stays_one_property() -> None:
    uri = "rtsp://admin:p!ss word@127.0.0.1:1/stream?a=1&b=!"
    cam = CameraConfig(name="door", kind="rtsp", uri=uri.replace(" ", "%20"))
    pipeline = build_pipeline(cam, 160, 90, live=True, hardware=False)
    try:
        assert pipeline.get_by_name("src").get_property("location") == cam.uri
    finally:
        pipeline.set_state(gst().State.NULL)


def test_a_motchallenge_image_folder_is_a_camera_at_its_seqinfo_rate(tmp_path: Path) -> None:
    seq = tmp_path / "MOT17-02"
    write_images(seq / "img1", [(64, 48)] * 6)
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=MOT17-02\nframeRate=10\nimExt=.jpg\n")
    with CameraSource(CameraConfig(name="mot", uri=str(seq / "img1"))) as src:
        frames = drain(src)
    assert [f.index for f in frames] == list(range(6)) and src.fps == 10.0
    assert np.allclose(np.diff([f.pts for f in frames]), 0.1, atol=1e-3)
    with CameraSource(CameraConfig(name="mot", uri=str(seq / "img1" / "%06d.jpg"))) as src:
        assert len(drain(src)) == 6


def test_an_image_folder_with_gaps_is_refused_clearly(tmp_path: Path) -> None:
    write_images(tmp_path / "img1", [(32, 24)] * 2)
    write_images(tmp_path / "img1", [(32, 24)], start=5)
    events: list[SourceEvent] = []
    with CameraSource(CameraConfig(name="gappy", uri=str(tmp_path / "img1")), on_event=events.append) as src:
        assert drain(src, 10) == []
    assert [e.type for e in events] == ["camera_error"] and "gaps" in events[0].reason


def test_a_size_change_mid_stream_keeps_the_first_size_and_every_camera_runs(tmp_path: Path,
                                                                             scenes: dict[str, SceneFiles]) -> None:
    write_images(tmp_path / "img1", [(64, 48)] * 4 + [(32, 24)] * 4)
    det = tmp_path / "none.txt"
    det.write_text("")
    cfg = PipelineSection.model_validate({
        "cameras": [{"name": "odd", "uri": str(tmp_path / "img1"), "det_file": str(det)},
                    {"name": "cam1", "uri": str(scenes["cam1"].video), "det_file": str(scenes["cam1"].gt)}],
        "detector": {"kind": "motdet"}, "output": {"dir": str(tmp_path / "out"), "video": True}})
    runner = Runner(cfg)
    result = runner.run()
    assert result.failed == {} and set(result.videos) == {"odd", "cam1"}
    assert result.summary["cameras"]["odd"]["processed"] == 8
    assert result.summary["cameras"]["cam1"]["processed"] == scenes["cam1"].frames
    assert runner.sources[0].resized == 4


def test_a_truncated_file_is_a_camera_error_not_a_quiet_end(tmp_path: Path, scenes: dict[str, SceneFiles]) -> None:
    Gst = gst()
    whole = tmp_path / "faststart.mp4"  # moov first: a cut file still plays up to the cut
    p = Gst.parse_launch("filesrc name=src ! qtdemux ! h264parse ! mp4mux faststart=true ! filesink name=out")
    p.get_by_name("src").set_property("location", str(scenes["cam0"].video))
    p.get_by_name("out").set_property("location", str(whole))
    p.set_state(Gst.State.PLAYING)
    p.get_bus().timed_pop_filtered(20 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    p.set_state(Gst.State.NULL)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    events: list[SourceEvent] = []
    with CameraSource(CameraConfig(name="cut", uri=str(cut)), on_event=events.append) as src:
        frames = drain(src)
    assert 0 < len(frames) < scenes["cam0"].frames
    assert [e.type for e in events] == ["camera_error"] and "truncated" in events[0].reason


class SlowDetector(MOTDetFileDetector):
    """The MOT-file detector plus 80 ms per batch: a consumer slower than the camera."""

    def detect(self, frames: list[Frame]) -> list[Detections]:
        time.sleep(0.08)
        return super().detect(frames)


def test_a_live_file_is_paced_and_every_frame_is_processed_or_counted_dropped(tmp_path: Path,
                                                                              scenes: dict[str, SceneFiles]) -> None:
    scene = scenes["cam0"]  # 60 frames at 25 fps: 2.4 s when paced
    cfg = PipelineSection.model_validate({
        "mode": "live", "cameras": [{"name": "cam0", "uri": str(scene.video), "det_file": str(scene.gt)}],
        "detector": {"kind": "motdet"}, "output": {"dir": str(tmp_path), "video": False}})
    t0 = time.monotonic()
    result = Runner(cfg, detector=SlowDetector({"cam0": str(scene.gt)})).run()
    elapsed = time.monotonic() - t0
    cam = result.summary["cameras"]["cam0"]
    assert cam["frames_in"] == scene.frames, cam
    assert cam["processed"] + cam["dropped"] == cam["frames_in"] and cam["dropped"] > 0
    assert elapsed >= 2.0  # played at its own rate, not decoded as fast as possible


def test_max_retries_is_the_number_of_reconnects_after_a_drop(tmp_path: Path) -> None:
    from test_rtsp import frames_within, free_port, serve

    port = free_port()
    server = serve(port)
    events: list[SourceEvent] = []
    cam = CameraConfig(name="door", kind="rtsp", uri=f"rtsp://127.0.0.1:{port}/test", latency_ms=0)
    src = CameraSource(cam, width=160, height=90, live=True, stall_timeout_s=1.0, connect_timeout_s=2.0,
                       backoff_initial_s=0.05, backoff_max_s=0.1, max_retries=2, on_event=events.append)
    try:
        src.start()
        assert frames_within(src, 3, 15) == 3
        server.kill()
        server.wait()
        end = time.monotonic() + 30
        while not src._done.is_set() and time.monotonic() < end:
            time.sleep(0.1)
    finally:
        src.close()
        server.kill()
        server.wait()
    errors = [e for e in events if e.type == "camera_error"]
    assert len(errors) == 3  # the drop, then 2 failed reconnects
    assert errors[-1].retry_in_s is None and all(e.retry_in_s is not None for e in errors[:-1])
