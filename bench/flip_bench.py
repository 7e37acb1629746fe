"""Flip test or not: one checkpoint exported plain and with ``--flip``, scored on a re-id split and timed.

    .venv/bin/python bench/flip_bench.py --checkpoint runs/default_models/reid_more3/last.pt \
        [--data runs/synth/randomised/reid] [--seq-len 8] [--out runs/bench/flip]

Prints mAP / rank-1 (raw and camera-centred, as the matcher uses them) of both artifacts on DATA's test split and
their clips per second at batch 8 on ONNX Runtime (2 CPU threads). Use a split that no threshold choice is judged
on when the answer decides what ships; OUT/flip.json keeps the numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "scripts"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=REPO / "runs/synth/randomised/reid")
    ap.add_argument("--seq-len", type=int, default=8)
    ap.add_argument("--out", type=Path, default=REPO / "runs/bench/flip")
    args = ap.parse_args()
    from builtin_bench import reid_map
    from reid_card import speed

    from streid.export.onnx_export import export_onnx

    results = {}
    for name, flip in (("plain", False), ("flip", True)):
        path = export_onnx(args.checkpoint, args.out / f"{name}.onnx", seq_len=args.seq_len, flip=flip).path
        m = reid_map(path, args.data)
        m["clips_per_s"] = speed(path)
        results[name] = m
        print(f"{name:5s} mAP {100 * m['mAP']:.1f} rank-1 {100 * m['R1']:.1f}; camera-centred mAP "
              f"{100 * m['centred_mAP']:.1f} rank-1 {100 * m['centred_R1']:.1f}; {m['clips_per_s']:.1f} clips/s")
    (args.out / "flip.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
