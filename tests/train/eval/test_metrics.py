"""evaluate_rank pinned on hand-made cases and checked against a loop-based reference."""

from __future__ import annotations

import numpy as np
import pytest

from streid.train.eval import evaluate_rank


def reference(dist, qp, gp, qc, gc, max_rank):
    """Straightforward per-query loops, written independently of the vectorised version."""
    cmc, aps, inps, valid = np.zeros(max_rank), [], [], 0
    for i in range(len(qp)):
        ranked = sorted(range(len(gp)), key=lambda j: (dist[i][j], j))
        ranked = [j for j in ranked if gp[j] != -1 and not (gp[j] == qp[i] and gc[j] == qc[i])]
        good = [r for r, j in enumerate(ranked) if gp[j] == qp[i]]
        if not good:
            continue
        valid += 1
        for r in range(good[0], max_rank):
            cmc[r] += 1
        aps.append(sum((n + 1) / (r + 1) for n, r in enumerate(good)) / len(good))
        inps.append(len(good) / (good[-1] + 1))
    return cmc / valid, np.mean(aps), np.mean(inps), valid


def test_hand_made_case() -> None:
    # gallery: 0=(pid1,cam2) 1=(pid2,cam2) 2=(pid1,cam1: same cam, excluded) 3=(junk) 4=(pid1,cam3)
    gp, gc = np.array([1, 2, 1, -1, 1]), np.array([2, 2, 1, 2, 3])
    dist = np.array([[0.5, 0.1, 0.0, 0.05, 0.9]])
    r = evaluate_rank(dist, np.array([1]), gp, np.array([1]), gc, max_rank=3)
    # kept ranking: g1 (wrong), g0 (right), g4 (right) -> first hit at rank 2
    assert r["cmc"].tolist() == [0.0, 1.0, 1.0]
    assert r["mAP"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert r["mINP"] == pytest.approx(2 / 3)
    assert (r["num_valid_queries"], r["num_skipped"]) == (1, 0)


def test_ties_break_by_gallery_order_and_no_match_skipped() -> None:
    gp, gc = np.array([2, 1, 1]), np.array([0, 0, 0])
    dist = np.zeros((2, 3))
    r = evaluate_rank(dist, np.array([1, 7]), gp, np.array([1, 1]), gc, max_rank=3)
    assert r["num_valid_queries"] == 1 and r["num_skipped"] == 1
    assert r["cmc"].tolist() == [0.0, 1.0, 1.0]
    assert r["mAP"] == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_only_same_camera_match_is_skipped() -> None:
    r = evaluate_rank(np.zeros((1, 2)), np.array([1]), np.array([1, 2]), np.array([0]), np.array([0, 1]), max_rank=2)
    assert r["num_skipped"] == 1 and r["num_valid_queries"] == 0 and r["mAP"] == 0.0


def test_agrees_with_reference_on_random_matrices() -> None:
    rng = np.random.default_rng(0)
    for _ in range(5):
        nq, ng = 15, 60
        qp, gp = rng.integers(0, 8, nq), rng.integers(-1, 8, ng)
        qc, gc = rng.integers(0, 3, nq), rng.integers(0, 3, ng)
        dist = rng.random((nq, ng)).round(1)  # rounding creates ties
        r = evaluate_rank(dist, qp, gp, qc, gc, max_rank=10)
        cmc, m_ap, minp, valid = reference(dist, qp, gp, qc, gc, 10)
        assert r["num_valid_queries"] == valid and r["num_skipped"] == nq - valid
        np.testing.assert_allclose(r["cmc"], cmc)
        assert r["mAP"] == pytest.approx(m_ap) and r["mINP"] == pytest.approx(minp)


def test_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="does not match"):
        evaluate_rank(np.zeros((2, 3)), np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(3))
