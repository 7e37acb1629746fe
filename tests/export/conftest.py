"""Small real checkpoints of both re-id models, in the training engine's format, written per session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

SEQ_LEN, HEIGHT, WIDTH = 4, 64, 32
SMALL = {
    "nl3d": {"name": "nl3d", "depth": 18, "width": 0.25, "embedding_dim": 32},
    "stt_gt": {"name": "stt_gt", "depth": 18, "width": 0.25, "dim": 32, "heads": 2, "global_layers": 1, "parts": 2},
}
NUM_CLASSES = 6


def write_checkpoint(path: Path, model_cfg: dict[str, Any], state_from: dict[str, Any] | None = None) -> Path:
    """Build the model at ``model_cfg`` (or ``state_from`` for a mismatched state_dict) and save a checkpoint."""
    from pydantic import TypeAdapter

    from streid.train.checkpoint import save_checkpoint
    from streid.train.models import build_model
    from streid.train.models.config import ModelConfig

    torch.manual_seed(0)
    adapter = TypeAdapter(ModelConfig)
    model = build_model(adapter.validate_python(state_from or model_cfg), NUM_CLASSES)
    for module in model.modules():  # untrained BN stats are 0/1; vary them so parity is not checked on a trivial map
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    config = {"model": model_cfg, "data": {"seq_len": SEQ_LEN, "height": HEIGHT, "width": WIDTH}}
    payload = {"config": config, "model": model.state_dict(), "num_classes": NUM_CLASSES, "epoch": 1, "metrics": {}}
    return save_checkpoint(path, payload)


def model_available(name: str) -> None:
    """Skip (with the reason) when a model's module is not in this checkout yet."""
    pytest.importorskip(f"streid.train.models.{name}", reason=f"model '{name}' not implemented in this checkout")


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], tuple[Path, Any]]:
    """name -> (checkpoint, ExportResult) for each model, exported once per session."""
    from streid.export.onnx_export import export_onnx

    cache: dict[str, Any] = {}

    def get(name: str) -> tuple[Path, Any]:
        model_available(name)
        if name not in cache:
            root = tmp_path_factory.mktemp(f"export_{name}")
            ckpt = write_checkpoint(root / "model.pt", SMALL[name])
            cache[name] = (ckpt, export_onnx(ckpt, root / "model.onnx"))
        return cache[name]

    return get
