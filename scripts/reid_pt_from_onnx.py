"""Rebuild a trainable re-id checkpoint from an exported mnv2 ONNX (streid.train.reid_onnx says how).

    .venv/bin/python scripts/reid_pt_from_onnx.py [--onnx deploy/models/reid_small.onnx] --images DIR \
        --out runs/reid_small_from_onnx.pt
    streid train --config configs/train/mnv2_styles_tiny.yaml --set train.init.checkpoint=runs/reid_small_from_onnx.pt

DIR holds person crops like those the model saw (a `streid synth --only reid` folder: its BatchNorm statistics come
from them). The rebuilt model is checked against ONNX Runtime on clips of those crops (smallest cosine at batch 1 and
2 at least --min-cosine); a mismatch, an unreadable image, or an ONNX that is none or not an mnv2 re-id artifact
exits 2 with one line and writes nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", type=Path, default=REPO / "deploy/models/reid_small.onnx")
    ap.add_argument("--images", type=Path, required=True, help="a folder of person crops (BatchNorm statistics)")
    ap.add_argument("--count", type=int, default=512, help="crops read (in clips of the artifact's length)")
    ap.add_argument("--min-cosine", type=float, default=0.9999, help="smallest allowed cosine against ONNX Runtime")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    from streid.export.errors import ParityError
    from streid.train.checkpoint import save_checkpoint
    from streid.train.detector_onnx import load_images
    from streid.train.reid_onnx import checkpoint_payload, mnv2_meta, parity, rebuild, sample_clips

    try:
        meta = mnv2_meta(args.onnx)
        images = load_images(args.images, args.count)
        clips = sample_clips(images, int(meta["seq_len"]), int(meta["height"]), int(meta["width"]))
        model = rebuild(args.onnx, meta, clips)
        worst = parity(model, args.onnx, clips)
    except (FileNotFoundError, ValueError, ParityError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"rebuilt mnv2 from {args.onnx}: against ONNX Runtime, smallest cosine {worst:.6f} on {len(clips)} clips")
    if worst < args.min_cosine:
        print(f"error: smallest cosine {worst:.6f} below --min-cosine {args.min_cosine}; nothing written",
              file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(args.out, checkpoint_payload(model, meta, args.onnx, worst))
    print(f"wrote {args.out} (train.init.checkpoint with skip_heads: true; streid export onnx --checkpoint)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
