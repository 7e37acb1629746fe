"""Optimiser and learning-rate schedule from the typed `train:` config."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from streid.train.config import OptimConfig, ScheduleConfig


def build_optimizer(model: nn.Module, cfg: OptimConfig) -> torch.optim.Optimizer:
    """Two parameter groups: backbone at lr, classifier heads at lr * head_lr_mult."""
    heads = [p for n, p in model.named_parameters() if p.requires_grad and "classifier" in n]
    rest = [p for n, p in model.named_parameters() if p.requires_grad and "classifier" not in n]
    groups = [{"params": rest, "lr": cfg.lr}]
    if heads:
        groups.append({"params": heads, "lr": cfg.lr * cfg.head_lr_mult})
    if cfg.name == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, nesterov=True)
    if cfg.name == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.Adam(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)


def lr_factor(epoch: int, cfg: ScheduleConfig, epochs: float) -> float:
    """Multiplier of the base lr at the start of ``epoch`` (0-based): warm-up, then decay."""
    if epoch < cfg.warmup_epochs:
        alpha = epoch / cfg.warmup_epochs
        return cfg.warmup_factor * (1 - alpha) + alpha
    if cfg.decay == "step":
        return cfg.gamma ** sum(epoch >= m for m in cfg.milestones)
    if cfg.decay == "cosine":
        span = max(1, epochs - cfg.warmup_epochs)
        progress = min(1.0, (epoch - cfg.warmup_epochs) / span)
        return cfg.min_lr_factor + (1 - cfg.min_lr_factor) * 0.5 * (1 + math.cos(math.pi * progress))
    return 1.0


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: ScheduleConfig, epochs: float | Callable[[], float]
) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-epoch LambdaLR (stepped once at the end of every epoch). ``epochs`` may be a callable, read at every
    step: the schedule's length when it is re-estimated while the run goes (``schedule.fit_to_time``)."""
    span = epochs if callable(epochs) else (lambda: epochs)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda e: lr_factor(e, cfg, span()))
