"""Spatiotemporal transformer + global transformer (Zhang et al. 2021): the ``stt_gt`` model.

Per frame, a 2D ResNet up to its third stage (stride 16: 256 x 128 -> 16 x 8) and a 1 x 1 conv give
H x W patch tokens of size D. Then:

- spatial transformer (per frame): class token + patch tokens + learned positional embeddings (the
  only positional embeddings of the model) -> one frame token (its class output) and H x W patch outputs;
- temporal transformer: class token + the L frame tokens -> the STT output;
- global transformer: class token + all H x W x L patch outputs of the spatial transformer (they carry
  the positions, so patches of different frames meet with their place known) -> the GT output.

The embedding is concat(STT, GT) (D each), L2-normalised in eval mode. The attention of the temporal
class token over the L frames and of each frame's spatial class token over its H x W cells are returned
in train mode (for ``stt_gt_losses``) and by ``explain`` (for pictures). Attention is written out (linear,
matmul, softmax) rather than ``nn.MultiheadAttention`` so the graph traces to plain ONNX ops and the
weights are at hand without a second path.

The CNN baseline of the ablation (``transformers=False``) averages the 1 x 1-conv frame features over
space and time; heads exist only for active loss terms (``STTGTConfig.active_terms``).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models.resnet import BasicBlock, Bottleneck

from streid.config import ConfigError
from streid.train.models.config import RESNET_UNITS, STTGTConfig
from streid.train.models.identity_head import IdentityHead

STRIDE = 16
"""Spatial stride of the CNN: conv1 (2) x maxpool (2) x layer2 (2) x layer3 (2)."""


class ResNetTrunk(nn.Module):
    """torchvision ResNet stem + layer1..layer3 with a channel multiplier; parameter names are
    torchvision's, so a local torchvision state_dict loads into it at width 1."""

    def __init__(self, depth: int = 50, width: float = 1.0) -> None:
        super().__init__()
        if depth not in RESNET_UNITS:
            raise ValueError(f"depth {depth} not supported (choices: {sorted(RESNET_UNITS)})")
        block: type[BasicBlock] | type[Bottleneck] = Bottleneck if depth >= 50 else BasicBlock
        base = max(4, round(64 * width))
        self.conv1 = nn.Conv2d(3, base, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(base)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        in_ch = base
        for index, count in enumerate(RESNET_UNITS[depth][:3]):
            planes, stride = base * 2**index, 1 if index == 0 else 2
            units = []
            for unit in range(count):
                s = stride if unit == 0 else 1
                down = None
                if s != 1 or in_ch != planes * block.expansion:
                    down = nn.Sequential(
                        nn.Conv2d(in_ch, planes * block.expansion, 1, stride=s, bias=False),
                        nn.BatchNorm2d(planes * block.expansion),
                    )
                units.append(block(in_ch, planes, s, down))
                in_ch = planes * block.expansion
            self.add_module(f"layer{index + 1}", nn.Sequential(*units))
        self.out_channels = in_ch
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer3(self.layer2(self.layer1(x)))


class Attention(nn.Module):
    """Multi-head self-attention that also returns the class token's (index 0) attention over the other
    tokens, averaged over heads and renormalised to sum to 1: (B, N-1)."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # (B, heads, N, d_head)
        attn = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        out = (self.drop(attn) @ v).transpose(1, 2).reshape(b, n, d)
        cls = attn[:, :, 0, 1:].mean(dim=1)
        cls = cls / cls.sum(dim=-1, keepdim=True).clamp_min(1e-12)
        return self.drop(self.proj(out)), cls


class Block(nn.Module):
    """Pre-norm transformer layer (ViT): x + attn(LN x), then x + MLP(LN x)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, dropout: float) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim), nn.Dropout(dropout)
        )

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        y, cls_attn = self.attn(self.norm1(x))
        x = x + y
        return x + self.mlp(self.norm2(x)), cls_attn


class Encoder(nn.Module):
    """A class token prepended to the tokens, ``layers`` blocks, a final LayerNorm.

    Returns all outputs (B, 1 + N, D) and the class token's attention in the last layer (B, N).
    """

    def __init__(self, dim: int, heads: int, layers: int, mlp_ratio: float, dropout: float) -> None:
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        nn.init.trunc_normal_(self.cls_token, std=0.02)

    def forward(self, tokens: Tensor, pos: Tensor | None = None) -> tuple[Tensor, Tensor]:
        x = torch.cat([self.cls_token.expand(tokens.shape[0], -1, -1), tokens], dim=1)
        if pos is not None:
            x = x + pos
        attn = x.new_zeros(0)
        for block in self.blocks:
            x, attn = block(x)
        return self.norm(x), attn


def part_pool(tokens: Tensor, parts: int) -> Tensor:
    """(N, H, W, D) patch tokens -> (N, P, D): P horizontal groups of rows (top to bottom), each averaged.

    Rows split as evenly as possible (``torch.tensor_split``); fewer rows than parts is an error.
    """
    rows = tokens.shape[1]
    if rows < parts:
        raise ValueError(f"{parts} parts need at least {parts} token rows, the feature map has {rows}")
    return torch.stack([g.mean(dim=(1, 2)) for g in torch.tensor_split(tokens, parts, dim=1)], dim=1)


