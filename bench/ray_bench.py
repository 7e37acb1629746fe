"""The same `streid reid` job in-process and with ``--executor ray`` on this machine: wall times, same results.

    .venv/bin/python bench/ray_bench.py [--scenes DIR | --synth configs/synth/demo.yaml --seed 0] [--gt-dets]
        [--num-cpus 2] [--out runs/bench/ray]

Both jobs run as `streid reid` commands (built-in detector and re-id model unless --gt-dets / --embedder) on the
same videos, each into its own fresh folder. The Ray one joins a local head started here (`ray start --head`,
``--num-cpus`` CPUs, free loopback ports, private temp dir, stopped at the end) through ``--ray-address``: the
cluster case. The head's start-up is timed apart from the job. The results must be identical (global ids,
online ids, tracks, events, scores); the bench exits 1 if they are not. On one machine with 2 cores expect
parity, not a speed-up: the point is that the job runs unchanged on a cluster.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def render(config: Path, seed: int, out: Path) -> Path:
    from streid.config import load_config
    from streid.train.synth.build import synthesize

    synthesize(load_config(config).synth, seed, out, ["scenes"], workers=0)
    return out / "scenes"


def reid(scenes: Path, out: Path, args: argparse.Namespace, extra: list[str]) -> float:
    """One fresh `streid reid` command; its wall time in seconds."""
    site = json.loads((scenes / "site.json").read_text())
    cmd = [sys.executable, "-m", "streid.cli", "reid", "--out", str(out), "--site", str(scenes / "site.json"),
           "--gt", str(scenes / "gt"), "--no-progress", *extra]
    for cam in site["cameras"]:
        cmd += ["--video", f"{cam['name']}={scenes / (cam['name'] + '.mp4')}"]
    if args.gt_dets:
        cmd += ["--gt-dets", str(scenes / "gt")]
    if args.embedder:
        cmd += ["--embedder", args.embedder]
    if args.config:
        cmd += ["--config", str(args.config)]
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"streid reid {' '.join(extra)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return seconds


def results(out: Path) -> dict[str, Any]:
    """What must not depend on the executor: ids, tracks, events (minus wall-clock times), scores."""
    marker = json.loads((out / "work/identities.json").read_text())
    events = [{k: v for k, v in json.loads(line).items() if k != "time"}
              for line in (out / "events.jsonl").read_text().splitlines()]
    return {"final": marker["final"], "online": marker["online"], "events": events,
            "tracks": {p.name: p.read_text() for p in sorted((out / "tracks").glob("*.txt"))},
            "eval": json.loads((out / "eval.json").read_text())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=Path, help="synthetic scenes (site.json, CAM.mp4, gt/); default: render")
    ap.add_argument("--synth", type=Path, default=REPO / "configs/synth/demo.yaml", help="world to render")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gt-dets", action="store_true", help="ground-truth boxes instead of the detector")
    ap.add_argument("--embedder", help="re-id model (default: the built-in one)")
    ap.add_argument("--config", type=Path, help="job YAML (pipeline:, identity:)")
    ap.add_argument("--num-cpus", type=int, default=2, help="CPUs of the local Ray head")
    ap.add_argument("--out", type=Path, default=REPO / "runs/bench/ray")
    args = ap.parse_args()
    from tests.site_servers import RayHead, RayStartTimeout

    scenes = args.scenes or render(args.synth, args.seed, args.out / "world")
    cams = len(json.loads((scenes / "site.json").read_text())["cameras"])
    local = reid(scenes, args.out / "inprocess", args, [])
    print(f"in-process: {local:.1f} s ({cams} cameras, {scenes})", flush=True)
    t0 = time.perf_counter()
    try:
        head = RayHead(num_cpus=args.num_cpus)
    except RayStartTimeout as exc:
        raise SystemExit(f"Ray did not start (a starved machine misses Ray's own start-up deadlines): {exc}") from None
    try:
        started = time.perf_counter() - t0
        remote = reid(scenes, args.out / "ray", args, ["--executor", "ray", "--ray-address", head.address])
    finally:
        head.close()
    left = head.processes()
    print(f"ray ({args.num_cpus} CPUs): {remote:.1f} s job + {started:.1f} s head start-up", flush=True)
    same = results(args.out / "ray") == results(args.out / "inprocess")
    print(f"identical results: {'yes' if same else 'NO'}; ray processes left: {len(left)}")
    if not same or left:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
