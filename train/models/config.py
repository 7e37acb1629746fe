"""Typed model configs (pydantic only, no torch): the `model:` section of a training config.

The section is a union discriminated by ``name``; each model owns one class here. Paper sizes are
the defaults of the paper configs (``configs/train/*_mars.yaml``); small sizes are set in the
small configs so CPU tests and demos run fast.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from streid.config import Section

WEIGHT_NAMES = ("imagenet", "kinetics", "default", "imagenet1k_v1", "imagenet1k_v2", "kinetics400")
"""Names that ask for published weights by name; they would need a download, which STREID never does."""

RESNET_UNITS: dict[int, tuple[int, int, int, int]] = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3)}
"""Residual units per stage (layer1..layer4) of each torchvision ResNet depth."""


def paper_nonlocal_placement(depth: int) -> dict[str, list[int]]:
    """Liao et al.: 2 blocks in res3 (layer2), 3 in res4 (layer3), after every other unit; depth 18 has
    only 2 units per stage, so it gets one block after each of those stages."""
    if depth == 18:
        return {"layer2": [1], "layer3": [1]}
    return {"layer2": [1, 3], "layer3": [1, 3, 5]}


def check_local_weights(value: str | None) -> str | None:
    """Refuse weight *names* and URLs early: weights come only from a local file."""
    if value is not None and (value.strip().lower() in WEIGHT_NAMES or "://" in value):
        raise ValueError(
            f"'{value}': no download offline: give a local file (path to a torchvision ResNet state_dict)"
        )
    return value


class LossConfig(Section):
    """Weights of the re-id loss pair shared by CNN models: label-smoothed cross-entropy + batch-hard triplet."""

    ce_weight: float = Field(1.0, ge=0, description="weight of the label-smoothed cross-entropy")
    label_smooth: float = Field(0.1, ge=0, lt=1, description="epsilon of the label smoothing")
    triplet_weight: float = Field(1.0, ge=0, description="weight of the batch-hard triplet loss")
    margin: float = Field(0.3, gt=0, description="triplet margin (Euclidean distance)")


class NL3DConfig(Section):
    """3D ResNet (inflated, factorised 1x3x3 + tx1x1) with non-local blocks (Liao et al. 2018)."""

    name: Literal["nl3d"] = "nl3d"
    depth: Literal[18, 34, 50] = 50
    width: float = Field(1.0, gt=0, le=4, description="channel multiplier; < 1 makes small CPU models")
    temporal_kernel: int = Field(3, ge=1, description="t of the t x 1 x 1 temporal convolutions (odd)")
    temporal_blocks: Literal["alternate", "all", "none"] = Field(
        "alternate", description="residual units that get a temporal conv: every other one (I3D), all, none"
    )
    nonlocal_blocks: dict[str, list[int]] | None = Field(
        None,
        description="non-local blocks after these residual units, e.g. {layer2: [1, 3]}; "
        "null = paper placement (2 in res3, 3 in res4; 1 + 1 at depth 18); {} = none",
    )
    nonlocal_reduction: int = Field(2, ge=1, description="theta/phi/g channels = C / reduction")
    nonlocal_subsample: bool = Field(True, description="1x2x2 max-pool on phi and g (4x cheaper attention)")
    last_stride: Literal[1, 2] = Field(1, description="spatial stride of layer4; 1 keeps more detail (re-id)")
    embedding_dim: int = Field(512, ge=8)
    dropout: float = Field(0.5, ge=0, lt=1)
    pretrained: str | None = Field(None, description="local torchvision ResNet state_dict to inflate")
    loss: LossConfig = Field(default_factory=LossConfig)

    _check_pretrained = field_validator("pretrained")(check_local_weights)

    @field_validator("temporal_kernel")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError("must be odd so a clip keeps its length (same padding)")
        return value

    @model_validator(mode="after")
    def _placement_fits_depth(self) -> NL3DConfig:
        self.nonlocal_placement()
        return self

    def nonlocal_placement(self) -> dict[str, list[int]]:
        """Resolved non-local placement {layerN: sorted unit indices}; raises if it does not fit the depth."""
        if self.nonlocal_blocks is None:
            return paper_nonlocal_placement(self.depth)
        units = RESNET_UNITS[self.depth]
        out: dict[str, list[int]] = {}
        for layer, indices in self.nonlocal_blocks.items():
            if layer not in ("layer1", "layer2", "layer3", "layer4"):
                raise ValueError(f"nonlocal_blocks.{layer}: unknown stage (choices: layer1, layer2, layer3, layer4)")
            count = units[int(layer[-1]) - 1]
            bad = [i for i in indices if not 0 <= i < count]
            if bad:
                raise ValueError(
                    f"nonlocal_blocks.{layer}: unit(s) {bad} out of range; at depth {self.depth} "
                    f"{layer} has {count} residual units (0..{count - 1})"
                )
            if indices:
                out[layer] = sorted(set(indices))
        return out


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
