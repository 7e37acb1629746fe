"""Appearance guard for a per-camera tracker: undo ByteTrack's identity swaps with colour histograms.

ByteTrack associates by box overlap alone. When two people cross, their boxes overlap for a while and the motion
model can hand each one's id to the other (a swap), which puts two people under each local id; the tracklets, the
store and the cross-camera matching then treat each as one person. The guard keeps, per output id, a running
colour model of the person (HSV histograms of the upper and lower body, from boxes no other box covers) and, for
two tracks whose boxes touched in the last ``recent`` frames and are both seen clear again, exchanges their output
ids from that frame on when each model fits the other's current look better than its own by ``margin`` (summed
distances). In the spirit of DeepSORT's appearance term, with no network and a fraction of a millisecond a box.

Only swaps between people who just met are undone. Splitting a track whose look drifts from its model (a newcomer
handed a lost track's id) was tried and left out: a person turning or walking into shade drifts as far (the same
person's distance passes 0.42 in 1 % of clear boxes on the validation sites), and even limited to tracks just
back from lost it cost HOTA there; so did handing a box to the lost track of the person it had just met (a
one-sided test that fixed one validation camera and cost four). pipeline/README.md has the figures.

Distances are Hellinger distances between histograms (0 = same, 1 = disjoint), averaged over the two body halves.
Output ids are numbered per camera in order of first appearance; the guard only decides which one a box gets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from streid.pipeline.tracklets import intersections, max_ioa

FORGET_EVERY = 256  # frames; longer than any tracker's lost buffer
H_BINS, S_BINS, V_BINS = 8, 3, 4  # HSV bins per body half: hue for colours, value for black/grey/white clothes


def describe(image: np.ndarray, box: np.ndarray) -> np.ndarray | None:
    """Square roots of the L1-normalised HSV histograms of the box's upper and lower body (central 60 % of its
    width, 10-50 % and 50-90 % of its height), concatenated; None for a box too small to say anything."""
    import cv2

    h_img, w_img = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    if w < 6 or h < 16:
        return None
    cols = slice(max(int(x1 + 0.2 * w), 0), min(int(x2 - 0.2 * w), w_img))
    parts = []
    for top, bottom in ((0.1, 0.5), (0.5, 0.9)):
        rows = slice(max(int(y1 + top * h), 0), min(int(y1 + bottom * h), h_img))
        patch = image[rows, cols]
        if patch.shape[0] < 2 or patch.shape[1] < 2:
            return None
        hsv = cv2.cvtColor(np.ascontiguousarray(patch), cv2.COLOR_BGR2HSV)
        hist = cv2.calcHist([hsv], [0, 1, 2], None, [H_BINS, S_BINS, V_BINS], [0, 180, 0, 256, 0, 256]).ravel()
        parts.append(np.sqrt(hist / max(float(hist.sum()), 1.0)))
    return np.concatenate(parts).astype(np.float32)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Hellinger distance of two :func:`describe` vectors, averaged over the body halves (0 same .. 1 disjoint)."""
    half = len(a) // 2
    bc = [float(np.dot(a[:half], b[:half])), float(np.dot(a[half:], b[half:]))]  # Bhattacharyya coefficients
    return float(np.mean([np.sqrt(max(1.0 - c, 0.0)) for c in bc]))


@dataclass
class _Model:
    mean: np.ndarray  # running mean of sqrt-histograms (renormalised per half when compared)
    count: int = 1


@dataclass
class AppearanceGuard:
    """Per camera: maps the tracker's raw ids to output ids, undoing swaps (see the module doc)."""

    margin: float = 0.15
    recent: int = 30
    mature: int = 5
    alpha: float = 0.1
    next_id: int = 1
    out_of: dict[int, int] = field(default_factory=dict)  # raw id -> output id
    models: dict[int, _Model] = field(default_factory=dict)  # output id -> colour model
    met: dict[frozenset, int] = field(default_factory=dict)  # output id pair -> last frame their boxes touched
    last_seen: dict[int, int] = field(default_factory=dict)  # raw id -> last frame it had a box
    frame: int = 0
    swaps: int = 0

    def _fresh(self) -> int:
        out, self.next_id = self.next_id, self.next_id + 1
        return out

    def assign(self, raw_ids: np.ndarray, xyxy: np.ndarray, image: np.ndarray | None) -> np.ndarray:
        """Output ids for one frame's tracked boxes (raw ids from the tracker)."""
        self.frame += 1
        for r in raw_ids.tolist():
            if r not in self.out_of:
                self.out_of[r] = self._fresh()
            self.last_seen[r] = self.frame
        ids = np.array([self.out_of[r] for r in raw_ids.tolist()], np.int64)
        self._forget()
        if image is None or not len(ids):
            return ids
        touching = np.triu(intersections(xyxy) > 0, k=1)
        for i, j in zip(*np.nonzero(touching), strict=True):
            self.met[frozenset((int(ids[i]), int(ids[j])))] = self.frame
        clear = max_ioa(xyxy) < 0.1
        desc = {k: describe(image, xyxy[k]) if clear[k] else None for k in range(len(ids))}
        self._undo_swaps(raw_ids, ids, desc)
        for k, d in desc.items():  # learn from clear boxes only, after the corrections
            if d is None:
                continue
            model = self.models.get(int(ids[k]))
            if model is None:
                self.models[int(ids[k])] = _Model(d.copy())
            else:
                rate = max(self.alpha, 1.0 / (model.count + 1))
                model.mean = (1 - rate) * model.mean + rate * d
                model.count += 1
        return ids

    def _dist(self, oid: int, d: np.ndarray) -> float | None:
        model = self.models.get(oid)
        if model is None or model.count < self.mature:
            return None
        half = len(model.mean) // 2
        m = model.mean.copy()
        for part in (slice(0, half), slice(half, None)):
            m[part] /= max(float(np.linalg.norm(m[part])), 1e-9)
        return distance(m, d)

    def _undo_swaps(self, raw_ids: np.ndarray, ids: np.ndarray, desc: dict[int, np.ndarray | None]) -> None:
        seen = [k for k, d in desc.items() if d is not None]
        done: set[int] = set()
        for a in seen:
            for b in seen:
                if b <= a or a in done or b in done:
                    continue
                pair = frozenset((int(ids[a]), int(ids[b])))
                if self.frame - self.met.get(pair, -10**9) > self.recent:
                    continue  # only people who just crossed can have been swapped
                da, db = desc[a], desc[b]
                keep = [self._dist(int(ids[a]), da), self._dist(int(ids[b]), db)]
                swap = [self._dist(int(ids[a]), db), self._dist(int(ids[b]), da)]
                if None in keep or None in swap:
                    continue
                if sum(swap) < sum(keep) - self.margin:
                    ra, rb = int(raw_ids[a]), int(raw_ids[b])
                    self.out_of[ra], self.out_of[rb] = self.out_of[rb], self.out_of[ra]
                    ids[a], ids[b] = ids[b], ids[a]
                    self.swaps += 1
                    done |= {a, b}

    def _forget(self) -> None:
        """Every FORGET_EVERY frames, drop raw ids unseen for that long (the tracker has ended them), their models
        and pairs that met long ago: memory stays bounded however long the camera runs."""
        if self.frame % FORGET_EVERY:
            return
        gone = [r for r, f in self.last_seen.items() if self.frame - f > FORGET_EVERY]
        for r in gone:
            del self.last_seen[r]
            self.out_of.pop(r, None)
        live = set(self.out_of.values())
        self.models = {oid: m for oid, m in self.models.items() if oid in live}
        self.met = {p: f for p, f in self.met.items() if self.frame - f <= self.recent}
