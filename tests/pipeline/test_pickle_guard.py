"""ultralytics .pt files are unpickled in full by ultralytics: globals that could run code are refused first."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from streid.errors import InputError
from streid.pickle_guard import check_pickle


def test_a_detector_pickle_that_runs_code_is_refused_before_ultralytics_sees_it(
        crafted_pickle: tuple[Path, Path]) -> None:
    from streid.pipeline.detector import YoloDetector

    evil, marker = crafted_pickle
    with pytest.raises(InputError, match=r"posix\.system"):
        YoloDetector(evil)
    assert not marker.exists()


def test_full_model_pickles_of_torch_modules_pass(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.SiLU()).half()
    torch.save({"model": model, "dtype": torch.float16, "args": {"imgsz": 640}}, path)
    check_pickle(path)


def test_random_bytes_are_not_a_torch_file(tmp_path: Path) -> None:
    path = tmp_path / "noise.pt"
    path.write_bytes(os.urandom(2048))
    with pytest.raises(InputError, match="not a readable torch file"):
        check_pickle(path)
