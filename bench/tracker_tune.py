"""Tracker settings on validation sites: the detector runs once per video, then every setting tracks the cached boxes.

    .venv/bin/python bench/tracker_tune.py SITE [SITE ...] [--detector deploy/models/person_detector.onnx]
        [--config configs/reid/synth.yaml] [--grid lost_track_buffer=30,60 minimum_iou_threshold=0.1,0.3 ...]
        [--trackers bytetrack,ocsort] [--out runs/bench/tracker_tune]

``min_track_score`` (the floor on a track's mean score, pipeline.tracker.min_track_score) is a --grid key too, and so
are ``appearance`` (true: the appearance guard, pipeline/appearance.py) and its settings as ``appearance_margin``,
``appearance_recent``.

A SITE is a `streid synth --only scenes` folder (or a demo's world/scenes): CAM.mp4 videos and gt/CAM.txt. The
detector runs as the pipeline runs it (the config's conf / iou / prefilter*, the model's imgsz and zoom pass) and its
boxes are cached in OUT/dets (a re-run with the same model and settings reuses them). Every combination of --grid
values (plus the config's own tracker settings, the baseline) tracks every camera; HOTA / IDF1 / MOTA come from
`trackers.eval`, as in `streid reid`'s evaluation. The table is sorted by mean HOTA, with the worst camera beside
it. Use sites that no judged figure uses: a setting chosen here is a threshold choice.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def site_key(site: Path) -> str:
    """A file-name-safe key per site folder (demo worlds are all called ``scenes``)."""
    import hashlib

    return f"{site.name}-{hashlib.sha1(str(site.resolve()).encode()).hexdigest()[:8]}"


def detector_key(detector: Any) -> str:
    """What the cached boxes depend on: the model file and every detector setting that changes its boxes."""
    zoom = detector.zoom
    return (f"{Path(detector.weights).resolve()}|imgsz {detector.imgsz}|conf {detector.conf}|iou {detector.iou}|"
            f"zoom {zoom.imgsz if zoom else 0} {zoom.below if zoom else 0} {zoom.overlap if zoom else 0}|"
            f"prefilter {prefilter_key(detector.prefilter)}")


def prefilter_key(p: Any) -> str:
    """The prefilter part of :func:`detector_key` (as older caches wrote it when no noise gate is set)."""
    if p is None:
        return "0.0"
    return f"{p.sigma}" + (f" min_noise {p.min_noise}" if p.min_noise else "")


def cached_detections(site: Path, camera: str, detector: Any, out: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """(xyxy, conf) per frame of SITE/CAMERA.mp4, detected once and kept in OUT (again when the detector's model
    or settings differ from the cached run's)."""
    path = out / f"{site_key(site)}_{camera}.npz"
    key = detector_key(detector)
    if path.is_file():
        z = np.load(path)
        if "detector" in z.files and str(z["detector"]) == key:
            return [(z["xyxy"][z["frame"] == i], z["conf"][z["frame"] == i]) for i in range(int(z["frames"]))]
    from streid.records import Frame

    rows: list[tuple[np.ndarray, np.ndarray]] = []
    for image in video_frames(site / f"{camera}.mp4"):
        # the camera named by its site too: the prefilter's noise gate keeps one state per camera name
        d = detector.detect([Frame(f"{site_key(site)}/{camera}", len(rows) / 10.0, len(rows), image)])[0]
        rows.append((d.xyxy, d.confidence))
    out.mkdir(parents=True, exist_ok=True)
    frame = np.concatenate([np.full(len(c), i) for i, (_, c) in enumerate(rows)]) if rows else np.zeros(0)
    np.savez(path, detector=key, frames=len(rows), frame=frame,
             xyxy=np.concatenate([x for x, _ in rows]).reshape(-1, 4), conf=np.concatenate([c for _, c in rows]))
    return rows


def track_and_score(rows: list[tuple[np.ndarray, np.ndarray]], gt: Path, settings: dict[str, Any],
                    work: Path, video: Path | None = None) -> dict[str, float]:
    """One tracker over cached boxes -> HOTA / IDF1 / MOTA against the camera's ground truth (as `streid reid`)."""
    from streid.pipeline.identity.job import tracker_scores
    from streid.pipeline.motfile import MotWriter
    from streid.pipeline.tracker import CameraTrackers
    from streid.records import Detections

    s = dict(settings)
    guard = {k.removeprefix("appearance_"): s.pop(k) for k in list(s) if k.startswith("appearance_")}
    on = bool(s.pop("appearance", False))
    trackers = CameraTrackers(s.pop("name"), s.pop("frame_rate"), s.pop("lost_track_buffer"), s,
                              float(s.pop("min_track_score", 0.0)), guard if on else None)
    writer = MotWriter(work / "tracks.txt")
    images = video_frames(video) if on else iter(())
    for i, (xyxy, conf) in enumerate(rows):
        dets = Detections(xyxy.astype(np.float32), conf.astype(np.float32), np.zeros(len(conf), np.int64))
        writer.write(i, trackers.update("cam", dets, image=next(images, None)))
    return tracker_scores(gt, "auto", writer.close(), work / "gt.txt")


def video_frames(path: Path) -> Iterator[np.ndarray]:
    """BGR frames of a video, in order (the appearance guard needs the pixels)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        while True:
            ok, image = cap.read()
            if not ok:
                return
            yield image
    finally:
        cap.release()


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, _, values = item.partition("=")
        if not values:
            raise SystemExit(f"--grid {item!r}: expected KEY=V1,V2,...")
        grid[key] = [json.loads(v) if v[:1] in "0123456789-.tfn" else v for v in values.split(",")]
    return grid


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sites", type=Path, nargs="+")
    ap.add_argument("--detector", type=Path, default=REPO / "deploy/models/person_detector.onnx")
    ap.add_argument("--config", type=Path, default=REPO / "configs/reid/synth.yaml")
    ap.add_argument("--grid", nargs="*", default=[])
    ap.add_argument("--trackers", default="", help="tracker names to try besides the config's")
    ap.add_argument("--out", type=Path, default=REPO / "runs/bench/tracker_tune")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from streid.config import load_config
    from streid.pipeline.activation import detector_calibration, track_score_floor
    from streid.pipeline.detector import YoloDetector

    cfg = load_config(args.config).pipeline
    det = YoloDetector(args.detector, conf=cfg.detector.conf, iou=cfg.detector.iou, device="cpu",
                       prefilter=cfg.detector.prefilter, prefilter_min_noise=cfg.detector.prefilter_min_noise)
    det.warmup()
    calib = detector_calibration(args.detector) or {}
    floor, _ = track_score_floor(cfg.tracker.min_track_score, calib or None)
    base: dict[str, Any] = {"name": cfg.tracker.name, "lost_track_buffer": cfg.tracker.lost_track_buffer,
                            "min_track_score": floor,
                            **{k: calib[k] for k in ("track_activation_threshold", "high_conf_det_threshold")
                               if k in calib}, **cfg.tracker.params}
    cams: list[tuple[Path, str, list]] = []
    t0 = time.perf_counter()
    for site in args.sites:
        meta = json.loads((site / "site.json").read_text())
        for c in (cam["name"] for cam in meta["cameras"]):
            cams.append((site, c, cached_detections(site, c, det, args.out / "dets")))
    print(f"detections for {len(cams)} cameras in {time.perf_counter() - t0:.0f} s (cached in {args.out / 'dets'})")
    grid = parse_grid(args.grid)
    names = [base["name"], *[n for n in args.trackers.split(",") if n and n != base["name"]]]
    results = []
    for name in names:
        for combo in itertools.product(*grid.values()) if grid else [()]:
            settings = {**base, "name": name, **dict(zip(grid, combo, strict=True))}
            if name == "ocsort":  # OC-SORT starts tracks from any detection it keeps: no activation key
                settings.pop("track_activation_threshold", None)
            scores = {}
            for site, c, rows in cams:
                work = args.out / "work" / f"{site_key(site)}_{c}"
                try:
                    scores[f"{site}/{c}"] = track_and_score(
                        rows, site / "gt" / f"{c}.txt", {**settings, "frame_rate": cfg.tracker.frame_rate}, work,
                        site / f"{c}.mp4")
                except ValueError as exc:
                    print(f"skip {settings}: {exc}")
                    break
            if len(scores) < len(cams):
                continue
            hota = [s["HOTA"] for s in scores.values()]
            results.append({"settings": settings, "mean_hota": float(np.mean(hota)), "min_hota": float(min(hota)),
                            "mean_idf1": float(np.mean([s["IDF1"] for s in scores.values()])), "cameras": scores})
    results.sort(key=lambda r: -r["mean_hota"])
    for r in results:
        shown = {k: v for k, v in r["settings"].items() if k not in ("frame_rate",)}
        print(f"HOTA mean {100 * r['mean_hota']:5.1f} min {100 * r['min_hota']:5.1f}  IDF1 mean "
              f"{100 * r['mean_idf1']:5.1f}  {shown}")
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {args.out / 'results.json'}")


if __name__ == "__main__":
    main()
