"""`deploy/run_camera.py --config ...` typed as the README writes it: its shebang finds the system python, which has
no streid; the script runs under the checkout's .venv (what scripts/install.sh makes) instead of failing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def test_run_camera_as_the_readme_writes_it(repo: Path) -> None:
    system = shutil.which("python3", path=SYSTEM_PATH)
    assert system is not None
    if subprocess.run([system, "-c", "import streid.pipeline"], cwd="/", capture_output=True).returncode == 0:
        pytest.skip("the system python has streid installed: nothing to find")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "STREID_REEXEC")}
    env["PATH"] = SYSTEM_PATH
    proc = subprocess.run(["deploy/run_camera.py", "--config", "configs/deploy/offline_files.yaml",
                           "--set", "pipeline.no_such_key=1"], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=120)
    assert "No module named" not in proc.stderr
    assert proc.returncode == 2 and "pipeline.no_such_key: unknown key" in proc.stderr  # streid read the config
