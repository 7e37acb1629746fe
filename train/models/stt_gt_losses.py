"""Constrained-attention losses of STT+GT (Zhang et al. 2021), each weighted by ``model.loss``.

- spatial: ``spa_xent`` on every frame's spatial class token, ``spa_part_xent`` on P horizontal groups
  of that frame's patch tokens (one classifier per group, averaged over groups); frames carry their
  tracklet's identity;
- temporal: ``tem_xent`` on the final output, ``tem_trip`` batch-hard triplet on the embedding, and
  ``tem_attn`` = sum_i [exp(sum_k a_ik log a_ik) - alpha]_+ over the temporal class token's attention
  a_ik of tracklet i over its L frames (last temporal layer, mean over heads, the class token's attention
  to itself left out and the rest renormalised to sum 1). exp(-entropy) is 1/L for uniform attention and 1 for attention
  on one frame, so the hinge stops the attention collapsing onto fewer than about 1/alpha frames. It is
  summed over the tracklets of the batch as in the paper (``attn_reduction: mean`` divides by B);
- global: ``global_xent`` on the global transformer's class token.

Only the active terms (``STTGTConfig.active_terms``) are computed and logged; the model builds heads for
exactly those, so no head is left out of the graph.
"""

from __future__ import annotations

import torch
from torch import Tensor

from streid.train.losses import batch_hard_triplet, cross_entropy_label_smooth
from streid.train.models.config import STTGTConfig

NEEDS = {
    "spa_xent": "spatial_logits",
    "spa_part_xent": "part_logits",
    "tem_xent": "logits",
    "tem_trip": "embedding",
    "tem_attn": "temporal_attention",
    "global_xent": "global_logits",
}
"""Model output each term reads."""


def attention_entropy_hinge(attn: Tensor, alpha: float, reduction: str = "sum") -> Tensor:
    """sum_i [exp(sum_k a_ik log a_ik) - alpha]_+ for attention rows ``attn`` (B, L) that sum to 1."""
    attn = attn.float()  # under fp16 autocast 1e-12 would underflow to 0 and log(0) * 0 give NaN
    neg_entropy = (attn * attn.clamp_min(1e-12).log()).sum(dim=1)
    per_tracklet = (neg_entropy.exp() - alpha).clamp_min(0.0)
    return per_tracklet.sum() if reduction == "sum" else per_tracklet.mean()


class STTGTCriterion:
    """Weighted sum of the active STT+GT terms; a class (not a closure) so that it pickles."""

    def __init__(self, cfg: STTGTConfig) -> None:
        self.cfg = cfg
        self.weights = cfg.active_terms()

    def __call__(self, outputs: dict[str, Tensor], pids: Tensor) -> dict[str, Tensor]:
        missing = sorted({NEEDS[t] for t in self.weights if NEEDS[t] not in outputs})
        if missing:
            raise KeyError(f"model outputs lack {missing} (got {sorted(outputs)}); is the model in train() mode?")
        eps = self.cfg.loss.label_smooth
        terms: dict[str, Tensor] = {}
        for name in self.weights:
            if name == "spa_xent":
                logits = outputs["spatial_logits"]  # (B, L, C): each frame labelled with its tracklet
                terms[name] = cross_entropy_label_smooth(logits.flatten(0, 1), _per_frame(pids, logits), eps)
            elif name == "spa_part_xent":
                logits = outputs["part_logits"]  # (B, L, P, C)
                per_frame = _per_frame(pids, logits)
                parts = [cross_entropy_label_smooth(logits[:, :, p].flatten(0, 1), per_frame, eps)
                         for p in range(logits.shape[2])]
                terms[name] = torch.stack(parts).mean()
            elif name == "tem_xent":
                terms[name] = cross_entropy_label_smooth(outputs["logits"], pids, eps)
            elif name == "tem_trip":
                terms[name] = batch_hard_triplet(outputs["embedding"], pids, self.cfg.loss.margin)
            elif name == "tem_attn":
                terms[name] = attention_entropy_hinge(
                    outputs["temporal_attention"], self.cfg.loss.alpha, self.cfg.loss.attn_reduction
                )
            elif name == "global_xent":
                terms[name] = cross_entropy_label_smooth(outputs["global_logits"], pids, eps)
        total = sum(self.weights[k] * v for k, v in terms.items())
        assert isinstance(total, Tensor), "STTGTConfig validation keeps at least one term active"
        return {"loss": total, **terms}


def _per_frame(pids: Tensor, logits: Tensor) -> Tensor:
    return pids.repeat_interleave(logits.shape[1])


def build_stt_gt_criterion(model_cfg: STTGTConfig, num_classes: int) -> STTGTCriterion:
    """Criterion of ``stt_gt``: the active terms of ``model.loss``."""
    del num_classes  # heads already have the right size; kept for one builder signature
    return STTGTCriterion(model_cfg)
