"""The detector's zoom pass on validation sites: each input size runs once per video, then every split is tracked.

    .venv/bin/python bench/zoom_tune.py SITE [SITE ...] [--detector deploy/models/person_detector.onnx]
        [--sizes 448,576] [--below 0.3,0.35,0.4] [--overlap 0.6,0.8,1.0] [--out runs/bench/zoom_tune]

A SITE is a `streid synth --only scenes` folder (or a demo's world/scenes). The first pass runs at the model's
own size, the zoom pass at each of --sizes; boxes are cached per size in OUT/dets/SIZE. Each (size, below,
overlap) merges the two passes as the pipeline does (`streid.pipeline.detector.merge_passes`), tracks every
camera with the config's tracker and scores tracker HOTA. The single passes are listed too. Sites chosen here
must be ones no judged figure uses: the values chosen are a threshold choice.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from tracker_tune import REPO, cached_detections, site_key, track_and_score


def floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sites", type=Path, nargs="+")
    ap.add_argument("--detector", type=Path, default=REPO / "deploy/models/person_detector.onnx")
    ap.add_argument("--config", type=Path, default=REPO / "configs/reid/synth.yaml")
    ap.add_argument("--sizes", default="448,576")
    ap.add_argument("--below", default="0.3,0.35,0.4")
    ap.add_argument("--overlap", default="0.6,0.8,1.0")
    ap.add_argument("--out", type=Path, default=REPO / "runs/bench/zoom_tune")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from streid.config import load_config
    from streid.pipeline.activation import detector_calibration
    from streid.pipeline.detector import YoloDetector, Zoom, merge_passes
    from streid.records import Detections

    cfg = load_config(args.config).pipeline
    first = YoloDetector(args.detector, conf=cfg.detector.conf, iou=cfg.detector.iou, zoom_imgsz=0)
    sizes = [first.imgsz, *(int(s) for s in args.sizes.split(",") if s)]
    calib = detector_calibration(args.detector) or {}
    settings: dict[str, Any] = {"name": cfg.tracker.name, "lost_track_buffer": cfg.tracker.lost_track_buffer,
                                "frame_rate": cfg.tracker.frame_rate,
                                **{k: calib[k] for k in ("track_activation_threshold", "high_conf_det_threshold")
                                   if k in calib}, **cfg.tracker.params}
    cams: list[tuple[Path, str, int, dict[int, list]]] = []
    import cv2

    for site in args.sites:
        for cam in (c["name"] for c in json.loads((site / "site.json").read_text())["cameras"]):
            height = int(cv2.VideoCapture(str(site / f"{cam}.mp4")).get(cv2.CAP_PROP_FRAME_HEIGHT))
            rows = {}
            for size in sizes:
                det = first if size == first.imgsz else YoloDetector(
                    args.detector, imgsz=size, conf=cfg.detector.conf, iou=cfg.detector.iou, zoom_imgsz=0)
                rows[size] = cached_detections(site, cam, det, args.out / "dets" / str(size))
            cams.append((site, cam, height, rows))
    print(f"{len(cams)} cameras, sizes {sizes} (cached in {args.out / 'dets'})")

    def score(name: str, frames_of: Any) -> dict[str, Any]:
        hota = {}
        for site, cam, height, rows in cams:
            work = args.out / "work" / f"{site_key(site)}_{cam}"
            hota[f"{site}/{cam}"] = track_and_score(frames_of(height, rows), site / "gt" / f"{cam}.txt",
                                                    dict(settings), work)["HOTA"]
        v = np.array(list(hota.values()))
        return {"name": name, "mean_hota": float(v.mean()), "min_hota": float(v.min()), "cameras": hota}

    def as_dets(xyxy: np.ndarray, conf: np.ndarray) -> Detections:
        return Detections(xyxy, conf, np.zeros(len(conf), np.int64))

    results = [score(f"one pass at {s}", lambda _h, rows, s=s: rows[s]) for s in sizes]
    for size, below, overlap in itertools.product(sizes[1:], floats(args.below), floats(args.overlap)):
        zoom = Zoom(size, below, overlap)

        def merged(height: int, rows: dict[int, list], zoom: Zoom = zoom) -> list[tuple[np.ndarray, np.ndarray]]:
            out = []
            for a, b in zip(rows[sizes[0]], rows[zoom.imgsz], strict=True):
                d = merge_passes(as_dets(*a), as_dets(*b), height, zoom, cfg.detector.iou)
                out.append((d.xyxy, d.confidence))
            return out

        results.append(score(f"zoom {size} below {below} overlap {overlap}", merged))
    results.sort(key=lambda r: -r["mean_hota"])
    for r in results:
        print(f"HOTA mean {100 * r['mean_hota']:5.1f} min {100 * r['min_hota']:5.1f}  {r['name']}")
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {args.out / 'results.json'}")


if __name__ == "__main__":
    main()
