"""``streid run``: N cameras through decode -> detect (batched) -> track -> tracklets -> embed -> sinks.

Offline mode takes exactly one frame from every camera that still has frames per step, in camera order,
so the detector batch, the tracker input and the event order are the same on every run. Live mode takes
the newest frame of every camera that has one and never waits for a slow camera. SIGINT/SIGTERM (or the
``stop`` event) end the loop; shutdown always flushes the tracklet buffers (``end`` events), the pending
embeddings, the annotated videos and the metrics.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streid.pipeline.activation import ActivationThresholds, track_score_floor
from streid.pipeline.config import PipelineSection
from streid.pipeline.detector import Detector, MOTDetFileDetector, YoloDetector
from streid.pipeline.embedding import EmbedBatcher, Embedder
from streid.pipeline.events import EventWriter, source_event, tracklet_event
from streid.pipeline.funnel import Funnel
from streid.pipeline.metrics import Metrics, PrometheusExporter, format_summary
from streid.pipeline.motfile import MotWriter
from streid.pipeline.sources import CameraSource, SourceEvent
from streid.pipeline.tracker import CameraTrackers
from streid.pipeline.tracklets import GateParams, TrackletBuffer
from streid.records import Detections, Frame, Tracklet

if TYPE_CHECKING:
    from streid.pipeline.identity.stage import IdentityStage
    from streid.pipeline.live.view import LiveView

log = logging.getLogger(__name__)

IDLE_S = 0.005  # live: how long to sleep when no camera has a new frame
LIVE_FRAGMENT_MS = 1000  # live videos are fragmented MP4s: a kill -9 loses at most this much


def live_video_path(out: Path, camera: str) -> Path:
    """``OUT/CAMERA-YYYYmmdd-HHMMSS.mp4``, never an existing file (a restarted run keeps the previous videos)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path, n = out / f"{camera}-{stamp}.mp4", 1
    while path.exists():
        n += 1
        path = out / f"{camera}-{stamp}-{n}.mp4"
    return path


@dataclass
class RunResult:
    summary: dict[str, Any]
    events_path: Path | None
    videos: dict[str, Path]
    metrics_path: Path
    interrupted: bool
    failed: dict[str, str]  # cameras that ended on an error (offline, or live with retries exhausted): reason


def build_detector(cfg: PipelineSection) -> Detector:
    d = cfg.detector
    if d.kind == "motdet":
        return MOTDetFileDetector({c.name: c.det_file for c in cfg.cameras}, min_conf=d.min_conf)
    return YoloDetector(d.weights, imgsz=d.imgsz, conf=d.conf, iou=d.iou, device=d.device, half=d.half,
                        zoom_imgsz=d.zoom_imgsz, zoom_below=d.zoom_below, zoom_overlap=d.zoom_overlap,
                        prefilter=d.prefilter, prefilter_min_noise=d.prefilter_min_noise)


def load_configured_embedder(cfg: PipelineSection) -> Embedder | None:
    """The export stage's backend for ``embedder.path`` (None when no path is set)."""
    from streid.defaults import resolve_embedder

    path = resolve_embedder(cfg.embedder.path)  # 'default': the built-in model
    if not path:
        return None
    if not Path(path).exists():
        raise FileNotFoundError(f"pipeline.embedder.path: re-id artifact not found: {path}")
    try:
        from streid.pipeline.embedder import load_embedder  # the export stage's backends
    except ModuleNotFoundError as exc:
        raise RuntimeError(f"pipeline.embedder.path is set but the embedder backends are missing: {exc}") from exc
    return load_embedder(path)


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT/SIGTERM set ``stop`` (main thread only; elsewhere the caller owns ``stop``)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, _frame: Any) -> None:
        log.warning("signal %s: shutting down", signal.Signals(signum).name)
        stop.set()

    for s in previous:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


