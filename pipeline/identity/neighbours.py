"""Nearest-neighbour index over tracklet embeddings (FAISS): candidate pairs for clustering, top hits for search.

Why a radius graph and not a fixed-k graph: average linkage merges two clusters only when the mean distance of
their member pairs is within the threshold, so at least one member pair is within it. Keeping every pair within
``radius >= threshold`` therefore loses no merge the dense method would make (a fixed k would, for an identity
with more than k tracklets). Up to ``exact_limit`` vectors the index is exact (flat inner product); above it an
inverted-file index (IVF) trades a little recall for time, which ``bench/cluster_bench.py`` measures.
"""

from __future__ import annotations

import numpy as np

EXACT_LIMIT = 50_000
MARGIN = 1e-4  # float32 inner products: widen the radius so a pair exactly at the threshold is never lost


def _faiss():
    try:
        import faiss
    except ModuleNotFoundError as exc:  # pragma: no cover - a pinned dependency
        raise ValueError(f"the neighbour index needs faiss-cpu ({exc})") from None
    return faiss


class VectorIndex:
    """Inner-product index over L2-normalised float32 rows; exact up to ``exact_limit`` rows, IVF above."""

    def __init__(self, vectors: np.ndarray, exact_limit: int = EXACT_LIMIT, nprobe: int = 16, seed: int = 0) -> None:
        faiss = _faiss()
        x = np.ascontiguousarray(vectors, np.float32)
        self.n, self.dim = x.shape
        self.exact = self.n <= exact_limit
        if self.exact:
            self.index = faiss.IndexFlatIP(self.dim)
        else:
            nlist = int(4 * np.sqrt(self.n))
            quantizer = faiss.IndexFlatIP(self.dim)
            self.index = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
            sample = np.random.default_rng(seed).choice(self.n, min(self.n, 40 * nlist), replace=False)
            self.index.train(x[np.sort(sample)])
            self.index.nprobe = nprobe
        self.index.add(x)

    def within(self, queries: np.ndarray, radius: float, chunk: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
        """(query row, index row) of every pair with cosine distance <= ``radius`` (+ a float32 margin)."""
        q_all, r_all = [], []
        for s in range(0, len(queries), chunk):
            q = np.ascontiguousarray(queries[s:s + chunk], np.float32)
            lims, _, idx = self.index.range_search(q, float(1.0 - radius - MARGIN))
            q_all.append(np.repeat(np.arange(s, s + len(q), dtype=np.int64), np.diff(lims.astype(np.int64))))
            r_all.append(idx.astype(np.int64))
        if not q_all:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(q_all), np.concatenate(r_all)

    def nearest(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` rows with the largest inner product with one (unnormalised) query: (rows, products)."""
        sims, idx = self.index.search(np.ascontiguousarray(query.reshape(1, -1), np.float32), min(k, self.n))
        keep = idx[0] >= 0
        return idx[0][keep].astype(np.int64), sims[0][keep].astype(np.float64)


def candidate_graph(emb: np.ndarray, radius: float, exact_limit: int = EXACT_LIMIT) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric CSR (indptr, indices) of pairs within cosine ``radius``; no self loops, neighbours sorted."""
    n = len(emb)
    index = VectorIndex(emb, exact_limit)
    rows, cols = index.within(emb, radius)
    keep = rows != cols
    rows, cols = rows[keep], cols[keep]
    # IVF may find (i, j) and not (j, i): symmetrise, then sort and deduplicate.
    rows, cols = np.concatenate([rows, cols]), np.concatenate([cols, rows])
    key = np.unique(rows * n + cols)
    rows, cols = key // n, key % n
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return indptr, cols
