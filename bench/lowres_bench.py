"""Re-id of far people: mAP when the queries are seen as a camera that shows the person only N pixels tall.

    .venv/bin/python bench/lowres_bench.py --onnx deploy/models/reid_small.onnx [B.onnx ...] \
        [--data runs/synth/heldout/reid ...] [--heights 0 64 40 28 20] [--out runs/bench/lowres]

Each query clip is shrunk to a person height of N pixels and resized back (``streid.train.data.clips.shrink``: what a
far or coarse camera hands the embedder); the gallery stays as rendered. Height 0 is the unshrunk split. Prints raw
and camera-centred mAP per model, split and height; OUT/lowres.json keeps them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--onnx", type=Path, nargs="+", required=True)
    ap.add_argument("--data", type=Path, nargs="+", default=[REPO / "runs/synth/heldout/reid"])
    ap.add_argument("--heights", type=int, nargs="+", default=[0, 64, 40, 28, 20])
    ap.add_argument("--out", type=Path, default=REPO / "runs/bench/lowres")
    args = ap.parse_args()
    from builtin_bench import reid_maps

    results: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    print(f"{'model':28} {'split':28} {'height':>6} {'mAP':>6} {'centred':>8}")
    for onnx in args.onnx:
        for data in args.data:
            maps = reid_maps(onnx, data, [h or None for h in args.heights])  # one gallery for every height
            for h in args.heights:
                m = maps[h or None]
                results.setdefault(str(onnx), {}).setdefault(str(data), {})[str(h or "full")] = m
                print(f"{onnx.name[-28:]:28} {str(data)[-28:]:28} {h or 'full':>6} {100 * m['mAP']:6.1f} "
                      f"{100 * m['centred_mAP']:8.1f}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "lowres.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
