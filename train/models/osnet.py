"""OSNet (Zhou et al., ICCV 2019) and OSNet-AIN (Zhou et al., TPAMI 2021), laid out as torchreid lays them out.

Omni-scale block: a 1x1 reduction, four streams of 1..4 lightweight 3x3 convs (pointwise + depthwise, so
stream t sees a receptive field of 2t+1), one channel gate shared by the streams that weighs their outputs
per channel before they are summed, and a 1x1 expansion with a residual. The AIN variant puts instance
normalisation inside some residuals (and in the stem) for domain generalisation; the IBN variant after the
sum in the first stage.

Module and parameter names follow torchreid's ``osnet.py`` / ``osnet_ain.py`` exactly, so a state dict it
saved loads with ``load_torchreid_state`` and nothing renamed. ``OSNetClip`` runs the image model on every
frame of a clip and averages the frame features: the image re-id recipe most deployments use on tracklets.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

FEATURE_DIM = 512


@dataclass(frozen=True)
class Arch:
    """One member of the family: stage widths, the normalisation variant, and the block kinds of each stage."""

    channels: tuple[int, int, int, int]
    variant: str = "plain"  # plain | ibn (IN after stage-1 residuals and in the stem) | ain (IN inside residuals)


ARCHS: dict[str, Arch] = {
    "osnet_x1_0": Arch((64, 256, 384, 512)),
    "osnet_x0_75": Arch((48, 192, 288, 384)),
    "osnet_x0_5": Arch((32, 128, 192, 256)),
    "osnet_x0_25": Arch((16, 64, 96, 128)),
    "osnet_ibn_x1_0": Arch((64, 256, 384, 512), "ibn"),
    "osnet_ain_x1_0": Arch((64, 256, 384, 512), "ain"),
    "osnet_ain_x0_75": Arch((48, 192, 288, 384), "ain"),
    "osnet_ain_x0_5": Arch((32, 128, 192, 256), "ain"),
    "osnet_ain_x0_25": Arch((16, 64, 96, 128), "ain"),
}

AIN_STAGES = (("in", "in"), ("plain", "in"), ("in", "plain"))
"""Which blocks of stages 2-4 of OSNet-AIN carry instance norm inside the residual (torchreid's choice)."""


class ConvLayer(nn.Module):
    """k x k conv + BN (or affine IN) + ReLU."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, padding: int = 0, instance_norm: bool = False
                 ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=padding, bias=False)
        self.bn = nn.InstanceNorm2d(cout, affine=True) if instance_norm else nn.BatchNorm2d(cout)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


class Conv1x1(ConvLayer):
    """1x1 conv + BN + ReLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(cin, cout, 1)


class Conv1x1Linear(nn.Module):
    """1x1 conv + BN (optional), no non-linearity: the expansion before a residual sum."""

    def __init__(self, cin: int, cout: int, bn: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout) if bn else None

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(x)
        return self.bn(x) if self.bn is not None else x


class LightConv3x3(nn.Module):
    """Pointwise (linear) then depthwise 3x3, BN, ReLU: a 3x3 conv at a fraction of the cost."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False, groups=cout)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv2(self.conv1(x))))


class LightConvStream(nn.Module):
    """``depth`` LightConv3x3 in a row (AIN layout: ``layers.N``)."""

    def __init__(self, channels: int, depth: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(*(LightConv3x3(channels, channels) for _ in range(depth)))

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class ChannelGate(nn.Module):
    """Per-channel weights in (0, 1) from the pooled input (squeeze-excitation); shared by all streams."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        w = torch.sigmoid(self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(x, 1)))))
        return x * w


class OSBlock(nn.Module):
    """Omni-scale residual block, OSNet layout (``conv2a`` .. ``conv2d``); ``instance_norm``: IBN's IN after the sum."""

    def __init__(self, cin: int, cout: int, instance_norm: bool = False, reduction: int = 4) -> None:
        super().__init__()
        mid = cout // reduction
        self.conv1 = Conv1x1(cin, mid)
        self.conv2a = LightConv3x3(mid, mid)
        self.conv2b = nn.Sequential(*(LightConv3x3(mid, mid) for _ in range(2)))
        self.conv2c = nn.Sequential(*(LightConv3x3(mid, mid) for _ in range(3)))
        self.conv2d = nn.Sequential(*(LightConv3x3(mid, mid) for _ in range(4)))
        self.gate = ChannelGate(mid)
        self.conv3 = Conv1x1Linear(mid, cout)
        self.downsample = Conv1x1Linear(cin, cout) if cin != cout else None
        self.IN = nn.InstanceNorm2d(cout, affine=True) if instance_norm else None

    def forward(self, x: Tensor) -> Tensor:
        x1 = self.conv1(x)
        x2 = sum(self.gate(stream(x1)) for stream in (self.conv2a, self.conv2b, self.conv2c, self.conv2d))
        identity = self.downsample(x) if self.downsample is not None else x
        out = self.conv3(x2) + identity
        if self.IN is not None:
            out = self.IN(out)
        return F.relu(out)


class OSBlockAIN(nn.Module):
    """Omni-scale residual block, OSNet-AIN layout (``conv2.T``); ``instance_norm``: IN inside the residual."""

    def __init__(self, cin: int, cout: int, instance_norm: bool = False, reduction: int = 4, streams: int = 4) -> None:
        super().__init__()
        mid = cout // reduction
        self.conv1 = Conv1x1(cin, mid)
        self.conv2 = nn.ModuleList(LightConvStream(mid, t) for t in range(1, streams + 1))
        self.gate = ChannelGate(mid)
        self.conv3 = Conv1x1Linear(mid, cout, bn=not instance_norm)
        self.downsample = Conv1x1Linear(cin, cout) if cin != cout else None
        self.IN = nn.InstanceNorm2d(cout, affine=True) if instance_norm else None

    def forward(self, x: Tensor) -> Tensor:
        x1 = self.conv1(x)
        x3 = self.conv3(sum(self.gate(stream(x1)) for stream in self.conv2))
        if self.IN is not None:
            x3 = self.IN(x3)
        identity = self.downsample(x) if self.downsample is not None else x
        return F.relu(x3 + identity)


def _transition(channels: int) -> nn.Sequential:
    """1x1 conv then 2x2 average pool: halves the resolution between stages."""
    return nn.Sequential(Conv1x1(channels, channels), nn.AvgPool2d(2, stride=2))


class OSNet(nn.Module):
    """Image model: (N, 3, H, W) normalised RGB -> (N, 512) feature; ``classifier`` gives identity logits.

    ``num_classes`` only sizes the classifier (training); the feature never uses it.
    """

    def __init__(self, arch: str, num_classes: int = 1, feature_dim: int = FEATURE_DIM) -> None:
        super().__init__()
        if arch not in ARCHS:
            raise KeyError(f"unknown OSNet architecture '{arch}' (choices: {', '.join(ARCHS)})")
        spec = ARCHS[arch]
        self.arch = arch
        c = spec.channels
        self.conv1 = ConvLayer(3, c[0], 7, stride=2, padding=3, instance_norm=spec.variant != "plain")
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        if spec.variant == "ain":
            for stage, kinds in enumerate(AIN_STAGES, start=2):
                cin = c[stage - 2]
                blocks = [OSBlockAIN(cin if i == 0 else c[stage - 1], c[stage - 1], kind == "in")
                          for i, kind in enumerate(kinds)]
                setattr(self, f"conv{stage}", nn.Sequential(*blocks))
                if stage < 4:
                    setattr(self, f"pool{stage}", _transition(c[stage - 1]))
        else:
            ibn = spec.variant == "ibn"
            self.conv2 = nn.Sequential(OSBlock(c[0], c[1], ibn), OSBlock(c[1], c[1], ibn), _transition(c[1]))
            self.conv3 = nn.Sequential(OSBlock(c[1], c[2]), OSBlock(c[2], c[2]), _transition(c[2]))
            self.conv4 = nn.Sequential(OSBlock(c[2], c[3]), OSBlock(c[3], c[3]))
        self.conv5 = Conv1x1(c[3], c[3])
        self.fc = nn.Sequential(nn.Linear(c[3], feature_dim), nn.BatchNorm1d(feature_dim), nn.ReLU())
        self.classifier = nn.Linear(feature_dim, num_classes)
        self.feature_dim = feature_dim
        self._init_params()

    def _init_params(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def featuremaps(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.conv1(x))
        for name in ("conv2", "pool2", "conv3", "pool3", "conv4", "conv5"):
            layer = getattr(self, name, None)  # plain/IBN keep the pools inside conv2/conv3
            if layer is not None:
                x = layer(x)
        return x

    def features(self, x: Tensor) -> Tensor:
        """(N, 3, H, W) -> (N, feature_dim), before the classifier (what torchreid returns in eval mode)."""
        return self.fc(F.adaptive_avg_pool2d(self.featuremaps(x), 1).flatten(1))

    def forward(self, x: Tensor) -> Tensor:
        return self.features(x)


class OSNetClip(OSNet):
    """Clip model over OSNet: every frame through the image model, features averaged over time.

    Same state-dict layout as the image model (so torchreid weights load as they are); follows the
    registry's contract: train mode -> {"embedding", "logits"}, eval mode -> L2-normalised (B, D).
    """

    @property
    def embedding_dim(self) -> int:
        return self.feature_dim

    def reset_classifier(self, num_classes: int) -> None:
        self.classifier = nn.Linear(self.feature_dim, num_classes)
        nn.init.normal_(self.classifier.weight, 0, 0.01)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, clips: Tensor) -> Tensor | dict[str, Tensor]:  # type: ignore[override]
        b, seq = clips.shape[:2]
        frames = self.features(clips.flatten(0, 1))  # (B*L, D): torchreid folds time into the batch the same way
        embedding = frames.view(b, seq, -1).mean(1)
        if self.training:
            return {"embedding": embedding, "logits": self.classifier(embedding)}
        return F.normalize(embedding, dim=1)


def build_osnet(cfg: object, num_classes: int) -> OSNetClip:
    """Registry factory: ``cfg`` is an ``OSNetConfig``; its ``pretrained`` torchreid file is loaded strictly."""
    model = OSNetClip(cfg.arch, num_classes)  # type: ignore[attr-defined]
    pretrained = getattr(cfg, "pretrained", None)
    if pretrained:
        from streid.train.models.torchreid_weights import load_torchreid_file

        load_torchreid_file(model, pretrained, keep_classifier=False)
    return model
