"""stt_gt: token counts at paper and small sizes, the attention-entropy hinge, part pooling, transfer to
other identities, the ablation variants, and loading a torchvision CNN."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torchvision
from pydantic import ValidationError
from torch import nn

from streid.train.checkpoint import load_weights, read_checkpoint, save_checkpoint
from streid.train.models.config import STT_GT_TERMS, STTGTConfig
from streid.train.models.stt_gt import STTGT, attention_cells, build_stt_gt, part_pool, token_grid
from streid.train.models.stt_gt_losses import attention_entropy_hinge, build_stt_gt_criterion

SMALL = {"depth": 18, "width": 0.125, "dim": 24, "heads": 3, "parts": 2, "input_size": (64, 32)}
PIDS = torch.tensor([0, 0, 1, 1, 2, 2])


def _token_counts(model: STTGT, clips: torch.Tensor) -> dict[str, tuple[int, ...]]:
    """Shape of the tokens entering the first layer of each transformer (class token included)."""
    seen: dict[str, tuple[int, ...]] = {}
    hooks = [
        getattr(model, name).blocks[0].register_forward_pre_hook(
            lambda _m, args, n=name: seen.__setitem__(n, tuple(args[0].shape))
        )
        for name in ("spatial", "temporal", "global_transformer")
    ]
    try:
        model(clips)
    finally:
        for hook in hooks:
            hook.remove()
    return seen


def test_paper_size_token_counts_and_shapes() -> None:
    """Paper setting (ResNet-50, D 768, 6 heads, 8 x 256 x 128): built and run on the meta device (shapes only)."""
    cfg = STTGTConfig()
    assert (cfg.depth, cfg.dim, cfg.heads, cfg.global_layers, tuple(cfg.input_size)) == (50, 768, 6, 2, (256, 128))
    with torch.device("meta"):
        model = build_stt_gt(cfg, num_classes=625)
    assert model.grid == token_grid(256, 128) == (16, 8)
    assert model.cnn.out_channels == 1024 and model.embedding_dim == 2 * 768
    clips = torch.empty(2, 8, 3, 256, 128, device="meta")
    counts = _token_counts(model.eval(), clips)
    assert counts["spatial"] == (2 * 8, 16 * 8 + 1, 768)
    assert counts["temporal"] == (2, 8 + 1, 768)
    assert counts["global_transformer"] == (2, 16 * 8 * 8 + 1, 768) == (2, attention_cells(8, 256, 128), 768)
    assert model.eval()(clips).shape == (2, 1536)


def test_small_size_forward_shapes_and_eval_norm() -> None:
    torch.manual_seed(0)
    cfg = STTGTConfig(**SMALL)
    model = build_stt_gt(cfg, num_classes=3).train()
    clips = torch.randn(6, 4, 3, 64, 32)
    counts = _token_counts(model, clips)
    assert counts == {"spatial": (24, 4 * 2 + 1, 24), "temporal": (6, 5, 24), "global_transformer": (6, 33, 24)}
    assert attention_cells(4, 64, 32) == 33
    out = model(clips)
    assert out["embedding"].shape == (6, 48) and out["logits"].shape == (6, 3)
    assert out["spatial_logits"].shape == (6, 4, 3) and out["part_logits"].shape == (6, 4, 2, 3)
    assert out["global_logits"].shape == (6, 3)
    assert out["temporal_attention"].shape == (6, 4) and out["spatial_attention"].shape == (6, 4, 4, 2)
    torch.testing.assert_close(out["temporal_attention"].sum(1), torch.ones(6))
    torch.testing.assert_close(out["spatial_attention"].sum((2, 3)), torch.ones(6, 4))
    losses = build_stt_gt_criterion(cfg, 3)(out, PIDS)
    assert set(losses) == {"loss", *STT_GT_TERMS}
    losses["loss"].backward()
    assert not [n for n, p in model.named_parameters() if p.grad is None]
    model.eval()
    with torch.no_grad():
        emb = model(clips[:2])
    assert emb.shape == (2, model.embedding_dim)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(2))
    explained = model.explain(clips[:2])
    torch.testing.assert_close(explained["embedding"], emb)
    assert explained["spatial_attention"].shape == (2, 4, 4, 2)


def test_other_input_size_interpolates_positional_embeddings() -> None:
    model = build_stt_gt(STTGTConfig(**{**SMALL, "input_size": (128, 64)}), 3).eval()
    assert model.pos_embed.shape == (1, 8 * 4 + 1, 24)
    with torch.no_grad():
        assert model(torch.randn(2, 3, 3, 64, 32)).shape == (2, 48)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_attention_entropy_hinge_by_hand(reduction: str) -> None:
    length, alpha = 4, 0.1
    uniform = torch.full((1, length), 1 / length)
    one_hot = torch.tensor([[0.0, 1.0, 0.0, 0.0]])
    # exp(sum_k a_k log a_k): uniform -> exp(-log L) = 1/L; one-hot -> exp(0) = 1
    expected = {"uniform": 1 / length - alpha, "one_hot": 1.0 - alpha}
    assert attention_entropy_hinge(uniform, alpha, reduction).item() == pytest.approx(expected["uniform"])
    assert attention_entropy_hinge(one_hot, alpha, reduction).item() == pytest.approx(expected["one_hot"])
    both = attention_entropy_hinge(torch.cat([uniform, one_hot]), alpha, reduction).item()
    total = expected["uniform"] + expected["one_hot"]
    assert both == pytest.approx(total if reduction == "sum" else total / 2)
    assert attention_entropy_hinge(uniform, 0.5, reduction).item() == 0.0  # spread enough: no penalty
    peaked = torch.tensor([[0.7, 0.1, 0.1, 0.1]])
    by_hand = math.exp(0.7 * math.log(0.7) + 3 * 0.1 * math.log(0.1)) - alpha
    assert attention_entropy_hinge(peaked, alpha, reduction).item() == pytest.approx(by_hand)


def test_part_pooling_groups_rows_top_to_bottom() -> None:
    rows, cols = 8, 2
    tokens = torch.arange(rows, dtype=torch.float32).view(1, rows, 1, 1).expand(3, rows, cols, 5)  # value = row
    pooled = part_pool(tokens, 4)
    assert pooled.shape == (3, 4, 5)
    torch.testing.assert_close(pooled[0, :, 0], torch.tensor([0.5, 2.5, 4.5, 6.5]))  # rows (0,1) (2,3) ...
    uneven = part_pool(tokens[:, :5], 2)  # 5 rows -> (0, 1, 2) and (3, 4)
    torch.testing.assert_close(uneven[0, :, 0], torch.tensor([1.0, 3.5]))
    with pytest.raises(ValueError, match="3 parts need at least 3 token rows"):
        part_pool(tokens[:, :2], 3)


def test_pretrained_checkpoint_loads_into_model_with_other_identities(tmp_path: Path) -> None:
    """Transfer: every weight but the classifier heads; the embedding (no head in its path) is unchanged."""
    torch.manual_seed(0)
    cfg = STTGTConfig(**SMALL)
    source = build_stt_gt(cfg, num_classes=11)
    for module in source.modules():  # non-trivial BN statistics, so they are compared too
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    ckpt = save_checkpoint(tmp_path / "pre.pt", {
        "config": {"model": cfg.model_dump(mode="json")}, "model": source.state_dict(), "num_classes": 11,
        "epoch": 3, "metrics": {},
    })
    torch.manual_seed(1)
    target = build_stt_gt(cfg, num_classes=4)
    skipped = load_weights(target, read_checkpoint(ckpt)["model"], skip_heads=True, source=str(ckpt))
    assert skipped and all("classifier" in name for name in skipped)
    assert {n.split(".")[0] for n in skipped} == {"classifier", "spatial_classifier", "part_classifiers",
                                                  "global_classifier"}
    own = target.state_dict()
    for name, tensor in source.state_dict().items():
        if "classifier" not in name:
            torch.testing.assert_close(own[name], tensor, msg=name)
    assert target.classifier.out_features == 4 and target.part_classifiers[1].out_features == 4
    clips = torch.randn(2, 3, 3, 64, 32)
    with torch.no_grad():
        torch.testing.assert_close(target.eval()(clips), source.eval()(clips))
    target.train()(clips)["logits"].sum().backward()  # the new heads train
    # a variant without the global branch takes the shared weights too (ablation from one pre-training)
    smaller = build_stt_gt(STTGTConfig(**SMALL, use_global=False), num_classes=4)
    extra = load_weights(smaller, source.state_dict(), skip_heads=True, source="pre")
    assert any(n.startswith("global_transformer.") for n in extra)


VARIANTS = {
    "cnn": {"transformers": False},
    "vanilla": {"use_global": False, "loss": {"spa_xent": 0, "spa_part_xent": 0, "tem_attn": 0, "global_xent": 0}},
    "spatial": {"use_global": False, "loss": {"tem_attn": 0}},
    "temporal": {"use_global": False},
    "full": {},
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_ablation_variants_train_every_parameter(variant: str) -> None:
    torch.manual_seed(0)
    cfg = STTGTConfig(**SMALL, **VARIANTS[variant])
    model = build_stt_gt(cfg, num_classes=3).train()
    losses = build_stt_gt_criterion(cfg, 3)(model(torch.randn(6, 3, 3, 64, 32)), PIDS)
    assert set(losses) - {"loss"} == set(cfg.active_terms())
    losses["loss"].backward()
    assert not [n for n, p in model.named_parameters() if p.grad is None]  # no head outside the graph (DDP)
    assert model.embedding_dim == (48 if variant == "full" else 24)


def test_config_errors() -> None:
    with pytest.raises(ValidationError, match="not divisible by heads"):
        STTGTConfig(dim=100, heads=6)
    with pytest.raises(ValidationError, match="no active term"):
        STTGTConfig(transformers=False, loss={"tem_xent": 0, "tem_trip": 0})
    with pytest.raises(ValidationError, match="no download"):
        STTGTConfig(pretrained="imagenet")


def test_torchvision_weights_load_into_the_cnn(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = torchvision.models.resnet18(weights=None).eval()
    path = tmp_path / "r18.pth"
    torch.save(net.state_dict(), path)
    model = build_stt_gt(STTGTConfig(**{**SMALL, "width": 1.0, "pretrained": str(path)}), 3).eval()
    images = torch.randn(2, 3, 64, 32)
    trunk = nn.Sequential(*list(net.children())[:-3])  # up to layer3
    with torch.no_grad():
        torch.testing.assert_close(model.cnn(images), trunk(images))
