"""Typed `train:` section (pydantic only): optimiser, schedule, loop and checkpoint settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from streid.config import Section


class OptimConfig(Section):
    name: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = Field(3.5e-4, gt=0)
    weight_decay: float = Field(5e-4, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD only")
    head_lr_mult: float = Field(1.0, gt=0, description="learning-rate factor for classifier heads")


class ScheduleConfig(Section):
    warmup_epochs: int = Field(0, ge=0, description="linear warm-up from lr*warmup_factor")
    warmup_factor: float = Field(0.01, gt=0, le=1)
    decay: Literal["step", "cosine", "none"] = "step"
    milestones: list[int] = Field(default_factory=lambda: [40, 70], description="epochs (step decay)")
    gamma: float = Field(0.1, gt=0, le=1)
    min_lr_factor: float = Field(0.0, ge=0, le=1, description="cosine floor, as a fraction of lr")
    fit_to_time: bool = Field(
        False, description="with train.max_minutes: the decay's progress is the share of the budget spent (so the lr "
                           "only falls) and the run ends after the last epoch that fits at the pace so far: a fixed "
                           "budget on a machine whose speed nobody measured (train.epochs stays the cap)")


class InitConfig(Section):
    """Where weights start: a STREID checkpoint (transfer) and/or nothing (random / model.pretrained)."""

    checkpoint: str | None = Field(None, description="STREID checkpoint whose weights are loaded")
    skip_heads: bool = Field(True, description="keep new classifier heads (different identities)")


class TrainConfig(Section):
    epochs: int = Field(60, ge=1)
    iters_per_epoch: int | None = Field(None, ge=1, description="cap batches per epoch (small runs)")
    max_minutes: float | None = Field(None, gt=0, description="stop cleanly after this wall time")
    optim: OptimConfig = Field(default_factory=OptimConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    init: InitConfig = Field(default_factory=InitConfig)
    amp: bool = Field(True, description="mixed precision (used on CUDA only)")
    grad_clip: float = Field(0.0, ge=0, description="max grad norm; 0 disables clipping")
    eval_every: int = Field(10, ge=0, description="evaluate every N epochs (0: only at the end)")
    log_every: int = Field(10, ge=1, description="write a metrics line every N steps")
    best_metric: Literal["mAP", "R1"] = "mAP"
    out: str = Field("runs/train", description="run folder: checkpoints, metrics.jsonl, curves.png")

    @model_validator(mode="after")
    def _milestones_sorted(self) -> TrainConfig:
        if self.schedule.milestones != sorted(self.schedule.milestones):
            raise ValueError("schedule.milestones must be increasing")
        if self.schedule.fit_to_time and self.max_minutes is None:
            raise ValueError("schedule.fit_to_time needs train.max_minutes (the budget the schedule is fitted to)")
        return self
