"""MOTChallenge ground truth in its dialects: which rows are scored, which are distractors.

Rows are ``frame,id,x,y,w,h,conf,...`` (frame 1-based). The benchmarks differ in what follows ``conf``, and the
reference tools (TrackEval, py-motmetrics) score each by its own rules:

- **MOT15**: ``conf,x,y,z`` (world coordinates, -1 in 2D files): no class; every row with ``conf != 0`` is scored.
- **MOT16 / MOT17**: ``conf,class,visibility``: only pedestrians (class 1) with ``conf != 0`` are scored;
  predicted boxes that match a distractor (2 person on vehicle, 7 static person, 8 distractor, 12 reflection) are
  removed before scoring, neither true nor false positives.
- **MOT20**: as MOT17, and a non-MOT vehicle (class 6) is a distractor too.

``auto`` reads a file whose 8th column is missing or not a class (-1, a world coordinate) as MOT15, anything else
as MOT16/17 (MOT20 cannot be told from the rows: ask for it). The dialect used is always reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

DIALECTS = ("auto", "MOT15", "MOT16", "MOT17", "MOT20")
PEDESTRIAN = 1
DISTRACTOR = 8  # class written for every distractor row of a normalised file (what MOT17 tools drop)
_DISTRACTORS = {"MOT16": (2, 7, 8, 12), "MOT17": (2, 7, 8, 12), "MOT20": (2, 6, 7, 8, 12)}
_CLASSES = set(range(1, 14))  # MOT16/17/20 classes

Rows = dict[int, np.ndarray]  # frame -> (n, 5) id, x, y, w, h


@dataclass
class GroundTruth:
    """One camera's ground truth as a reference tool scores it."""

    path: Path
    dialect: str  # MOT15 | MOT16 | MOT17 | MOT20, the one assumed
    reason: str  # why that one (``auto``) or "asked for"
    scored: Rows  # rows that count (pedestrians, conf != 0)
    regions: Rows  # every row of a frame, for matching predictions against distractors
    distractor: dict[int, np.ndarray]  # frame -> (n,) bool over ``regions``: a distractor row

    def describe(self) -> str:
        return f"{self.path.name}: {self.dialect} ground truth ({self.reason})"


def load_rows(path: str | Path) -> np.ndarray:
    """(n, >= 6) float rows of a MOTChallenge file; an empty file gives no rows; a bad one names the path and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"MOT file not found: {path}")
    rows, width = [], None
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            values = [float(v) for v in line.replace(" ", "").rstrip(",").split(",")]
        except ValueError:
            raise ValueError(f"{path}:{lineno}: not a MOTChallenge row (frame,id,x,y,w,h,...): {line!r}") from None
        if len(values) < 6:
            raise ValueError(f"{path}:{lineno}: not a MOTChallenge row, expected at least 6 columns: {line!r}")
        width = len(values) if width is None else min(width, len(values))
        rows.append(values)
    if not rows:
        return np.zeros((0, 10))
    return np.asarray([r[:width] for r in rows], np.float64)


def detect_dialect(table: np.ndarray) -> tuple[str, str]:
    """(dialect, reason) of a ground-truth table by its 8th column."""
    if table.shape[1] < 8:
        return "MOT15", f"{table.shape[1]} columns, no class column"
    classes = table[:, 7]
    bad = ~np.isin(classes, list(_CLASSES))
    if len(classes) and bad.any():
        return "MOT15", f"column 8 holds {classes[bad][0]:g}, not a class: read as MOT15 (no class)"
    return "MOT17", "class column present (MOT16/17 rules; pass MOT20 for its distractors)"


def split_rows(table: np.ndarray) -> Rows:
    """Frame -> (id, x, y, w, h) rows."""
    out: Rows = {}
    for f in np.unique(table[:, 0]).astype(int) if len(table) else []:
        out[int(f)] = table[table[:, 0] == f, 1:6]
    return out


def read_gt(path: str | Path, dialect: str = "auto") -> GroundTruth:
    """A ground-truth file read by the rules of ``dialect`` (see the module docstring)."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown ground-truth dialect {dialect!r}; one of {', '.join(DIALECTS)}")
    table = load_rows(path)
    if dialect == "auto":
        dialect, reason = detect_dialect(table)
    else:
        reason = "asked for"
        if dialect != "MOT15" and (table.shape[1] < 8 or not np.isin(table[:, 7], list(_CLASSES)).all()):
            raise ValueError(f"{path}: {dialect} ground truth needs a class column (1-13) in column 8")
    conf_ok = table[:, 6] != 0 if table.shape[1] > 6 else np.ones(len(table), bool)
    if dialect == "MOT15":
        keep, distractor = conf_ok, np.zeros(len(table), bool)
    else:
        keep = conf_ok & (table[:, 7] == PEDESTRIAN)
        distractor = np.isin(table[:, 7], _DISTRACTORS[dialect])
    regions = split_rows(table)
    flags = {f: distractor[table[:, 0] == f] for f in regions}
    return GroundTruth(Path(path), dialect, reason, split_rows(table[keep]), regions, flags)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, m) IoU of xywh boxes."""
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2) - np.maximum(a[:, None, 0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2) - np.maximum(a[:, None, 1], b[:, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def drop_distractor_matches(pred: Rows, gt: GroundTruth, threshold: float = 0.5) -> Rows:
    """Predicted rows without those matched (IoU >= threshold, one-to-one over all GT rows) to a distractor.

    TrackEval's preprocessing: such boxes are neither true nor false positives.
    """
    out: Rows = {}
    for frame, p in pred.items():
        flags = gt.distractor.get(frame)
        if flags is None or not flags.any() or not len(p):
            out[frame] = p
            continue
        scores = iou(gt.regions[frame][:, 1:5], p[:, 1:5])
        scores[scores < threshold - 1e-10] = 0
        r, c = linear_sum_assignment(-scores)
        hit = (scores[r, c] > 1e-10) & flags[r]
        drop = np.zeros(len(p), bool)
        drop[c[hit]] = True
        out[frame] = p[~drop]
    return out


def write_normalised(gt: GroundTruth, dest: Path) -> Path:
    """``gt`` rewritten in MOT17 form (scored rows class 1, distractors class 8, the rest class 0 and conf 0), for
    tools that know MOT17 only (Roboflow ``trackers.eval``); their scores then follow ``gt.dialect``."""
    lines = []
    for frame in sorted(gt.regions):
        scored = {tuple(r) for r in gt.scored.get(frame, np.zeros((0, 5))).tolist()}
        for row, flag in zip(gt.regions[frame].tolist(), gt.distractor[frame].tolist(), strict=True):
            cls, conf = (PEDESTRIAN, 1) if tuple(row) in scored else (DISTRACTOR, 1) if flag else (0, 0)
            lines.append(f"{frame},{int(row[0])},{row[1]:g},{row[2]:g},{row[3]:g},{row[4]:g},{conf},{cls},1\n")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    part.write_text("".join(lines), encoding="utf-8")
    part.replace(dest)
    return dest
