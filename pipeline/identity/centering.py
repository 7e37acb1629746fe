"""Camera centering: subtract what a camera adds to everyone it sees before comparing people across cameras.

A camera's light, colour cast, angle and background move every embedding it produces the same way, so people
seen by one camera look alike and one person seen by two cameras looks different. The per-camera mean of the
embeddings is an estimate of that shift, free and label-free; subtracting it and re-normalising is the
simplest camera-bias removal (the idea behind camera-aware normalisation in unsupervised re-id, e.g. Zhuang et
al., "Rethinking the distribution gap of person re-identification with camera-based batch normalization",
ECCV 2020). On the held-out synthetic style it lifts the built-in model's mAP from 41.8 to 67.2
(`bench/builtin_bench.py`).

Online the mean is a running one, shrunk toward zero while a camera has seen few tracklets (weight n/(n+prior)),
so the first tracklets of a camera are compared nearly as they are. Offline every tracklet is centred with its
camera's final mean (:func:`centre_all`). Matching space = centred space: the store keeps the centred vectors.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from streid.pipeline.identity.records import TrackletObs, normalise

PRIOR = 4  # tracklets before a camera's mean counts half
CAMERA_MEAN_KEY = "camera_mean"  # store meta: the average of the cameras' means, for queries from no known camera


class CameraCentering:
    """Running per-camera mean of L2-normalised embeddings; ``centre`` maps observations into the matching space."""

    def __init__(self, prior: int = PRIOR) -> None:
        self.prior = prior
        self.sums: dict[str, np.ndarray] = {}
        self.counts: dict[str, int] = {}
        self._seen: set[tuple[str, int]] = set()
        self.updated = False

    def mean(self, camera: str) -> np.ndarray | None:
        """The shrunk mean subtracted for ``camera`` now (None before its first tracklet)."""
        n = self.counts.get(camera, 0)
        if not n:
            return None
        return self.sums[camera] / (n + self.prior)  # = (sum / n) * n / (n + prior)

    def average_mean(self) -> np.ndarray | None:
        """The mean over cameras of their (shrunk) means: what an uploaded query, from no known camera, loses."""
        means = [m for m in (self.mean(c) for c in self.counts) if m is not None]
        return np.mean(means, axis=0) if means else None

    def centre(self, obs: list[TrackletObs]) -> list[TrackletObs]:
        """Learn from the batch (each track counts once for the mean), then centre every observation.

        ``updated`` tells whether this batch moved any camera's mean (a new track), for callers that persist it."""
        self.updated = False
        for o in obs:
            if (o.camera, o.track_id) in self._seen:
                continue
            self.updated = True
            self._seen.add((o.camera, o.track_id))
            e = normalise(o.embedding)
            self.sums[o.camera] = self.sums.get(o.camera, np.zeros_like(e)) + e
            self.counts[o.camera] = self.counts.get(o.camera, 0) + 1
        out = []
        for o in obs:
            m = self.mean(o.camera)
            e = normalise(o.embedding)
            out.append(replace(o, embedding=normalise(e - m) if m is not None else e))
        return out


def centre_all(embeddings: np.ndarray, cameras: list[str] | np.ndarray, prior: int = PRIOR) -> np.ndarray:
    """Every row minus its camera's mean over all rows of that camera, shrunk like the online mean (a camera with
    few tracklets is barely centred: its mean is mostly its people), re-normalised (offline, calibration)."""
    emb = normalise(np.asarray(embeddings, np.float32))
    cams = np.asarray(cameras)
    out = emb.copy()
    for cam in np.unique(cams):
        rows = cams == cam
        out[rows] = emb[rows] - emb[rows].sum(axis=0, keepdims=True) / (rows.sum() + prior)
    return normalise(out)
