"""Per camera: the detector's recall and false boxes against ground truth, at a few confidences.

    .venv/bin/python bench/detector_recall.py SITE [SITE ...] [--detector deploy/models/person_detector.onnx]
        [--prefilter 0.7 [--prefilter-min-noise 5]] [--conf 0.433]

A SITE is a `streid synth --only scenes` folder (or a demo's world/scenes). Every frame of every camera goes through
the detector as the pipeline runs it (its zoom pass, and ``--prefilter*`` as ``pipeline.detector.prefilter*``; boxes
kept down to 0.05); each frame's boxes are matched one-to-one to its scored ground-truth boxes at IoU >= 0.5
(Hungarian, ``pipeline.motgt.iou``).
Prints, per camera, the share of ground-truth boxes matched by a box scoring at least each threshold (0.2, 0.3 and
``--conf``, the detector's operating confidence by default) and the unmatched boxes at those thresholds.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def camera_scores(detector: object, video: Path, gt: Path) -> tuple[int, np.ndarray, np.ndarray]:
    """(ground-truth boxes, scores of matched boxes, scores of unmatched boxes) over one camera's video."""
    from scipy.optimize import linear_sum_assignment
    from tracker_tune import video_frames  # bench/ is on sys.path when this file runs

    from streid.pipeline.motgt import iou, read_gt
    from streid.records import Frame

    truth = read_gt(gt, "auto").scored  # MOT frame (from 1) -> (n, 5) id, x, y, w, h
    total, matched, unmatched = 0, [], []
    for index, image in enumerate(video_frames(video)):
        boxes = truth.get(index + 1, np.zeros((0, 5)))[:, 1:5]
        d = detector.detect([Frame(str(video), index / 10.0, index, image)])[0]  # one noise gate per video
        total += len(boxes)
        hit = np.zeros(len(d), bool)
        if len(d) and len(boxes):
            m = iou(np.c_[d.xyxy[:, :2], d.xyxy[:, 2:] - d.xyxy[:, :2]], boxes)
            rows, cols = linear_sum_assignment(-m)
            hit[rows[m[rows, cols] >= 0.5]] = True
        matched += d.confidence[hit].tolist()
        unmatched += d.confidence[~hit].tolist()
    return total, np.array(matched), np.array(unmatched)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sites", type=Path, nargs="+")
    ap.add_argument("--detector", type=Path, default=Path("deploy/models/person_detector.onnx"))
    ap.add_argument("--prefilter", type=float, default=None, help="pipeline.detector.prefilter (default: the model's)")
    ap.add_argument("--conf", type=float, default=None, help="operating confidence (default: the model's)")
    ap.add_argument("--prefilter-min-noise", type=float, default=None,
                    help="pipeline.detector.prefilter_min_noise (default: the model's with its sigma, else 0)")
    args = ap.parse_args()
    from streid.pipeline.detector import YoloDetector

    det = YoloDetector(args.detector, conf=0.05, iou=0.5, prefilter=args.prefilter,
                       prefilter_min_noise=args.prefilter_min_noise)
    conf = args.conf if args.conf is not None else float((det.calibration or {}).get("conf", 0.25))
    thresholds = (0.2, 0.3, conf)
    print(f"{args.detector.name}: prefilter {det.prefilter.describe() if det.prefilter else 'off'}, "
          f"thresholds {thresholds}")
    for site in args.sites:
        cameras = [c["name"] for c in json.loads((site / "site.json").read_text())["cameras"]]
        for cam in cameras:
            total, tp, fp = camera_scores(det, site / f"{cam}.mp4", site / "gt" / f"{cam}.txt")
            recall = " / ".join(f"{(tp >= t).sum() / max(total, 1):.3f}" for t in thresholds)
            false = " / ".join(str(int((fp >= t).sum())) for t in thresholds)
            print(f"{site} {cam}: {total} gt boxes, recall {recall}, false boxes {false}")


if __name__ == "__main__":
    main()
