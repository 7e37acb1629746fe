"""The exported graph: uint8 BGR clips in, L2-normalised embeddings out, preprocessing inside.

Putting the conversion in the graph means every runtime (ONNX Runtime, TensorRT on a Jetson) feeds the
crops exactly as OpenCV/GStreamer give them, and no Python loop normalises pixels per frame.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class RawClipEmbedder(nn.Module):
    """Same contract as ``ClipEmbedder`` for a model whose first conv has the normalisation folded in."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.eval()

    def forward(self, clips: Tensor) -> Tensor:
        return F.normalize(self.model(clips.permute(0, 1, 4, 2, 3).float()), dim=1)


class ClipEmbedder(nn.Module):
    """(B, L, H, W, 3) uint8 BGR -> (B, D) float32 L2-normalised embeddings of a re-id model in eval mode."""

    def __init__(self, model: nn.Module, mean: tuple[float, float, float], std: tuple[float, float, float]) -> None:
        super().__init__()
        self.model = model
        std_t = torch.tensor(std, dtype=torch.float32)
        # (x / 255 - mean) / std folded into one multiply-add; channels already in RGB order
        self.register_buffer("scale", (1.0 / (255.0 * std_t)).view(1, 1, 3, 1, 1), persistent=False)
        self.register_buffer("shift", (-torch.tensor(mean) / std_t).view(1, 1, 3, 1, 1), persistent=False)
        self.eval()

    def forward(self, clips: Tensor) -> Tensor:
        # layout first, on uint8 (4x fewer bytes to move), then the channel flip on whole planes
        x = clips.permute(0, 1, 4, 2, 3).flip(2).float()  # (B, L, 3, H, W) RGB, the model contract
        x = x * self.scale + self.shift
        return F.normalize(self.model(x), dim=1)


class FlipAveraged(nn.Module):
    """A clip embedder's output averaged with that of the horizontally mirrored clip (flip test, as fast-reid's
    ``TEST.FLIP``): a person seen walking left and walking right then look alike; about +2 mAP on the synthetic
    test split for twice the compute. The mirrored clips go through the same pass as a second half of the batch,
    inside the graph, so every runtime gets it and the file holds one copy of the weights."""

    def __init__(self, embedder: nn.Module) -> None:
        super().__init__()
        self.embedder = embedder
        self.eval()

    def forward(self, clips: Tensor) -> Tensor:  # (B, L, H, W, 3): W is dim 3
        both = self.embedder(torch.cat([clips, clips.flip(3)]))  # one pass over 2B clips: one copy of the weights
        plain, mirrored = both.chunk(2)
        return F.normalize(plain + mirrored, dim=1)
