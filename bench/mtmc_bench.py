"""Multi-camera re-id on a synthetic `target` site: `streid reid` with ground-truth boxes and with the detector.

    .venv/bin/python bench/mtmc_bench.py --embedder MODEL.onnx [--cameras 4] [--duration 60] [--out runs/bench/mtmc]
        [--scenes DIR] [--detector PATH] [--device cpu|0] [--no-site] [--config configs/reid/synth.yaml]

Renders `configs/synth/target.yaml` with scenes.cameras=CAMERAS and scenes.duration_s=DURATION into OUT/world
(kept: a re-run reuses it; about 1.2 s of rendering per camera-second on 2 busy CPU cores), unless --scenes names a
`streid synth --only scenes` folder. Then runs the offline job (every frame, online ids then offline clustering)
  1. with the ground-truth boxes (re-id judged apart from detection),
  2. with the person detector (--detector, else deploy/models/person_detector.onnx when it exists),
and prints multi-camera IDF1/IDP/IDR (offline and online ids; Ristani et al.), cross-camera link precision/recall,
per-camera IDF1 and the local tracker's HOTA/IDF1/MOTA (trackers.eval), and the job's frames/s. The site rules come
from the world's site.json (minimum transit = half the walk between neighbouring cameras) unless --no-site.
OUT/summary.json keeps the numbers; each job folder has report.html and eval.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]



def _pct(value: float | None) -> str:
    return "  n/a" if value is None else f"{100 * value:5.1f}"

def render(out: Path, cameras: int, duration: float, seed: int) -> Path:
    from streid.config import load_config
    from streid.train.synth.build import synthesize

    cfg = load_config(REPO / "configs/synth/target.yaml",
                      [f"synth.scenes.cameras={cameras}", f"synth.scenes.duration_s={duration}"])
    t0 = time.perf_counter()
    summary = synthesize(cfg.synth, seed, out, ["scenes"], workers=cfg.run.workers)
    if summary["scenes"].get("status") == "written":
        print(f"rendered {cameras} cameras x {duration:.0f} s in {time.perf_counter() - t0:.0f} s -> {out / 'scenes'}")
    return out / "scenes"


def run_job(scenes: Path, out: Path, args: argparse.Namespace, detector: Path | None) -> dict[str, Any]:
    """One `streid reid` job (resumes into ``out`` when it is there); the evaluation plus timing."""
    from streid.pipeline.identity.cli import build_job
    from streid.pipeline.identity.job import run_reid_job

    site = json.loads((scenes / "site.json").read_text())
    cams = [c["name"] for c in site["cameras"]]
    overrides = [f"pipeline.detector.device={args.device}"]
    job = build_job({c: scenes / f"{c}.mp4" for c in cams}, out, args.config, None if args.no_site else
                    scenes / "site.json", overrides, args.embedder, detector,
                    None if detector else scenes / "gt", scenes / "gt")
    t0 = time.perf_counter()
    result = run_reid_job(job, progress=False)
    if result.interrupted:
        raise SystemExit(f"interrupted: run again to resume into {out}")
    assert result.evaluation is not None
    frames = sum(json.loads((out / "work" / c / "done.json").read_text())["frames"] for c in cams)
    seconds = sum(json.loads((out / "work" / c / "done.json").read_text())["seconds"] for c in cams)
    gt_ids = {int(line.split(",")[1]) for c in cams for line in (scenes / "gt" / f"{c}.txt").read_text().splitlines()}
    return {**result.evaluation, "frames": frames, "pipeline_fps": round(frames / max(seconds, 1e-9), 1),
            "job_wall_s": round(time.perf_counter() - t0, 1), "identities": len(set(result.final.values())),
            "gt_identities": len(gt_ids), "tracklets": len(result.final), "report": str(result.report)}


def show(name: str, r: dict[str, Any]) -> None:
    print(f"== {name}: {r['frames']} frames, pipeline {r['pipeline_fps']} frames/s (job wall {r['job_wall_s']} s,"
          f" less when resumed), {r['tracklets']} tracklets -> {r['identities']} identities (ground truth "
          f"{r['gt_identities']})")
    for ids in ("offline", "online"):
        s = r[ids]
        print(f"  {ids:7s} multi-camera IDF1 {100 * s['idf1']:5.1f}  IDP {100 * s['idp']:5.1f}  IDR "
              f"{100 * s['idr']:5.1f}  links P {_pct(s['link_precision'])} R {_pct(s['link_recall'])}")
    for cam, s in r["per_camera"].items():
        tr = s.get("tracker", {})
        tracker = (f"  tracker HOTA {100 * tr['HOTA']:5.1f} IDF1 {100 * tr['IDF1']:5.1f} MOTA {100 * tr['MOTA']:5.1f}"
                   if tr else "")
        print(f"  {cam}: IDF1 {100 * s['idf1']:5.1f} (online {100 * s['idf1_online']:5.1f}){tracker}")
    print(f"  report: {r['report']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--embedder", type=Path, required=True, help="re-id artifact (.onnx/.engine/.pt)")
    ap.add_argument("--cameras", type=int, default=4)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of scene per camera")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scenes", type=Path, help="a `streid synth --only scenes` folder instead of rendering")
    ap.add_argument("--out", type=Path, default=REPO / "runs/bench/mtmc")
    ap.add_argument("--config", type=Path, default=REPO / "configs/reid/synth.yaml")
    ap.add_argument("--detector", type=Path, help="person detector (default: deploy/models/person_detector.onnx)")
    ap.add_argument("--device", default="cpu", help="ultralytics device for the detector: cpu, 0")
    ap.add_argument("--no-site", action="store_true", help="no transit windows from site.json (default rules only)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    scenes = args.scenes or render(args.out / "world", args.cameras, args.duration, args.seed)
    results = {"gt_boxes": run_job(scenes, args.out / "gt_boxes", args, None)}
    detector = args.detector
    if detector is None:
        from streid.defaults import default_detector

        try:
            detector = default_detector()
        except FileNotFoundError as exc:
            print(f"(no detector run: {exc})")
    if detector is not None:
        results["detector"] = run_job(scenes, args.out / "detector", args, detector)
    for name, r in results.items():
        show(name, r)
    (args.out / "summary.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"summary: {args.out / 'summary.json'}")


if __name__ == "__main__":
    main()
