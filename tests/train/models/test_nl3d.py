"""nl3d: exact inflation of a torchvision ResNet, identity non-local blocks, contract, pretrained errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn

from streid.config import ConfigError
from streid.train.models import build_model
from streid.train.models.config import NL3DConfig
from streid.train.models.nl3d import build_nl3d
from streid.train.models.nonlocal_block import NonLocalBlock3d

SMALL = {"depth": 18, "width": 0.125, "embedding_dim": 16}


def _random_2d(depth: int) -> nn.Module:
    """A torchvision ResNet with non-trivial BN statistics, so the comparison covers BN too."""
    torch.manual_seed(depth)
    net = getattr(torchvision.models, f"resnet{depth}")(weights=None)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return net.eval()


def _pooled_2d(net: nn.Module, images: torch.Tensor) -> torch.Tensor:
    trunk = nn.Sequential(*list(net.children())[:-2])  # everything up to avgpool / fc
    return trunk(images).mean(dim=(2, 3))


@pytest.mark.parametrize(
    ("depth", "temporal_blocks", "last_stride"),
    [(18, "all", 2), (18, "alternate", 1), (50, "all", 2)],
)
def test_static_clip_through_inflated_net_equals_2d_net_per_frame(
    tmp_path: Path, depth: int, temporal_blocks: str, last_stride: int
) -> None:
    net2d = _random_2d(depth)
    if last_stride == 1:  # the same change in the 2D reference: layer4 keeps its resolution
        unit = net2d.layer4[0]
        (unit.conv2 if depth >= 50 else unit.conv1).stride = (1, 1)
        unit.downsample[0].stride = (1, 1)
    weights = tmp_path / f"resnet{depth}.pth"
    torch.save(net2d.state_dict(), weights)
    cfg = NL3DConfig(depth=depth, temporal_blocks=temporal_blocks, last_stride=last_stride,
                     pretrained=str(weights), embedding_dim=16)
    model = build_nl3d(cfg, num_classes=5).eval()
    assert len(model.nonlocal_blocks) == (2 if depth == 18 else 5)  # present (zero-initialised) in the path

    frames = torch.randn(2, 3, 64, 32)
    clip = frames.unsqueeze(1).repeat(1, 4, 1, 1, 1)  # (B, L=4, 3, H, W), all frames equal
    with torch.no_grad():
        expected = _pooled_2d(net2d, frames)
        got = model.pooled_features(clip)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=1e-4 * expected.abs().max().item(), rtol=1e-4)


def test_inflated_weights_are_replicated_over_time_and_divided_by_t(tmp_path: Path) -> None:
    net2d = _random_2d(50)
    weights = tmp_path / "r50.pth"
    torch.save(net2d.state_dict(), weights)
    model = build_nl3d(NL3DConfig(depth=50, temporal_kernel=3, temporal_blocks="all", pretrained=str(weights)), 3)
    w2d = net2d.layer1[0].conv1.weight  # 1x1 -> 3x1x1
    w3d = model.backbone.layer1[0].conv1.weight
    assert w3d.shape == (*w2d.shape[:2], 3, 1, 1)
    for t in range(3):
        torch.testing.assert_close(w3d[:, :, t], w2d / 3)
    torch.testing.assert_close(model.backbone.layer1[0].conv2.spatial.weight[:, :, 0], net2d.layer1[0].conv2.weight)


def test_zero_initialised_nonlocal_block_is_identity_and_trains_away_from_it() -> None:
    torch.manual_seed(0)
    block = NonLocalBlock3d(8, reduction=2, subsample=True).train()
    x = torch.randn(2, 8, 3, 6, 4)
    torch.testing.assert_close(block(x), x, rtol=0, atol=0)
    block.eval()
    torch.testing.assert_close(block(x), x, rtol=0, atol=0)
    # not a dead branch: once W_z's BN has a non-zero scale the block changes its input
    nn.init.ones_(block.bn.weight)
    assert (block(x) - x).abs().max() > 1e-3


def test_nonlocal_block_attends_over_time() -> None:
    """A position's output depends on other frames (attention over all T*H*W positions)."""
    torch.manual_seed(0)
    block = NonLocalBlock3d(4, reduction=1, subsample=False).eval()
    nn.init.ones_(block.bn.weight)
    x = torch.randn(1, 4, 3, 2, 2)
    y = x.clone()
    y[:, :, 2] += 1.0  # change only the last frame
    delta = (block(y) - block(x))[:, :, 0]  # look at the first frame
    assert delta.abs().max() > 1e-4


def test_train_outputs_and_eval_embedding_contract() -> None:
    torch.manual_seed(0)
    model = build_model(NL3DConfig(**SMALL), num_classes=7)
    clips = torch.randn(4, 4, 3, 64, 32)
    out = model.train()(clips)
    assert set(out) == {"embedding", "logits", "features"}
    assert out["embedding"].shape == (4, model.embedding_dim) == (4, 16)
    assert out["logits"].shape == (4, 7)
    assert out["features"].shape == (4, model.feature_dim)
    with torch.no_grad():
        emb = model.eval()(clips)
    assert emb.shape == (4, 16)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(4))
    model.reset_classifier(3)
    assert model.train()(clips)["logits"].shape == (4, 3)


def test_nonlocal_placement_is_configurable_and_checked() -> None:
    none = build_nl3d(NL3DConfig(**SMALL, nonlocal_blocks={}), 2)
    assert len(none.nonlocal_blocks) == 0
    some = build_nl3d(NL3DConfig(**SMALL, nonlocal_blocks={"layer1": [0], "layer4": [1]}), 2)
    assert sorted(some.nonlocal_blocks) == ["layer1_0", "layer4_1"]
    with pytest.raises(ValueError, match=r"nonlocal_blocks\.layer3: unit\(s\) \[5\] out of range"):
        NL3DConfig(depth=18, nonlocal_blocks={"layer3": [5]})
    with pytest.raises(ValueError, match="unknown stage"):
        NL3DConfig(nonlocal_blocks={"res4": [1]})


def test_missing_pretrained_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "resnet18.pth"
    with pytest.raises(ConfigError, match=r"model\.pretrained: file not found: .*resnet18\.pth"):
        build_nl3d(NL3DConfig(**SMALL, pretrained=str(missing)), 2)


@pytest.mark.parametrize("name", ["imagenet", "Kinetics", "https://download.pytorch.org/models/resnet18.pth"])
def test_asking_for_published_weights_by_name_says_no_download(name: str) -> None:
    with pytest.raises(ValueError, match="no download offline: give a local file"):
        NL3DConfig(pretrained=name)


def test_wrong_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    # a depth-18 torchvision file given to a width-0.125 net: shapes cannot match
    weights = tmp_path / "r18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), weights)
    with pytest.raises(ConfigError, match=r"model\.pretrained: .*r18\.pth.*model\.width = 1"):
        build_nl3d(NL3DConfig(**SMALL, pretrained=str(weights)), 2)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match=r"junk\.pth: cannot read"):
        build_nl3d(NL3DConfig(**SMALL, pretrained=str(junk)), 2)


def test_temporal_kernel_must_be_odd() -> None:
    with pytest.raises(ValueError, match="odd"):
        NL3DConfig(temporal_kernel=2)

