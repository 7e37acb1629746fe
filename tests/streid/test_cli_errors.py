"""The CLI's one failure line: exit 2 for input the user can fix, 1 for bugs, tracebacks only with --debug."""

from __future__ import annotations

import errno
import sqlite3

import pytest

from streid.cli import main
from streid.errors import classify


@pytest.mark.parametrize(("exc", "code", "text"), [
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "/x.mp4"), 2, "/x.mp4"),
    (OSError(errno.ENOSPC, "No space left on device", "/out/a.mp4"), 2, "disk full"),
    (sqlite3.OperationalError("database or disk is full"), 2, "disk full"),
    (RuntimeError("writing /o/c.mp4 failed: Error while writing to file: No space left on device"), 2, "disk full"),
    (sqlite3.DatabaseError("file is not a database"), 2, "not a usable identity store"),
    (PermissionError(errno.EACCES, "Permission denied", "/root/x"), 2, "permission denied"),
    (ValueError("camera name '../x' is not an identifier"), 2, "identifier"),
    (KeyError("boom"), 1, "internal error (KeyError)"),
    (ZeroDivisionError("division by zero"), 1, "internal error"),
])
def test_failures_are_classified(exc: BaseException, code: int, text: str) -> None:
    got_code, line = classify(exc)
    assert got_code == code and text in line and "\n" not in line


def test_a_bad_input_is_one_line_and_debug_shows_the_traceback(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"pipeline:\n  cameras: []\n  output: {{dir: {tmp_path / 'out'}}}\n")
    with pytest.raises(SystemExit) as exc:
        main(["run", "--config", str(cfg), "--no-progress"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "pipeline.cameras: empty" in err and not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="nothing to run"):
        main(["run", "--config", str(cfg), "--no-progress", "--debug"])
