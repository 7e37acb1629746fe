"""Tracklet buffer: per local track, keep good crops spread over time and emit L-frame tracklets.

A crop is kept only if its box passes the quality gate (:func:`quality_mask`): big enough, a person-like
aspect, confident, not cut by the frame edge, and little overlap (IoA) with the other boxes of the frame,
since an occluded crop carries someone else's appearance. Kept crops are thinned so that they stay spread
over the track's lifetime (the interior crop whose neighbours are closest in time goes first) and at most
``max_crops`` are held per track. A track emits ``start`` when it first has L good crops, ``update`` every
``update_every`` frames while it gained crops, and ``end`` once it was unseen for ``lost_frames`` frames or
at :meth:`TrackletBuffer.flush`. Finished tracks are dropped, so memory stays bounded.

Edge fallback (off by default): a person walking close past the camera can be cut by the frame edge in every
frame, so the track never gets L good crops and, without a tracklet, never gets an id. With ``edge_fallback`` such a
track also keeps the crops that fail the edge margin alone, and when it ends having had fewer than L good
crops but at least L usable ones, it emits one ``end`` tracklet: every good crop plus edge-cut ones spread
over its life. Clean crops still win: a track that reaches L good crops starts normally and drops the others.
It is off by default because edge-cut crops are weak evidence: on the judged `pretrain` site it gave two people
an id and one more link with ground-truth boxes, but with the detector, and on the tiny test site, the extra
tracklets changed offline merges for the worse.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from streid.records import Detections, Frame, Tracklet, TrackletState


@dataclass
class GateParams:
    min_height: float = 48.0
    min_width: float = 16.0
    min_aspect: float = 0.2
    max_aspect: float = 1.0
    min_conf: float = 0.3
    edge_margin: float = 2.0
    max_overlap: float = 0.3


def intersections(xyxy: np.ndarray) -> np.ndarray:
    """(N, N) intersection areas of every pair of boxes (the diagonal is each box's own area)."""
    x1 = np.maximum(xyxy[:, None, 0], xyxy[None, :, 0])
    y1 = np.maximum(xyxy[:, None, 1], xyxy[None, :, 1])
    x2 = np.minimum(xyxy[:, None, 2], xyxy[None, :, 2])
    y2 = np.minimum(xyxy[:, None, 3], xyxy[None, :, 3])
    return np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)


def max_ioa(xyxy: np.ndarray) -> np.ndarray:
    """For each box, the largest fraction of its own area covered by any other box of the set."""
    n = len(xyxy)
    if n < 2:
        return np.zeros(n, np.float32)
    inter = intersections(xyxy)
    area = np.clip((xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1]), 1e-6, None)
    ioa = inter / area[:, None]
    np.fill_diagonal(ioa, 0.0)
    return ioa.max(axis=1).astype(np.float32)


def gate_failures(dets: Detections, width: int, height: int, gate: GateParams) -> dict[str, np.ndarray]:
    """Per gate criterion (a GateParams field), boolean (N,): which boxes fail it."""
    b = dets.xyxy
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    aspect = w / np.clip(h, 1e-6, None)
    m = gate.edge_margin
    inside = (b[:, 0] >= m) & (b[:, 1] >= m) & (b[:, 2] <= width - m) & (b[:, 3] <= height - m)
    return {"min_height": h < gate.min_height, "min_width": w < gate.min_width, "min_aspect": aspect < gate.min_aspect,
            "max_aspect": aspect > gate.max_aspect, "min_conf": dets.confidence < gate.min_conf,
            "edge_margin": ~inside, "max_overlap": max_ioa(b) > gate.max_overlap}


def passing(fails: dict[str, np.ndarray], ignore: str = "") -> np.ndarray:
    """Boolean (N,) from :func:`gate_failures`: which boxes fail no criterion (except ``ignore``)."""
    return ~np.any([m for name, m in fails.items() if name != ignore], axis=0)


def quality_mask(dets: Detections, width: int, height: int, gate: GateParams) -> np.ndarray:
    """Boolean (N,): which boxes are good enough to be a re-id crop."""
    return passing(gate_failures(dets, width, height, gate)) if len(dets) else np.zeros(0, bool)


def spread_indices(n: int, k: int) -> np.ndarray:
    """k indices out of n spread evenly from first to last (n >= k)."""
    return np.unique(np.linspace(0, n - 1, k).round().astype(np.int64)) if k > 1 else np.array([n - 1])


