"""Checkpoints load with ``weights_only=True``: a crafted pickle never runs; old and new checkpoints still load."""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from streid.train.checkpoint import FORMAT, CheckpointError, read_checkpoint, save_checkpoint
from streid.train.engine import rng_state, set_rng_state


def test_a_pickle_that_runs_code_is_refused(crafted_pickle: tuple[Path, Path]) -> None:
    evil, marker = crafted_pickle
    with pytest.raises(CheckpointError, match="refused"):
        read_checkpoint(evil)
    assert not marker.exists()


def test_a_saved_checkpoint_round_trips_with_rng_and_numpy_values(tmp_path: Path) -> None:
    random.seed(3)
    np.random.seed(3)
    state = rng_state()
    path = save_checkpoint(tmp_path / "last.pt", {"config": {"a": 1}, "model": {"w": torch.ones(2)}, "num_classes": 2,
                                                  "metrics": {"mAP": np.float64(0.5)}, "rng": state})
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    data = read_checkpoint(path)
    assert data["metrics"]["mAP"] == 0.5
    set_rng_state(data["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_an_old_checkpoint_with_pickled_numpy_state_still_loads(tmp_path: Path) -> None:
    old = tmp_path / "old.pt"
    torch.save({"format": FORMAT, "version": 1, "config": {}, "model": {"w": torch.zeros(1)}, "num_classes": 1,
                "rng": {"numpy": np.random.get_state()}, "metrics": {"mAP": np.float64(0.25)}}, old)
    data = read_checkpoint(old)
    assert data["metrics"]["mAP"] == 0.25
    np.random.set_state(data["rng"]["numpy"])
    assert pickle.dumps(data["model"]["w"])
