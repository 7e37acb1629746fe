"""The vectorised re-ranking equals the straightforward all-pairs implementation it replaced."""

from __future__ import annotations

import numpy as np
import pytest

from streid.train.eval.rerank import _top_ranks, re_ranking


def reference(qf: np.ndarray, gf: np.ndarray, k1: int, k2: int, lambda_value: float = 0.3) -> np.ndarray:
    """The previous loop-over-all-pairs implementation, kept verbatim as the oracle."""
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


def clustered(seed: int, nq: int, ng: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(ng // 4, dim))
    gf = np.repeat(centres, 4, axis=0) + 0.3 * rng.normal(size=(ng, dim))
    qf = centres[rng.integers(0, len(centres), nq)] + 0.3 * rng.normal(size=(nq, dim))
    return tuple(x / np.linalg.norm(x, axis=1, keepdims=True) for x in (qf, gf))


@pytest.mark.parametrize(
    ("seed", "nq", "ng", "k1", "k2"), [(0, 30, 120, 20, 6), (1, 10, 48, 6, 3), (2, 5, 8, 20, 6), (3, 20, 100, 5, 1)]
)
def test_matches_all_pairs_reference(seed: int, nq: int, ng: int, k1: int, k2: int) -> None:
    qf, gf = clustered(seed, nq, ng, 16)
    want, got = reference(qf, gf, k1, k2), re_ranking(qf, gf, k1, k2)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)  # only summation order differs
    assert (np.argsort(got, axis=1, kind="stable") == np.argsort(want, axis=1, kind="stable")).all()


def test_matches_reference_with_duplicate_features() -> None:
    """Exact ties in distance: the partial sort must break them as the stable full sort does."""
    qf, gf = np.repeat(np.eye(4)[:2], 2, axis=0), np.repeat(np.eye(4), 3, axis=0)
    np.testing.assert_allclose(re_ranking(qf, gf, 5, 3), reference(qf, gf, 5, 3), rtol=0, atol=1e-12)


def test_top_ranks_is_the_stable_argsort_prefix() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        d = rng.integers(0, 4, size=(6, 11)).astype(np.float64)  # many ties
        for m in (1, 3, 7, 11, 15):
            assert (_top_ranks(d, m) == np.argsort(d, axis=1, kind="stable")[:, :m]).all()
