"""Offline pipeline throughput: ours (decode, detect, track, tracklets) vs ultralytics' own ``model.track()``.

    .venv/bin/python bench/pipeline_bench.py [--frames 150] [--scenes DIR] [--weights W] [--imgsz 320]
        [--zoom-imgsz 0] [--prefilter 0] [--no-appearance]

Writes a 4-camera 640x360 scene (moving coloured boxes, MOT gt) unless ``--scenes`` names a folder laid
out like ``streid synth --only scenes`` output (``CAM.mp4`` + ``gt/CAM.txt``). Runs, on the same videos:
  1. our pipeline with the MOT-det detector (ground-truth boxes: tracking + tracklets, no detector cost),
  2. our pipeline with YOLO at --imgsz (weights: --weights, default an untrained net built from
     yolo11n.yaml and saved once, so both sides use the same file),
  3. ultralytics ``model.track(tracker=bytetrack.yaml)`` per camera, same weights and imgsz.
Prints aggregate frames/s, mean per-stage latency and HOTA/IDF1/MOTA per camera (our tracks vs gt);
``--live S`` adds a live run of S seconds (4 test cameras at 30 fps): frame age and RSS over time.
No re-id model runs unless --embedder names an exported artifact (streid.pipeline.embedder.load_embedder).
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import numpy as np

from streid.pipeline.config import PipelineSection
from streid.pipeline.metrics import format_summary
from streid.pipeline.runner import run_pipeline
from streid.pipeline.scene import render_scene


def make_scenes(root: Path, cameras: int, frames: int) -> Path:
    (root / "gt").mkdir(parents=True, exist_ok=True)
    for i in range(cameras):
        render_scene(root / f"cam{i}.mp4", root / "gt" / f"cam{i}.txt", frames=frames, width=640, height=360,
                     people=4, fps=25.0, seed=i)
    return root


def ours(scenes: Path, out: Path, detector: dict, embedder: str, tracker: dict | None = None) -> dict:
    cams = sorted(scenes.glob("*.mp4"))
    cfg = PipelineSection.model_validate({
        "mode": "offline",
        "cameras": [{"name": p.stem, "kind": "file", "uri": str(p), "det_file": str(scenes / "gt" / f"{p.stem}.txt")}
                    for p in cams],
        "detector": detector,
        "tracker": tracker or {},
        "tracklets": {"seq_len": 8, "crop_height": 256, "crop_width": 128},
        "embedder": {"path": embedder},
        "output": {"dir": str(out), "video": False, "mot": True},
    })
    summary = run_pipeline(cfg).summary
    summary["tracking"] = score(scenes, out)
    return summary


def score(scenes: Path, out: Path) -> dict:
    """HOTA / IDF1 / MOTA per camera against the scene's ground truth (trackers.eval, TrackEval parity)."""
    from trackers.eval import evaluate_mot_sequence

    table = {}
    for video in sorted(scenes.glob("*.mp4")):
        if not (out / f"{video.stem}.txt").read_text().strip():
            table[video.stem] = "no tracks"  # e.g. an untrained detector found nobody
            continue
        r = evaluate_mot_sequence(scenes / "gt" / f"{video.stem}.txt", out / f"{video.stem}.txt",
                                  metrics=["CLEAR", "HOTA", "Identity"])
        table[video.stem] = {"HOTA": round(100 * r.HOTA.HOTA, 1), "IDF1": round(100 * r.Identity.IDF1, 1),
                             "MOTA": round(100 * r.CLEAR.MOTA, 1)}
    return table


