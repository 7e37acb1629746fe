"""Generic re-id losses shared by every model: label-smoothed cross-entropy, batch-hard triplet."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def cross_entropy_label_smooth(logits: Tensor, targets: Tensor, epsilon: float = 0.1) -> Tensor:
    """Cross-entropy against (1 - eps) one-hot + eps / C uniform targets (Szegedy et al.)."""
    log_probs = F.log_softmax(logits, dim=1)
    num_classes = logits.shape[1]
    smooth = torch.full_like(log_probs, epsilon / num_classes)
    smooth.scatter_(1, targets.unsqueeze(1), 1.0 - epsilon + epsilon / num_classes)
    return -(smooth * log_probs).sum(dim=1).mean()


def pairwise_distance(x: Tensor) -> Tensor:
    """Euclidean distance matrix, numerically safe at zero (gradient of sqrt)."""
    sq = (x * x).sum(dim=1, keepdim=True)
    dist = sq + sq.t() - 2.0 * x @ x.t()
    return dist.clamp_min(1e-12).sqrt()


def hardest_pairs(dist: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """For each anchor: index of its farthest positive and of its nearest negative."""
    same = targets.unsqueeze(0) == targets.unsqueeze(1)
    eye = torch.eye(len(targets), dtype=torch.bool, device=targets.device)
    pos_mask = same & ~eye
    pos = dist.masked_fill(~pos_mask, float("-inf")).argmax(dim=1)
    neg = dist.masked_fill(same, float("inf")).argmin(dim=1)
    return pos, neg


def batch_hard_triplet(embeddings: Tensor, targets: Tensor, margin: float = 0.3) -> Tensor:
    """Batch-hard triplet loss (Hermans et al. 2017) over a P x K batch.

    Anchors without a positive or a negative in the batch do not contribute.
    """
    dist = pairwise_distance(embeddings)
    same = targets.unsqueeze(0) == targets.unsqueeze(1)
    eye = torch.eye(len(targets), dtype=torch.bool, device=targets.device)
    valid = ((same & ~eye).any(dim=1)) & ((~same).any(dim=1))
    if not valid.any():
        return embeddings.sum() * 0.0
    pos, neg = hardest_pairs(dist, targets)
    rows = torch.arange(len(targets), device=targets.device)
    d_ap = dist[rows, pos][valid]
    d_an = dist[rows, neg][valid]
    return F.relu(d_ap - d_an + margin).mean()
