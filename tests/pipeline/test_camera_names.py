"""Camera names are identifiers: a name that is a path is refused before anything is written or deleted."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from streid.names import remove_inside
from streid.pipeline.config import CameraConfig
from streid.pipeline.scene import SceneFiles


@pytest.mark.parametrize("name", ["../escaped", "a/b", "/abs/victim", "..", ".hidden", "", "a b", "x" * 65])
def test_path_like_camera_names_are_refused(name: str) -> None:
    with pytest.raises(ValidationError, match=r"camera name|at least 1"):
        CameraConfig(name=name, kind="test")


@pytest.mark.parametrize("name", ["cam1", "Gate-2", "lobby_north.v2", "7"])
def test_identifier_camera_names_are_kept(name: str) -> None:
    assert CameraConfig(name=name, kind="test").name == name


def test_run_config_with_an_escaping_camera_exits_2_naming_the_key(tmp_path: Path) -> None:
    from streid.cli import main

    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"pipeline:\n  output: {{dir: {tmp_path / 'out'}}}\n"
                   "  cameras: [{name: ../escaped, kind: test}]\n")
    with pytest.raises(SystemExit) as exc:
        main(["run", "--config", str(cfg)])
    assert exc.value.code == 2
    assert not (tmp_path / "escaped").exists()


@pytest.mark.parametrize("name", ["../..", "/abs/victim"])
def test_reid_with_a_path_as_camera_name_deletes_nothing(name: str, scenes: dict[str, SceneFiles], tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from streid.cli import main

    site = tmp_path / "sand" / "site"
    sibling = site / "other" / "keep.txt"
    sibling.parent.mkdir(parents=True)
    sibling.write_text("precious")
    job = site / "job"
    with pytest.raises(SystemExit) as exc:
        main(["reid", "--video", f"{name}={scenes['cam0'].video}", "--out", str(job), "--gt-dets",
              str(scenes["cam0"].gt.parent), "--no-progress"])
    assert exc.value.code == 2
    assert "camera name" in capsys.readouterr().err
    assert sibling.read_text() == "precious"
    assert not job.exists()


def test_remove_inside_refuses_the_root_and_outside(tmp_path: Path) -> None:
    root = tmp_path / "job"
    (root / "work").mkdir(parents=True)
    outside = tmp_path / "keep"
    outside.mkdir()
    for bad in (root, root / "..", root / "work" / ".." / ".." / "keep"):
        with pytest.raises(ValueError, match="refusing"):
            remove_inside(root, bad)
    remove_inside(root, root / "work")
    assert outside.is_dir() and not (root / "work").exists()
