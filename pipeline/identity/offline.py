"""Offline pass over a store: cluster every tracklet with embeddings and rewrite global ids.

Cluster labels are mapped back to the online ids they overlap most (Hungarian on shared tracklets), so an id
a user already saw survives when the clustering agrees with it; clusters with no online counterpart get
fresh ids above the largest one in use. Each change is recorded as an ``offline`` event.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from streid.pipeline.identity.centering import centre_all
from streid.pipeline.identity.cluster import cluster_tracklets
from streid.pipeline.identity.constraints import Constraints
from streid.pipeline.identity.store import Store


def keep_online_ids(labels: np.ndarray, online: list[int | None]) -> np.ndarray:
    """Global id per tracklet: cluster labels renamed to the best-overlapping online ids.

    The Hungarian assignment runs per connected group of (cluster, online id) overlaps: the optimum splits over
    them, and no K x K matrix is built for a store of millions of tracklets.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    known = sorted({g for g in online if g is not None})
    k = int(labels.max()) + 1 if len(labels) else 0
    col = {g: i for i, g in enumerate(known)}
    pairs = [(int(lab), col[g]) for lab, g in zip(labels, online, strict=True) if g is not None]
    name: dict[int, int] = {}
    if pairs and k:
        r, c = np.array(pairs).T
        overlap = coo_matrix((np.ones(len(r)), (r, c)), shape=(k, len(known))).tocsr()  # duplicates summed
        graph = coo_matrix((np.ones(len(r)), (r, k + c)), shape=(k + len(known),) * 2)
        _, comp = connected_components(graph, directed=False)
        rows_by = {}
        for lab in np.unique(r):
            rows_by.setdefault(int(comp[lab]), []).append(int(lab))
        for group in rows_by.values():
            cols = np.unique(overlap[group].indices)
            block = overlap[group][:, cols].toarray()
            for i, j in zip(*linear_sum_assignment(-block), strict=True):
                if block[i, j] > 0:
                    name[group[i]] = known[int(cols[j])]
    nxt = (max(known) if known else 0) + 1
    for lab in range(k):
        if lab not in name:
            name[lab], nxt = nxt, nxt + 1
    return np.array([name[int(lab)] for lab in labels], np.int64)


def relabel_store(
    store: Store, constraints: Constraints | None = None, threshold: float = 0.35, centre: bool = False
) -> dict[tuple[str, int], int]:
    """Cluster the store's tracklets and write the changed ids; returns the full key -> global id map.

    ``centre``: re-centre every embedding on its camera's final mean first (the online pass centred each with
    the running mean of its time; see identity/centering.py)."""
    rows = [t for t in store.tracklets() if t.embedding is not None]
    embs = [t.embedding for t in rows]
    if centre and rows:
        embs = list(centre_all(np.stack(embs), [t.camera for t in rows]))
    obs = [t.obs(e) for t, e in zip(rows, embs, strict=True)]
    labels = cluster_tracklets(obs, constraints, threshold)
    gids = keep_online_ids(labels, [t.global_id for t in rows])
    result = {(t.camera, t.track_id): int(g) for t, g in zip(rows, gids, strict=True)}
    changed = {k: g for t, (k, g) in zip(rows, result.items(), strict=True) if t.global_id != g}
    if changed:
        store.set_global_ids(changed, "offline")
    return result
