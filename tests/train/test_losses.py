"""Generic re-id losses on hand-made batches with hand-computed values, and their weighting per model."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from streid.train.losses import batch_hard_triplet, cross_entropy_label_smooth, hardest_pairs, pairwise_distance
from streid.train.models.config import LossConfig, NL3DConfig
from streid.train.models.criteria import ReidCriterion, build_criterion

# 1D embeddings so every distance is |a - b|: ids 0 at {0, 1, 4}, ids 1 at {2, 7}, id 2 alone at 100.
POINTS = torch.tensor([[0.0], [1.0], [4.0], [2.0], [7.0], [100.0]], dtype=torch.float64)
PIDS = torch.tensor([0, 0, 0, 1, 1, 2])


def test_batch_hard_picks_farthest_positive_and_nearest_negative() -> None:
    pos, neg = hardest_pairs(pairwise_distance(POINTS), PIDS)
    # anchor 0 (at 0): positives 1 (d 1), 4 (d 4) -> index 2; negatives 2 (d 2), 7 (d 7), 100 -> index 3
    assert pos[:5].tolist() == [2, 2, 0, 4, 3]
    assert neg[:5].tolist() == [3, 3, 3, 1, 2]


def test_batch_hard_triplet_value_by_hand() -> None:
    margin = 0.5
    # (d_ap - d_an + margin) per anchor; the lone identity (100) has no positive and does not count
    by_hand = [4 - 2 + margin, 3 - 1 + margin, 4 - 2 + margin, 5 - 1 + margin, 5 - 3 + margin]
    loss = batch_hard_triplet(POINTS, PIDS, margin=margin)
    assert loss.item() == pytest.approx(sum(by_hand) / len(by_hand), abs=1e-9)


def test_batch_hard_triplet_is_zero_when_identities_are_apart_by_more_than_the_margin() -> None:
    points = torch.tensor([[0.0], [0.1], [5.0], [5.1]])
    assert batch_hard_triplet(points, torch.tensor([0, 0, 1, 1]), margin=0.3).item() == 0.0
    # swap one label: now the hardest positive is far and the loss is d_ap - d_an + margin > 0
    assert batch_hard_triplet(points, torch.tensor([0, 1, 1, 0]), margin=0.3).item() > 4.0


def test_label_smoothed_cross_entropy_by_hand() -> None:
    logits = torch.tensor([[0.0, 0.0, math.log(2.0)]], dtype=torch.float64)  # p = (1/4, 1/4, 1/2)
    eps = 0.1
    by_hand = -(2 * (eps / 3) * math.log(0.25) + (1 - eps + eps / 3) * math.log(0.5))
    got = cross_entropy_label_smooth(logits, torch.tensor([2]), epsilon=eps)
    assert got.item() == pytest.approx(by_hand, abs=1e-12)
    assert got.item() == pytest.approx(0.739357, abs=1e-6)
    plain = cross_entropy_label_smooth(logits, torch.tensor([2]), epsilon=0.0)
    assert plain.item() == pytest.approx(F.cross_entropy(logits, torch.tensor([2])).item(), abs=1e-12)


def test_reid_criterion_weights_and_names_its_terms() -> None:
    torch.manual_seed(0)
    outputs = {"embedding": POINTS.float(), "logits": torch.randn(6, 3)}
    crit = ReidCriterion(LossConfig(ce_weight=2.0, triplet_weight=0.5, margin=0.5, label_smooth=0.2))
    losses = crit(outputs, PIDS)
    assert set(losses) == {"loss", "xent", "triplet"}
    xent = cross_entropy_label_smooth(outputs["logits"], PIDS, 0.2)
    triplet = batch_hard_triplet(outputs["embedding"], PIDS, 0.5)
    torch.testing.assert_close(losses["xent"], xent)
    torch.testing.assert_close(losses["triplet"], triplet)
    torch.testing.assert_close(losses["loss"], 2.0 * xent + 0.5 * triplet)


def test_nl3d_criterion_comes_from_the_model_config() -> None:
    crit = build_criterion(NL3DConfig(loss=LossConfig(triplet_weight=0.0)), num_classes=3)
    outputs = {"embedding": POINTS.float(), "logits": torch.zeros(6, 3)}
    losses = crit(outputs, PIDS)
    torch.testing.assert_close(losses["loss"], losses["xent"])
    with pytest.raises(KeyError, match="train\\(\\) mode"):
        crit({"embedding": POINTS.float()}, PIDS)
