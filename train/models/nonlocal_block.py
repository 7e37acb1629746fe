"""Embedded-Gaussian non-local block (Wang et al. 2018), as used by Liao et al. 2018 for video re-id.

``z = BN(W_z y) + x`` with ``y_i = sum_j softmax_j(theta(x_i) . phi(x_j)) g(x_j)`` over all T*H*W
positions of a clip, so every position can attend to the same body part in any other frame. The BN
after ``W_z`` starts with weight and bias 0: an inserted block is exactly the identity at first and
does not disturb a (pre-trained or inflated) backbone until training moves it.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class NonLocalBlock3d(nn.Module):
    """Non-local block over (B, C, T, H, W); ``subsample`` max-pools phi and g by 1x2x2 (4x fewer keys)."""

    def __init__(self, channels: int, reduction: int = 2, subsample: bool = True) -> None:
        super().__init__()
        inner = max(1, channels // reduction)
        self.inner = inner
        self.theta = nn.Conv3d(channels, inner, 1)
        self.phi = nn.Conv3d(channels, inner, 1)
        self.g = nn.Conv3d(channels, inner, 1)
        self.pool = nn.MaxPool3d((1, 2, 2)) if subsample else None
        self.w_z = nn.Conv3d(inner, channels, 1, bias=False)
        self.bn = nn.BatchNorm3d(channels)
        nn.init.zeros_(self.bn.weight)
        nn.init.zeros_(self.bn.bias)

    def forward(self, x: Tensor) -> Tensor:
        b, _, t, h, w = x.shape
        theta = self.theta(x).flatten(2).transpose(1, 2)  # (B, N, C') queries
        keys = x if self.pool is None or h < 2 or w < 2 else self.pool(x)
        phi = self.phi(keys).flatten(2).transpose(1, 2)  # (B, M, C')
        g = self.g(keys).flatten(2).transpose(1, 2)  # (B, M, C')
        # softmax_j(theta_i . phi_j) g_j, unscaled as in the paper; the fused kernel never holds the
        # (N x M) matrix on GPU, which at paper size (256x128, 8 frames) would take gigabytes.
        y = F.scaled_dot_product_attention(theta, phi, g, scale=1.0)
        y = y.transpose(1, 2).reshape(b, self.inner, t, h, w)
        return x + self.bn(self.w_z(y))
