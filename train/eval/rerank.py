"""k-reciprocal re-ranking (Zhong et al., CVPR 2017), written from the paper's algorithm.

Final distance = (1 - lambda) * Jaccard distance of k-reciprocal encodings + lambda * original distance.
"""

from __future__ import annotations

import numpy as np


def re_ranking(qf: np.ndarray, gf: np.ndarray, k1: int = 20, k2: int = 6, lambda_value: float = 0.3) -> np.ndarray:
    """Re-ranked (Nq, Ng) distance matrix from L2-normalised query/gallery features."""
    feats = np.concatenate([qf, gf]).astype(np.float64)
    nq, n = len(qf), len(qf) + len(gf)
    sq = (feats**2).sum(1)
    dist = np.maximum(sq[:, None] + sq[None, :] - 2 * feats @ feats.T, 0.0)
    original = dist / np.maximum(dist.max(axis=0, keepdims=True), 1e-12)
    rank = np.argsort(original, axis=1, kind="stable")
    k1 = min(k1, n - 1)

    def reciprocal(i: int, k: int) -> np.ndarray:
        forward = rank[i, : k + 1]
        backward = rank[forward, : k + 1]
        return forward[np.any(backward == i, axis=1)]

    v = np.zeros((n, n), dtype=np.float64)
    for i in range(n):
        r = reciprocal(i, k1)
        expanded = r
        for c in r:
            rc = reciprocal(int(c), round(k1 / 2))
            if len(np.intersect1d(rc, r)) > 2 / 3 * len(rc):
                expanded = np.union1d(expanded, rc)
        w = np.exp(-original[i, expanded])
        v[i, expanded] = w / w.sum()
    if k2 > 1:
        v = np.stack([v[rank[i, :k2]].mean(axis=0) for i in range(n)])
    jaccard = np.zeros((nq, n), dtype=np.float64)
    for i in range(nq):
        mins = np.minimum(v[i][None, :], v).sum(axis=1)
        jaccard[i] = 1.0 - mins / (2.0 - mins)
    return ((1 - lambda_value) * jaccard + lambda_value * original[:nq])[:, nq:]
