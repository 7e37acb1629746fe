"""One GStreamer pipeline per camera, decoded to BGR frames on a bounded queue.

A reader thread pulls samples from the ``appsink`` (the GStreamer side stays thin: copy the buffer
into a :class:`~streid.records.Frame`, put it on the queue) and owns the camera's life cycle:

- offline: ``appsink sync=false`` and a blocking ``put`` give back-pressure, so every frame arrives in
  order; a failure (missing file, decode error) is reported once and ends the camera; EOS ends it cleanly.
- live: a small queue that drops its oldest frame when full (counted); a stall watchdog; a failure
  is reported and the pipeline is rebuilt after an exponential back-off, without touching other cameras.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from streid.media import fps_fraction, gst
from streid.pipeline.config import CameraConfig
from streid.pipeline.imageseq import SequenceError, is_image_sequence, open_sequence
from streid.records import Frame

log = logging.getLogger(__name__)

LIVE_KINDS = ("rtsp", "usb", "csi")  # an EOS from these is a dropped camera, not the end
LIVE_SCHEMES = ("rtsp", "rtsps", "rtspt", "rtmp", "rtmps", "srt", "udp")  # a `uri` camera with these streams live
OFFLINE_TIMEOUT_S = 120.0  # offline: no frame from a local file for this long = the decoder hangs
POLL_S = 0.1  # how often the reader thread checks the bus, the stop flag and the watchdog


@dataclass
class SourceEvent:
    """A camera's status change: ``camera_error`` (with reason) or ``camera_recovered``."""

    camera: str
    type: str
    reason: str = ""
    retry_in_s: float | None = None
    time: float = 0.0


class CameraFailure(RuntimeError):
    """A camera pipeline could not start or stopped with an error; the message is the reason."""


def is_live_source(cam: CameraConfig) -> bool:
    """A feed that has no end of its own: its EOS means the camera dropped (a failure, retried in live mode), not
    the end of a recording. ``http(s)`` URIs count as recordings: most point at a file."""
    if cam.kind in LIVE_KINDS:
        return True
    return cam.kind == "uri" and urlsplit(cam.uri).scheme.lower() in LIVE_SCHEMES


def has_element(name: str) -> bool:
    return gst().ElementFactory.find(name) is not None


def _file_uri(cam: CameraConfig) -> str:
    path = Path(cam.uri).expanduser().resolve()
    if not path.exists():
        raise CameraFailure(f"file not found: {path}")
    if not path.is_file():
        raise CameraFailure(f"not a video file: {path}")
    return gst().filename_to_uri(str(path))


def source_properties(cam: CameraConfig) -> dict[str, Any]:
    """The user-given values of the source element ``src``, set as properties (never pasted into pipeline text,
    so an RTSP password with ``!`` or a ``pattern`` holding ``! multifilesink ...`` stays one value)."""
    if cam.kind == "file" and is_image_sequence(cam.uri):
        try:
            seq = open_sequence(cam.uri, float(cam.capture_fps))
        except SequenceError as exc:
            raise CameraFailure(str(exc)) from None
        num, den = fps_fraction(seq.fps)
        caps = gst().Caps.from_string(f"{seq.caps},framerate={num}/{den}")
        return {"location": seq.location, "index": seq.start, "stop-index": seq.stop, "caps": caps}
    if cam.kind == "file":
        return {"uri": _file_uri(cam)}
    if cam.kind == "uri":
        return {"uri": cam.uri}
    if cam.kind == "rtsp":
        return {"location": cam.uri}
    if cam.kind == "usb":
        return {"device": cam.device}
    if cam.kind == "csi":
        return {"sensor-id": cam.sensor_id}
    return {"pattern": cam.pattern}


