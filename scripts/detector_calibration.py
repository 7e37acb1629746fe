"""Write the built-in detector's operating confidence into its ONNX: the F1-optimal threshold on a val split.

    .venv/bin/python scripts/detector_calibration.py --onnx deploy/models/person_detector.onnx \
        --data runs/default_models/detector/data/detection/data.yaml [--imgsz 320] \
        [--zoom-imgsz 576 --zoom-below 0.35 --zoom-overlap 0.7 --zoom-source "bench/zoom_tune.py on ..."]
        [--prefilter 0.7 --prefilter-min-noise 5 --prefilter-source "bench/tracker_tune.py on ..."]

The tracker starts and associates tracks at this confidence (``streid.detector_calibration``), so a detector whose
scores never reach ByteTrack's default still starts tracks; a config's ``pipeline.tracker.params`` overrides it.
``--zoom-*`` records the second detector pass the pipeline runs by default (chosen with bench/zoom_tune.py on
validation sites); ``pipeline.detector.zoom_*`` overrides it. ``--prefilter`` records the low-pass the pipeline
applies to frames before the detector by default (sigma in detector-input pixels, chosen with bench/tracker_tune.py
on validation sites), ``--prefilter-min-noise`` keeps it to cameras at least that noisy at the detector input
(grey levels; 0 = every camera); ``pipeline.detector.prefilter`` / ``prefilter_min_noise`` override them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from streid.export.calibration import write_detector_calibration
from streid.offline import import_ultralytics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--onnx", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True, help="YOLO data.yaml whose val split chooses the threshold")
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--zoom-imgsz", type=int, default=0, help="0 = no zoom pass")
    ap.add_argument("--zoom-below", type=float, default=0.35)
    ap.add_argument("--zoom-overlap", type=float, default=0.7)
    ap.add_argument("--zoom-source", default="", help="where the zoom values were chosen")
    ap.add_argument("--prefilter", type=float, default=0.0, help="0 = frames as they are")
    ap.add_argument("--prefilter-min-noise", type=float, default=0.0,
                    help="only cameras whose noise at the detector input is at least this (grey levels; 0 = all)")
    ap.add_argument("--prefilter-source", default="", help="where the prefilter was chosen")
    args = ap.parse_args()
    model = import_ultralytics().YOLO(str(args.onnx), task="detect")
    r = model.val(data=str(args.data), imgsz=args.imgsz, batch=1, device="cpu", plots=False, verbose=False,
                  split="val")
    f1 = np.asarray(r.box.f1_curve).mean(axis=0)
    conf = float(np.round(np.asarray(r.box.px)[int(f1.argmax())], 3))
    print(f"val mAP50 {r.box.map50:.3f}, mAP50-95 {r.box.map:.3f}; F1 {f1.max():.3f} at confidence {conf}")
    zoom = {"imgsz": args.zoom_imgsz, "below": args.zoom_below, "overlap": args.zoom_overlap,
            "source": args.zoom_source} if args.zoom_imgsz else None
    prefilter = {"sigma": args.prefilter, "min_noise": args.prefilter_min_noise,
                 "source": args.prefilter_source} if args.prefilter else None
    entry = write_detector_calibration(args.onnx, conf, source=f"F1-optimal on {args.data} (val split)", zoom=zoom,
                                       prefilter=prefilter)
    print(entry)
    card = args.onnx.with_suffix(".md")
    if card.is_file():  # the model card says what the pipeline does with the model by default
        write_card_section(card, entry)


def write_card_section(card: Path, entry: dict) -> None:
    """Replace (or append) the card's "In the pipeline" section with the calibration just written."""
    lines = [SECTION, "", f"- Operating confidence {entry['conf']}: {entry['source']}. The tracker starts and "
             "associates tracks at it (a config's `pipeline.tracker.params` overrides)."]
    z = entry.get("zoom")
    if z:
        lines.append(f"- Zoom pass: a second pass at imgsz {z['imgsz']} keeps boxes shorter than {z['below']} of the "
                     f"frame height, the first pass those taller than {z['below']} x {z['overlap']}; NMS settles "
                     f"the band (`pipeline.detector.zoom_*` overrides, `zoom_imgsz: 0` = one pass). Chosen with "
                     f"{z['source']}.")
    p = entry.get("prefilter")
    if p:
        which = (f"the frames of cameras whose noise at the detector input is at least {p['min_noise']} grey levels "
                 "(running median per camera) are" if p.get("min_noise") else "every frame is")
        lines.append(f"- Prefilter: {which} low-passed before each pass (a Gaussian of {p['sigma']} input pixels; "
                     "`pipeline.detector.prefilter` / `prefilter_min_noise` override, 0 = off). Chosen with "
                     f"{p['source']}.")
    text = card.read_text(encoding="utf-8")
    head, found, tail = text.partition(SECTION)
    rest = tail[tail.find("\n## "):] if found and "\n## " in tail else ""
    card.write_text(head.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n" + rest, encoding="utf-8")


SECTION = "## In the pipeline"


if __name__ == "__main__":
    main()