def thin(frames: list[int], cap: int) -> list[int]:
    """Positions to keep so that at most ``cap`` remain, dropping the most crowded interior ones first."""
    keep = list(range(len(frames)))
    while len(keep) > cap:
        if cap < 2:
            return keep[-cap:]
        gaps = [frames[keep[i + 1]] - frames[keep[i - 1]] for i in range(1, len(keep) - 1)]
        del keep[1 + int(np.argmin(gaps))]
    return keep


CROP_MODES = ("aspect", "stretch")
ASPECT_MARGIN = 1.1  # box height around the person, as the synthetic world's tracklet crops are cut (render.py)


def crop(image: np.ndarray, box: np.ndarray, height: int, width: int, mode: str = "stretch") -> np.ndarray:
    """The box's pixels resized to (height, width).

    ``stretch`` resizes the box itself (MARS-style detector crops); ``aspect`` first widens (or heightens) the
    box around its centre to the crop's aspect with a 10 % margin, so a person keeps their proportions, as in the
    crops the built-in re-id model was trained on; parts outside the frame repeat the border pixels.
    """
    import cv2

    if mode == "aspect":
        x1, y1, x2, y2 = (float(v) for v in box[:4])
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        bh = max(y2 - y1, (x2 - x1) * height / width) * ASPECT_MARGIN
        bw = bh * width / height
        x1, x2, y1, y2 = round(cx - bw / 2), round(cx + bw / 2), round(cy - bh / 2), round(cy + bh / 2)
        h, w = image.shape[:2]
        pad = max(0, -x1, -y1, x2 - w, y2 - h)
        if pad:
            image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        patch = image[y1 + pad:max(y2, y1 + 1) + pad, x1 + pad:max(x2, x1 + 1) + pad]
        return cv2.resize(patch, (width, height), interpolation=cv2.INTER_LINEAR)
    h, w = image.shape[:2]
    x1, y1 = int(max(0, np.floor(box[0]))), int(max(0, np.floor(box[1])))
    x2, y2 = int(min(w, np.ceil(box[2]))), int(min(h, np.ceil(box[3])))
    patch = image[y1:max(y2, y1 + 1), x1:max(x2, x1 + 1)]
    return cv2.resize(patch, (width, height), interpolation=cv2.INTER_LINEAR)


@dataclass
class _Track:
    first_frame: int
    last_seen: int
    first_pts: float = 0.0
    last_pts: float = 0.0
    first_x: float = 0.0  # box centre x as a share of the frame width, at the first and the latest detection
    last_x: float = 0.0
    frames: list[int] = field(default_factory=list)
    pts: list[float] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    crops: list[np.ndarray] = field(default_factory=list)
    started: bool = False
    last_emit: int = -1
    changed: bool = False
    cut: list[tuple[int, float, np.ndarray, np.ndarray]] = field(default_factory=list)  # (frame, pts, box, crop)


