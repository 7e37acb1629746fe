"""Typed model configs (pydantic only, no torch): the `model:` section of a training config.

The section is a union discriminated by ``name``; each model owns one class here. Paper sizes are
the defaults of the paper configs (``configs/train/*_mars.yaml``); small sizes are set in the
small configs so CPU tests and demos run fast.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from streid.config import Section


class NL3DConfig(Section):
    """3D ResNet (inflated, factorised 1x3x3 + tx1x1) with non-local blocks (Liao et al. 2018)."""

    name: Literal["nl3d"] = "nl3d"
    depth: Literal[18, 34, 50] = 50
    width: float = Field(1.0, gt=0, description="channel multiplier; < 1 makes small CPU models")
    temporal_kernel: int = Field(3, ge=1, description="t of the t x 1 x 1 temporal convolutions")
    nonlocal_blocks: dict[str, list[int]] = Field(
        default_factory=lambda: {"layer2": [1, 3], "layer3": [1, 3, 5]},
        description="non-local blocks after these residual units (paper: 2 in res3, 3 in res4)",
    )
    embedding_dim: int = Field(512, ge=8)
    dropout: float = Field(0.5, ge=0, lt=1)
    pretrained: str | None = Field(None, description="local torchvision ResNet state_dict to inflate")


class STTGTConfig(Section):
    """Spatiotemporal transformer + global transformer (Zhang et al. 2021)."""

    name: Literal["stt_gt"] = "stt_gt"
    depth: Literal[18, 34, 50] = 50
    width: float = Field(1.0, gt=0)
    dim: int = Field(768, ge=8, description="token dimension D")
    heads: int = Field(6, ge=1)
    spatial_layers: int = Field(1, ge=1)
    temporal_layers: int = Field(1, ge=1)
    global_layers: int = Field(2, ge=1)
    parts: int = Field(4, ge=1, description="horizontal groups for the spatial part loss")
    dropout: float = Field(0.0, ge=0, lt=1)
    pretrained: str | None = None


ModelConfig = Annotated[NL3DConfig | STTGTConfig, Field(discriminator="name")]
