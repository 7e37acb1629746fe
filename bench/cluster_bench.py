"""Offline clustering at real sizes: time and peak RSS of the sparse (FAISS candidate graph) method, with the
dense N x N method beside it where it fits. Each run is its own process, so each peak RSS is its own.

    .venv/bin/python bench/cluster_bench.py [--sizes 10000 100000 1000000] [--dense-max 10000] [--dim 128]

Synthetic site: N/8 people, each seen 8 times on average in 16 cameras over N/4 seconds (a busy site keeps about
a hundred people in view at once), embeddings = person centre + noise, site rules with transit windows.
The dense method holds N x N matrices (about 26 N^2 bytes: 2.5 GB at 10k, 250 GB at 100k), hence --dense-max.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

import numpy as np


def synthetic(n: int, dim: int, seed: int = 0):
    from streid.pipeline.identity.constraints import Constraints
    from streid.pipeline.identity.records import TrackletObs, normalise

    rng = np.random.default_rng(seed)
    people = max(1, n // 8)
    centres = normalise(rng.standard_normal((people, dim)))
    who = rng.integers(people, size=n)
    emb = normalise(centres[who] + 0.45 * rng.standard_normal((n, dim)).astype(np.float32) / np.sqrt(dim))
    start = rng.uniform(0, n / 4.0, size=n)
    length = rng.uniform(2.0, 30.0, size=n)
    cam = rng.integers(16, size=n)
    obs = [TrackletObs(f"cam{c:02d}", i, s, s + le, e)
           for i, (c, s, le, e) in enumerate(zip(cam.tolist(), start.tolist(), length.tolist(), emb, strict=True))]
    windows = {frozenset((f"cam{a:02d}", f"cam{a + 1:02d}")): (3.0, 120.0) for a in range(0, 16, 2)}
    return obs, who, Constraints(windows=windows, tolerance_s=0.5)


def run_one(n: int, method: str, dim: int) -> None:
    from streid.pipeline.identity.cluster import cluster_tracklets

    obs, who, constraints = synthetic(n, dim)
    t0, c0 = time.perf_counter(), _cpu()
    labels = cluster_tracklets(obs, constraints, threshold=0.35, method=method)
    seconds, cpu = time.perf_counter() - t0, _cpu() - c0
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    # purity: share of tracklets whose cluster's majority person is their own person
    order = np.lexsort((who, labels))
    pairs = np.stack([labels[order], who[order]], 1)
    _, counts = np.unique(pairs, axis=0, return_counts=True)
    uniq = np.unique(pairs, axis=0)
    best = np.zeros(int(labels.max()) + 1)
    np.maximum.at(best, uniq[:, 0], counts)
    print(f"RESULT {n} {method} {seconds:.1f} {cpu:.1f} {rss_gb:.2f} {labels.max() + 1} {best.sum() / n:.3f}",
          flush=True)


def _cpu() -> float:
    """CPU seconds of this process (all threads): on a shared machine the wall time is partly waiting."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--dense-max", type=int, default=10_000, help="largest N to run the dense method at")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--one", nargs=2, metavar=("N", "METHOD"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        run_one(int(args.one[0]), args.one[1], args.dim)
        return
    for n in args.sizes:
        for method in ("sparse", "dense") if n <= args.dense_max else ("sparse",):
            out = subprocess.run([sys.executable, __file__, "--one", str(n), method, "--dim", str(args.dim)],
                                 capture_output=True, text=True)
            line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT")), None)
            if line is None:
                print(f"offline clustering {method:>6}: {n:>8} tracklets failed: {out.stderr.strip()[-300:]}")
                continue
            _, _, _, s, cpu, rss, k, purity = line.split()
            print(f"offline clustering {method:>6}: {n:>8} tracklets (dim {args.dim}) -> {k} clusters, "
                  f"purity {purity}, {s} s wall ({cpu} s CPU), peak RSS {rss} GB", flush=True)


if __name__ == "__main__":
    main()
