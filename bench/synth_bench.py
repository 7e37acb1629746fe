"""Figures for the synthetic world (issue 3). Prints them; run from the repo root:

    .venv/bin/python bench/synth_bench.py [--workers 2] [--crops 8000] [--out /tmp/synth_bench]

(a) 256x128 tracklet crops rendered and written per second (MARS layout, JPEG), with run.workers processes;
(b) seconds to render and encode a 3-camera, 60 s, 15 fps, 640x360 scene (2,700 frames) with ground truth;
(c) a trivial appearance baseline on the `target` world's test split: HSV colour histograms (whole crop, two
    horizontal stripes, two stripes of the crop's centre column) averaged over each tracklet, cosine distance,
    MARS protocol (gallery = all test tracklets; same identity in the same camera is excluded),
    mAP and rank-1. If it reaches 60% mAP the world is too easy.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import scipy.io

from streid.config import load_config
from streid.train.synth.build import synthesize
from streid.train.synth.parallel import world_map
from streid.train.synth.reid_writer import TrackletWriter, plan_tracklets
from streid.train.synth.world import World

REPO = Path(__file__).resolve().parents[1]


def crops_per_second(out: Path, workers: int, target_crops: int) -> tuple[float, int]:
    cfg = load_config(REPO / "configs/synth/target.yaml").synth
    world = World(cfg, 0)
    jobs, total = [], 0
    for job in plan_tracklets(world):
        jobs.append(job)
        total += job.frames
        if total >= target_crops:
            break
    root = out / "crops"
    shutil.rmtree(root, ignore_errors=True)
    start = time.perf_counter()
    written = sum(world_map(world, TrackletWriter(root), jobs, workers, chunksize=4))
    return written / (time.perf_counter() - start), written


def scene_seconds(out: Path, workers: int) -> float:
    cfg = load_config(
        REPO / "configs/synth/target.yaml",
        [
            "synth.scenes.cameras=3",
            "synth.scenes.duration_s=60",
            "synth.scenes.fps=15",
            "synth.scenes.width=640",
            "synth.scenes.height=360",
        ],
    ).synth
    target = out / "scene"
    shutil.rmtree(target, ignore_errors=True)
    start = time.perf_counter()
    synthesize(cfg, 0, target, parts=("scenes",), workers=workers)
    return time.perf_counter() - start


def _hist(image: np.ndarray, stripes: int) -> np.ndarray:
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    parts = np.array_split(hsv, stripes, axis=0)
    feats = [cv2.calcHist([p], [0, 1, 2], None, [16, 4, 4], [0, 180, 0, 256, 0, 256]).ravel() for p in parts]
    feat = np.concatenate([f / max(f.sum(), 1.0) for f in feats])
    return np.sqrt(feat)  # Hellinger map, so cosine on it compares distributions sensibly


def evaluate(
    dist: np.ndarray, q_pids: np.ndarray, g_pids: np.ndarray, q_cams: np.ndarray, g_cams: np.ndarray
) -> tuple[float, float]:
    """MARS/market protocol: drop gallery entries of the same identity AND camera; mAP and rank-1."""
    aps, r1 = [], []
    for i in range(len(q_pids)):
        keep = ~((g_pids == q_pids[i]) & (g_cams == q_cams[i]))
        order = np.argsort(dist[i][keep], kind="stable")
        match = (g_pids[keep] == q_pids[i])[order]
        if not match.any():
            continue
        hits = np.cumsum(match)
        precision = hits[match] / (np.nonzero(match)[0] + 1)
        aps.append(precision.mean())
        r1.append(float(match[0]))
    return float(np.mean(aps)), float(np.mean(r1))


def baseline(out: Path, workers: int, overrides: list[str]) -> tuple[dict[str, tuple[float, float]], int]:
    cfg = load_config(REPO / "configs/synth/target.yaml", overrides).synth
    shutil.rmtree(out / "target", ignore_errors=True)  # always measure what this code renders now
    synthesize(cfg, 0, out / "target", parts=("reid",), workers=workers)
    root = out / "target" / "reid"
    names = (root / "info" / "test_name.txt").read_text().split()
    tracks = scipy.io.loadmat(root / "info" / "tracks_test_info.mat")["track_test_info"].astype(int)
    query = scipy.io.loadmat(root / "info" / "query_IDX.mat")["query_IDX"].ravel().astype(int) - 1
    variants = {"whole crop": (1, False), "2 stripes": (2, False), "centre 2 stripes": (2, True)}
    feats: dict[str, list[np.ndarray]] = {name: [] for name in variants}
    for start, end, _, _ in tracks:
        imgs = [cv2.imread(str(root / "bbox_test" / n[:4] / n)) for n in names[start - 1 : end]]
        for name, (stripes, centre) in variants.items():
            crops = [im[:, im.shape[1] * 3 // 10 : im.shape[1] * 7 // 10] if centre else im for im in imgs]
            feats[name].append(np.mean([_hist(im, stripes) for im in crops], axis=0))
    results = {}
    for name, rows in feats.items():
        f = np.asarray(rows)
        f /= np.linalg.norm(f, axis=1, keepdims=True)
        dist = 1.0 - f[query] @ f.T
        results[name] = evaluate(dist, tracks[query, 2], tracks[:, 2], tracks[query, 3], tracks[:, 3])
    return results, len(query)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--crops", type=int, default=8000)
    parser.add_argument("--out", type=Path, default=Path("/tmp/synth_bench"))
    parser.add_argument("--only", default="a,b,c")
    parser.add_argument("--set", action="append", default=[], help="override for the target world in (c)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if "a" in args.only:
        rate, n = crops_per_second(args.out, args.workers, args.crops)
        print(f"(a) tracklet crops 256x128 rendered+written: {rate:.0f} crops/s ({n} crops, {args.workers} workers)")
    if "b" in args.only:
        print(
            f"(b) 3 cameras x 60 s x 15 fps @ 640x360 rendered+encoded: {scene_seconds(args.out, args.workers):.1f} s"
        )
    if "c" in args.only:
        results, nq = baseline(args.out, args.workers, args.set)
        shown = "; ".join(f"{name}: mAP {m:.1%} rank-1 {r:.1%}" for name, (m, r) in results.items())
        print(f"(c) HSV-histogram baseline on target test split ({nq} queries): {shown}")


if __name__ == "__main__":
    main()
