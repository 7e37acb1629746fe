"""Offline identities: average-linkage agglomerative clustering on cosine distance with cannot-links.

Cannot-links come from the site rules (two tracklets at once in non-overlapping cameras, a transit faster
than its minimum, two passes through a camera that people pass once); a cannot-link between two tracklets
forbids every merge of clusters that hold them. The max-transit rule adds ``transit_penalty`` to the pair's
distance (soft). After clustering, a reassignment pass moves each tracklet to the cluster whose mean distance
is lowest if that is allowed and clearly better.
Deterministic: ties break on the lowest index, no randomness.
"""

from __future__ import annotations

import numpy as np

from streid.pipeline.identity.constraints import Constraints
from streid.pipeline.identity.records import TrackletObs


def unit64(x: np.ndarray) -> np.ndarray:
    """Rows L2-normalised in float64: the dense and sparse methods both start here, so their distances agree to
    float64 rounding and their merge order is the same."""
    x = np.array(x, np.float64)  # a copy, divided in place; the norms without an N x D temporary (1M x 128: 1 GB)
    x /= np.maximum(np.sqrt(np.einsum("ij,ij->i", x, x)), 1e-12)[:, None]
    return x


def pair_matrices(tracklets: list[TrackletObs], constraints: Constraints) -> tuple[np.ndarray, np.ndarray]:
    """(N, N) distance (cosine + transit penalty) and boolean cannot-link matrices."""
    emb = unit64(np.stack([t.embedding for t in tracklets]))
    dist = np.clip(1.0 - emb @ emb.T, 0.0, 2.0)
    n = len(tracklets)
    cannot = np.zeros((n, n), bool)
    spans = [t.span for t in tracklets]
    start = np.array([s[1] for s in spans])
    end = np.array([s[2] for s in spans])
    # Only pairs that overlap in time, are in cameras with a transit window, or (one pass per camera) share a
    # camera can be constrained.
    cams = sorted({s[0] for s in spans})
    cam_idx = np.array([cams.index(s[0]) for s in spans])
    windowed = np.array([[frozenset((a, b)) in constraints.windows or (a == b and constraints.max_pass_s is not None)
                          for b in cams] for a in cams], bool)
    for i in range(n):
        candidates = ((start <= end[i] + constraints.tolerance_s) & (end >= start[i])) | windowed[cam_idx[i], cam_idx]
        for j in np.flatnonzero(candidates):
            if j <= i:
                continue
            if not constraints.compatible(spans[i], spans[j]):
                cannot[i, j] = cannot[j, i] = True
            else:
                p = constraints.penalty(spans[i], spans[j])
                dist[i, j] += p
                dist[j, i] += p
    np.fill_diagonal(dist, 0.0)
    return dist, cannot


def agglomerate(dist: np.ndarray, cannot: np.ndarray, threshold: float) -> np.ndarray:
    """Average-linkage labels (0..K-1, in order of first member); merges stop at ``threshold``.

    Keeps each row's nearest allowed cluster so one merge costs O(N) plus the rows whose nearest changed.
    """
    n = len(dist)
    d = dist.astype(np.float64).copy()
    cl = cannot.copy()
    size = np.ones(n)
    active = np.ones(n, bool)
    blocked = np.full((n, n), np.inf)
    np.fill_diagonal(cl, True)

    def row_best(k: int) -> tuple[float, int]:
        r = np.where(cl[k] | ~active, blocked[k], d[k])
        j = int(np.argmin(r))
        return float(r[j]), j

    best = np.empty(n)
    arg = np.empty(n, np.int64)
    for k in range(n):
        best[k], arg[k] = row_best(k)
    members = {k: [k] for k in range(n)}
    while True:
        masked = np.where(active, best, np.inf)
        i = int(np.argmin(masked))
        if not np.isfinite(masked[i]) or masked[i] > threshold:
            break
        j = int(arg[i])
        a, b = min(i, j), max(i, j)
        d[a] = (size[a] * d[a] + size[b] * d[b]) / (size[a] + size[b])
        d[:, a] = d[a]
        cl[a] |= cl[b]
        cl[:, a] = cl[a]
        size[a] += size[b]
        active[b] = False
        members[a].extend(members.pop(b))
        best[b] = np.inf
        redo = active & ((arg == a) | (arg == b))
        redo[a] = True
        closer = active & ~redo & ~cl[:, a] & (d[:, a] < best)
        best[closer], arg[closer] = d[closer, a], a
        for k in np.flatnonzero(redo):
            best[k], arg[k] = row_best(k)
    labels = np.empty(n, np.int64)
    for new, root in enumerate(sorted(members, key=lambda r: min(members[r]))):
        labels[members[root]] = new
    return labels


def reassign(labels: np.ndarray, dist: np.ndarray, cannot: np.ndarray, threshold: float,
             margin: float = 0.05, max_rounds: int = 3) -> np.ndarray:
    """Move a tracklet to the cluster with the lowest mean distance when allowed, within ``threshold`` and
    ``margin`` better than its own cluster (a singleton's own distance counts as ``threshold``)."""
    labels = labels.copy()
    n = len(labels)
    k = int(labels.max()) + 1
    onehot = np.zeros((n, k))
    onehot[np.arange(n), labels] = 1.0
    sums = dist @ onehot
    clashes = cannot.astype(np.float64) @ onehot
    counts = onehot.sum(axis=0)
    for _ in range(max_rounds):
        moved = False
        for i in range(n):
            own = labels[i]
            own_mean = (sums[i, own] - dist[i, i]) / (counts[own] - 1) if counts[own] > 1 else threshold
            with np.errstate(divide="ignore", invalid="ignore"):
                mean = np.where(counts > 0, sums[i] / counts, np.inf)
            mean[clashes[i] > 0] = np.inf
            mean[own] = np.inf
            target = int(np.argmin(mean))
            if mean[target] <= threshold and mean[target] < own_mean - margin:
                labels[i] = target
                sums[:, own] -= dist[:, i]
                sums[:, target] += dist[:, i]
                clashes[:, own] -= cannot[:, i]
                clashes[:, target] += cannot[:, i]
                counts[own] -= 1
                counts[target] += 1
                moved = True
        if not moved:
            break
    _, first = np.unique(labels, return_index=True)
    order = {lab: new for new, lab in enumerate(labels[np.sort(first)])}
    return np.array([order[lab] for lab in labels], np.int64)


def cluster_tracklets(tracklets: list[TrackletObs], constraints: Constraints | None = None,
                      threshold: float = 0.35, method: str = "sparse") -> np.ndarray:
    """Global identity label per tracklet (0-based), respecting every cannot-link.

    ``method``: ``sparse`` (default; FAISS candidate graph, memory linear in N) or ``dense`` (N x N matrices, the
    reference the sparse method is tested against).
    """
    if method == "sparse":
        from streid.pipeline.identity.sparse_cluster import cluster_sparse

        return cluster_sparse(tracklets, constraints, threshold)
    if method != "dense":
        raise ValueError(f"clustering method {method!r}: use sparse or dense")
    if not tracklets:
        return np.zeros(0, np.int64)
    dist, cannot = pair_matrices(tracklets, constraints or Constraints())
    return reassign(agglomerate(dist, cannot, threshold), dist, cannot, threshold)
