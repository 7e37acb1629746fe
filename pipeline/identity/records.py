"""Input and output records of the identity stage: one observed tracklet, one explained decision.

``streid.records.Tracklet`` carries crops and frame indices, not times in seconds; the matcher needs only
camera, local track id, time span and embedding, so the pipeline feeds it through :func:`from_tracklet`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streid.records import Tracklet


@dataclass
class TrackletObs:
    """What the matcher sees of a tracklet: where, when (seconds, site clock) and its L2-normalised embedding."""

    camera: str
    track_id: int
    t_start: float
    t_end: float
    embedding: np.ndarray  # float32 (D,)
    dx: float | None = None  # the track's net sideways walk, share of the frame width (Tracklet.dx); None: unknown

    def __post_init__(self) -> None:
        self.track_id, self.t_start, self.t_end = int(self.track_id), float(self.t_start), float(self.t_end)
        dx = None if self.dx is None else float(self.dx)  # a non-number raises here (a bad message is refused)
        self.dx = dx if dx is not None and np.isfinite(dx) else None
        self.embedding = np.asarray(self.embedding, np.float32).reshape(-1)
        if self.t_end < self.t_start:
            raise ValueError(f"tracklet {self.camera}:{self.track_id}: t_end {self.t_end} < t_start {self.t_start}")

    @property
    def key(self) -> tuple[str, int]:
        return (self.camera, self.track_id)

    @property
    def span(self) -> tuple[str, float, float, float | None]:
        """What the site rules judge: (camera, start, end, dx)."""
        return (self.camera, self.t_start, self.t_end, self.dx)


def from_tracklet(tracklet: Tracklet, t_offset: float = 0.0) -> TrackletObs:
    """Adapt a pipeline Tracklet; ``t_offset`` maps a camera's clock to the site clock.

    The span is the track's life so far (``first_pts``..``last_pts``) when the tracklet has it, else its crops'
    pts: the "never in two places at once" rule must see the whole time the person was in view.
    """
    if tracklet.embedding is None:
        raise ValueError(f"tracklet {tracklet.camera}:{tracklet.track_id} has no embedding yet")
    t0, t1 = track_span(tracklet.pts, tracklet.first_pts, tracklet.last_pts)
    return TrackletObs(tracklet.camera, int(tracklet.track_id), t0 + t_offset, t1 + t_offset,
                       normalise(tracklet.embedding), tracklet.dx)


def track_span(pts: np.ndarray | list[float], first: float | None, last: float | None) -> tuple[float, float]:
    """(start, end) seconds: the track's life when known, widened to cover its crops."""
    p = np.asarray(pts, np.float64)
    start, end = float(p.min()), float(p.max())
    if first is not None and last is not None:
        start, end = min(start, float(first)), max(end, float(last))
    return start, end


def normalise(x: np.ndarray) -> np.ndarray:
    """L2-normalise the last axis (float32); zero vectors stay zero."""
    x = np.asarray(x, np.float32)
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(n, 1e-12)


@dataclass
class Decision:
    """Why a tracklet got its global id: the distance to it and to the best other candidate."""

    camera: str
    track_id: int
    global_id: int
    kind: str  # "new" | "match" | "refine" | "switch"
    distance: float | None  # cosine distance to the chosen identity (None for a new identity with no candidate)
    runner_up_id: int | None
    runner_up_distance: float | None
    t_start: float
    t_end: float
