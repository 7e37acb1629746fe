"""3D-CNN + non-local attention for video re-id (Liao et al., ACCV 2018): the ``nl3d`` model.

Inflated 3D ResNet (``resnet3d``) with non-local blocks (``nonlocal_block``) after chosen residual
units, average pooling over time and space, then a bottleneck (FC, BN, LeakyReLU 0.1, Dropout) and
an identity classifier.

Which vector is the embedding: the bottleneck output *after* FC-BN-LeakyReLU and *before* Dropout.
- It is the vector returned at inference (Dropout is the identity in eval), so the triplet loss
  shapes exactly the space that retrieval uses;
- its size D = ``embedding_dim`` is chosen in the config (512 by default instead of the 2048
  pooled channels of ResNet-50), which keeps the gallery store and the exported model small.
The pooled backbone vector is also returned, as ``"features"``, for losses or analyses that want it.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from streid.config import ConfigError
from streid.train.models.config import NL3DConfig, check_local_weights, paper_nonlocal_placement
from streid.train.models.identity_head import IdentityHead
from streid.train.models.nonlocal_block import NonLocalBlock3d
from streid.train.models.resnet3d import ResNet3d, inflate_state_dict


class NL3D(nn.Module):
    """Clip batch (B, L, 3, H, W) -> dict of outputs (train) or L2-normalised (B, D) embeddings (eval)."""

    def __init__(
        self,
        num_classes: int,
        depth: int = 50,
        width: float = 1.0,
        temporal_kernel: int = 3,
        temporal_blocks: str = "alternate",
        nonlocal_blocks: dict[str, list[int]] | None = None,
        nonlocal_reduction: int = 2,
        nonlocal_subsample: bool = True,
        last_stride: int = 1,
        embedding_dim: int = 512,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.backbone = ResNet3d(depth, width, temporal_kernel, temporal_blocks, last_stride)
        placement = paper_nonlocal_placement(depth) if nonlocal_blocks is None else nonlocal_blocks
        self.nonlocal_blocks = nn.ModuleDict()
        for name, stage in self.backbone.stages():
            for index in placement.get(name, []):
                if not 0 <= index < len(stage):
                    raise ValueError(f"nonlocal_blocks.{name}: unit {index} out of range (0..{len(stage) - 1})")
                channels = _out_channels(stage[index])
                self.nonlocal_blocks[f"{name}_{index}"] = NonLocalBlock3d(
                    channels, nonlocal_reduction, nonlocal_subsample
                )
        self.feature_dim = self.backbone.out_channels
        self.embedding_dim = embedding_dim
        self.bottleneck = nn.Sequential(
            nn.Linear(self.feature_dim, embedding_dim),
            nn.BatchNorm1d(embedding_dim),
            nn.LeakyReLU(0.1, inplace=True),
        )
        nn.init.kaiming_normal_(self.bottleneck[0].weight, a=0.1, mode="fan_out")
        nn.init.zeros_(self.bottleneck[0].bias)
        self.dropout = nn.Dropout(dropout)
        self.classifier = IdentityHead(embedding_dim, num_classes)  # replaced (same shape) by reset_classifier
        self.reset_classifier(num_classes)

    def reset_classifier(self, num_classes: int) -> None:
        """New identity head (transfer to another set of identities): batch-standardised input, small init."""
        self.classifier = IdentityHead(self.embedding_dim, num_classes).to(self.bottleneck[0].weight.device)

    def pooled_features(self, clips: Tensor) -> Tensor:
        """(B, L, 3, H, W) -> (B, C): backbone with non-local blocks, then mean over time and space."""
        if clips.dim() != 5:
            raise ValueError(f"expected clips (B, L, 3, H, W), got shape {tuple(clips.shape)}")
        x = clips.permute(0, 2, 1, 3, 4)  # (B, 3, T, H, W)
        x = self.backbone.stem(x)
        for name, stage in self.backbone.stages():
            for index, unit in enumerate(stage):
                x = unit(x)
                key = f"{name}_{index}"
                if key in self.nonlocal_blocks:
                    x = self.nonlocal_blocks[key](x)
        return x.mean(dim=(2, 3, 4))

    def forward(self, clips: Tensor) -> dict[str, Tensor] | Tensor:
        features = self.pooled_features(clips)
        embedding = self.bottleneck(features)
        if not self.training:
            return F.normalize(embedding, dim=1)
        logits = self.classifier(self.dropout(embedding))
        return {"embedding": embedding, "logits": logits, "features": features}


def _out_channels(unit: nn.Module) -> int:
    last_bn = unit.bn3 if hasattr(unit, "bn3") else unit.bn2
    return int(last_bn.num_features)


def load_torchvision_state(path: str | Path) -> dict[str, Tensor]:
    """Read a local torchvision ResNet state_dict (plain, or under "state_dict"/"model"); never downloads."""
    check = _check_pretrained(str(path))
    file = Path(check).expanduser()
    if not file.is_file():
        raise ConfigError(None, "model.pretrained", f"file not found: {file} (no download offline: give a local file)")
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # a corrupt or foreign file: say which and why, keep the cause
        raise ConfigError(None, "model.pretrained", f"{file}: cannot read as a torch state_dict ({exc})") from exc
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise ConfigError(None, "model.pretrained", f"{file}: not a state_dict (a mapping of names to tensors)")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _check_pretrained(value: str) -> str:
    try:
        return str(check_local_weights(value))
    except ValueError as exc:
        raise ConfigError(None, "model.pretrained", str(exc)) from None


def inflate_from_file(model: NL3D, path: str | Path) -> list[str]:
    """Load a local 2D torchvision ResNet into ``model.backbone``; returns the 3D keys left as initialised."""
    state_2d = load_torchvision_state(path)
    target = model.backbone.state_dict()
    try:
        inflated, own_only = inflate_state_dict(state_2d, target, source=str(path))
    except ValueError as exc:
        raise ConfigError(None, "model.pretrained", str(exc)) from None
    model.backbone.load_state_dict(inflated, strict=False)
    return own_only


def build_nl3d(cfg: NL3DConfig, num_classes: int) -> NL3D:
    """The registry's factory: config -> plain arguments (config stays out of the constructor)."""
    model = NL3D(
        num_classes,
        depth=cfg.depth,
        width=cfg.width,
        temporal_kernel=cfg.temporal_kernel,
        temporal_blocks=cfg.temporal_blocks,
        nonlocal_blocks=cfg.nonlocal_placement(),
        nonlocal_reduction=cfg.nonlocal_reduction,
        nonlocal_subsample=cfg.nonlocal_subsample,
        last_stride=cfg.last_stride,
        embedding_dim=cfg.embedding_dim,
        dropout=cfg.dropout,
    )
    if cfg.pretrained:
        inflate_from_file(model, cfg.pretrained)
    return model