def token_grid(height: int, width: int) -> tuple[int, int]:
    """Feature-map cells (h, w) of a height x width frame through the stride-16 CNN."""

    def down(n: int) -> int:
        for _ in range(4):  # conv1 (k7 p3 s2), maxpool (k3 p1 s2), layer2, layer3 (k3 p1 s2): ceil halving
            n = (n - 1) // 2 + 1
        return n

    return down(height), down(width)


class STTGT(nn.Module):
    """Clip batch (B, L, 3, H, W) -> dict of outputs (train) or L2-normalised (B, D) embeddings (eval).

    Train outputs: ``embedding`` (B, D), ``logits`` (B, C), and, for the active terms,
    ``spatial_logits`` (B, L, C), ``part_logits`` (B, L, P, C), ``global_logits`` (B, C),
    ``temporal_attention`` (B, L), ``spatial_attention`` (B, L, h, w).
    """

    def __init__(
        self,
        num_classes: int,
        depth: int = 50,
        width: float = 1.0,
        dim: int = 768,
        heads: int = 6,
        spatial_layers: int = 1,
        temporal_layers: int = 1,
        global_layers: int = 2,
        mlp_ratio: float = 4.0,
        parts: int = 4,
        dropout: float = 0.0,
        input_size: tuple[int, int] = (256, 128),
        transformers: bool = True,
        use_global: bool = True,
        heads_for: tuple[str, ...] = ("spa_xent", "spa_part_xent", "global_xent"),
    ) -> None:
        super().__init__()
        self.dim, self.parts, self.transformers = dim, parts, transformers
        self.use_global = transformers and use_global
        self.grid = token_grid(*input_size)
        self.cnn = ResNetTrunk(depth, width)
        self.patch_embed = nn.Conv2d(self.cnn.out_channels, dim, 1)
        self.spatial: Encoder | None = None
        self.temporal: Encoder | None = None
        self.global_transformer: Encoder | None = None
        if transformers:
            self.pos_embed = nn.Parameter(torch.zeros(1, 1 + self.grid[0] * self.grid[1], dim))
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
            self.spatial = Encoder(dim, heads, spatial_layers, mlp_ratio, dropout)
            self.temporal = Encoder(dim, heads, temporal_layers, mlp_ratio, dropout)
            if self.use_global:
                self.global_transformer = Encoder(dim, heads, global_layers, mlp_ratio, dropout)
        self.embedding_dim = dim * (2 if self.use_global else 1)
        self.heads_for = tuple(h for h in heads_for if transformers and (h != "global_xent" or self.use_global))
        self._init_linear()
        self.reset_classifier(num_classes)

    def _init_linear(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)

    def reset_classifier(self, num_classes: int) -> None:
        """New identity heads (transfer to another set of identities): batch-standardised input, small init."""
        device = self.patch_embed.weight.device

        def head(dim: int) -> IdentityHead:
            return IdentityHead(dim, num_classes).to(device)

        self.num_classes = num_classes
        self.classifier = head(self.embedding_dim)
        self.spatial_classifier = head(self.dim) if "spa_xent" in self.heads_for else None
        self.part_classifiers = (
            nn.ModuleList(head(self.dim) for _ in range(self.parts)) if "spa_part_xent" in self.heads_for else None
        )
        self.global_classifier = head(self.dim) if "global_xent" in self.heads_for else None

    # ------------------------------------------------------------------ features

    def positional(self, h: int, w: int) -> Tensor:
        """Positional embeddings (1, 1 + h*w, D); bilinearly resized when the grid is not the configured one."""
        if (h, w) == self.grid:
            return self.pos_embed
        gh, gw = self.grid
        cells = self.pos_embed[:, 1:].reshape(1, gh, gw, self.dim).permute(0, 3, 1, 2)
        cells = F.interpolate(cells, size=(h, w), mode="bilinear", align_corners=False)
        return torch.cat([self.pos_embed[:, :1], cells.permute(0, 2, 3, 1).reshape(1, h * w, self.dim)], dim=1)

    def features(self, clips: Tensor) -> dict[str, Tensor]:
        """Everything before the heads: ``stt``/``gt`` (B, D) outputs, ``embedding``, attention, tokens."""
        if clips.dim() != 5:
            raise ValueError(f"expected clips (B, L, 3, H, W), got shape {tuple(clips.shape)}")
        b, seq = clips.shape[0], clips.shape[1]
        maps = self.patch_embed(self.cnn(clips.flatten(0, 1)))  # (B*L, D, h, w)
        h, w = int(maps.shape[2]), int(maps.shape[3])  # fixed per input size (constants when traced)
        if not self.transformers:
            frames = maps.mean(dim=(2, 3)).reshape(b, seq, self.dim)
            return {"embedding": frames.mean(dim=1)}
        assert self.spatial is not None and self.temporal is not None
        tokens = maps.flatten(2).transpose(1, 2)  # (B*L, h*w, D), row-major: top row first
        spatial, spatial_attn = self.spatial(tokens, self.positional(h, w))
        frame_tokens = spatial[:, 0].reshape(b, seq, self.dim)
        patches = spatial[:, 1:]  # (B*L, h*w, D)
        temporal, temporal_attn = self.temporal(frame_tokens)
        out = {
            "stt": temporal[:, 0],
            "frame_tokens": frame_tokens,
            "patch_tokens": patches.reshape(b, seq, h, w, self.dim),
            "temporal_attention": temporal_attn,  # (B, L)
            "spatial_attention": spatial_attn.reshape(b, seq, h, w),
        }
        if self.global_transformer is not None:
            everything = patches.reshape(b, seq * h * w, self.dim)
            gt, _ = self.global_transformer(everything)
            out["gt"] = gt[:, 0]
            out["embedding"] = torch.cat([out["stt"], out["gt"]], dim=1)
        else:
            out["embedding"] = out["stt"]
        return out

    def forward(self, clips: Tensor) -> dict[str, Tensor] | Tensor:
        feats = self.features(clips)
        if not self.training:
            return F.normalize(feats["embedding"], dim=1)
        out = {"embedding": feats["embedding"], "logits": self.classifier(feats["embedding"])}
        for key in ("temporal_attention", "spatial_attention"):
            if key in feats:
                out[key] = feats[key]
        if self.spatial_classifier is not None:
            out["spatial_logits"] = self.spatial_classifier(feats["frame_tokens"])
        if self.part_classifiers is not None:
            pt = feats["patch_tokens"]
            pooled = part_pool(pt.flatten(0, 1), self.parts).reshape(pt.shape[0], pt.shape[1], self.parts, self.dim)
            out["part_logits"] = torch.stack([c(pooled[:, :, i]) for i, c in enumerate(self.part_classifiers)], 2)
        if self.global_classifier is not None:
            out["global_logits"] = self.global_classifier(feats["gt"])
        return out

    @torch.no_grad()
    def explain(self, clips: Tensor) -> dict[str, Tensor]:
        """Eval-mode embedding plus the attention maps, for pictures (``streid explain``)."""
        was_training = self.training
        self.eval()
        try:
            feats = self.features(clips)
        finally:
            self.train(was_training)
        out = {"embedding": F.normalize(feats["embedding"], dim=1)}
        for key in ("temporal_attention", "spatial_attention"):
            if key in feats:
                out[key] = feats[key]
        return out


