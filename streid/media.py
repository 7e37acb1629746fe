"""Small GStreamer helpers shared by every stage: write BGR frames to an H.264 MP4, read one back.

Both are real GStreamer pipelines (appsrc/appsink). GStreamer is imported inside functions so that
importing this module stays cheap.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

_INIT_LOCK = threading.Lock()
_initialised = False


def gst() -> Any:
    """The initialised ``Gst`` module (PyGObject).

    Thread-safe: ``Gst.is_initialized()`` turns true before ``Gst.init`` has read the plugin registry, so
    a camera thread that only checked it could parse a pipeline against an empty registry ("no element").
    """
    global _initialised
    import gi

    gi.require_version("Gst", "1.0")
    from gi.repository import Gst

    if not _initialised:
        with _INIT_LOCK:
            if not _initialised:
                Gst.init(None)
                _initialised = True
    return Gst


def h264_encoder(bitrate_kbps: int = 2000) -> str:
    """The best software H.264 encoder present, as a pipeline fragment.

    One encoder thread: with several, x264's sliced threads share the bitrate control in whatever order they
    finish, so the same frames gave other pixels from run to run (``--seed`` must repeat the decoded video).
    """
    Gst = gst()
    if Gst.ElementFactory.find("x264enc"):
        return f"x264enc tune=zerolatency speed-preset=ultrafast bitrate={bitrate_kbps} key-int-max=30 threads=1"
    if Gst.ElementFactory.find("openh264enc"):
        return f"openh264enc bitrate={bitrate_kbps * 1000} multi-thread=1"
    raise RuntimeError("no H.264 encoder: install gstreamer1.0-plugins-ugly (x264enc) or -bad (openh264enc)")


class Mp4Writer:
    """Push BGR frames into ``appsrc ! videoconvert ! x264enc ! h264parse ! mp4mux ! filesink``.

    Offline (``fragment_ms=0``): frames go to ``PATH.part`` and the file is renamed to PATH only after EOS has been
    written, so an interrupted job never leaves a truncated MP4 under the final name. Live (``fragment_ms>0``): a
    fragmented MP4 written straight to PATH, unbuffered, so a killed process or a power cut leaves a playable file
    missing at most its last fragment. Use as a context manager.
    """

    def __init__(self, path: str | Path, width: int, height: int, fps: float, bitrate_kbps: int = 2000,
                 fragment_ms: int = 0) -> None:
        Gst = gst()
        self.path = Path(path)
        self.fragmented = fragment_ms > 0
        self.part = self.path if self.fragmented else self.path.with_name(self.path.name + ".part")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.width, self.height, self.fps = width, height, fps
        num, den = fps_fraction(fps)
        self._duration = Gst.util_uint64_scale(Gst.SECOND, den, num)
        caps = f"video/x-raw,format=BGR,width={width},height={height},framerate={num}/{den}"
        # H.264 (4:2:0) needs even sides, and x264 at least 16 px: tiny or odd frames are scaled up, not refused
        enc_w, enc_h = max(16, width + width % 2), max(16, height + height % 2)
        mux = f"mp4mux fragment-duration={fragment_ms}" if self.fragmented else "mp4mux"
        sink = "filesink name=out buffer-mode=unbuffered" if self.fragmented else "filesink name=out"
        desc = (
            f"appsrc name=src is-live=false block=true format=time caps={caps} ! videoconvert ! "
            f"videoscale ! video/x-raw,format=I420,width={enc_w},height={enc_h} ! {h264_encoder(bitrate_kbps)} ! "
            f"h264parse ! {mux} ! {sink}"
        )
        self.pipeline = Gst.parse_launch(desc)
        self.pipeline.get_by_name("out").set_property("location", str(self.part))  # a property: any path works
        self.src = self.pipeline.get_by_name("src")
        self.frames = 0
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            self._raise_bus_error("cannot start the encoder (frame too small for H.264?)")
        self._closed = False

    def write(self, frame: np.ndarray) -> None:
        """Append one BGR uint8 frame of the writer's size."""
        Gst = gst()
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"expected uint8 frame {(self.height, self.width, 3)}, got {frame.dtype} {frame.shape}")
        buf = Gst.Buffer.new_wrapped(np.ascontiguousarray(frame).tobytes())
        buf.pts = self.frames * self._duration
        buf.duration = self._duration
        ret = self.src.emit("push-buffer", buf)
        if ret != Gst.FlowReturn.OK:
            self._raise_bus_error(f"push-buffer returned {ret.value_nick}")
        self.frames += 1

    def close(self, timeout_s: float = 60.0) -> Path:
        """Send EOS, wait for the muxer to finish the file, then move it to its final name."""
        Gst = gst()
        if self._closed:
            return self.path
        self._closed = True
        self.src.emit("end-of-stream")
        bus = self.pipeline.get_bus()
        msg = bus.timed_pop_filtered(int(timeout_s * Gst.SECOND), Gst.MessageType.EOS | Gst.MessageType.ERROR)
        self.pipeline.set_state(Gst.State.NULL)
        if msg is None or msg.type == Gst.MessageType.ERROR:
            detail = msg.parse_error()[0].message if msg is not None else "timed out waiting for EOS"
            raise RuntimeError(f"writing {self.path} failed: {detail}")
        if not self.fragmented:
            os.replace(self.part, self.path)
        return self.path

    def abort(self) -> None:
        """Stop without finalising; a partial offline file is removed (a fragmented one stays: it plays)."""
        Gst = gst()
        self._closed = True
        self.pipeline.set_state(Gst.State.NULL)
        if not self.fragmented:
            self.part.unlink(missing_ok=True)

    def _raise_bus_error(self, fallback: str) -> None:
        Gst = gst()
        msg = self.pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
        detail = msg.parse_error()[0].message if msg is not None else fallback
        self.abort()
        raise RuntimeError(f"writing {self.path} failed: {detail}")

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def read_frames(path: str | Path, timeout_s: float = 30.0) -> Iterator[np.ndarray]:
    """Decode a video file to BGR frames with ``uridecodebin ! videoconvert ! appsink`` (in order)."""
    Gst = gst()
    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(path)
    desc = (
        f"uridecodebin uri={Gst.filename_to_uri(str(path))} ! videoconvert ! video/x-raw,format=BGR ! "
        "appsink name=sink sync=false max-buffers=8"
    )
    pipeline = Gst.parse_launch(desc)
    sink = pipeline.get_by_name("sink")
    pipeline.set_state(Gst.State.PLAYING)
    try:
        while True:
            sample = sink.emit("try-pull-sample", int(timeout_s * Gst.SECOND))
            if sample is None:
                msg = pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
                if msg is not None:
                    raise RuntimeError(f"decoding {path} failed: {msg.parse_error()[0].message}")
                if sink.get_property("eos"):
                    return
                raise TimeoutError(f"decoding {path}: no frame within {timeout_s}s")
            caps = sample.get_caps().get_structure(0)
            width, height = caps.get_value("width"), caps.get_value("height")
            buf = sample.get_buffer()
            ok, info = buf.map(Gst.MapFlags.READ)
            if not ok:
                raise RuntimeError(f"decoding {path}: cannot map buffer")
            try:
                stride = len(info.data) // height
                arr = np.frombuffer(info.data, np.uint8).reshape(height, stride)[:, : width * 3]
                yield arr.reshape(height, width, 3).copy()
            finally:
                buf.unmap(info)
    finally:
        pipeline.set_state(Gst.State.NULL)


def count_frames(path: str | Path) -> int:
    """Number of decodable frames in a video (decodes it)."""
    return sum(1 for _ in read_frames(path))


def fps_fraction(fps: float) -> tuple[int, int]:
    if float(fps).is_integer():
        return int(fps), 1
    return round(fps * 1001), 1001