def describe(cam: CameraConfig, width: int, height: int, live: bool, hardware: bool, queue_size: int = 1) -> str:
    """The ``gst-launch`` skeleton of one camera's pipeline, ending in ``appsink name=sink``.

    It holds only validated numbers and enums; the source element is ``src`` and gets its user-given values
    (file, URI, device, pattern) from :func:`source_properties`.
    """
    use_hw = hardware and has_element("nvvidconv")
    size = f",width={width},height={height}" if width and height else ""
    paced = False  # a file in live mode plays at its own rate, like a camera
    if cam.kind == "file" and is_image_sequence(cam.uri):
        head = "multifilesrc name=src ! decodebin"
        paced = live
    elif cam.kind in ("file", "uri"):
        head = "uridecodebin name=src"
        paced = live and cam.kind == "file"
    elif cam.kind == "rtsp":
        c = cam.codec
        decode = f"rtp{c}depay ! {c}parse ! nvv4l2decoder" if use_hw and has_element("nvv4l2decoder") else "decodebin"
        head = f"rtspsrc name=src protocols={cam.protocols} latency={cam.latency_ms} ! {decode}"
    elif cam.kind == "usb":
        head = f"v4l2src name=src ! video/x-raw,framerate={cam.capture_fps}/1"
    elif cam.kind == "csi":
        head = f"nvarguscamerasrc name=src ! video/x-raw(memory:NVMM){size},framerate={cam.capture_fps}/1"
        use_hw = True
    else:  # test
        live_flag = "true" if live else "false"
        head = (f"videotestsrc name=src is-live={live_flag} ! "
                f"video/x-raw,framerate={cam.capture_fps}/1{size or ',width=640,height=360'}")
    if use_hw:
        # nvvidconv scales in hardware and leaves NVMM memory; videoconvert only drops the alpha byte.
        convert = f"nvvidconv ! video/x-raw,format=BGRx{size} ! videoconvert ! video/x-raw,format=BGR"
    else:
        convert = f"videoconvert ! videoscale ! video/x-raw,format=BGR{size}"
    # Never drop=true: a frame dropped inside appsink is counted nowhere. The reader thread drains the sink at
    # once and drops stale frames from its own queue, where they are counted.
    sync = "true" if paced else "false"
    sink = f"appsink name=sink sync={sync} drop=false max-buffers={max(2, queue_size)} emit-signals=false"
    return f"{head} ! queue max-size-buffers=4 ! {convert} ! {sink}"


def build_pipeline(cam: CameraConfig, width: int, height: int, live: bool, hardware: bool,
                   queue_size: int = 1) -> Any:
    """A Gst.Pipeline for one camera: the skeleton of :func:`describe` plus the source's properties."""
    Gst = gst()
    props = source_properties(cam)
    try:
        pipeline = Gst.parse_launch(describe(cam, width, height, live, hardware, queue_size))
    except Exception as exc:  # GLib.Error: a missing element
        raise CameraFailure(f"cannot build pipeline: {exc}") from exc
    src = pipeline.get_by_name("src")
    for key, value in props.items():
        if key == "pattern":  # an enum: set by its nick
            Gst.util_set_object_arg(src, key, value)
        else:
            src.set_property(key, value)
    return pipeline


def sample_to_array(sample: Any) -> tuple[np.ndarray, float | None, float]:
    """Copy a BGR sample into a (H, W, 3) array; returns it, its pts in seconds (or None) and the fps."""
    Gst = gst()
    caps = sample.get_caps().get_structure(0)
    width, height = caps.get_value("width"), caps.get_value("height")
    ok_rate, num, den = caps.get_fraction("framerate")
    fps = num / den if ok_rate and den and num else 0.0
    buf = sample.get_buffer()
    ok, info = buf.map(Gst.MapFlags.READ)
    if not ok:
        raise CameraFailure("cannot map buffer")
    try:
        stride = len(info.data) // height
        arr = np.frombuffer(info.data, np.uint8).reshape(height, stride)[:, : width * 3]
        image = arr.reshape(height, width, 3).copy()
    finally:
        buf.unmap(info)
    pts = None if buf.pts == Gst.CLOCK_TIME_NONE else buf.pts / Gst.SECOND
    return image, pts, fps


