"""Packaging contracts: one `streid` namespace, no side effects on import, doctor runs."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path


def test_import_has_no_side_effects(tmp_path: Path) -> None:
    code = (
        "import os, sys, json; before = dict(os.environ);"
        "import streid, streid.train, streid.export, streid.pipeline, streid.config, streid.cli;"
        "heavy = [m for m in ('torch', 'ultralytics', 'gi', 'cv2', 'onnxruntime') if m in sys.modules];"
        "print(json.dumps({'env_changed': dict(os.environ) != before, 'heavy': heavy}))"
    )
    env = {**os.environ, "HOME": str(tmp_path), "STREID_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    result = json.loads(out.stdout)
    assert result == {"env_changed": False, "heavy": []}
    assert not any(tmp_path.iterdir()), "importing streid wrote files"


def test_no_generic_top_level_packages() -> None:
    import importlib.util

    import streid.pipeline
    import streid.train

    assert Path(streid.train.__file__).parent.name == "train"
    assert Path(streid.pipeline.__file__).parent.name == "pipeline"
    for generic in ("train", "export", "pipeline"):
        spec = importlib.util.find_spec(generic)
        assert spec is None or "site-packages" not in str(spec.origin or ""), generic


def test_doctor_runs_and_reports_tensorrt_optional(tmp_path: Path) -> None:
    # a test before this one may have imported ultralytics in-process, which exports YOLO_CONFIG_DIR
    env = {k: v for k, v in os.environ.items() if k != "YOLO_CONFIG_DIR"} | {"STREID_HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "streid.cli", "doctor"], capture_output=True, text=True,
                          env={**env, "COLUMNS": "200"}, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    row = next(line for line in proc.stdout.splitlines() if re.match(r"^\W*TensorRT\b", line))
    if importlib.util.find_spec("tensorrt") is None:  # the row says what this environment has
        assert "absent (optional)" in row and not re.search(r"\bok\b", row), row
    else:
        assert re.search(r"\bok\b", row) and "absent" not in row, row
    assert "GStreamer 1." in proc.stdout
    assert (tmp_path / "ultralytics" / "Ultralytics" / "Arial.ttf").is_file()
