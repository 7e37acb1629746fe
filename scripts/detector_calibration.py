"""Write the built-in detector's operating confidence into its ONNX: the F1-optimal threshold on a val split.

    .venv/bin/python scripts/detector_calibration.py --onnx deploy/models/person_detector.onnx \
        --data runs/default_models/detector/data/detection/data.yaml [--imgsz 320]

The tracker starts and associates tracks at this confidence (``streid.detector_calibration``), so a detector whose
scores never reach ByteTrack's default still starts tracks; a config's ``pipeline.tracker.params`` overrides it.
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
    args = ap.parse_args()
    model = import_ultralytics().YOLO(str(args.onnx), task="detect")
    r = model.val(data=str(args.data), imgsz=args.imgsz, batch=1, device="cpu", plots=False, verbose=False,
                  split="val")
    f1 = np.asarray(r.box.f1_curve).mean(axis=0)
    conf = float(np.round(np.asarray(r.box.px)[int(f1.argmax())], 3))
    print(f"val mAP50 {r.box.map50:.3f}, mAP50-95 {r.box.map:.3f}; F1 {f1.max():.3f} at confidence {conf}")
    print(write_detector_calibration(args.onnx, conf, source=f"F1-optimal on {args.data} (val split)"))


if __name__ == "__main__":
    main()
