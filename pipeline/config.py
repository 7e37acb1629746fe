"""Typed ``pipeline:`` config section (pydantic only: no GStreamer, torch or cv2 imported here)."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator, model_validator

from streid.config import Section
from streid.names import check_camera_name

SourceKind = Literal["file", "uri", "rtsp", "usb", "csi", "test"]
TestPattern = Literal["smpte", "snow", "black", "white", "red", "green", "blue", "checkers-1", "checkers-2",
                      "checkers-4", "checkers-8", "circular", "blink", "smpte75", "zone-plate", "gamut",
                      "chroma-zone-plate", "solid-color", "ball", "smpte100", "bar", "pinwheel", "spokes", "gradient",
                      "colors", "smpte-rp-219"]
URI_SCHEMES = {"uri": ("file", "http", "https", "rtsp", "rtsps", "rtmp", "rtmps", "srt", "udp"),
               "rtsp": ("rtsp", "rtsps", "rtspt")}
MAX_SIDE = 8192  # larger frames are a typo (width: 100000 used to process 0 frames and exit 0)
DEVICE = re.compile(r"/dev/[A-Za-z0-9_.:/-]+")


class CameraConfig(Section):
    """One camera: where its frames come from and, optionally, its MOTChallenge detection file."""

    name: str = Field(..., min_length=1, description="unique; names files: letters, digits, -_. (no leading dot)")
    kind: SourceKind = "file"
    uri: str = Field("", description="file path (file), URI (uri), rtsp://... (rtsp)")
    device: str = Field("/dev/video0", description="v4l2 device (usb)")
    sensor_id: int = Field(0, ge=0, description="nvarguscamerasrc sensor-id (csi)")
    pattern: TestPattern = Field("ball", description="videotestsrc pattern (test)")
    protocols: Literal["tcp", "udp"] = "tcp"
    latency_ms: int = Field(200, ge=0, description="rtspsrc jitter-buffer latency")
    codec: Literal["h264", "h265"] = Field("h264", description="rtsp stream codec (hardware depay/decode path)")
    capture_fps: int = Field(30, ge=1, description="capture rate asked of usb/csi/test sources")
    det_file: str = Field("", description="MOTChallenge det.txt/gt.txt for detector kind 'motdet'")

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        return check_camera_name(value)  # it names files and folders: never a path

    @field_validator("device")
    @classmethod
    def _device_path(cls, value: str) -> str:
        if not DEVICE.fullmatch(value) or ".." in value.split("/"):
            raise ValueError(f"device {value!r}: expected a device path such as /dev/video0")
        return value

    @model_validator(mode="after")
    def _needs_uri(self) -> CameraConfig:
        if self.kind in ("file", "uri", "rtsp") and not self.uri:
            raise ValueError(f"camera '{self.name}': kind '{self.kind}' needs 'uri'")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in self.uri):
            raise ValueError(f"camera '{self.name}': uri holds control characters")
        if self.kind in URI_SCHEMES:
            parts = urlsplit(self.uri)
            if parts.scheme.lower() not in URI_SCHEMES[self.kind] or not (parts.netloc or parts.path):
                raise ValueError(f"camera '{self.name}': uri {self.uri!r} is not a "
                                 f"{'/'.join(URI_SCHEMES[self.kind])} URI")
            if any(ch.isspace() for ch in self.uri):
                raise ValueError(f"camera '{self.name}': uri holds spaces (percent-encode them as %20)")
        return self


class DetectorConfig(Section):
    """Person detector: ultralytics YOLO weights (none = the built-in default), or MOTChallenge detection files."""

    kind: Literal["yolo", "motdet"] = "yolo"
    weights: str = Field(
        "", description=".pt / .onnx / .engine, a `streid models` name, or an ultralytics .yaml (untrained); "
        "empty = the default model "
        "deploy/models/person_detector.onnx (scripts/make_default_models.sh makes it)"
    )
    imgsz: int = Field(0, ge=0, description="0 = the model's own size (its metadata), 640 when it has none")
    conf: float = Field(0.25, ge=0.0, le=1.0)
    iou: float = Field(0.7, ge=0.0, le=1.0)
    device: str = Field("cpu", description="ultralytics device string: cpu, 0, cuda:0")
    half: bool = False
    min_conf: float = Field(0.0, ge=0.0, le=1.0, description="motdet: drop rows below this confidence")
    zoom_imgsz: int | None = Field(
        None, ge=0, description="a second pass at this input size for far (small) people; null = the model's "
        "own choice (its calibration metadata; the built-in detector has one), 0 = one pass")
    zoom_below: float | None = Field(None, gt=0.0, le=1.0, description="the zoom pass keeps boxes shorter than "
                                     "this share of the frame height (null = the model's, else 0.35)")
    zoom_overlap: float | None = Field(None, gt=0.0, le=1.0, description="the first pass keeps boxes taller "
                                       "than zoom_below x this; NMS settles the band between (null: 0.7)")
    prefilter: float | None = Field(None, ge=0.0, le=4.0, description="Gaussian low-pass of the frame before "
                                    "each detector pass, sigma in detector-input pixels (0 = off): noise finer "
                                    "than the input grid is averaged away instead of aliased into it; null = the "
                                    "model's own choice (its calibration metadata), else 0")
    prefilter_min_noise: float | None = Field(None, ge=0.0, le=64.0, description="filter only the cameras whose "
                                              "noise at the detector input is at least this many grey levels "
                                              "(running median, logged per camera); 0 = every camera; null = the "
                                              "model's own choice with its sigma, else 0")

    @field_validator("imgsz", "zoom_imgsz")
    @classmethod
    def _stride(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value and value < 32:
            off = "the model's own" if info.field_name == "imgsz" else "one pass"
            raise ValueError(f"{info.field_name} {value}: 0 ({off}) or at least 32")
        return value


# trackers' Kalman state layouts and overlap measures by name (streid.pipeline.tracker maps them to classes)
NAMED_TRACKER_PARAMS = {"state_estimator": ("xyxy", "xcycwh", "xcycsr"), "iou": ("iou", "giou", "diou", "ciou", "biou")}


class TrackerConfig(Section):
    """Per-camera multi-object tracker from Roboflow ``trackers``; ``params`` go to its constructor."""

    name: Literal["bytetrack", "sort", "ocsort", "botsort", "cbiou"] = "bytetrack"
    frame_rate: float = Field(30.0, gt=0)
    lost_track_buffer: int = Field(30, ge=1)
    params: dict[str, float | int | str] = Field(default_factory=dict, description=(
        "constructor keywords of the trackers class; state_estimator (xyxy / xcycwh / xcycsr) and iou "
        "(iou / giou / diou / ciou / biou) by name"))
    appearance: bool = Field(True, description=(
        "undo the tracker's id swaps between people who just crossed, by their colours "
        "(streid.pipeline.appearance); false = the tracker's ids as they are"))
    min_track_score: float | Literal["detector"] = Field(0.0, description=(
        "a track is reported only while the mean score of its detections is at least this: hides background "
        "the detector half-believes and ByteTrack keeps alive for minutes; 'detector' = the detector "
        "calibration's conf (its F1-optimal score; off for a detector without one); 0 = off (default)"))

    @field_validator("params")
    @classmethod
    def _named_params(cls, value: dict[str, float | int | str]) -> dict[str, float | int | str]:
        for key, v in value.items():
            names = NAMED_TRACKER_PARAMS.get(key)
            if isinstance(v, str) and names is None:
                raise ValueError(f"{key}: {v!r} is not a number (only state_estimator and iou take names)")
            if names is not None and v not in names:
                raise ValueError(f"{key} {v!r}: one of {', '.join(names)}")
        return value

    @field_validator("min_track_score")
    @classmethod
    def _score_in_range(cls, value: float | str) -> float | str:
        if isinstance(value, float | int) and not 0.0 <= value <= 1.0:
            raise ValueError(f"{value}: a score in [0, 1], or 'detector'")
        return value


class TrackletConfig(Section):
    """Quality gate and emission policy of the tracklet buffer (see streid.pipeline.tracklets)."""

    seq_len: int = Field(8, ge=1, description="L crops per tracklet (the embedder's seq_len wins)")
    crop_height: int = Field(256, ge=8)
    crop_width: int = Field(128, ge=8)
    min_height: float = Field(48.0, ge=0)
    min_width: float = Field(16.0, ge=0)
    min_aspect: float = Field(0.2, gt=0, description="width / height lower bound")
    max_aspect: float = Field(1.0, gt=0, description="width / height upper bound")
    min_conf: float = Field(0.3, ge=0, le=1)
    edge_margin: float = Field(2.0, ge=0, description="boxes closer to the border (px) are cut: rejected")
    max_overlap: float = Field(0.3, ge=0, le=1, description="max IoA with any other box of the frame")
    edge_fallback: bool = Field(False, description="a track that never had seq_len crops clear of the frame edge "
                                "ends with one tracklet that includes edge-cut crops, so a person close to the "
                                "camera still gets an id (weak crops: may change merges)")
    max_crops: int = Field(32, ge=1, description="crops kept per track (memory bound)")
    update_every: int = Field(30, ge=1, description="frames between update events while a track lives")
    lost_frames: int = Field(30, ge=1, description="frames unseen before a track is finalised")
    min_gap: int = Field(1, ge=1, description="frames between two kept crops of one track")
    crop_mode: Literal["aspect", "stretch"] = Field(
        "aspect", description="aspect: widen the box to the crop's aspect (+10 %) so people keep their proportions "
        "(how the built-in re-id model was trained); stretch: resize the box itself (MARS-style crops)",
    )


class EmbedderConfig(Section):
    """Re-id embedder artifact (export stage); ``default`` = the built-in model, empty = no embeddings."""

    path: str = Field("", description="artifact (.onnx/.engine/.pt) or a `streid models` name; "
                      "'default': deploy/models/reid_small.onnx")
    max_batch: int = Field(16, ge=1)
    max_wait_ms: float = Field(50.0, ge=0, description="live: longest a pending tracklet waits for a batch")


class RtspOutConfig(Section):
    """Annotated cameras restreamed by gst-rtsp-server at rtsp://HOST:PORT/PATH/CAMERA (live mode)."""

    port: int = Field(0, ge=0, le=65535, description="0 = off; 8554 is the usual RTSP port")
    path: str = Field("streid", pattern=r"^[A-Za-z0-9_-]+$", description="mount prefix of every camera")
    host: str = Field("127.0.0.1", description="address to listen on (0.0.0.0 = every interface)")
    bitrate_kbps: int = Field(2000, ge=100, description="H.264 bitrate per camera")


