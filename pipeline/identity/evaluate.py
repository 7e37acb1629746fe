"""Multi-camera identity metrics (Ristani et al. 2016) on MOTChallenge-style files, one per camera.

- IDF1/IDP/IDR over all cameras together: a GT trajectory and a predicted trajectory (global ids) agree on a
  detection when both have a box in the same (camera, frame) with IoU >= 0.5; one global bipartite matching
  (Hungarian) between GT ids and predicted ids maximises the agreeing detections (IDTP).
  IDF1 = 2 IDTP / (2 IDTP + IDFP + IDFN), IDFP = predicted boxes - IDTP, IDFN = GT boxes - IDTP.
- The same per camera (matching done within that camera only).
- Cross-camera links: a predicted tracklet is (camera, predicted id); its GT id is the GT id it agrees
  with most. Predicted links = pairs of tracklets in different cameras sharing a predicted id; true links =
  pairs sharing a GT id. Precision and recall of the predicted links against the true ones.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

Rows = dict[int, np.ndarray]  # frame -> (n, 5) id, x, y, w, h


def read_mot(path: str | Path) -> Rows:
    """Frame -> rows of (id, x, y, w, h) from ``frame,id,x,y,w,h,...`` lines."""
    path = Path(path)
    if path.is_file() and not path.read_text().strip():
        return {}  # no rows (e.g. a camera where nobody got a global id)
    try:
        data = np.loadtxt(path, delimiter=",", ndmin=2, usecols=(0, 1, 2, 3, 4, 5))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a MOTChallenge file ({exc})") from None
    out: Rows = {}
    for f in np.unique(data[:, 0]).astype(int) if len(data) else []:
        out[int(f)] = data[data[:, 0] == f, 1:6]
    return out


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, m) IoU of xywh boxes."""
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2) - np.maximum(a[:, None, 0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2) - np.maximum(a[:, None, 1], b[:, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


@dataclass
class IdScores:
    idf1: float
    idp: float
    idr: float
    idtp: int
    idfp: int
    idfn: int


def _agreements(gt: dict[str, Rows], pred: dict[str, Rows], threshold: float) -> tuple[Counter, int, int,
                                                                                       dict[tuple[str, int], Counter]]:
    pairs: Counter = Counter()
    per_tracklet: dict[tuple[str, int], Counter] = defaultdict(Counter)
    n_gt = sum(len(r) for cam in gt.values() for r in cam.values())
    n_pred = sum(len(r) for cam in pred.values() for r in cam.values())
    for cam in gt:
        for frame, g in gt[cam].items():
            p = pred.get(cam, {}).get(frame)
            if p is None or not len(p):
                continue
            ok = iou(g[:, 1:5], p[:, 1:5]) >= threshold
            for i, j in zip(*np.nonzero(ok), strict=True):
                gid, pid = int(g[i, 0]), int(p[j, 0])
                pairs[(gid, pid)] += 1
                per_tracklet[(cam, pid)][gid] += 1
    return pairs, n_gt, n_pred, per_tracklet


def _scores(pairs: Counter, n_gt: int, n_pred: int) -> IdScores:
    if pairs:
        gids = sorted({g for g, _ in pairs})
        pids = sorted({p for _, p in pairs})
        w = np.zeros((len(gids), len(pids)))
        gi, pi = {g: i for i, g in enumerate(gids)}, {p: i for i, p in enumerate(pids)}
        for (g, p), c in pairs.items():
            w[gi[g], pi[p]] = c
        r, c = linear_sum_assignment(-w)
        idtp = int(w[r, c].sum())
    else:
        idtp = 0
    idfp, idfn = n_pred - idtp, n_gt - idtp
    denom = 2 * idtp + idfp + idfn
    return IdScores(2 * idtp / denom if denom else 1.0, idtp / n_pred if n_pred else 0.0,
                    idtp / n_gt if n_gt else 0.0, idtp, idfp, idfn)


def link_scores(per_tracklet: dict[tuple[str, int], Counter]) -> tuple[float, float]:
    """Precision and recall of cross-camera links between predicted tracklets (1.0 when there are none)."""
    gt_of = {k: c.most_common(1)[0][0] for k, c in per_tracklet.items() if c}
    keys = sorted(gt_of)
    pred_links, true_links = set(), set()
    for a, b in combinations(keys, 2):
        if a[0] == b[0]:
            continue
        if a[1] == b[1]:
            pred_links.add((a, b))
        if gt_of[a] == gt_of[b]:
            true_links.add((a, b))
    hit = len(pred_links & true_links)
    return (hit / len(pred_links) if pred_links else 1.0, hit / len(true_links) if true_links else 1.0)


@dataclass
class MtmcReport:
    overall: IdScores
    per_camera: dict[str, IdScores]
    link_precision: float
    link_recall: float


def evaluate(gt: dict[str, Rows], pred: dict[str, Rows], iou_threshold: float = 0.5) -> MtmcReport:
    """Metrics of predicted global ids against GT ids, cameras keyed by name in both dicts."""
    missing = sorted(set(pred) - set(gt))
    if missing:
        raise ValueError(f"predictions for cameras {missing} have no ground truth")
    pairs, n_gt, n_pred, per_tracklet = _agreements(gt, pred, iou_threshold)
    per_camera = {}
    for cam in sorted(gt):
        p, ng, npred, _ = _agreements({cam: gt[cam]}, {cam: pred.get(cam, {})}, iou_threshold)
        per_camera[cam] = _scores(p, ng, npred)
    precision, recall = link_scores(per_tracklet)
    return MtmcReport(_scores(pairs, n_gt, n_pred), per_camera, precision, recall)


def evaluate_files(gt: dict[str, Path], pred: dict[str, Path], iou_threshold: float = 0.5) -> MtmcReport:
    """:func:`evaluate` on ``camera -> MOT file`` mappings (a missing prediction file counts as empty)."""
    return evaluate({c: read_mot(p) for c, p in gt.items()},
                    {c: read_mot(p) for c, p in pred.items() if Path(p).exists()}, iou_threshold)
