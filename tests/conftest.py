"""Shared fixtures. Tests never touch the network: ultralytics is kept offline for the session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Caches (ultralytics' settings, fonts) go to a temporary STREID_HOME, not the user's."""
    home = tmp_path_factory.mktemp("streid_home")
    os.environ["STREID_HOME"] = str(home)
    os.environ.pop("YOLO_CONFIG_DIR", None)


@pytest.fixture
def repo() -> Path:
    return REPO
