"""Matching thresholds: the old constants vs calibrated from the embedder and the site, on 4-camera synthetic sites.

    .venv/bin/python bench/calibration_bench.py --embedder deploy/models/reid_small.onnx [--val-seed 101]
        [--test-seed 102] [--cameras 4] [--duration 40] [--out runs/bench/calibration]

Renders two `target`-style sites (as bench/mtmc_bench.py: configs/synth/target.yaml, CAMERAS cameras, DURATION s;
kept and reused), runs the offline job's per-camera phase on each with the ground-truth boxes and an uncalibrated
copy of the embedder (OUT/models/), then:
1. validation seed: labelled pairs -> one calibration per candidate (gate alpha, offline alpha); each written into
   the copy and scored (multi-camera IDF1 of the final ids, site refinement off); the best is kept in the copy;
2. test seed (never used for a choice): old constants 0.2 (configs/reid/synth.yaml) and 0.35 (the old default),
   the artifact's calibration alone, with per-site refinement, and the site rule alone (no artifact calibration).
Prints multi-camera IDF1 (offline and online ids) and cross-camera link precision/recall for each; OUT/summary.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ALPHAS = ((0.02, 0.05), (0.05, 0.1), (0.1, 0.2), (0.2, 0.3))  # (gate alpha, offline alpha) tried on validation
VARIANTS: dict[str, tuple[str, bool, list[str]]] = {  # key: (label, reads the artifact's calibration, overrides)
    "old-0.2": ("old constant 0.2 (synth.yaml)", False, []),
    "old-0.35": ("old constant 0.35 (default)", False, ["identity.calibration.refine=false", "identity.gate=0.35",
                                                        "identity.offline_threshold=0.35"]),
    "artifact": ("artifact calibration", True, ["identity.calibration.refine=false"]),
    "artifact+site": ("artifact + site refinement", True, []),
    "site": ("site rule only (fallback prior)", False, ["identity.calibration.use_artifact=false"]),
}
USE: list[str] = []  # --use-cameras: a subset of the rendered cameras (all when empty)


def job(scenes: Path, out: Path, embedder: Path, overrides: list[str]) -> Any:
    from streid.pipeline.identity.cli import build_job

    cams = [c["name"] for c in json.loads((scenes / "site.json").read_text())["cameras"]]
    cams = [c for c in cams if not USE or c in USE]
    patient = ["pipeline.live.connect_timeout_s=300", "pipeline.live.stall_timeout_s=300"]  # a busy machine
    return build_job({c: scenes / f"{c}.mp4" for c in cams}, out, REPO / "configs/reid/synth.yaml",
                     scenes / "site.json", patient + overrides, embedder, None, scenes / "gt", scenes / "gt")


def score(scenes: Path, out: Path, embedder: Path, overrides: list[str]) -> dict[str, Any]:
    """One offline job (phase 1 reused when done; ids and scores redone), without videos and report."""
    from streid.pipeline.identity.job import run_reid_job

    result = run_reid_job(job(scenes, out, embedder, overrides), videos=False)
    if result.interrupted or result.evaluation is None:
        raise SystemExit(f"interrupted: run again to resume into {out}")
    ev = result.evaluation
    return {"offline": ev["offline"], "online": ev["online"], "thresholds": ev["thresholds"],
            "identities": len(set(result.final.values()))}


def line(name: str, r: dict[str, Any]) -> str:
    t, o, n = r["thresholds"], r["offline"], r["online"]
    return (f"  {name:34s} gate {t['gate']:.3f} off {t['offline_threshold']:.3f} | IDF1 {100 * o['idf1']:5.1f} "
            f"(online {100 * n['idf1']:5.1f}) links P {100 * o['link_precision']:5.1f} R {100 * o['link_recall']:5.1f}"
            f" (online P {100 * n['link_precision']:5.1f} R {100 * n['link_recall']:5.1f}) ids {r['identities']}")


def main() -> None:
    sys.path.insert(0, str(REPO / "bench"))
    import numpy as np
    from mtmc_bench import render

    from streid.calibrate import job_pairs
    from streid.export.calibration import write_calibration
    from streid.pipeline.identity.calibration import fit_calibration

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--embedder", type=Path, required=True, help="re-id ONNX artifact")
    ap.add_argument("--val-seed", type=int, default=101)
    ap.add_argument("--test-seed", type=int, default=102)
    ap.add_argument("--cameras", type=int, default=4)
    ap.add_argument("--duration", type=float, default=40.0)
    ap.add_argument("--out", type=Path, default=REPO / "runs/bench/calibration")
    ap.add_argument("--use-cameras", default="", help="comma list: only these of the rendered cameras")
    ap.add_argument("--alphas", default="", help="gate/offline alpha pairs to try, e.g. 0.05/0.1,0.1/0.2")
    ap.add_argument("--variants", default="", help="comma list of test variants (default all): " + ", ".join(VARIANTS))
    ap.add_argument("--copy", default="", help="suffix: score the test site in a copy of its job folder (so two "
                                               "runs of this bench can score variants at once)")
    ap.add_argument("--prepare", type=int, help="only the per-camera phase of this seed's site, then exit "
                                                 "(run one per seed in parallel, then the whole bench)")
    args = ap.parse_args()
    USE.extend(c for c in args.use_cameras.split(",") if c)
    seeds = (args.val_seed, args.test_seed)
    worlds = {s: render(args.out / f"world{s}", args.cameras, args.duration, s) for s in seeds}
    model = args.out / "models" / args.embedder.name
    model.parent.mkdir(parents=True, exist_ok=True)
    if not model.is_file():  # same weights, no calibration yet; the original stays untouched
        shutil.copyfile(args.embedder, model)
    base = ["identity.calibration.refine=false", "identity.gate=0.2", "identity.offline_threshold=0.2"]
    runs = {s: args.out / model.stem / f"seed{s}{'_' + '_'.join(USE) if USE else ''}" for s in worlds}
    summary: dict[str, Any] = {"embedder": str(args.embedder), "validation": {}, "test": {}}
    for s, scenes in worlds.items():  # phase 1 (tracklets + embeddings) of both sites, unless done
        if args.prepare in (None, s) and not (runs[s] / "eval.json").is_file():
            score(scenes, runs[s], model, base)
    if args.prepare is not None:
        return
    cams = [c["name"] for c in json.loads((worlds[args.val_seed] / "site.json").read_text())["cameras"]]
    cams = [c for c in cams if not USE or c in USE]
    best = None
    alphas = [tuple(float(v) for v in a.split("/")) for a in args.alphas.split(",") if a] or ALPHAS
    chosen = [v for v in args.variants.split(",") if v] or list(VARIANTS)
    if all(not VARIANTS[v][1] for v in chosen):  # no variant reads the artifact: no validation needed
        alphas = []
    neg, pos = job_pairs(runs[args.val_seed], worlds[args.val_seed] / "gt", cams) if alphas else ([0.0], [0.0])
    if alphas:
        print(f"validation seed {args.val_seed}: {len(neg)} negative / {len(pos)} cross-camera positive pairs; neg "
              f"q05 {np.quantile(neg, 0.05):.3f}, pos median {np.median(pos):.3f} q90 {np.quantile(pos, 0.9):.3f}")
    for ga, oa in alphas:
        cal = fit_calibration(neg, pos, "cross", source=f"bench validation seed {args.val_seed}", gate_alpha=ga,
                              offline_alpha=oa)
        write_calibration(model, cal.entry())
        r = score(worlds[args.val_seed], runs[args.val_seed], model, ["identity.calibration.refine=false"])
        summary["validation"][f"alpha {ga}/{oa}"] = r
        print(line(f"val alpha gate {ga} offline {oa}", r))
        if best is None or r["offline"]["idf1"] > best[0]["offline"]["idf1"]:
            best = (r, cal, (ga, oa))
    if best is not None:
        write_calibration(model, best[1].entry())
        print(f"chosen on validation: alpha {best[2]}: {best[1].line()}")
        summary["chosen"] = {"alphas": best[2], "calibration": best[1].entry()}
    test, test_run = worlds[args.test_seed], runs[args.test_seed]
    if args.copy:
        copy = test_run.with_name(f"{test_run.name}_{args.copy}")
        if not copy.is_dir():
            shutil.copytree(test_run, copy)
        test_run = copy
    print(f"test seed {args.test_seed}:")
    for key in chosen:
        name, _, overrides = VARIANTS[key]
        r = score(test, test_run, model, base if key == "old-0.2" else overrides)
        summary["test"][name] = r
        print(line(name, r))
    path = args.out / f"summary_{model.stem}{'_' + args.copy if args.copy else ''}.json"
    path.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"summary: {path}")


if __name__ == "__main__":
    main()
