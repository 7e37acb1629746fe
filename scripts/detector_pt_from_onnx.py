"""Rebuild a trainable ultralytics checkpoint from an exported detector ONNX (streid.train.detector_onnx says how).

    .venv/bin/python scripts/detector_pt_from_onnx.py --onnx deploy/models/person_detector.onnx \
        --model configs/detector/models/yolo11-mnv2.yaml --images DIR --out runs/person_detector_from_onnx.pt

The rebuilt model is checked against ONNX Runtime on the first image of DIR (the FP32 export bar, and --tol on the
larger of the box and score differences); a mismatch, an unreadable image or an ONNX that is none or does not fit
the architecture exits 2 with one line and writes nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", type=Path, default=REPO / "deploy/models/person_detector.onnx")
    ap.add_argument("--model", default=str(REPO / "configs/detector/models/yolo11-mnv2.yaml"),
                    help="the architecture yaml it was trained from")
    ap.add_argument("--images", type=Path, required=True, help="a folder of training-like images (BatchNorm stats)")
    ap.add_argument("--count", type=int, default=64)
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--tol", type=float, default=1e-2, help="largest allowed raw-output difference (pixels/score)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    from streid.export.errors import ParityError
    from streid.train.detector_onnx import load_images, parity, rebuild, write_provenance

    try:
        images = load_images(args.images, args.count)
        yolo = rebuild(args.onnx, args.model, images, args.imgsz)
        check = parity(yolo, args.onnx, images[0], args.imgsz)
    except (FileNotFoundError, ValueError, ParityError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    diff = max(check.box_px, check.score)
    print(f"rebuilt {args.model} from {args.onnx}: against ONNX Runtime {check.line()}")
    if diff > args.tol:
        print(f"error: difference {diff:.2e} above --tol {args.tol}; nothing written", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    yolo.save(str(args.out))
    write_provenance(args.out, args.onnx, diff)
    print(f"wrote {args.out} (and {args.out.name}.source.json: the ONNX it came from, for the model card)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