class WebConfig(Section):
    """The dashboard (cameras, tracks, identities, search) and its JSON API (live mode)."""

    port: int = Field(0, ge=0, le=65535, description="0 = off")
    host: str = Field("127.0.0.1", description="address to listen on (0.0.0.0 = every interface)")
    token: str = Field("", description="when set, every request needs it (?token= or Authorization: Bearer)")
    max_upload_kb: int = Field(4096, ge=16, description="largest search image accepted")


class OutputConfig(Section):
    """Where events, annotated videos and metrics go."""

    dir: str = "runs/pipeline"
    private: bool = Field(True, description="folders 0700, files 0600 (store, crops, events, videos); false: umask")
    events: bool = True
    events_rotate_mb: float = Field(100.0, ge=0, description="live: events.jsonl is renamed events-TIME.jsonl and "
                                    "restarted at this size (0 = never)")
    embeddings: Literal["inline", "none"] = "inline"
    video: bool = True
    mot: bool = Field(False, description="also write tracks as MOTChallenge rows: DIR/CAMERA.txt")
    video_fps: float = Field(0.0, ge=0, description="0 = the source's frame rate")
    video_segment_s: float = Field(3600.0, ge=0, description="live: a new video file every N seconds (0 = one per "
                                   "run); live files are CAMERA-TIME.mp4, fragmented (a crash loses <= 1 s)")
    trail_length: int = Field(30, ge=0)
    metrics_port: int = Field(0, ge=0, le=65535, description="live: Prometheus on 127.0.0.1:PORT (0 = off)")
    metrics_host: str = "127.0.0.1"
    rtsp: RtspOutConfig = Field(default_factory=RtspOutConfig)
    web: WebConfig = Field(default_factory=WebConfig)


