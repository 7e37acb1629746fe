"""CMC, mAP and mINP from a distance matrix (vectorised per query; pure numpy).

Conventions (as torchreid / the video re-id literature): gallery entries with the query's pid AND
camid are excluded, pid -1 gallery entries are junk (excluded), queries without any valid match
are skipped and counted. Ties are broken by gallery order (stable sort), so results are reproducible.
"""

from __future__ import annotations

from typing import Any

import numpy as np

JUNK_PID = -1


def evaluate_rank(
    distmat: np.ndarray,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_camids: np.ndarray,
    g_camids: np.ndarray,
    max_rank: int = 20,
) -> dict[str, Any]:
    """Return ``cmc`` (max_rank,), ``mAP``, ``mINP``, ``num_valid_queries``, ``num_skipped`` (fractions in 0..1)."""
    distmat = np.asarray(distmat, dtype=np.float64)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)
    nq, ng = distmat.shape
    if (len(q_pids), len(g_pids)) != (nq, ng) or len(q_camids) != nq or len(g_camids) != ng:
        raise ValueError(f"distmat {distmat.shape} does not match {len(q_pids)} queries / {len(g_pids)} gallery")
    order = np.argsort(distmat, axis=1, kind="stable")
    cmc_sum = np.zeros(max_rank, dtype=np.float64)
    aps: list[float] = []
    inps: list[float] = []
    for i in range(nq):
        o = order[i]
        keep = ~(((g_pids[o] == q_pids[i]) & (g_camids[o] == q_camids[i])) | (g_pids[o] == JUNK_PID))
        match = (g_pids[o] == q_pids[i])[keep]
        if not match.any():
            continue
        hits = np.flatnonzero(match)
        first = hits[0]
        if first < max_rank:
            cmc_sum[first:] += 1
        precision = np.arange(1, len(hits) + 1) / (hits + 1)
        aps.append(float(precision.mean()))
        inps.append(len(hits) / float(hits[-1] + 1))
    n = len(aps)
    cmc = cmc_sum / n if n else np.zeros(max_rank)
    return {
        "cmc": cmc,
        "mAP": float(np.mean(aps)) if n else 0.0,
        "mINP": float(np.mean(inps)) if n else 0.0,
        "num_valid_queries": n,
        "num_skipped": nq - n,
    }
