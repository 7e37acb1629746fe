"""Model registry: an explicit table of factories, looked up by the name a config gives.

Contract every model keeps (see ``../shared/DESIGN.md``):

- ``forward(clips)`` takes a float clip batch ``(B, L, 3, H, W)``, already normalised.
- In ``train()`` mode it returns a dict of outputs; it always holds ``"embedding"`` (B, D) and
  ``"logits"`` (B, num_classes), plus whatever that model's losses need.
- In ``eval()`` mode it returns one L2-normalised embedding per clip, a tensor ``(B, D)``.
- ``model.embedding_dim`` is D; ``model.reset_classifier(num_classes)`` gives new heads for
  transfer to another set of identities.

Factories take the model's validated config object (``streid.train.models.config``) and the
number of training identities.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

    from streid.train.models.config import ModelConfig

Factory = Callable[["ModelConfig", int], "nn.Module"]


def _nl3d(cfg: ModelConfig, num_classes: int) -> nn.Module:
    from streid.train.models.nl3d import build_nl3d

    return build_nl3d(cfg, num_classes)  # type: ignore[arg-type]


def _stt_gt(cfg: ModelConfig, num_classes: int) -> nn.Module:
    from streid.train.models.stt_gt import build_stt_gt

    return build_stt_gt(cfg, num_classes)  # type: ignore[arg-type]


def _mnv2(cfg: ModelConfig, num_classes: int) -> nn.Module:
    from streid.train.models.mobilenet import build_mnv2

    return build_mnv2(cfg, num_classes)


def _osnet(cfg: ModelConfig, num_classes: int) -> nn.Module:
    from streid.train.models.osnet import build_osnet

    return build_osnet(cfg, num_classes)


MODELS: dict[str, Factory] = {
    "mnv2": _mnv2,
    "nl3d": _nl3d,
    "stt_gt": _stt_gt,
    "osnet": _osnet,
}


def build_model(cfg: ModelConfig, num_classes: int) -> nn.Module:
    """Build the model a config names; an unknown name fails here, naming the choices."""
    try:
        factory = MODELS[cfg.name]
    except KeyError:
        raise KeyError(f"unknown model '{cfg.name}' (choices: {', '.join(sorted(MODELS))})") from None
    return factory(cfg, num_classes)
