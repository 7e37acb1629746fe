"""Feature extraction under the model contract (eval mode -> L2-normalised (B, D)) and ``evaluate_model``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from streid.train.eval.metrics import evaluate_rank


@torch.no_grad()
def extract_features(model: torch.nn.Module, loader: DataLoader, device: str | torch.device = "cpu") -> tuple[
    np.ndarray, np.ndarray, np.ndarray
]:
    """Per-tracklet features, pids, camids. Clips of one tracklet (dense mode) are averaged then re-normalised."""
    model.eval()
    feats, pids, camids = [], [], []
    for clips, pid, camid in loader:
        feats.append(model(clips.to(device)).float().cpu())
        pids.append(pid)
        camids.append(camid)
    f = torch.cat(feats)
    p, c = torch.cat(pids).numpy(), torch.cat(camids).numpy()
    owner = getattr(loader.dataset, "owner", None)
    if owner is not None and len(owner) == len(f) and len(np.unique(owner)) != len(owner):
        n = int(owner.max()) + 1
        idx = torch.from_numpy(owner)
        summed = torch.zeros(n, f.shape[1]).index_add_(0, idx, f)
        f = torch.nn.functional.normalize(summed, dim=1)
        first = np.unique(owner, return_index=True)[1]
        p, c = p[first], c[first]
    return f.numpy(), p, c


def evaluate_model(
    model: torch.nn.Module,
    query: DataLoader,
    gallery: DataLoader,
    protocol: str,
    device: str | torch.device = "cpu",
    rerank: bool = False,
) -> dict[str, Any]:
    """mAP, R1/5/10/20, mINP, counts and the protocol name, from cosine distance of normalised features."""
    qf, qp, qc = extract_features(model, query, device)
    gf, gp, gc = extract_features(model, gallery, device)
    dist = 1.0 - qf @ gf.T
    if rerank:
        from streid.train.eval.rerank import re_ranking

        dist = re_ranking(qf, gf)
    r = evaluate_rank(dist, qp, gp, qc, gc, max_rank=20)
    cmc = r["cmc"]
    return {
        "protocol": protocol,
        "rerank": rerank,
        "mAP": r["mAP"],
        "R1": float(cmc[0]),
        "R5": float(cmc[4]),
        "R10": float(cmc[9]),
        "R20": float(cmc[19]),
        "mINP": r["mINP"],
        "num_query": len(qp),
        "num_gallery": len(gp),
        "num_valid_queries": r["num_valid_queries"],
        "num_skipped": r["num_skipped"],
    }