def theirs(scenes: Path, weights: str, imgsz: int, device: str) -> dict:
    from streid.offline import import_ultralytics

    YOLO = import_ultralytics().YOLO
    models = {video: YOLO(weights) for video in sorted(scenes.glob("*.mp4"))}  # one model + tracker per camera
    for model in models.values():  # warm up like ours (predictor set-up outside the timing)
        model.predict(np.zeros((imgsz, imgsz, 3), np.uint8), imgsz=imgsz, device=device, verbose=False)
    frames, t0 = 0, time.perf_counter()
    for video, model in models.items():
        for _ in model.track(source=str(video), imgsz=imgsz, classes=[0], tracker="bytetrack.yaml", stream=True,
                             persist=True, verbose=False, device=device):
            frames += 1
    elapsed = time.perf_counter() - t0
    return {"frames_processed": frames, "elapsed_s": round(elapsed, 3), "fps": round(frames / elapsed, 2)}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def live(seconds: float, cameras: int, weights: str, imgsz: int, out: Path, device: str, embedder: str = "") -> dict:
    """Live mode, ``cameras`` 640x360 test sources at 30 fps each (faster than we process): age and RSS."""
    import threading

    cfg = PipelineSection.model_validate({
        "mode": "live", "width": 640, "height": 360,
        "cameras": [{"name": f"live{i}", "kind": "test", "capture_fps": 30} for i in range(cameras)],
        "detector": {"kind": "yolo", "weights": weights, "imgsz": imgsz, "device": device},
        "embedder": {"path": embedder},
        "output": {"dir": str(out), "video": False},
    })
    stop = threading.Event()
    samples: list[tuple[float, float]] = []

    def sample() -> None:
        t0 = time.monotonic()
        while not stop.wait(min(10.0, seconds / 6)):
            samples.append((round(time.monotonic() - t0, 1), round(rss_mb(), 1)))
            if time.monotonic() - t0 >= seconds:
                stop.set()

    threading.Thread(target=sample, daemon=True).start()
    summary = run_pipeline(cfg, stop=stop).summary
    summary["rss_mb"] = samples
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=150, help="frames per camera (generated scenes)")
    ap.add_argument("--cameras", type=int, default=4)
    ap.add_argument("--scenes", type=Path, help="folder with CAM.mp4 and gt/CAM.txt (streid synth output)")
    ap.add_argument("--weights", default="", help="YOLO weights; default: untrained yolo11n built from its yaml")
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--device", default="cpu", help="ultralytics device for both sides: cpu, 0")
    ap.add_argument("--embedder", default="", help="exported re-id artifact (optional)")
    ap.add_argument("--live", type=float, default=0.0, help="also run live mode for this many seconds")
    ap.add_argument("--live-only", action="store_true", help="skip the offline comparison (with --live)")
    ap.add_argument("--zoom-imgsz", type=int, default=None,
                    help="our detector's zoom pass: 0 = one pass like ultralytics' track(); default the model's")
    ap.add_argument("--prefilter", type=float, default=None,
                    help="our detector's prefilter sigma (pipeline.detector.prefilter): 0 = off; default the model's")
    ap.add_argument("--appearance", action=argparse.BooleanOptionalAction, default=True,
                    help="our tracker's appearance guard (pipeline.tracker.appearance)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="streid-bench-") as tmp:
        root = Path(tmp)
        scenes = args.scenes.resolve() if args.scenes else make_scenes(root / "scenes", args.cameras, args.frames)
        weights = args.weights
        if not weights:
            from streid.offline import import_ultralytics

            weights = str(root / "yolo11n-untrained.pt")
            import_ultralytics().YOLO("yolo11n.yaml").save(weights)
        det_yolo = {"kind": "yolo", "weights": weights, "imgsz": args.imgsz, "conf": 0.25, "device": args.device,
                    **({"zoom_imgsz": args.zoom_imgsz} if args.zoom_imgsz is not None else {}),
                    **({"prefilter": args.prefilter} if args.prefilter is not None else {})}
        tracker = {"appearance": args.appearance}
        results = {}
        if not args.live_only:
            results = {
                "ours_motdet": ours(scenes, root / "motdet", {"kind": "motdet"}, args.embedder, tracker),
                "ours_yolo": ours(scenes, root / "yolo", det_yolo, args.embedder, tracker),
                "ultralytics_track": theirs(scenes, weights, args.imgsz, args.device),
            }
        if args.live:
            results["live"] = live(args.live, args.cameras, weights, args.imgsz, root / "live", args.device,
                                   args.embedder)
    if args.live_only:
        r = results["live"]
        print(f"== live ({args.cameras} test cameras at 30 fps, 640x360)\n{format_summary(r)}")
        print("RSS MB over time (s, MB):", r["rss_mb"])
        return
    for name in ("ours_motdet", "ours_yolo"):
        print(f"== {name}\n{format_summary(results[name])}")
        print("  tracking vs ground truth (HOTA / IDF1 / MOTA, %):", json.dumps(results[name]["tracking"]))
    t = results["ultralytics_track"]
    print(f"== ultralytics_track\n{t['frames_processed']} frames in {t['elapsed_s']:.1f}s = {t['fps']:.1f} frames/s")
    ratio = results["ours_yolo"]["fps"] / max(t["fps"], 1e-9)
    print(f"ours (YOLO, with tracklets) / ultralytics track(): {ratio:.2f}x")
    if "live" in results:
        r = results["live"]
        print(f"== live ({args.cameras} test cameras at 30 fps, 640x360)\n{format_summary(r)}")
        print("RSS MB over time (s, MB):", r["rss_mb"])
    print(json.dumps({k: {kk: v[kk] for kk in ("frames_processed", "elapsed_s", "fps")} for k, v in results.items()}))


if __name__ == "__main__":
    main()
