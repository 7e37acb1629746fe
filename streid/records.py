"""Small typed records that pass between pipeline stages (Frame, Detections, Tracklet, Identity).

They hold numpy arrays and plain values only, so every stage can be tested on hand-made records and
importing them costs nothing. ``Detections`` is our own dataclass rather than ``supervision.Detections``:
it keeps ``streid`` light to import and gives the fields fixed dtypes; :meth:`Detections.to_supervision`
and :meth:`Detections.from_supervision` convert at the tracker and annotator boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np


@dataclass
class Frame:
    """One decoded BGR frame of one camera; ``index`` counts frames delivered by that camera (0-based)."""

    camera: str
    pts: float  # seconds, from the buffer's presentation timestamp (or arrival time when it has none)
    index: int
    image: np.ndarray  # (H, W, 3) uint8 BGR
    arrival: float = 0.0  # time.monotonic() when the frame left GStreamer (frame age in live mode)


@dataclass
class Detections:
    """Boxes of one frame: ``xyxy`` float32 (N, 4) in pixels, ``confidence`` float32 (N,), ``class_id`` int64 (N,)."""

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    tracker_id: np.ndarray | None = None  # int64 (N,) once a tracker assigned ids

    def __post_init__(self) -> None:
        self.xyxy = np.asarray(self.xyxy, np.float32).reshape(-1, 4)
        n = len(self.xyxy)
        self.confidence = np.asarray(self.confidence, np.float32).reshape(n)
        self.class_id = np.asarray(self.class_id, np.int64).reshape(n)
        if self.tracker_id is not None:
            self.tracker_id = np.asarray(self.tracker_id, np.int64).reshape(n)

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.xyxy)

    def select(self, mask: np.ndarray) -> Detections:
        """The subset given by a boolean mask or index array."""
        tid = None if self.tracker_id is None else self.tracker_id[mask]
        return Detections(self.xyxy[mask], self.confidence[mask], self.class_id[mask], tid)

    def to_supervision(self) -> Any:
        import supervision as sv

        return sv.Detections(
            xyxy=self.xyxy.copy(), confidence=self.confidence.copy(), class_id=self.class_id.copy(),
            tracker_id=None if self.tracker_id is None else self.tracker_id.copy(),
        )

    @classmethod
    def from_supervision(cls, det: Any) -> Detections:
        n = len(det.xyxy)
        conf = det.confidence if det.confidence is not None else np.ones(n, np.float32)
        cls_id = det.class_id if det.class_id is not None else np.zeros(n, np.int64)
        return cls(det.xyxy, conf, cls_id, det.tracker_id)


class TrackletState(str, Enum):
    """Life cycle of a local track's tracklet: first emitted, refreshed, finalised."""

    START = "start"
    UPDATE = "update"
    END = "end"


@dataclass
class Tracklet:
    """L crops of one local track in one camera, spread over its lifetime, ready for the embedder."""

    camera: str
    track_id: int
    state: TrackletState
    frames: np.ndarray  # int64 (L,) frame indices of the crops
    pts: np.ndarray  # float64 (L,) seconds
    crops: np.ndarray  # (L, H, W, 3) uint8 BGR
    boxes: np.ndarray  # float32 (L, 4) xyxy of the crops
    first_frame: int = 0
    last_frame: int = 0
    embedding: np.ndarray | None = None  # float32 (D,) L2-normalised, once embedded
    first_pts: float | None = None  # seconds at first_frame / last_frame: the track's life so far, which the
    last_pts: float | None = None  # cross-camera rules need (the crops' pts cover only part of it)
    dx: float | None = None  # the track's net sideways walk so far: box centre x now minus at first_frame, as a
    # share of the frame width (+ = to the right); the site's side rule reads which way a person left or came in


@dataclass
class Identity:
    """A global identity across cameras: the (camera, local track) pairs assigned to it."""

    global_id: int
    members: list[tuple[str, int]] = field(default_factory=list)
    embedding: np.ndarray | None = None
