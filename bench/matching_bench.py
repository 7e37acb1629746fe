"""Figures for cross-camera matching: online cost per tracklet vs gallery size, offline clustering time,
store write throughput. Prints one line per figure.

    .venv/bin/python bench/matching_bench.py [--dim 256] [--sizes 1000 10000] [--cluster 500 1000 2000]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from streid.pipeline.identity.cluster import cluster_tracklets
from streid.pipeline.identity.matcher import OnlineMatcher
from streid.pipeline.identity.records import Decision, TrackletObs, normalise
from streid.pipeline.identity.store import SqliteStore


def bench_matching(dim: int, sizes: list[int], batch: int) -> None:
    rng = np.random.default_rng(0)
    m = OnlineMatcher(dim, gate=0.35, max_exemplars=8)
    done = 0
    for n in sorted(sizes):
        # Fill fast with restore(): identities with a full set of exemplars, far apart in time.
        while len(m.identities) < n:
            base = normalise(rng.standard_normal(dim))
            for k in range(m.max_exemplars):
                noisy = normalise(base + 0.3 * rng.standard_normal(dim) / np.sqrt(dim))
                m.restore(TrackletObs(f"cam{done % 4}", done * 100 + k, done * 1000.0, done * 1000.0 + 5, noisy),
                          len(m.identities) + 1 if k == 0 else len(m.identities))
            done += 1
        queries = normalise(rng.standard_normal((200, dim)))
        t0 = time.perf_counter()
        for q in range(0, len(queries), batch):
            m.update([TrackletObs("q", 10_000_000 + done * 1000 + q + j, 1e9, 1e9 + 1, queries[q + j])
                      for j in range(min(batch, len(queries) - q))])
        ms = (time.perf_counter() - t0) * 1000 / len(queries)
        print(f"matching: gallery {n:>6} identities x {m.max_exemplars} exemplar slots, dim {dim}, "
              f"batch {batch}: {ms:.2f} ms per tracklet")


def bench_cluster(dim: int, counts: list[int]) -> None:
    rng = np.random.default_rng(1)
    for n in counts:
        ids = max(1, n // 8)
        centres = normalise(rng.standard_normal((ids, dim)))
        obs = []
        for i in range(n):
            p = i % ids
            t0 = 600.0 * p + 30.0 * (i // ids)
            obs.append(TrackletObs(f"cam{i % 4}", i, t0, t0 + 10.0,
                                   normalise(centres[p] + 0.4 * rng.standard_normal(dim) / np.sqrt(dim))))
        t0 = time.perf_counter()
        labels = cluster_tracklets(obs, threshold=0.35)
        s = time.perf_counter() - t0
        print(f"offline clustering: {n:>5} tracklets ({ids} true ids) -> {labels.max() + 1} clusters in {s:.2f} s")


def bench_store(dim: int, n: int, batch: int) -> None:
    rng = np.random.default_rng(2)
    emb = normalise(rng.standard_normal((n, dim)))
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(tmp, store_crops=False)
        t0 = time.perf_counter()
        for s in range(0, n, batch):
            obs = [TrackletObs(f"cam{i % 4}", i, float(i), i + 1.0, emb[i]) for i in range(s, min(n, s + batch))]
            store.put_tracklets(obs)
            store.put_decisions([Decision(o.camera, o.track_id, o.track_id, "new", None, None, None, o.t_start,
                                          o.t_end) for o in obs])
        dt = time.perf_counter() - t0
        store.close()
    print(f"store: {n} tracklets (+{n} decisions, {n} float32x{dim} vectors) in batches of {batch}: "
          f"{n / dt:.0f} tracklet records/s, {n / dt:.0f} vectors/s ({2 * n / dt:.0f} rows/s incl. events)")
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(tmp, store_crops=False)
        t0 = time.perf_counter()
        for i in range(min(n, 2000)):
            store.put_tracklets([TrackletObs("cam0", i, float(i), i + 1.0, emb[i])])
        dt = time.perf_counter() - t0
        store.close()
    print(f"store: one transaction per tracklet: {min(n, 2000) / dt:.0f} records/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--batch", type=int, default=4, help="tracklets arriving together (joint assignment)")
    ap.add_argument("--cluster", type=int, nargs="+", default=[500, 1000, 2000])
    ap.add_argument("--store-n", type=int, default=20000)
    args = ap.parse_args()
    bench_matching(args.dim, args.sizes, args.batch)
    bench_cluster(args.dim, args.cluster)
    bench_store(args.dim, args.store_n, 100)


if __name__ == "__main__":
    main()
