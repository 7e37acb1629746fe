"""What a run shows the outside while it goes on: per camera the newest annotated frame, its tracks and counters.

The runner calls :meth:`LiveView.frame` once per processed frame; the call keeps a reference and forwards the
frame to the RTSP restream, nothing more (O(1), never blocks), so a slow or absent viewer cannot stall detection.
Readers (the dashboard's thread) encode JPEG snapshots on demand, at most once per new frame.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from streid.records import Detections, Frame

if TYPE_CHECKING:
    from streid.pipeline.live.rtsp import RtspRestream
    from streid.pipeline.metrics import Metrics
    from streid.pipeline.sources import CameraSource

STALE_S = 2.0  # a camera with no frame for this long shows as stalled (or failed, with an error)


@dataclass
class _Latest:
    seq: int
    canvas: np.ndarray
    pts: float
    time: float  # UNIX seconds when the runner handed it over
    tracks: list[dict[str, Any]]


def _tracks(tracked: Detections, labels: list[str] | None) -> list[dict[str, Any]]:
    """Tracks in view; ``labels`` are the runner's (``G7`` = global id 7, ``#3`` = local track 3 only)."""
    if tracked.tracker_id is None:
        return []
    out = []
    for i, tid in enumerate(tracked.tracker_id.tolist()):
        label = labels[i] if labels else ""
        gid = int(label[1:]) if label.startswith("G") and label[1:].isdigit() else None
        out.append({"track_id": int(tid), "global_id": gid, "box": [round(float(v), 1) for v in tracked.xyxy[i]],
                    "confidence": round(float(tracked.confidence[i]), 3)})
    return out


class LiveView:
    """Shared between the runner (writer) and the dashboard / RTSP (readers); close() stops the restream."""

    def __init__(self, rtsp: RtspRestream | None = None, jpeg_quality: int = 80) -> None:
        self.rtsp = rtsp
        self.jpeg_quality = jpeg_quality
        self.sources: list[CameraSource] = []
        self.metrics: Metrics | None = None
        self._latest: dict[str, _Latest] = {}
        self._jpeg: dict[str, tuple[int, bytes]] = {}
        self._rate: dict[str, tuple[float, int, float]] = {}  # camera -> (time, processed, frames/s)
        self._lock = threading.Lock()
        self._seq = 0

    def attach(self, sources: list[CameraSource], metrics: Metrics) -> None:
        """The run's cameras and counters (read, never written, from here)."""
        self.sources, self.metrics = list(sources), metrics

    def frame(self, frame: Frame, canvas: np.ndarray, tracked: Detections, labels: list[str] | None) -> None:
        """The runner's annotated frame of one camera (the array must not be written to afterwards)."""
        self._seq += 1
        self._latest[frame.camera] = _Latest(self._seq, canvas, frame.pts, time.time(), _tracks(tracked, labels))
        if self.rtsp is not None:
            fps = next((s.fps for s in self.sources if s.name == frame.camera), 0.0)
            self.rtsp.push(frame.camera, canvas, fps)

    def snapshot(self, camera: str) -> bytes | None:
        """The newest annotated frame as JPEG (None before the first frame or for an unknown camera)."""
        import cv2

        latest = self._latest.get(camera)
        if latest is None:
            return None
        with self._lock:
            cached = self._jpeg.get(camera)
            if cached is not None and cached[0] == latest.seq:
                return cached[1]
            ok, data = cv2.imencode(".jpg", latest.canvas, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
            if not ok:
                return None
            self._jpeg[camera] = (latest.seq, data.tobytes())
            return self._jpeg[camera][1]

    def cameras(self) -> list[dict[str, Any]]:
        """State and counters per camera: live / stalled / failed / ended / waiting, frames/s, dropped, errors."""
        now = time.time()
        rtsp = self.rtsp.stats() if self.rtsp is not None else {}
        out = []
        for src in self.sources:
            latest = self._latest.get(src.name)
            processed = self.metrics.processed.get(src.name, 0) if self.metrics is not None else 0
            if src.finished:
                state = "ended"
            elif latest is None:
                state = "waiting"
            elif now - latest.time > STALE_S:
                state = "failed" if src.last_error else "stalled"
            else:
                state = "live"
            item: dict[str, Any] = {
                "name": src.name, "state": state, "fps": round(self._fps(src.name, processed, now), 1),
                "source_fps": round(float(src.fps), 2), "frames_in": src.frames_in, "processed": processed,
                "dropped": src.dropped, "errors": src.failures, "last_error": src.last_error,
                "last_frame_age_s": round(now - latest.time, 2) if latest is not None else None,
                "tracks": len(latest.tracks) if latest is not None else 0,
            }
            if self.rtsp is not None:
                item["rtsp"] = {"url": self.rtsp.url(src.name), **rtsp.get(src.name, {"pushed": 0, "dropped": 0})}
            out.append(item)
        return out

    def tracks(self) -> list[dict[str, Any]]:
        """Every track in view now, with its camera and global id (None until it has one)."""
        return [{"camera": cam, **t} for cam, latest in sorted(self._latest.items()) for t in latest.tracks]

    def _fps(self, camera: str, processed: int, now: float) -> float:
        """Processed frames/s over the last second or more (recomputed when read)."""
        with self._lock:
            t0, n0, rate = self._rate.get(camera, (now, processed, 0.0))
            if camera not in self._rate or now - t0 >= 1.0:
                if now > t0:
                    rate = (processed - n0) / (now - t0)
                self._rate[camera] = (now, processed, rate)
            return rate

    def close(self) -> None:
        if self.rtsp is not None:
            self.rtsp.close()
