"""Per-model loss combination: ``build_criterion(model_cfg, num_classes)`` -> ``criterion(outputs, pids)``.

A criterion takes the dict a model returns in train mode and the identity labels, and returns named
loss terms plus their weighted total under ``"loss"``, so the training loop stays model-agnostic and
logs every term. Builders are listed per model name as "module:function" and imported only when
used (a model's loss code may need that model's modules).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from torch import Tensor

from streid.train.losses import batch_hard_triplet, cross_entropy_label_smooth
from streid.train.models.config import LossConfig

if TYPE_CHECKING:
    from streid.train.models.config import ModelConfig

Criterion = Callable[[dict[str, Tensor], Tensor], dict[str, Tensor]]

CRITERIA: dict[str, str] = {
    "mnv2": "streid.train.models.criteria:build_reid_criterion",
    "nl3d": "streid.train.models.criteria:build_reid_criterion",
    "stt_gt": "streid.train.models.stt_gt_losses:build_stt_gt_criterion",
    "osnet": "streid.train.models.criteria:build_reid_criterion",
}


class ReidCriterion:
    """Label-smoothed cross-entropy on ``logits`` + batch-hard triplet on ``embedding`` (P x K batches).

    A class rather than a closure so that it pickles (DataLoader workers, checkpoints of a run).
    """

    def __init__(self, cfg: LossConfig) -> None:
        self.cfg = cfg

    def __call__(self, outputs: dict[str, Tensor], pids: Tensor) -> dict[str, Tensor]:
        missing = [k for k in ("logits", "embedding") if k not in outputs]
        if missing:
            raise KeyError(f"model outputs lack {missing} (got {sorted(outputs)}); is the model in train() mode?")
        xent = cross_entropy_label_smooth(outputs["logits"], pids, self.cfg.label_smooth)
        triplet = batch_hard_triplet(outputs["embedding"], pids, self.cfg.margin)
        total = self.cfg.ce_weight * xent + self.cfg.triplet_weight * triplet
        return {"loss": total, "xent": xent, "triplet": triplet}


def build_reid_criterion(model_cfg: ModelConfig, num_classes: int) -> ReidCriterion:
    """Criterion of the CNN re-id recipe (``nl3d``): weights from ``model.loss``."""
    del num_classes  # the classifier already has the right size; kept for one builder signature
    return ReidCriterion(getattr(model_cfg, "loss", None) or LossConfig())


def build_criterion(model_cfg: ModelConfig, num_classes: int) -> Criterion:
    """The criterion of the model a config names; an unknown name fails here, naming the choices."""
    try:
        target = CRITERIA[model_cfg.name]
    except KeyError:
        raise KeyError(f"no criterion for model '{model_cfg.name}' (choices: {', '.join(sorted(CRITERIA))})") from None
    module_name, _, attr = target.partition(":")
    builder = getattr(importlib.import_module(module_name), attr)
    return builder(model_cfg, num_classes)
