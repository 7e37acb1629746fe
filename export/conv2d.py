"""Export-time rewrite of 3D convolutions and pools into 2D ones with the same weights.

Factorised 3D CNNs use only 1xkxk (spatial) and tx1x1 (temporal) kernels. As 2D ops they run on the
fast paths of every runtime: ONNX Runtime's NCHWc 2D convolution and its INT8 QLinearConv, TensorRT's 2D
(INT8) kernels; 3D ones are slow on CPU and are where INT8 builds fail in the field. A spatial op folds
time into the batch; a temporal op reads (C, T, H*W) as an image of T x HW. The parity check of the export
proves the rewrite exact; other 3D kernels (t, k, k with both > 1) are left as they are.
"""

from __future__ import annotations

import copy

import torch.nn.functional as F
from torch import Tensor, nn


class SpatialConv(nn.Module):
    """A Conv3d with kernel (1, kh, kw) and no temporal stride/padding, as a Conv2d over B*T frames."""

    def __init__(self, conv: nn.Conv3d) -> None:
        super().__init__()
        self.conv = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size[1:], conv.stride[1:],
                              conv.padding[1:], conv.dilation[1:], conv.groups, conv.bias is not None,
                              conv.padding_mode)
        self.conv.weight.data = conv.weight.data[:, :, 0].clone()
        if conv.bias is not None:
            self.conv.bias.data = conv.bias.data.clone()

    def forward(self, x: Tensor) -> Tensor:
        b, c, t, h, w = x.shape
        y = self.conv(x.transpose(1, 2).reshape(b * t, c, h, w))
        return y.reshape(b, t, y.shape[1], y.shape[2], y.shape[3]).transpose(1, 2)


class TemporalConv(nn.Module):
    """A Conv3d with kernel (kt, 1, 1) and no spatial stride/padding, as a Conv2d over (T, H*W)."""

    def __init__(self, conv: nn.Conv3d) -> None:
        super().__init__()
        kt, st, pt = conv.kernel_size[0], conv.stride[0], conv.padding[0]
        self.pad = pt
        self.replicate = conv.padding_mode == "replicate"
        self.conv = nn.Conv2d(conv.in_channels, conv.out_channels, (kt, 1), (st, 1),
                              0 if self.replicate else (pt, 0), (conv.dilation[0], 1), conv.groups,
                              conv.bias is not None)
        self.conv.weight.data = conv.weight.data[:, :, :, :, 0].clone()
        if conv.bias is not None:
            self.conv.bias.data = conv.bias.data.clone()

    def forward(self, x: Tensor) -> Tensor:
        b, c, t, h, w = x.shape
        y = x.reshape(b, c, t, h * w)
        if self.replicate and self.pad:
            y = F.pad(y, (0, 0, self.pad, self.pad), mode="replicate")
        y = self.conv(y)
        return y.reshape(b, y.shape[1], y.shape[2], h, w)


class SpatialMaxPool(nn.Module):
    """A MaxPool3d with kernel (1, kh, kw), as a MaxPool2d over B*T frames."""

    def __init__(self, pool: nn.MaxPool3d) -> None:
        super().__init__()
        k, s, p = (_triple(v) for v in (pool.kernel_size, pool.stride, pool.padding))
        self.pool = nn.MaxPool2d(k[1:], s[1:], p[1:], ceil_mode=pool.ceil_mode)

    def forward(self, x: Tensor) -> Tensor:
        b, c, t, h, w = x.shape
        y = self.pool(x.transpose(1, 2).reshape(b * t, c, h, w))
        return y.reshape(b, t, c, y.shape[2], y.shape[3]).transpose(1, 2)


def _triple(value: int | tuple[int, ...]) -> tuple[int, int, int]:
    return (value, value, value) if isinstance(value, int) else tuple(value)  # type: ignore[return-value]


def _replacement(module: nn.Module) -> nn.Module | None:
    if isinstance(module, nn.Conv3d) and module.dilation == (1, 1, 1):
        k, s, p = module.kernel_size, module.stride, module.padding
        if isinstance(p, str):
            return None
        if k[0] == 1 and s[0] == 1 and p[0] == 0 and module.padding_mode == "zeros":
            return SpatialConv(module)
        if k[1:] == (1, 1) and s[1:] == (1, 1) and p[1:] == (0, 0):
            return TemporalConv(module)
    if isinstance(module, nn.MaxPool3d) and module.dilation in (1, (1, 1, 1)) and not module.return_indices:
        k, s, p = (_triple(v) for v in (module.kernel_size, module.stride, module.padding))
        if k[0] == 1 and s[0] == 1 and p[0] == 0:
            return SpatialMaxPool(module)
    return None


def as_2d(model: nn.Module) -> tuple[nn.Module, int]:
    """A copy of ``model`` (eval mode) with every factorisable 3D conv/pool made 2D; returns (copy, count)."""
    model = copy.deepcopy(model).eval()
    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            new = _replacement(child)
            if new is not None:
                setattr(parent, name, new.eval())
                count += 1
    return model, count
