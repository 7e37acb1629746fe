"""Model from a STREID checkpoint, for export: the checkpoint carries its config, so nothing else is needed.

Reading (missing, truncated or foreign files) is the training stage's ``read_checkpoint``; this module adds
what export needs on top: the model section validated, the model rebuilt, and the weights loaded strictly so
a state_dict that does not match its config fails here, before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from pydantic import TypeAdapter, ValidationError

from streid.train.checkpoint import CheckpointError, read_checkpoint
from streid.train.models import build_model
from streid.train.models.config import ModelConfig

DEFAULT_SEQ_LEN = 8
DEFAULT_SIZE = (256, 128)

__all__ = ["CheckpointError", "load_checkpoint"]


def load_checkpoint(path: str | Path) -> tuple[torch.nn.Module, dict[str, Any], dict[str, Any]]:
    """(model in eval mode on the CPU, full config dict, meta) from a checkpoint file.

    ``meta`` holds ``model`` (name), ``model_config`` (validated, as a dict), ``seq_len``, ``height``,
    ``width``, ``num_classes``, ``epoch``, ``metrics`` and ``embedding_dim``. Raises ``CheckpointError``
    naming the file for every way a checkpoint can be unusable.
    """
    path = Path(path)
    data = read_checkpoint(path)
    config = data["config"]
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise CheckpointError(f"{path}: checkpoint config has no 'model' section")
    try:
        model_cfg = TypeAdapter(ModelConfig).validate_python(config["model"])
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in ("model", *first["loc"]))
        raise CheckpointError(f"{path}: config {key}: {first['msg']}") from None
    # weights come from the checkpoint: never re-read (or require) the file the run was initialised from
    model_cfg = model_cfg.model_copy(update={"pretrained": None})
    num_classes = int(data["num_classes"])
    model = build_model(model_cfg, num_classes)
    state = data["model"]
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: 'model' is {type(state).__name__}, expected a state_dict")
    _check_state(model, {k.removeprefix("module."): v for k, v in state.items()}, path)
    model.load_state_dict({k.removeprefix("module."): v for k, v in state.items()}, strict=True)
    model.eval()
    data_cfg = config.get("data") or {}
    meta = {
        "model": model_cfg.name,
        "model_config": model_cfg.model_dump(mode="json"),
        "seq_len": int(data_cfg.get("seq_len", DEFAULT_SEQ_LEN)),
        "height": int(data_cfg.get("height", DEFAULT_SIZE[0])),
        "width": int(data_cfg.get("width", DEFAULT_SIZE[1])),
        "num_classes": num_classes,
        "epoch": data.get("epoch"),
        "metrics": data.get("metrics") or {},
        "embedding_dim": int(model.embedding_dim),
    }
    return model, config, meta


def _check_state(model: torch.nn.Module, state: dict[str, Any], path: Path) -> None:
    """Strict comparison with a message that says how the weights differ from what the config builds."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f"'{k}' {tuple(getattr(state[k], 'shape', ()))} vs {tuple(own[k].shape)}"
        for k in own
        if k in state and (not isinstance(state[k], torch.Tensor) or state[k].shape != own[k].shape)
    ]
    if not (missing or unexpected or shapes):
        return
    parts = []
    if shapes:
        parts.append(f"{len(shapes)} weight(s) of another shape (checkpoint vs config), e.g. {shapes[0]}")
    if missing:
        parts.append(f"{len(missing)} missing, e.g. '{missing[0]}'")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected, e.g. '{unexpected[0]}'")
    raise CheckpointError(f"{path}: weights do not match the model its config builds: {'; '.join(parts)}")
