"""Multi-camera identity metrics (Ristani et al. 2016) on MOTChallenge-style files, one per camera.

- Ground truth is read by its MOTChallenge dialect (:mod:`streid.pipeline.motgt`: MOT15 has no class column;
  MOT16/17/20 score pedestrians with conf != 0 and drop predictions on distractors), as TrackEval does.
- IDF1/IDP/IDR over all cameras together: a GT trajectory and a predicted trajectory (global ids) agree on a
  detection when both have a box in the same (camera, frame) with IoU >= 0.5; one global bipartite matching
  (Hungarian) between GT ids and predicted ids maximises the agreeing detections (IDTP).
  IDF1 = 2 IDTP / (2 IDTP + IDFP + IDFN), IDFP = predicted boxes - IDTP, IDFN = GT boxes - IDTP.
- The same per camera (matching done within that camera only).
- Cross-camera links: a camera-identity is (camera, id) for a GT id or a predicted global id seen in that camera.
  True links join the GT's camera-identities of one person in different cameras; predicted links join those of
  one predicted id. A predicted camera-identity stands for the GT camera-identity it agrees with most, so a
  predicted link is right when both ends stand for one person. Precision = right predicted links / predicted
  links; recall = true links found / true links (a person the detector misses in a camera lowers it). Over an
  empty set each is undefined: None, never 1.0.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from streid.pipeline.motgt import GroundTruth, Rows, drop_distractor_matches, iou, load_rows, read_gt, split_rows

__all__ = ["IdScores", "MtmcReport", "association_bound", "evaluate", "evaluate_files", "iou", "link_scores",
           "read_mot"]


def read_mot(path: str | Path) -> Rows:
    """Frame -> rows of (id, x, y, w, h) from ``frame,id,x,y,w,h,...`` lines (predictions: every row)."""
    return split_rows(load_rows(path))


@dataclass
class IdScores:
    idf1: float
    idp: float
    idr: float
    idtp: int
    idfp: int
    idfn: int


_SPAN = 1 << 32  # camera k's local track t becomes (k + 1) * _SPAN + t: unique over cameras


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


def _camera_ids(rows: dict[str, Rows]) -> dict[str, set[int]]:
    return {cam: {int(i) for r in frames.values() for i in r[:, 0]} for cam, frames in rows.items()}


def _links(units: dict[str, set[int]]) -> set[tuple[tuple[str, int], tuple[str, int]]]:
    """Pairs of (camera, id) in different cameras sharing the id."""
    keys = sorted((cam, i) for cam, ids in units.items() for i in ids)
    return {(a, b) for a, b in combinations(keys, 2) if a[0] != b[0] and a[1] == b[1]}


def link_scores(per_tracklet: dict[tuple[str, int], Counter], gt_ids: dict[str, set[int]],
                pred_ids: dict[str, set[int]]) -> tuple[float | None, float | None, float | None]:
    """Link precision over the predicted links, recall over the GT's links, and recall over the GT links whose two
    ends each have an output track following that person (None over an empty set).

    The third leaves out the links lost before matching (the person never detected, tracked or given an id in one
    camera): it is the share the cross-camera association itself found.
    """
    gt_of = {k: c.most_common(1)[0][0] for k, c in per_tracklet.items() if c}
    predicted = _links(pred_ids)
    truth = _links(gt_ids)
    found = set()
    right = 0
    for a, b in predicted:
        ga, gb = gt_of.get(a), gt_of.get(b)
        if ga is not None and ga == gb:
            right += 1
            found.add(((a[0], ga), (b[0], gb)))
    covered = {(cam, g) for (cam, _), g in gt_of.items()}
    reachable = {(a, b) for a, b in truth if a in covered and b in covered}
    precision = right / len(predicted) if predicted else None
    recall = len(found & truth) / len(truth) if truth else None
    tracked = len(found & reachable) / len(reachable) if reachable else None
    return precision, recall, tracked


@dataclass
class MtmcReport:
    overall: IdScores
    per_camera: dict[str, IdScores]
    link_precision: float | None  # None: no predicted cross-camera link
    link_recall: float | None  # None: the ground truth has no cross-camera link
    link_recall_tracked: float | None = None  # over the true links with both ends tracked (see link_scores)
    dialects: dict[str, str] = field(default_factory=dict)  # camera -> how its ground truth was read


def evaluate(gt: dict[str, Rows], pred: dict[str, Rows], iou_threshold: float = 0.5) -> MtmcReport:
    """Metrics of predicted global ids against GT ids (scored rows only), cameras keyed by name in both dicts."""
    missing = sorted(set(pred) - set(gt))
    if missing:
        raise ValueError(f"predictions for cameras {missing} have no ground truth")
    pairs, n_gt, n_pred, per_tracklet = _agreements(gt, pred, iou_threshold)
    per_camera = {}
    for cam in sorted(gt):
        p, ng, npred, _ = _agreements({cam: gt[cam]}, {cam: pred.get(cam, {})}, iou_threshold)
        per_camera[cam] = _scores(p, ng, npred)
    precision, recall, tracked = link_scores(per_tracklet, _camera_ids(gt), _camera_ids(pred))
    return MtmcReport(_scores(pairs, n_gt, n_pred), per_camera, precision, recall, tracked)


def read_truths(gt: dict[str, Path | GroundTruth], dialect: str = "auto") -> dict[str, GroundTruth]:
    """Ground truth per camera, read in ``dialect``; already read ones pass through (a job reads each file once)."""
    return {c: p if isinstance(p, GroundTruth) else read_gt(p, dialect) for c, p in gt.items()}


def evaluate_files(gt: dict[str, Path | GroundTruth], pred: dict[str, Path], iou_threshold: float = 0.5,
                   dialect: str = "auto") -> MtmcReport:
    """:func:`evaluate` on ``camera -> MOT file`` mappings (a missing prediction file counts as empty); ground truth
    is read in ``dialect`` and predictions on its distractors are dropped first."""
    truths = read_truths(gt, dialect)
    preds = {c: drop_distractor_matches(read_mot(p), truths[c], iou_threshold) if c in truths else read_mot(p)
             for c, p in pred.items() if Path(p).exists()}
    report = evaluate({c: t.scored for c, t in truths.items()}, preds, iou_threshold)
    report.dialects = {c: t.describe() for c, t in truths.items()}
    return report


def association_bound(gt: dict[str, Path | GroundTruth], local: dict[str, Path],
                      keep: set[tuple[str, int]] | None = None, iou_threshold: float = 0.5,
                      dialect: str = "auto") -> IdScores:
    """Multi-camera IDF1 if every local track (camera, track id) got the ground-truth id it agrees with most.

    The best the cross-camera association could do with these tracks: the gap to the job's IDF1 is what the
    re-id and clustering lose, the gap to 1 what the detector and tracker lose (a track that covers two people
    keeps one of them, a missed box stays missed). Tracks that agree with no ground truth keep an id of their own.
    ``keep``: only these (camera, local track id) count, e.g. the tracks the identity stage gave an id.
    """
    truths = read_truths(gt, dialect)
    pred: dict[str, Rows] = {}
    for k, (c, path) in enumerate(sorted(local.items())):
        rows = read_mot(path) if Path(path).exists() else {}
        if keep is not None:
            rows = {f: r[[(c, int(t)) in keep for t in r[:, 0]]] for f, r in rows.items()}
        rows = drop_distractor_matches({f: r for f, r in rows.items() if len(r)}, truths[c], iou_threshold)
        pred[c] = {f: np.column_stack([r[:, 0] + (k + 1) * _SPAN, r[:, 1:]]) for f, r in rows.items()}
    scored = {c: t.scored for c, t in truths.items()}
    _, _, _, per_track = _agreements(scored, pred, iou_threshold)
    majority = {key[1]: c.most_common(1)[0][0] for key, c in per_track.items() if c}
    fresh = -1
    for frames in pred.values():
        for f, r in frames.items():
            ids = []
            for x in r[:, 0].astype(np.int64):
                if int(x) not in majority:
                    majority[int(x)], fresh = fresh, fresh - 1  # negative ids never meet a ground-truth id
                ids.append(majority[int(x)])
            frames[f] = np.column_stack([ids, r[:, 1:]])
    return evaluate(scored, pred, iou_threshold).overall
