"""Offline clustering: recovers synthetic identities, never merges across a cannot-link, relabels a store."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from streid.pipeline.identity.cluster import cluster_tracklets, pair_matrices
from streid.pipeline.identity.config import SiteConfig
from streid.pipeline.identity.constraints import Constraints
from streid.pipeline.identity.matcher import OnlineMatcher
from streid.pipeline.identity.offline import keep_online_ids, relabel_store
from streid.pipeline.identity.records import TrackletObs, normalise
from streid.pipeline.identity.store import SqliteStore


def synthetic(n_ids: int = 12, per_id: int = 6, dim: int = 64, noise: float = 0.25,
              seed: int = 0) -> tuple[list[TrackletObs], np.ndarray]:
    """Noisy unit vectors around random centres; each identity walks cam0 -> cam1 -> cam2 ... in turn."""
    rng = np.random.default_rng(seed)
    centres = normalise(rng.standard_normal((n_ids, dim)))
    obs, truth = [], []
    for p in range(n_ids):
        for k in range(per_id):
            t0 = 1000.0 * p + 20.0 * k
            emb = normalise(centres[p] + noise * rng.standard_normal(dim) / np.sqrt(dim))
            obs.append(TrackletObs(f"cam{k % 3}", p * 100 + k, t0, t0 + 10.0, emb))
            truth.append(p)
    return obs, np.array(truth)


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a[:, None] == a[None], b[:, None] == b[None]))


def test_recovers_identities_deterministically() -> None:
    obs, truth = synthetic()
    labels = cluster_tracklets(obs, threshold=0.4)
    assert same_partition(labels, truth)
    assert np.array_equal(labels, cluster_tracklets(obs, threshold=0.4))


def test_cannot_links_are_respected() -> None:
    """Two identical embeddings in cam0 and cam1 at the same time must end in different clusters."""
    obs, _ = synthetic(n_ids=3, per_id=3)
    twin = TrackletObs("cam1", 999, obs[0].t_start + 1.0, obs[0].t_end, obs[0].embedding.copy())
    obs.append(twin)
    constraints = Constraints.from_site(None)
    labels = cluster_tracklets(obs, constraints, threshold=0.4)
    _, cannot = pair_matrices(obs, constraints)
    assert cannot[0, len(obs) - 1]
    i, j = np.nonzero(cannot)
    assert np.all(labels[i] != labels[j])
    assert labels[0] != labels[-1]
    # with the two cameras declared overlapping, the twin may join
    overlap = Constraints.from_site(SiteConfig(overlaps=[("cam0", "cam1")]))
    assert cluster_tracklets(obs, overlap, threshold=0.4)[-1] == cluster_tracklets(obs, overlap, threshold=0.4)[0]


def test_offline_revises_online_ids_in_store(tmp_path: Path) -> None:
    """Noisy online matching with a tight gate fragments identities; the offline pass repairs them."""
    obs, truth = synthetic(n_ids=6, per_id=6, noise=0.6, seed=1)
    m = OnlineMatcher(64, gate=0.12)
    store = SqliteStore(tmp_path)
    for t in obs:
        store.put_tracklets([t])
        store.put_decisions(m.update([t]))
    online = np.array([m.global_id(t.key) for t in obs])
    assert len(set(online)) > 6  # fragmented online
    result = relabel_store(store, threshold=0.45)
    offline = np.array([result[t.key] for t in obs])
    assert same_partition(offline, truth)
    assert set(offline) <= set(online) | set(range(max(online) + 1, max(online) + 10))
    assert np.array_equal([t.global_id for t in store.tracklets(False)], offline)
    assert any(e["kind"] == "offline" for e in store.events())


def test_keep_online_ids_maps_by_overlap() -> None:
    labels = np.array([0, 0, 1, 1, 2])
    online = [7, 7, 3, 9, None]
    assert keep_online_ids(labels, online).tolist() == [7, 7, 3, 3, 10]


def busy_site(n: int, seed: int = 0) -> list[TrackletObs]:
    """Tracklets of n/8 people at random times in 4 cameras, noisy enough that merges and cannot-links compete;
    each walked sideways by a random share of the frame (a tenth of them unknown)."""
    rng = np.random.default_rng(seed)
    centres = normalise(rng.standard_normal((n // 8, 32)))
    obs = []
    for i in range(n):
        t0 = float(rng.uniform(0, 3.0 * n))
        emb = centres[rng.integers(len(centres))] + 0.5 * rng.standard_normal(32) / np.sqrt(32)
        dx = None if rng.random() < 0.1 else float(rng.uniform(-0.8, 0.8))
        obs.append(TrackletObs(f"cam{rng.integers(4)}", i, t0, t0 + float(rng.uniform(2, 30)), normalise(emb), dx))
    return obs


def test_sparse_clustering_equals_dense_with_site_rules() -> None:
    """The FAISS candidate-graph method gives the dense method's labels exactly, under every kind of site rule
    (overlapping cameras, a transit minimum with a soft maximum, a minimum alone, a time tolerance, one pass per
    camera, the sides of the frames a walk between two cameras passes)."""
    obs = busy_site(2000)
    site = Constraints(overlaps={frozenset(("cam0", "cam1"))}, tolerance_s=0.5,
                       windows={frozenset(("cam1", "cam2")): (5.0, 60.0), frozenset(("cam0", "cam3")): (10.0, None)})
    one_pass = Constraints(windows=site.windows, max_pass_s=60.0)
    sides = Constraints(windows=site.windows, sides={("cam1", "cam2"): 1, ("cam2", "cam1"): -1, ("cam3", "cam0"): 1})
    labels = []
    for constraints in (None, site, one_pass, sides):
        dense = cluster_tracklets(obs, constraints, threshold=0.35, method="dense")
        sparse = cluster_tracklets(obs, constraints, threshold=0.35, method="sparse")
        assert 100 < dense.max() + 1 < 1500  # merges happened, and not everything merged
        assert np.array_equal(dense, sparse)
        labels.append(sparse)
        if constraints is not None:
            _, cannot = pair_matrices(obs, constraints)
            i, j = np.nonzero(cannot)
            assert len(i) and np.all(sparse[i] != sparse[j])
    assert not np.array_equal(labels[0], labels[2])  # the one-pass rule changed the outcome
    assert not np.array_equal(labels[0], labels[3])  # and so did the side rule
