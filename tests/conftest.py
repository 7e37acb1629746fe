"""Shared fixtures. Tests never touch the network: ultralytics is kept offline for the session."""

from __future__ import annotations

import os
import socket
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


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any outgoing connection fails the test: for code near ultralytics, which reaches out when it can."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


class _RunsCode:
    """Unpickling this runs ``touch MARKER``: the payload of a crafted model file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def crafted_pickle(tmp_path: Path) -> tuple[Path, Path]:
    """(a torch file whose pickle runs ``touch MARKER`` when fully loaded, MARKER); looks like a checkpoint."""
    import torch

    marker, path = tmp_path / "pwned", tmp_path / "evil.pt"
    torch.save({"format": "streid-checkpoint", "version": 1, "config": {}, "model": {}, "num_classes": 1,
                "x": _RunsCode(marker)}, path)
    return path, marker
