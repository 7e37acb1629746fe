"""`streid run` exit codes: cameras that all failed are a failure (a service manager restarts it); a held folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from streid.cli import main
from streid.lock import output_lock


def write_config(tmp_path: Path, mode: str, uris: list[str]) -> Path:
    det = tmp_path / "det.txt"
    det.write_text("")
    cams = ", ".join(f"{{name: c{i}, uri: {u}, det_file: {det}}}" for i, u in enumerate(uris))
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"pipeline:\n  mode: {mode}\n  detector: {{kind: motdet}}\n  cameras: [{cams}]\n"
                   f"  output: {{dir: {tmp_path / 'out'}, video: false}}\n"
                   "  live: {max_retries: 1, backoff_initial_s: 0.05, backoff_max_s: 0.05}\n")
    return cfg


@pytest.mark.parametrize("mode", ["offline", "live"])
def test_every_camera_failing_exits_2(tmp_path: Path, mode: str, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, mode, [str(tmp_path / "a.mp4"), str(tmp_path / "b.mp4")])
    with pytest.raises(SystemExit) as exc:
        main(["run", "--config", str(cfg), "--no-progress"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "every camera failed" in err and "c0" in err and "not found" in err


def test_a_run_into_a_held_folder_exits_2_naming_the_holder(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, "offline", [str(tmp_path / "a.mp4")])
    with output_lock(tmp_path / "out"), pytest.raises(SystemExit) as exc:
        main(["run", "--config", str(cfg), "--no-progress"])
    assert exc.value.code == 2
    assert "in use by pid" in capsys.readouterr().err