class CameraSource:
    """A camera as an object with ``start`` / ``read`` / ``close`` (and a context manager).

    ``read`` returns the next Frame, or None when nothing arrived within the timeout; ``finished``
    tells that the camera ended (EOS, frame limit, offline failure, retries exhausted or closed).
    Status changes go to ``on_event`` (called from the reader thread; keep it thread-safe).
    """

    def __init__(
        self,
        cam: CameraConfig,
        *,
        width: int = 0,
        height: int = 0,
        live: bool = False,
        hardware: bool = True,
        queue_size: int = 2,
        stall_timeout_s: float = 5.0,
        connect_timeout_s: float = 10.0,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        max_retries: int = 0,
        max_frames: int = 0,
        on_event: Callable[[SourceEvent], None] | None = None,
    ) -> None:
        self.cam = cam
        self.name = cam.name
        self.width, self.height = width, height
        self.live, self.hardware = live, hardware
        self.stall_timeout_s, self.connect_timeout_s = stall_timeout_s, connect_timeout_s
        self.backoff_initial_s, self.backoff_max_s, self.max_retries = backoff_initial_s, backoff_max_s, max_retries
        self.max_frames = max_frames
        self.on_event = on_event
        self.queue: queue.Queue[Frame] = queue.Queue(maxsize=queue_size)
        self.fps = 0.0
        self.frames_in = 0  # frames that left GStreamer
        self.dropped = 0  # frames dropped because the consumer was behind (live only)
        self.failures = 0
        self.resized = 0  # frames scaled back to the first frame's size (the stream changed resolution)
        self._size: tuple[int, int] | None = None
        self.last_error = ""
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pipeline: Any = None

    # ------------------------------------------------------------------ life cycle

    def start(self) -> CameraSource:
        if self._thread is not None:
            raise RuntimeError(f"camera {self.name} already started")
        self._thread = threading.Thread(target=self._run, name=f"camera-{self.name}", daemon=True)
        self._thread.start()
        return self

    def read(self, timeout: float | None = 0.1) -> Frame | None:
        try:
            return self.queue.get(timeout=timeout) if timeout else self.queue.get_nowait()
        except queue.Empty:
            return None

    @property
    def finished(self) -> bool:
        """The camera will deliver no more frames and its queue is empty."""
        return self._done.is_set() and self.queue.empty()

    def close(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._set_null()
        self._done.set()
        if self.live:  # frames nobody will read are drops too: in = processed + dropped
            while self.read(timeout=None) is not None:
                self.dropped += 1

    def __enter__(self) -> CameraSource:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ reader thread

    def _emit(self, kind: str, reason: str = "", retry_in_s: float | None = None) -> None:
        if kind == "camera_error":
            log.warning("camera %s: %s%s", self.name, reason,
                        f" (retry in {retry_in_s:.1f}s)" if retry_in_s is not None else "")
        else:
            log.info("camera %s: %s", self.name, kind)
        if self.on_event is not None:
            self.on_event(SourceEvent(self.name, kind, reason, retry_in_s, time.time()))

    def _run(self) -> None:
        try:
            delay = self.backoff_initial_s
            attempts = 0
            while not self._stop.is_set():
                try:
                    got_frames = self._run_once()
                    return  # EOS or frame limit or stop: the camera ended cleanly
                except CameraFailure as exc:
                    got_frames = getattr(exc, "got_frames", False)
                    self.failures += 1
                    self.last_error = str(exc)
                    attempts = 1 if got_frames else attempts + 1  # failures in a row; max_retries = reconnects
                    if got_frames:
                        delay = self.backoff_initial_s
                    give_up = (not self.live or getattr(exc, "permanent", False)
                               or (self.max_retries and attempts > self.max_retries))
                    self._emit("camera_error", str(exc), None if give_up else delay)
                    if give_up:
                        return
                    self._stop.wait(delay)
                    delay = min(delay * 2, self.backoff_max_s)
        finally:
            self._set_null()
            self._done.set()

    def _set_null(self) -> None:
        with self._lock:
            if self._pipeline is not None:
                self._pipeline.set_state(gst().State.NULL)
                self._pipeline = None

    def _run_once(self) -> bool:
        """Run one pipeline until EOS / stop (returns) or failure (raises CameraFailure)."""
        Gst = gst()
        try:
            pipeline = build_pipeline(self.cam, self.width, self.height, self.live, self.hardware, self.queue.maxsize)
        except CameraFailure:
            raise
        except Exception as exc:  # a property GStreamer refuses
            raise CameraFailure(f"cannot build pipeline: {exc}") from exc
        with self._lock:
            self._pipeline = pipeline
        sink = pipeline.get_by_name("sink")
        bus = pipeline.get_bus()
        if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            raise self._failure(bus, "cannot start pipeline", False)
        got_frames = False
        last_pts: float | None = None
        recovered_reported = self.failures == 0
        last_frame_t = time.monotonic()
        while not self._stop.is_set():
            sample = sink.emit("try-pull-sample", int(POLL_S * Gst.SECOND))
            msg = bus.pop_filtered(Gst.MessageType.ERROR)
            if msg is not None:
                raise self._failure(bus, "", got_frames, msg)
            if sample is None:
                if sink.get_property("eos"):
                    if self.live and is_live_source(self.cam):
                        raise self._failure(bus, "end of stream from a live source", got_frames)
                    self._check_complete(pipeline, last_pts)
                    return got_frames
                waited = time.monotonic() - last_frame_t
                limit = self.stall_timeout_s if got_frames else self.connect_timeout_s
                if not self.live:  # a local decode on a busy machine can be slow: only a real hang is a failure
                    limit = max(limit, OFFLINE_TIMEOUT_S)
                if waited > limit:
                    what = "stalled" if got_frames else "no first frame"
                    raise self._failure(bus, f"{what}: no frame for {waited:.1f}s", got_frames)
                continue
            image, pts, fps = sample_to_array(sample)
            last_pts = pts if pts is not None else last_pts
            image = self._keep_size(image)
            last_frame_t = time.monotonic()
            if not got_frames:
                got_frames = True
                self.fps = fps or self.fps
                if not recovered_reported:
                    self._emit("camera_recovered")
                    recovered_reported = True
            frame = Frame(self.name, pts if pts is not None else time.time(), self.frames_in, image, last_frame_t)
            self.frames_in += 1
            self._put(frame)
            if self.max_frames and self.frames_in >= self.max_frames:
                return got_frames
        return got_frames

    def _keep_size(self, image: np.ndarray) -> np.ndarray:
        """Frames keep the camera's first size: a stream that changes resolution mid-way is scaled back to it
        (trackers, tracklets and the video writer all hold that size)."""
        if self._size is None:
            self._size = image.shape[:2]
            return image
        if image.shape[:2] == self._size:
            return image
        import cv2

        if not self.resized:
            log.warning("camera %s: frame size changed from %dx%d to %dx%d; scaling to the first size", self.name,
                        self._size[1], self._size[0], image.shape[1], image.shape[0])
        self.resized += 1
        return cv2.resize(image, (self._size[1], self._size[0]), interpolation=cv2.INTER_LINEAR)

    def _check_complete(self, pipeline: Any, last_pts: float | None) -> None:
        """A file that ends well before its own duration is truncated: report it instead of ending quietly."""
        if self.cam.kind not in ("file", "uri") or last_pts is None or self.max_frames:
            return
        Gst = gst()
        ok, duration = pipeline.query_duration(Gst.Format.TIME)
        if not ok or duration <= 0:
            return
        duration_s = duration / Gst.SECOND
        # the container's duration may run a little past the last frame (an audio track, rounding): only a clear
        # gap (3 frames and 5% of the file) is a truncated file
        slack = max(3.0 / self.fps if self.fps else 0.12, 0.05 * duration_s)
        if last_pts + slack < duration_s:
            exc = self._failure(pipeline.get_bus(), f"truncated: decoding stopped at {last_pts:.2f}s of "
                                f"{duration_s:.2f}s ({self.frames_in} frames)", True)
            exc.permanent = True  # type: ignore[attr-defined]  # replaying a cut file would end the same way
            raise exc

    def _failure(self, bus: Any, fallback: str, got_frames: bool, msg: Any = None) -> CameraFailure:
        Gst = gst()
        msg = msg if msg is not None else bus.pop_filtered(Gst.MessageType.ERROR)
        if msg is not None:
            err, debug = msg.parse_error()
            reason = f"{msg.src.get_name()}: {err.message}"
            if debug and "No such file" in debug:
                reason += " (no such file)"
        else:
            reason = fallback
        self._set_null()
        exc = CameraFailure(reason)
        exc.got_frames = got_frames  # type: ignore[attr-defined]
        return exc

    def _put(self, frame: Frame) -> None:
        if self.live:
            while True:
                try:
                    self.queue.put_nowait(frame)
                    return
                except queue.Full:
                    with contextlib.suppress(queue.Empty):
                        self.queue.get_nowait()  # the oldest frame is stale: drop it
                        self.dropped += 1
        else:
            while not self._stop.is_set():
                try:
                    self.queue.put(frame, timeout=POLL_S)  # back-pressure: wait for the consumer
                    return
                except queue.Full:
                    continue


def camera_frames(uri: str | Path, width: int = 0, height: int = 0) -> Iterator[np.ndarray]:
    """Every frame of a video file or image sequence as an offline camera decodes it (same elements, same size
    rules), for a second pass over a camera such as drawing its video; a camera_error raises CameraFailure."""
    errors: list[str] = []
    src = CameraSource(CameraConfig(name="frames", uri=str(uri)), width=width, height=height,
                       on_event=lambda e: errors.append(e.reason) if e.type == "camera_error" else None)
    with src:
        while not src.finished:
            frame = src.read(POLL_S)
            if frame is not None:
                yield frame.image
    if errors:
        raise CameraFailure(f"{uri}: {errors[0]}")
