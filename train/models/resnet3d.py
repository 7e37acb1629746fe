"""A torchvision ResNet (18/34/50) inflated to 3D with factorised convolutions, and its 2D inflation.

Layout and parameter names mirror ``torchvision.models.resnet`` (``conv1``, ``bn1``,
``layer1.0.conv1`` ...), so a 2D state_dict maps onto this net by one rule (see ``inflate_state_dict``):

- every 2D ``k x k`` convolution becomes a ``1 x k x k`` spatial convolution (weights copied);
- a residual unit that "calls for time" gets a ``t x 1 x 1`` temporal convolution:
  * Bottleneck (depth 50): its ``1 x 1`` ``conv1`` becomes a full ``t x 1 x 1`` kernel (I3D /
    non-local nets, Wang et al. 2018); inflated, the 2D weights are replicated over time and
    divided by ``t``;
  * BasicBlock (18/34): its ``3 x 3`` ``conv1`` becomes ``1 x 3 x 3`` followed directly by a new
    ``t x 1 x 1`` channel-mixing conv (R(2+1)D-style, no BN/ReLU in between), initialised as the
    identity: centre tap = identity matrix, other taps 0.

Both initialisations make a static clip (all frames equal) go through the 3D net exactly as each
frame goes through the 2D net: ``sum_t w / t = w`` and ``identity * x = x``. Temporal convolutions pad
by *replicating* the first/last frame instead of zeros, so the equality also holds at the clip's
first and last frames (with zero padding the 1/t-replicated kernel would see only (t-1)/t of the
signal there); replicate padding also reads a clip boundary as "the person stood still", a mild
prior. Strides are spatial only: a clip keeps its L frames down to the final temporal pooling.
BatchNorm stays per channel (``BatchNorm3d`` takes the 2D statistics unchanged).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor, nn

from streid.train.models.config import RESNET_UNITS as STAGE_UNITS


def temporal_conv(channels: int, t: int) -> nn.Conv3d:
    """``t x 1 x 1`` channel-mixing conv, identity-initialised (centre tap = I), replicate-padded in time."""
    conv = nn.Conv3d(channels, channels, (t, 1, 1), padding=(t // 2, 0, 0), padding_mode="replicate", bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[:, :, t // 2, 0, 0] = torch.eye(channels)
    return conv


class FactorisedConv3d(nn.Module):
    """A 2D ``k x k`` conv as ``1 x k x k`` (spatial), optionally followed by ``t x 1 x 1`` (temporal)."""

    def __init__(self, in_ch: int, out_ch: int, k: int, stride: int, t: int | None) -> None:
        super().__init__()
        self.spatial = nn.Conv3d(in_ch, out_ch, (1, k, k), stride=(1, stride, stride), padding=(0, k // 2, k // 2),
                                 bias=False)
        self.temporal = temporal_conv(out_ch, t) if t and t > 1 else None

    def forward(self, x: Tensor) -> Tensor:
        x = self.spatial(x)
        return self.temporal(x) if self.temporal is not None else x


def _downsample(in_ch: int, out_ch: int, stride: int) -> nn.Sequential | None:
    if stride == 1 and in_ch == out_ch:
        return None
    return nn.Sequential(nn.Conv3d(in_ch, out_ch, 1, stride=(1, stride, stride), bias=False), nn.BatchNorm3d(out_ch))


class BasicBlock3d(nn.Module):
    """torchvision BasicBlock in 3D; ``t`` > 1 adds the identity-initialised temporal conv after conv1."""

    expansion = 1

    def __init__(self, in_ch: int, planes: int, stride: int, t: int) -> None:
        super().__init__()
        self.conv1 = FactorisedConv3d(in_ch, planes, 3, stride, t)
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = FactorisedConv3d(planes, planes, 3, 1, None)
        self.bn2 = nn.BatchNorm3d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(in_ch, planes, stride)

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck3d(nn.Module):
    """torchvision Bottleneck (v1.5: stride on the 3x3) in 3D; ``t`` > 1 makes conv1 a ``t x 1 x 1`` kernel."""

    expansion = 4

    def __init__(self, in_ch: int, planes: int, stride: int, t: int) -> None:
        super().__init__()
        out_ch = planes * self.expansion
        self.conv1 = nn.Conv3d(in_ch, planes, (t, 1, 1), padding=(t // 2, 0, 0), padding_mode="replicate", bias=False)
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = FactorisedConv3d(planes, planes, 3, stride, None)
        self.bn2 = nn.BatchNorm3d(planes)
        self.conv3 = nn.Conv3d(planes, out_ch, 1, bias=False)
        self.bn3 = nn.BatchNorm3d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(in_ch, out_ch, stride)

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def _temporal_units(rule: str, count: int) -> list[bool]:
    """Which units of a stage get a temporal conv: all, none, or every other one starting at 0 (I3D)."""
    if rule == "all":
        return [True] * count
    if rule == "none":
        return [False] * count
    return [i % 2 == 0 for i in range(count)]


class ResNet3d(nn.Module):
    """Stem + four stages of an inflated ResNet; ``forward`` maps (B, 3, T, H, W) to (B, C, T, h, w).

    ``stages()`` yields (name, residual units) so a caller can insert blocks between units without
    changing parameter names (which stay torchvision's, for inflation).
    """

    def __init__(
        self,
        depth: int = 50,
        width: float = 1.0,
        temporal_kernel: int = 3,
        temporal_blocks: str = "alternate",
        last_stride: int = 1,
    ) -> None:
        super().__init__()
        if depth not in STAGE_UNITS:
            raise ValueError(f"depth {depth} not supported (choices: {sorted(STAGE_UNITS)})")
        block: type[BasicBlock3d] | type[Bottleneck3d] = Bottleneck3d if depth >= 50 else BasicBlock3d
        base = max(4, round(64 * width))
        self.conv1 = nn.Conv3d(3, base, (1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False)
        self.bn1 = nn.BatchNorm3d(base)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
        in_ch = base
        for index, count in enumerate(STAGE_UNITS[depth]):
            stride = 1 if index == 0 else (last_stride if index == 3 else 2)
            planes = base * 2**index
            units = []
            for unit, temporal in enumerate(_temporal_units(temporal_blocks, count)):
                units.append(block(in_ch, planes, stride if unit == 0 else 1, temporal_kernel if temporal else 1))
                in_ch = planes * block.expansion
            self.add_module(f"layer{index + 1}", nn.Sequential(*units))
        self.out_channels = in_ch
        self._init_weights()

    def _init_weights(self) -> None:
        """He init for spatial/pointwise convs, BN = identity; identity-initialised temporal convs kept."""
        for name, module in self.named_modules():
            if isinstance(module, nn.Conv3d) and not name.endswith(".temporal"):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm3d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def stages(self) -> Iterator[tuple[str, nn.Sequential]]:
        for i in range(1, 5):
            yield f"layer{i}", getattr(self, f"layer{i}")

    def stem(self, x: Tensor) -> Tensor:
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        for _, stage in self.stages():
            x = stage(x)
        return x


def inflate_state_dict(
    state_2d: dict[str, Tensor], target: dict[str, Tensor], source: str = "<state_dict>"
) -> tuple[dict[str, Tensor], list[str]]:
    """Map a 2D torchvision ResNet state_dict onto the 3D ``target`` state_dict's keys and shapes.

    A 3D key without its ``.spatial`` segment is the 2D key. A 4D weight (O, I, kh, kw) becomes
    (O, I, t, kh, kw) by replication over time divided by ``t`` (t = 1: a plain copy). Keys with no
    2D counterpart (temporal convs, non-local blocks, heads) are left out and returned, so they keep
    their own initialisation. A shape that cannot match (other depth or width) is an error naming it.
    """
    out: dict[str, Tensor] = {}
    own_only: list[str] = []
    for key, dest in target.items():
        key_2d = key.replace(".spatial.", ".")
        if key_2d not in state_2d:
            own_only.append(key)
            continue
        src = state_2d[key_2d]
        if src.dim() == 4 and dest.dim() == 5:
            t = dest.shape[2]
            src = src.unsqueeze(2).repeat(1, 1, t, 1, 1) / t
        if src.shape != dest.shape:
            raise ValueError(
                f"{source}: '{key_2d}' has shape {tuple(state_2d[key_2d].shape)}, which does not inflate to "
                f"{tuple(dest.shape)}: is it a torchvision ResNet of this depth, with model.width = 1?"
            )
        out[key] = src.to(dest.dtype)
    used = {k.replace(".spatial.", ".") for k in out}
    backbone_2d = [k for k in state_2d if not k.startswith("fc.")]
    unused = [k for k in backbone_2d if k not in used]
    if unused or not out:
        raise ValueError(
            f"{source}: not a torchvision ResNet state_dict of this depth "
            f"({len(unused)} of its tensors have no place here, e.g. {unused[:3]})"
        )
    return out, own_only
