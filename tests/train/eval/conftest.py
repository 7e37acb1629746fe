"""Reuse the MARS tree writer from tests/train/data (loaded by path: test folders are not packages)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


@pytest.fixture
def mars_writer():
    spec = importlib.util.spec_from_file_location("_mars_tree", Path(__file__).parents[1] / "data" / "conftest.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.write_mars