class Runner:
    """Owns the sources, stages and sinks of one run; ``run()`` returns when all cameras ended or on stop."""

    def __init__(self, cfg: PipelineSection, *, detector: Detector | None = None, embedder: Embedder | None = None,
                 stop: threading.Event | None = None, progress: bool = False,
                 identity: IdentityStage | None = None, view: LiveView | None = None) -> None:
        if not cfg.cameras:
            raise ValueError("pipeline.cameras is empty: nothing to run")
        self.cfg = cfg
        self.live = cfg.mode == "live"
        self.stop = stop or threading.Event()
        self.progress = progress
        self.identity = identity  # global ids online; whoever built it closes it
        self.view = view  # live outputs (RTSP, dashboard): handed annotated frames, never waited for
        self.annotators: dict[str, Any] = {}
        self.out = Path(cfg.output.dir)
        self.detector = detector if detector is not None else build_detector(cfg)
        warmup = getattr(self.detector, "warmup", None)
        if warmup is not None:
            warmup()  # so the first frames' latency (and the metrics) do not carry the model's set-up
        self.embedder = embedder if embedder is not None else load_configured_embedder(cfg)
        self.out.mkdir(parents=True, exist_ok=True, mode=0o700 if cfg.output.private else 0o777)  # models first
        t = cfg.tracklets
        seq_len, crop_h, crop_w = t.seq_len, t.crop_height, t.crop_width
        if self.embedder is not None:  # the artifact's metadata decides the clip shape
            meta = self.embedder.meta
            seq_len, crop_h, crop_w = int(meta["seq_len"]), int(meta["height"]), int(meta["width"])
        gate = self.gate = GateParams(t.min_height, t.min_width, t.min_aspect, t.max_aspect, t.min_conf,
                                      t.edge_margin, t.max_overlap)
        self.seq_len = seq_len
        self.funnels = {c.name: Funnel() for c in cfg.cameras}
        self.buffers = {c.name: TrackletBuffer(c.name, seq_len, crop_h, crop_w, gate, t.max_crops, t.update_every,
                                               t.lost_frames, t.min_gap, t.crop_mode, t.edge_fallback)
                        for c in cfg.cameras}
        self.trackers = CameraTrackers(cfg.tracker.name, cfg.tracker.frame_rate, cfg.tracker.lost_track_buffer,
                                       dict(cfg.tracker.params), appearance={} if cfg.tracker.appearance else None)
        self.activation = ActivationThresholds(self.trackers.factory, dict(cfg.tracker.params),
                                               getattr(self.detector, "calibration", None),
                                               cfg.detector.conf if cfg.detector.kind == "yolo" else 0.0)
        self.trackers.set_params(self.activation.values)
        self.trackers.min_track_score, score_source = track_score_floor(cfg.tracker.min_track_score,
                                                                         self.activation.calibration)
        log.info("tracker thresholds: %s; min_track_score %.3f (%s)", self.activation.line(),
                 self.trackers.min_track_score, score_source)
        zoom = getattr(self.detector, "zoom", None)
        if zoom is not None:
            log.info("detector: second pass at imgsz %d for boxes under %.2f of the frame height (%s)", zoom.imgsz,
                     zoom.below, zoom.source)
        prefilter = getattr(self.detector, "prefilter", None)
        if prefilter is not None:
            log.info("detector: frames low-passed before detection, %s (pipeline.detector.prefilter*)",
                     prefilter.describe())
        self.fired: dict[str, list[float]] = {}  # camera -> [detections, best score, tracked boxes]
        self.batcher = EmbedBatcher(self.embedder, cfg.embedder.max_batch,
                                    cfg.embedder.max_wait_ms / 1000 if self.live else 0.0)
        rotate = int(cfg.output.events_rotate_mb * 2**20) if self.live else 0  # offline files are read back whole
        self.events = EventWriter(self.out / "events.jsonl" if cfg.output.events else None, rotate_bytes=rotate)
        self.metrics = Metrics()
        self.videos: dict[str, Any] = {}
        self.mot = {c.name: MotWriter(self.out / f"{c.name}.txt") for c in cfg.cameras} if cfg.output.mot else {}
        self.last_pts: dict[str, float] = {}
        self.failed: dict[str, str] = {}
        live = cfg.live
        self.sources = [
            CameraSource(c, width=cfg.width, height=cfg.height, live=self.live, hardware=cfg.hardware == "auto",
                         queue_size=live.queue_size, stall_timeout_s=live.stall_timeout_s,
                         connect_timeout_s=live.connect_timeout_s, backoff_initial_s=live.backoff_initial_s,
                         backoff_max_s=live.backoff_max_s, max_retries=live.max_retries, max_frames=cfg.max_frames,
                         on_event=self._source_event)
            for c in cfg.cameras
        ]

    def _source_event(self, event: SourceEvent) -> None:
        """Camera threads report here: the event is written, and a camera that gives up is remembered."""
        if event.type == "camera_error" and event.retry_in_s is None:
            self.failed[event.camera] = event.reason
        self.events.write(source_event(event))

    def run(self) -> RunResult:
        prom = None
        if self.live and self.cfg.output.metrics_port:
            try:
                prom = PrometheusExporter(self.cfg.output.metrics_host, self.cfg.output.metrics_port)
            except OSError as exc:  # the port is taken (or not ours to bind): the user's to fix
                raise ValueError(f"output.metrics_port {self.cfg.output.metrics_port} on "
                                 f"{self.cfg.output.metrics_host}: {exc.strerror or exc}") from None
            self.metrics.prometheus = prom
        bar = None
        if self.progress:
            from tqdm import tqdm

            bar = tqdm(desc="frames", unit="f")
        for src in self.sources:
            src.start()
        if self.view is not None:
            self.view.attach(self.sources, self.metrics)
        active = list(self.sources)
        try:
            with stop_on_signals(self.stop):
                while active and not self.stop.is_set():
                    frames = self._collect(active)
                    for src in [s for s in active if s.finished]:
                        active.remove(src)
                        self.events.write({"type": "camera_end", "camera": src.name, "time": time.time(),
                                           "frames": src.frames_in})
                    if not frames:
                        if self.live:
                            time.sleep(IDLE_S)
                        continue
                    self._step(frames)
                    if bar is not None:
                        bar.update(len(frames))
        finally:
            result = self._shutdown(prom)
            if bar is not None:
                bar.close()
        return result

    def _collect(self, active: list[CameraSource]) -> list[Frame]:
        frames = []
        for src in active:
            if self.live:
                frame = src.read(timeout=None)
            else:  # offline: wait for this camera's next frame unless it has ended
                frame = None
                while frame is None and not src.finished and not self.stop.is_set():
                    frame = src.read(timeout=0.1)
            if frame is not None:
                frames.append(frame)
        return frames

    def _step(self, frames: list[Frame]) -> None:
        now = time.monotonic()
        with self.metrics.stage("detect"):
            detections = self.detector.detect(frames)
        for frame, dets in zip(frames, detections, strict=True):
            timestamp = None
            if self.live:  # capture times tell the motion model how many frames were dropped
                timestamp = frame.pts
                if frame.pts < self.last_pts.get(frame.camera, float("-inf")):  # stream restarted (reconnect)
                    self.batcher.add(self.buffers[frame.camera].flush())
                    self.trackers.reset(frame.camera)
                    if self.identity is not None:  # publish the old stream's tracks before its clock is re-anchored
                        self._publish(self.batcher.poll(force=True))
                self.last_pts[frame.camera] = frame.pts
            if self.activation.observe(dets.confidence):
                self.trackers.set_params(self.activation.values)
            with self.metrics.stage("track"):
                tracked = self.trackers.update(frame.camera, dets, timestamp, frame.image)
            fired = self.fired.setdefault(frame.camera, [0, 0.0, 0])
            fired[0] += len(dets)
            fired[1] = max(fired[1], float(dets.confidence.max())) if len(dets) else fired[1]
            fired[2] += len(tracked)
            if self.identity is not None and tracked.tracker_id is not None:
                self.identity.seen(frame.camera, tracked.tracker_id.tolist(), frame.pts)
            with self.metrics.stage("tracklets"):
                buffer = self.buffers[frame.camera]
                new = buffer.update(frame, tracked)
                self.batcher.add(new)
                funnel = self.funnels[frame.camera]
                funnel.see(dets, tracked, buffer.last_fails)
                funnel.tracklets += len(new)
            if self.mot:
                self.mot[frame.camera].write(frame.index, tracked)
            if self.cfg.output.video or self.view is not None:
                with self.metrics.stage("annotate"):
                    labels, colours = self._labels(frame.camera, tracked)
                    canvas = self._annotator(frame.camera).draw(frame.image, tracked, labels, colours)
                    if self.cfg.output.video:
                        self._video(frame.camera).append(canvas)
                if self.view is not None:
                    with self.metrics.stage("live"):
                        self.view.frame(frame, canvas, tracked, labels)
            self.metrics.frame_done(frame.camera, now - frame.arrival)
        with self.metrics.stage("embed"):
            self._publish(self.batcher.poll())
        for src in self.sources:
            self.metrics.set_source_counts(src.name, src.frames_in, src.dropped)

    def _annotator(self, camera: str) -> Any:
        annotator = self.annotators.get(camera)
        if annotator is None:
            from streid.pipeline.annotate import FrameAnnotator

            annotator = self.annotators[camera] = FrameAnnotator(self.cfg.output.trail_length)
        return annotator

    def _video(self, camera: str) -> Any:
        video = self.videos.get(camera)
        if video is None:
            from streid.pipeline.annotate import AnnotatedVideo

            fps = self.cfg.output.video_fps or next(s.fps for s in self.sources if s.name == camera) or 30.0
            o = self.cfg.output
            if self.live:  # crash-tolerant, never overwriting a previous run's file, rotated every segment
                video = AnnotatedVideo(lambda: live_video_path(self.out, camera), fps, o.trail_length,
                                       fragment_ms=LIVE_FRAGMENT_MS, segment_frames=round(o.video_segment_s * fps))
            else:
                video = AnnotatedVideo(self.out / f"{camera}.mp4", fps, o.trail_length)
            self.videos[camera] = video
        return video

    def _labels(self, camera: str, tracked: Detections) -> tuple[list[str] | None, Any]:
        """Global ids (``G7``) once known, else the local track (``#3``); colours follow the global id."""
        if self.identity is None or tracked.tracker_id is None:
            return None, None
        gids = [self.identity.global_id(camera, int(t)) for t in tracked.tracker_id]
        labels = [f"G{g}" if g is not None else f"#{t}" for g, t in zip(gids, tracked.tracker_id, strict=True)]
        return labels, [g if g is not None else int(t) for g, t in zip(gids, tracked.tracker_id, strict=True)]

    def _publish(self, tracklets: list[Tracklet], match: bool = True) -> None:
        inline = self.cfg.output.embeddings == "inline"
        extra: list[dict[str, Any]] = [{} for _ in tracklets]
        if self.identity is not None and match:
            extra = self.identity.update(tracklets)
            for event in self.identity.calibration_events():  # the site refined the matching thresholds
                self.events.write(event)
        for t, fields in zip(tracklets, extra, strict=True):
            self.events.write({**tracklet_event(t, t.last_frame, inline), **fields})

    def _shutdown(self, prom: PrometheusExporter | None) -> RunResult:
        """Stop cameras, end every live track, embed what is pending, finalise videos and metrics."""
        for src in self.sources:
            src.close()
        for camera, buf in self.buffers.items():
            flushed = buf.flush()
            self.funnels[camera].tracklets += len(flushed)
            self.batcher.add(flushed)
            hint = self.funnels[camera].explain(camera, self.gate, self.seq_len, self.trackers.hidden.get(camera, 0),
                                                self.trackers.min_track_score)
            if hint:
                log.warning("%s", hint)
        pending = list(self.batcher.pending)
        try:
            ready = self.batcher.poll(force=True)
        except Exception as exc:  # a failing embedder must not cost the end events and the files below
            log.error("embedding the last %d tracklets failed: %s; publishing them without embeddings",
                      len(pending), exc)
            ready = pending
        try:
            self._publish(ready)
        except Exception as exc:  # nor must a failing store: the events then lack global ids
            log.error("global ids for the last %d tracklets failed: %s; publishing them without", len(ready), exc)
            self._publish(ready, match=False)
        videos: dict[str, Path] = {}
        for camera, video in self.videos.items():
            try:
                path = video.close()
            except RuntimeError as exc:
                log.error("camera %s: annotated video not finalised: %s", camera, exc)
                continue
            if path is not None:
                videos[camera] = path
        for writer in self.mot.values():
            writer.close()
        for camera, (detections, best, tracked) in self.fired.items():
            if detections and not tracked:  # say why the run has no tracks instead of ending silently
                reason = self.activation.reason_for_no_tracks(camera, int(detections), best,
                                                              self.trackers.hidden.get(camera, 0),
                                                              self.trackers.min_track_score)
                log.warning(reason)
                self.events.write({"type": "no_tracks", "camera": camera, "time": time.time(), "reason": reason})
        for src in self.sources:
            self.metrics.set_source_counts(src.name, src.frames_in, src.dropped)
        gate = getattr(self.detector, "noise_gate", None)
        if gate is not None:  # which cameras the detector's prefilter ended on, and their noise
            self.metrics.prefilter = gate.state()
        self.events.close()
        if prom is not None:
            prom.close()
        metrics_path = self.out / "metrics.json"
        summary = self.metrics.write_json(metrics_path)
        log.debug("pipeline summary\n%s", format_summary(summary))
        return RunResult(summary, self.events.path, videos, metrics_path, self.stop.is_set(), dict(self.failed))


def run_pipeline(cfg: PipelineSection, **kwargs: Any) -> RunResult:
    """Build a Runner for a validated ``pipeline:`` section and run it to the end (or to a signal)."""
    return Runner(cfg, **kwargs).run()