class TrackletBuffer:
    """Crops per local track of one camera; ``update`` per frame returns the tracklets to emit."""

    def __init__(self, camera: str, seq_len: int = 8, crop_height: int = 256, crop_width: int = 128,
                 gate: GateParams | None = None, max_crops: int = 32, update_every: int = 30,
                 lost_frames: int = 30, min_gap: int = 1, crop_mode: str = "stretch",
                 edge_fallback: bool = False) -> None:
        if crop_mode not in CROP_MODES:
            raise ValueError(f"crop_mode must be one of {CROP_MODES}, got {crop_mode!r}")
        self.camera, self.crop_mode = camera, crop_mode
        self.seq_len, self.crop_height, self.crop_width = seq_len, crop_height, crop_width
        self.gate = gate or GateParams()
        self.max_crops = max(max_crops, seq_len)
        self.update_every, self.lost_frames, self.min_gap = update_every, lost_frames, min_gap
        self.edge_fallback = edge_fallback
        self.tracks: dict[int, _Track] = {}
        self.last_fails: dict[str, np.ndarray] = {}  # the last frame's gate failures (the run's funnel counts them)

    def update(self, frame: Frame, dets: Detections) -> list[Tracklet]:
        if dets.tracker_id is None:
            raise ValueError("the tracklet buffer needs tracked detections (tracker_id)")
        height, width = frame.image.shape[:2]
        fails = self.last_fails = gate_failures(dets, width, height, self.gate) if len(dets) else {}
        good = passing(fails) if fails else np.zeros(0, bool)
        cut_only = fails["edge_margin"] & passing(fails, ignore="edge_margin") if fails and self.edge_fallback \
            else np.zeros(len(dets), bool)
        out: list[Tracklet] = []
        for i, tid in enumerate(dets.tracker_id.tolist()):
            track = self.tracks.get(tid)
            x = float(dets.xyxy[i, 0] + dets.xyxy[i, 2]) / (2.0 * width)
            if track is None:
                track = self.tracks[tid] = _Track(frame.index, frame.index, frame.pts, frame.pts, x, x)
            track.last_seen, track.last_pts, track.last_x = frame.index, frame.pts, x
            if good[i] and (not track.frames or frame.index - track.frames[-1] >= self.min_gap):
                self._keep(track, frame, dets.xyxy[i])
            elif cut_only[i] and not track.started and (not track.cut
                                                         or frame.index - track.cut[-1][0] >= self.min_gap):
                self._keep_cut(track, frame, dets.xyxy[i])
            if not track.started and len(track.frames) >= self.seq_len:
                track.cut.clear()
                out.append(self._emit(tid, track, TrackletState.START, frame.index))
            elif track.started and track.changed and frame.index - track.last_emit >= self.update_every:
                out.append(self._emit(tid, track, TrackletState.UPDATE, frame.index))
        for tid in [t for t, tr in self.tracks.items() if frame.index - tr.last_seen > self.lost_frames]:
            out.extend(self._finish(tid))
        return out

    def flush(self) -> list[Tracklet]:
        """End every live track (stream end or shutdown)."""
        out: list[Tracklet] = []
        for tid in list(self.tracks):
            out.extend(self._finish(tid))
        return out

    def reset(self) -> None:
        self.tracks.clear()

    def _keep(self, track: _Track, frame: Frame, box: np.ndarray) -> None:
        track.frames.append(frame.index)
        track.pts.append(frame.pts)
        track.boxes.append(box.astype(np.float32))
        track.crops.append(crop(frame.image, box, self.crop_height, self.crop_width, self.crop_mode))
        track.changed = True
        if len(track.frames) > self.max_crops:
            keep = thin(track.frames, self.max_crops)
            for name in ("frames", "pts", "boxes", "crops"):
                values = getattr(track, name)
                setattr(track, name, [values[k] for k in keep])

    def _keep_cut(self, track: _Track, frame: Frame, box: np.ndarray) -> None:
        track.cut.append((frame.index, frame.pts, box.astype(np.float32),
                          crop(frame.image, box, self.crop_height, self.crop_width, self.crop_mode)))
        if len(track.cut) > self.max_crops:
            track.cut = [track.cut[k] for k in thin([c[0] for c in track.cut], self.max_crops)]

    def _fallback(self, tid: int, track: _Track) -> list[Tracklet]:
        """The ``end`` tracklet of a track that never had L good crops: all of them, then edge-cut ones spread
        over its life; none when even together they are fewer than L."""
        need = self.seq_len - len(track.frames)
        if need <= 0 or len(track.cut) < need:
            return []
        rows = sorted([*zip(track.frames, track.pts, track.boxes, track.crops, strict=True),
                       *(track.cut[k] for k in spread_indices(len(track.cut), need))], key=lambda r: r[0])
        track.frames, track.pts, track.boxes, track.crops = (list(col) for col in zip(*rows, strict=True))
        return [self._emit(tid, track, TrackletState.END, track.last_seen)]

    def _emit(self, tid: int, track: _Track, state: TrackletState, now: int) -> Tracklet:
        idx = spread_indices(len(track.frames), self.seq_len)
        track.started, track.changed, track.last_emit = True, False, now
        return Tracklet(
            camera=self.camera, track_id=int(tid), state=state,
            frames=np.asarray([track.frames[k] for k in idx], np.int64),
            pts=np.asarray([track.pts[k] for k in idx], np.float64),
            crops=np.stack([track.crops[k] for k in idx]),
            boxes=np.stack([track.boxes[k] for k in idx]),
            first_frame=track.first_frame, last_frame=track.last_seen, first_pts=track.first_pts,
            last_pts=track.last_pts, dx=track.last_x - track.first_x,
        )

    def _finish(self, tid: int) -> list[Tracklet]:
        track = self.tracks.pop(tid)
        if track.started:
            return [self._emit(tid, track, TrackletState.END, track.last_seen)]
        return self._fallback(tid, track) if self.edge_fallback else []
