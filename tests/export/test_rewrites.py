"""Export-time rewrites are exact: BN folding, 3D->2D convs/pools, normalisation folded into the first conv."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from streid.export.conv2d import SpatialConv, SpatialMaxPool, TemporalConv, as_2d
from streid.export.fold import FoldedInputConv, fold_batchnorm, fold_input_norm
from streid.export.graph import export_module
from streid.export.wrapper import ClipEmbedder, RawClipEmbedder
from tests.export.conftest import HEIGHT, SEQ_LEN, SMALL, WIDTH, model_available, write_checkpoint

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class Tiny3d(nn.Module):
    """Stem + factorised conv pair + pool, in the (B, L, 3, H, W) model contract."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv3d(3, 8, (1, 5, 5), stride=(1, 2, 2), padding=(0, 2, 2), bias=False)
        self.bn = nn.BatchNorm3d(8)
        self.pool = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
        self.temporal = nn.Conv3d(8, 8, (3, 1, 1), padding=(1, 0, 0), padding_mode="replicate")
        self.mixed = nn.Conv3d(8, 4, 3, padding=1)  # a true 3D kernel: left as it is

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(torch.relu(self.bn(self.stem(x.permute(0, 2, 1, 3, 4)))))
        return self.mixed(self.temporal(x)).mean(dim=(2, 3, 4))


@pytest.fixture
def tiny() -> Tiny3d:
    torch.manual_seed(0)
    model = Tiny3d().eval()
    model.bn.running_mean.uniform_(-0.5, 0.5)
    model.bn.running_var.uniform_(0.5, 2.0)
    model.bn.weight.data.uniform_(0.5, 1.5)
    return model


@torch.no_grad()
def test_rewrites_are_exact(tiny: Tiny3d) -> None:
    x = torch.randn(2, 4, 3, 32, 16)
    reference = tiny(x)
    fused = Tiny3d().eval()
    fused.load_state_dict(tiny.state_dict())
    assert fold_batchnorm(fused, x[:1]) == 1 and isinstance(fused.bn, nn.Identity)
    torch.testing.assert_close(fused(x), reference, atol=1e-5, rtol=1e-4)
    flat, count = as_2d(fused)
    assert count == 3 and isinstance(flat.stem, SpatialConv) and isinstance(flat.temporal, TemporalConv)
    assert isinstance(flat.pool, SpatialMaxPool) and isinstance(flat.mixed, nn.Conv3d)
    torch.testing.assert_close(flat(x), reference, atol=1e-5, rtol=1e-4)


@torch.no_grad()
def test_normalisation_folded_into_first_conv(tiny: Tiny3d) -> None:
    clips = torch.randint(0, 256, (2, 4, 32, 16, 3), dtype=torch.uint8)
    plain = ClipEmbedder(tiny, MEAN, STD)
    sample = torch.randn(1, 4, 3, 32, 16)
    model = Tiny3d().eval()
    model.load_state_dict(tiny.state_dict())
    folded = RawClipEmbedder(fold_input_norm(model, sample, torch.tensor(MEAN), torch.tensor(STD)))
    assert isinstance(model.stem, FoldedInputConv)
    torch.testing.assert_close(folded(clips), plain(clips), atol=1e-5, rtol=1e-4)


def test_export_module_keeps_the_model_untouched_and_exact() -> None:
    model_available("nl3d")
    import tempfile
    from pathlib import Path

    from streid.export.checkpoint import load_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        model, _, _ = load_checkpoint(write_checkpoint(Path(tmp) / "c.pt", SMALL["nl3d"]))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    clips = np.random.default_rng(0).integers(0, 256, (2, SEQ_LEN, HEIGHT, WIDTH, 3), dtype=np.uint8)
    module = export_module(model, MEAN, STD, clips)
    assert isinstance(module, RawClipEmbedder)  # all three rewrites applied to nl3d
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    with torch.no_grad():
        x = torch.from_numpy(clips)
        torch.testing.assert_close(module(x), ClipEmbedder(model, MEAN, STD)(x), atol=1e-5, rtol=1e-4)