def load_trunk_weights(model: STTGT, path: str | Path) -> list[str]:
    """Copy a local torchvision ResNet's stem and stages 1-3 into the CNN; returns its keys left unused."""
    from streid.train.models.nl3d import load_torchvision_state

    state = load_torchvision_state(path)
    own = model.cnn.state_dict()
    matched = {k: v for k, v in state.items() if k in own}
    wrong = [k for k, v in matched.items() if v.shape != own[k].shape]
    if wrong or not matched:
        detail = f"'{wrong[0]}' {tuple(state[wrong[0]].shape)} vs {tuple(own[wrong[0]].shape)}" if wrong else "no key"
        raise ConfigError(
            None, "model.pretrained",
            f"{path}: not a torchvision ResNet of this depth at width 1 ({detail} fits the CNN)",
        )
    missing = [k for k in own if k not in matched]
    if missing:
        raise ConfigError(None, "model.pretrained", f"{path}: lacks {len(missing)} CNN weights, e.g. '{missing[0]}'")
    model.cnn.load_state_dict(matched)
    return [k for k in state if k not in own]


def build_stt_gt(cfg: STTGTConfig, num_classes: int) -> STTGT:
    """The registry's factory: config -> plain arguments (config stays out of the constructor)."""
    active = cfg.active_terms()
    model = STTGT(
        num_classes,
        depth=cfg.depth,
        width=cfg.width,
        dim=cfg.dim,
        heads=cfg.heads,
        spatial_layers=cfg.spatial_layers,
        temporal_layers=cfg.temporal_layers,
        global_layers=cfg.global_layers,
        mlp_ratio=cfg.mlp_ratio,
        parts=cfg.parts,
        dropout=cfg.dropout,
        input_size=tuple(cfg.input_size),  # type: ignore[arg-type]
        transformers=cfg.transformers,
        use_global=cfg.use_global,
        heads_for=tuple(k for k in ("spa_xent", "spa_part_xent", "global_xent") if k in active),
    )
    if cfg.pretrained:
        load_trunk_weights(model, cfg.pretrained)
    return model


def attention_cells(seq_len: int, height: int, width: int) -> int:
    """Tokens the global transformer attends over for clips of this size: h * w * L + 1 (class token)."""
    h, w = token_grid(height, width)
    return h * w * seq_len + 1


__all__ = ["STRIDE", "STTGT", "attention_cells", "build_stt_gt", "part_pool", "token_grid"]