class LiveConfig(Section):
    """Live mode: bounded queues, stall watchdog and reconnection back-off."""

    queue_size: int = Field(2, ge=1, description="frames buffered per camera; older ones are dropped")
    stall_timeout_s: float = Field(5.0, gt=0, description="no frame for this long = camera failed")
    connect_timeout_s: float = Field(10.0, gt=0)
    backoff_initial_s: float = Field(0.5, gt=0)
    backoff_max_s: float = Field(30.0, gt=0)
    max_retries: int = Field(0, ge=0, description="0 = retry forever")


class PipelineSection(Section):
    """The ``pipeline:`` section: cameras, mode, stages and outputs of ``streid run``."""

    mode: Literal["offline", "live"] = "offline"
    width: int = Field(0, ge=0, le=MAX_SIDE, description="frames are scaled to WIDTHxHEIGHT (0 = the source's size)")
    height: int = Field(0, ge=0, le=MAX_SIDE)
    cameras: list[CameraConfig] = Field(default_factory=list)
    detector: DetectorConfig = Field(default_factory=DetectorConfig, description="default: the built-in YOLO")
    tracker: TrackerConfig = Field(default_factory=TrackerConfig)
    tracklets: TrackletConfig = Field(default_factory=TrackletConfig)
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    live: LiveConfig = Field(default_factory=LiveConfig)
    hardware: Literal["auto", "software"] = Field("auto", description="auto = Jetson nv* elements when present")
    max_frames: int = Field(0, ge=0, description="stop each camera after this many frames (0 = no limit)")

    @model_validator(mode="after")
    def _check(self) -> PipelineSection:
        names = [c.name for c in self.cameras]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"camera names must be unique, repeated: {', '.join(dup)}")
        if (self.width == 0) != (self.height == 0):
            raise ValueError("set both width and height, or neither")
        if self.output.rtsp.port:  # camera names become RTSP mount points
            bad = [n for n in names if not re.fullmatch(r"[A-Za-z0-9_.-]+", n)]
            if bad:
                raise ValueError(f"output.rtsp needs camera names of letters, digits, '_', '.', '-': {bad}")
        if self.detector.kind == "motdet":
            missing = [c.name for c in self.cameras if not c.det_file]
            if missing:
                raise ValueError(f"detector kind 'motdet' needs det_file for cameras: {', '.join(missing)}")
        return self
