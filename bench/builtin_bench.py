"""The built-in models on sites nobody tuned for: every synth style at a fresh seed, plus the held-out style.

    .venv/bin/python bench/builtin_bench.py [--sites runs/eval] [--styles heldout,target,pretrain,tiny]
        [--embedder deploy/models/reid_small.onnx] [--detector deploy/models/person_detector.onnx]
        [--compare-embedder OLD.onnx ...] [--modes gt_boxes,detector] [--out runs/bench/builtin]

Each style's site is a `streid synth --only scenes` folder SITES/STYLE/scenes (the command that makes a missing one
is printed; seeds 101-104 are used by no training run and no threshold choice; the held-out style
configs/synth/heldout.yaml is used by nothing else at all). For every site it runs the offline `streid reid` job
(configs/reid/synth.yaml) twice, with ground-truth boxes and with the built-in detector, and prints multi-camera
IDF1 (offline / online ids, and the association bound: each track given its best person), cross-camera link
precision / recall (and recall over the links whose two ends were tracked: what the association itself missed) and
each camera's tracker HOTA. On the held-out style it also prints the detector's mAP50
(every image of SITES/heldout/detection) and the re-id mAP of each embedder on SITES/heldout/reid's test split.
Sizes and speeds (detector ms per frame at its imgsz, and as the pipeline runs it on the held-out site's frames with
and without its zoom pass; re-id clips/s at batch 8) close the table. OUT/summary.json keeps every number.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "scripts"))

SEEDS = {"heldout": 103, "target": 102, "pretrain": 101, "tiny": 104}


def site_command(style: str, sites: Path) -> str:
    extra = "" if style in ("heldout", "tiny") else " --set synth.scenes.cameras=4 --set synth.scenes.people=16"
    return (f"streid synth --config configs/synth/{style}.yaml --out {sites / style} --seed {SEEDS.get(style, 100)} "
            f"--only {'reid,scenes,detection' if style == 'heldout' else 'scenes'} --set synth.scenes.duration_s=45"
            f"{extra}")


def detector_map(detector: Path, detection: Path, out: Path) -> dict[str, float]:
    """mAP50 / mAP50-95 / P / R of the detector on every image of a held-out detection set, and its speed."""
    import yaml

    from streid.offline import import_ultralytics

    spec = yaml.safe_load((detection / "data.yaml").read_text())
    data = out / "heldout_all.yaml"
    out.mkdir(parents=True, exist_ok=True)
    data.write_text(yaml.safe_dump({**spec, "path": str(detection.resolve()), "train": "images/train",
                                    "val": ["images/train", "images/val"]}))
    imgsz = 320
    model = import_ultralytics().YOLO(str(detector), task="detect")
    r = model.val(data=str(data), imgsz=imgsz, batch=1, device="cpu", plots=False, project=str(out), name="val",
                  exist_ok=True, verbose=False)
    return {"mAP50": float(r.box.map50), "mAP50-95": float(r.box.map), "precision": float(r.box.mp),
            "recall": float(r.box.mr), "ms_per_frame": float(r.speed["inference"]), "imgsz": imgsz}


def pipeline_detector_ms(detector: Path, video: Path, frames: int = 60) -> dict[str, float]:
    """ms per frame of the pipeline's detector (batch 1) on a site's frames: one pass, and with its zoom pass."""
    from itertools import islice

    from streid.media import read_frames
    from streid.pipeline.detector import YoloDetector
    from streid.records import Frame

    images = [Frame("cam", i / 10, i, im) for i, im in enumerate(islice(read_frames(video), frames))]
    out = {}
    for name, zoom in (("one_pass", 0), ("with_zoom", None)):
        det = YoloDetector(detector, conf=0.2, iou=0.5, zoom_imgsz=zoom)
        if name == "with_zoom" and det.zoom is None:
            continue
        det.warmup()
        t0 = time.perf_counter()
        for f in images:
            det.detect([f])
        out[name] = 1000 * (time.perf_counter() - t0) / len(images)
        if det.zoom is not None:
            out["zoom_imgsz"] = det.zoom.imgsz
    return out


def reid_map(embedder: Path, reid: Path, query_height: int | None = None) -> dict[str, float]:
    """mAP / rank-1 / rank-5 of an embedder on a test split: raw, and with each camera's mean embedding subtracted
    (what the matcher does, ``identity.camera_centering``); ``query_height``: queries seen as a far camera does."""
    return reid_maps(embedder, reid, [query_height])[query_height]


def reid_maps(embedder: Path, reid: Path, query_heights: list[int | None]) -> dict[int | None, dict[str, float]]:
    """``reid_map`` for several query heights, embedding the gallery once."""
    import numpy as np

    from streid.pipeline.embedder import load_embedder
    from streid.pipeline.identity.centering import centre_all
    from streid.train.data import read_dataset
    from streid.train.eval.artifact import embed_records, score_features
    from streid.train.eval.protocol import protocol_indices

    query, gallery = protocol_indices(read_dataset("synthetic", reid), "torchreid")
    emb = load_embedder(embedder, device="cpu")
    gf = embed_records(emb, gallery)
    cams = np.array([r.camid for r in [*query, *gallery]])
    results: dict[int | None, dict[str, float]] = {}
    for height in query_heights:
        qf = embed_records(emb, query, person_height=height)
        out = {}
        centred = centre_all(np.vstack([qf, gf]), cams)
        for name, (q, g) in {"": (qf, gf), "centred_": (centred[: len(qf)], centred[len(qf):])}.items():
            r = score_features(query, gallery, q, g)
            out.update({f"{name}{key}": float(r[key]) for key in ("mAP", "R1", "R5")})
        results[height] = out
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=Path, default=REPO / "runs/eval")
    ap.add_argument("--styles", default="heldout,target,pretrain,tiny")
    ap.add_argument("--embedder", type=Path, default=REPO / "deploy/models/reid_small.onnx")
    ap.add_argument("--detector", type=Path, default=REPO / "deploy/models/person_detector.onnx")
    ap.add_argument("--compare-embedder", type=Path, nargs="*", default=[], help="more embedders for the mAP row")
    ap.add_argument("--config", type=Path, default=REPO / "configs/reid/synth.yaml")
    ap.add_argument("--out", type=Path, default=REPO / "runs/bench/builtin")
    ap.add_argument("--skip-jobs", action="store_true", help="only the held-out detector / re-id / speed rows")
    ap.add_argument("--modes", default="gt_boxes,detector",
                    help="which jobs per site: gt_boxes (matching alone, e.g. to compare embedders), detector, or both")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from mtmc_bench import run_job
    from reid_card import speed

    job_args = argparse.Namespace(device="cpu", config=args.config, no_site=False, embedder=args.embedder)
    summary: dict[str, Any] = {"embedder": str(args.embedder), "detector": str(args.detector), "sites": {}}
    styles = [s for s in args.styles.split(",") if s]
    modes = {"gt_boxes": None, "detector": args.detector}
    wanted = args.modes.split(",")
    if unknown := set(wanted) - set(modes):
        raise SystemExit(f"--modes: unknown {sorted(unknown)}; use gt_boxes, detector or both")
    missing = [s for s in styles if not (args.sites / s / "scenes" / "site.json").is_file()]
    if missing:
        raise SystemExit("missing sites; make them with:\n" + "\n".join(site_command(s, args.sites) for s in missing))
    for style in [] if args.skip_jobs else styles:
        scenes = args.sites / style / "scenes"
        row = {}
        for name, det in ((m, d) for m, d in modes.items() if m in wanted):
            t0 = time.perf_counter()
            r = run_job(scenes, args.out / style / name, job_args, det)
            row[name] = {"idf1_offline": r["offline"]["idf1"], "idf1_online": r["online"]["idf1"],
                         "link_precision": r["offline"]["link_precision"], "link_recall": r["offline"]["link_recall"],
                         "link_recall_tracked": r["offline"].get("link_recall_tracked"),
                         "hota": {c: s.get("tracker", {}).get("HOTA") for c, s in r["per_camera"].items()},
                         "idf1_bound": (r.get("association_bound") or {}).get("idf1"),
                         "identities": r["identities"], "gt_identities": r["gt_identities"],
                         "wall_s": round(time.perf_counter() - t0, 1)}
        summary["sites"][style] = row
        _print_site(style, row)
    held = args.sites / "heldout"
    if (held / "detection" / "data.yaml").is_file():
        summary["detector_heldout"] = d = detector_map(args.detector, held / "detection", args.out / "detector")
        print(f"detector on the held-out style ({held / 'detection'}, all images): mAP50 {100 * d['mAP50']:.1f} "
              f"mAP50-95 {100 * d['mAP50-95']:.1f} P {100 * d['precision']:.1f} R {100 * d['recall']:.1f}; "
              f"{d['ms_per_frame']:.1f} ms per frame at imgsz {d['imgsz']}")
    if (held / "scenes" / "cam1.mp4").is_file():
        summary["detector_pipeline_ms"] = t = pipeline_detector_ms(args.detector, held / "scenes" / "cam1.mp4")
        zoom = f", {t['with_zoom']:.1f} with its zoom pass at {t['zoom_imgsz']}" if "with_zoom" in t else ""
        print(f"detector in the pipeline ({held / 'scenes' / 'cam1.mp4'}, batch 1): {t['one_pass']:.1f} ms per "
              f"frame in one pass{zoom}")
    if (held / "reid").is_dir():
        summary["reid_heldout"] = {}
        for emb in [args.embedder, *args.compare_embedder]:
            m = summary["reid_heldout"][str(emb)] = reid_map(emb, held / "reid")
            print(f"re-id on the held-out test split, {emb}: mAP {100 * m['mAP']:.1f} rank-1 {100 * m['R1']:.1f} "
                  f"rank-5 {100 * m['R5']:.1f}; camera-centred mAP {100 * m['centred_mAP']:.1f} "
                  f"rank-1 {100 * m['centred_R1']:.1f}")
    for path in (args.detector, args.embedder):
        print(f"size {path.name}: {path.stat().st_size / 2**20:.1f} MB")
    summary["reid_clips_per_s"] = eps = speed(args.embedder)
    print(f"re-id speed: {eps:.1f} clips/s at batch 8 (ONNX Runtime, 2 CPU threads)")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"summary: {args.out / 'summary.json'}")


def _print_site(style: str, row: dict[str, Any]) -> None:
    for name, r in row.items():
        hota = " ".join(f"{c} {100 * h:.1f}" if h is not None else f"{c} n/a" for c, h in r["hota"].items())
        lp = "n/a" if r["link_precision"] is None else f"{100 * r['link_precision']:.1f}"
        lr = "n/a" if r["link_recall"] is None else f"{100 * r['link_recall']:.1f}"
        lt = "n/a" if r.get("link_recall_tracked") is None else f"{100 * r['link_recall_tracked']:.1f}"
        bound = "n/a" if r.get("idf1_bound") is None else f"{100 * r['idf1_bound']:.1f}"
        print(f"{style:9s} {name:9s} IDF1 offline {100 * r['idf1_offline']:5.1f} online {100 * r['idf1_online']:5.1f}"
              f" bound {bound}  links P {lp} R {lr} (tracked ends {lt})  ids {r['identities']}/{r['gt_identities']}"
              f"  HOTA {hota}"
              f"  ({r['wall_s']} s)")


if __name__ == "__main__":
    main()
