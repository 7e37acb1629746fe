"""Every registered model builds from its small config and runs forward + backward; criteria dispatch."""

from __future__ import annotations

import pytest
import torch
from pydantic import TypeAdapter

from streid.train.models import MODELS, build_model
from streid.train.models.config import ModelConfig
from streid.train.models.criteria import CRITERIA, build_criterion

# The small setting of each model: real architecture, CPU-test sizes.
SMALL: dict[str, dict[str, object]] = {
    "nl3d": {"name": "nl3d", "depth": 18, "width": 0.125, "embedding_dim": 16},
    "stt_gt": {
        "name": "stt_gt", "depth": 18, "width": 0.125, "dim": 32, "heads": 2, "parts": 2, "input_size": [64, 32],
    },
    "osnet": {"name": "osnet", "arch": "osnet_x0_25"},
    "mnv2": {"name": "mnv2", "embedding_dim": 16, "pretrained": None},
}


def test_every_registered_model_has_a_small_setting_and_a_criterion() -> None:
    assert set(SMALL) == set(MODELS)
    assert set(CRITERIA) == set(MODELS)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_builds_and_runs_forward_backward(name: str) -> None:
    torch.manual_seed(0)
    cfg = TypeAdapter(ModelConfig).validate_python(SMALL[name])
    model = build_model(cfg, num_classes=3).train()
    criterion = build_criterion(cfg, num_classes=3)
    clips = torch.randn(6, 4, 3, 64, 32)  # P=3 identities x K=2 clips
    pids = torch.tensor([0, 0, 1, 1, 2, 2])
    outputs = model(clips)
    assert outputs["embedding"].shape == (6, model.embedding_dim)
    assert outputs["logits"].shape == (6, 3)
    losses = criterion(outputs, pids)
    assert "loss" in losses and losses["loss"].dim() == 0 and torch.isfinite(losses["loss"])
    losses["loss"].backward()
    trained = [n for n, p in model.named_parameters() if p.requires_grad]
    no_grad = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not no_grad, f"parameters outside the graph: {no_grad[:5]}"
    assert trained
    model.eval()
    with torch.no_grad():
        emb = model(clips[:2])
    assert emb.shape == (2, model.embedding_dim)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(2))


def test_unknown_model_names_the_choices() -> None:
    class Fake:
        name = "resnet_lstm"

    with pytest.raises(KeyError, match="choices: mnv2, nl3d, osnet, stt_gt"):
        build_model(Fake(), 2)  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="choices: mnv2, nl3d, osnet, stt_gt"):
        build_criterion(Fake(), 2)  # type: ignore[arg-type]
