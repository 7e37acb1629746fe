"""``streid demo``: the main job on a fresh machine, offline, with the built-in default models.

Renders a small multi-camera site with the synthetic world (a fresh seed each run unless given), runs the
offline re-id job over its videos with the default detector and re-id model (``deploy/models``), and scores
the result against the world's ground truth: multi-camera IDF1 (offline and online ids), per-camera HOTA of
the tracker, and re-id mAP of the model on the world's tracklet test split. Prints a summary with the paths
to open. Re-running with the same ``--seed`` and ``--out`` resumes (the world and the job both resume).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEMO_CONFIG = REPO / "configs" / "synth" / "demo.yaml"
REID_CONFIG = REPO / "configs" / "reid" / "synth.yaml"  # tracklet gates for small synthetic people, matcher thresholds
JOB_SECTIONS = ("pipeline.", "identity.")  # --set keys of the re-id job (REID_CONFIG); the rest shape the world


def run_demo(
    out: Path,
    seed: int | None = None,
    overrides: list[str] | None = None,
    progress: bool = True,
    detector: Path | None = None,
    embedder: Path | None = None,
) -> dict[str, Any]:
    """Render, run, evaluate; returns (and writes ``OUT/summary.json``) the figures and paths."""
    from tqdm import tqdm

    from streid.config import load_config
    from streid.pipeline.embedder import load_embedder
    from streid.pipeline.identity.cli import build_job
    from streid.pipeline.identity.job import run_reid_job
    from streid.train.data import read_dataset
    from streid.train.eval.artifact import evaluate_embedder
    from streid.train.synth.build import synthesize

    seed = secrets.randbelow(10**6) if seed is None else seed
    out = Path(out)
    t0 = time.monotonic()
    job_overrides = [o for o in overrides or [] if o.split("=", 1)[0].strip().startswith(JOB_SECTIONS)]
    # Fail on missing models and bad job keys before spending minutes on rendering: the job the overrides make,
    # with no cameras yet (so --set pipeline.embedder.path=... / pipeline.detector.weights=... pick the models).
    build_job({}, out / "reid", REID_CONFIG, None, job_overrides, embedder, detector, None, None)
    cfg = load_config(DEMO_CONFIG, [o for o in overrides or [] if o not in job_overrides])
    world = out / "world"
    with ExitStack() as stack:

        def bar(part: str, total: int) -> Callable[[int], None]:
            stack.close()  # one bar at a time
            t = tqdm(total=total, desc=f"render {part}", unit="item", disable=not progress)
            return stack.enter_context(t).update

        synthesize(cfg.synth, seed, world, parts=["scenes", "reid"], workers=cfg.run.workers, progress=bar)
    t_render = time.monotonic() - t0

    scenes = world / "scenes"
    videos = {p.stem: p for p in sorted(scenes.glob("*.mp4"))}
    gt = scenes / "gt"
    job = build_job(videos, out / "reid", REID_CONFIG, scenes / "site.json", job_overrides, embedder, detector, None,
                    gt)
    detector, embedder = Path(job.pipeline.detector.weights), Path(job.pipeline.embedder.path)  # what ran
    result = run_reid_job(job, progress=progress)
    if result.interrupted:
        raise KeyboardInterrupt(f"demo interrupted; run the same command (with --seed {seed}) to resume")
    t_job = time.monotonic() - t0 - t_render

    reid = evaluate_embedder(load_embedder(embedder, device="cpu"), read_dataset("synthetic", world / "reid"))
    ev = result.evaluation or {}
    per_cam = ev.get("per_camera", {})
    summary: dict[str, Any] = {
        "seed": seed,
        "cameras": list(videos),
        "identities_found": len(set(result.final.values())),
        "identities_true": _true_identities(scenes / "gt"),
        "mtmc_idf1_offline": ev.get("offline", {}).get("idf1"),
        "mtmc_idf1_online": ev.get("online", {}).get("idf1"),
        "link_precision": ev.get("offline", {}).get("link_precision"),
        "link_recall": ev.get("offline", {}).get("link_recall"),
        "hota_per_camera": {c: v.get("tracker", {}).get("HOTA") for c, v in per_cam.items()},
        "reid_mAP": round(reid["mAP"], 4),
        "reid_R1": round(reid["R1"], 4),
        "detector": str(detector),
        "embedder": str(embedder),
        "seconds": {"render": round(t_render, 1), "reid_job": round(t_job, 1),
                    "total": round(time.monotonic() - t0, 1)},
        "paths": {
            "report": str(result.report),
            "videos": [str(out / "reid" / f"{c}.mp4") for c in videos],
            "eval": str(out / "reid" / "eval.json"),
            "store": str(out / "reid" / "identities.sqlite"),
            "world": str(world),
        },
    }
    tmp = out / "summary.json.part"
    tmp.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    tmp.replace(out / "summary.json")
    return summary


def _true_identities(gt_dir: Path) -> int:
    ids: set[int] = set()
    for f in gt_dir.glob("*.txt"):
        for line in f.read_text().splitlines():
            if line.strip():
                ids.add(int(float(line.split(",")[1])))
    return len(ids)


def print_summary(s: dict[str, Any]) -> None:
    """A short table and the paths to open."""
    from rich.console import Console
    from rich.table import Table

    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{100 * v:.1f}"

    t = Table(title=f"streid demo (seed {s['seed']}, {len(s['cameras'])} cameras)", show_header=False)
    t.add_row("people re-identified", f"{s['identities_found']} global ids for {s['identities_true']} people")
    t.add_row("multi-camera IDF1", f"offline {pct(s['mtmc_idf1_offline'])}  online {pct(s['mtmc_idf1_online'])}")
    t.add_row("cross-camera links", f"precision {pct(s['link_precision'])}  recall {pct(s['link_recall'])}")
    hota = "  ".join(f"{c} {pct(v)}" for c, v in s["hota_per_camera"].items())
    t.add_row("tracker HOTA per camera", hota or "n/a")
    t.add_row("re-id model on test tracklets", f"mAP {pct(s['reid_mAP'])}  rank-1 {pct(s['reid_R1'])}")
    sec = s["seconds"]
    t.add_row("time", f"{sec['total']:.0f} s (render {sec['render']:.0f} s, re-id job {sec['reid_job']:.0f} s)")
    console = Console()
    console.print(t)
    p = s["paths"]
    console.print(f"open the report:   {p['report']}")
    console.print(f"annotated videos:  {', '.join(p['videos'])}")
    console.print(f"evaluation:        {p['eval']}")
