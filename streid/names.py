"""Camera names become file and folder names (``CAM.mp4``, ``work/CAM/``): they must be identifiers, never paths."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

CAMERA_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}")
CAMERA_NAME_RULE = "letters, digits, '-', '_' and '.', at most 64, not starting with '.'"


def check_camera_name(name: str) -> str:
    """``name`` when it is a safe identifier; ValueError naming the rule otherwise (``../x``, ``a/b``, ``/abs``)."""
    if not isinstance(name, str) or not CAMERA_NAME.fullmatch(name):
        raise ValueError(f"camera name {name!r} is not an identifier ({CAMERA_NAME_RULE})")
    return name


def inside(root: Path, path: Path) -> bool:
    """True when ``path`` (resolved, links followed) lies strictly inside ``root``."""
    root_r, path_r = Path(root).resolve(), Path(path).resolve()
    return path_r != root_r and path_r.is_relative_to(root_r)


def remove_inside(root: Path, path: Path) -> None:
    """Delete a file or folder that must lie inside ``root``; anything else is refused (never deleted)."""
    if not inside(root, path):
        raise ValueError(f"refusing to delete {path}: not inside {root}")
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
