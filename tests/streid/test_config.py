"""Configs: extends, --set overrides, and errors that name the file and the key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streid.config import ConfigError, load_config


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_extends_merges_and_child_wins(tmp_path: Path) -> None:
    write(tmp_path / "base.yaml", "run:\n  seed: 1\n  workers: 3\n")
    child = write(tmp_path / "child.yaml", "extends: base.yaml\nrun:\n  seed: 7\n")
    cfg = load_config(child)
    assert cfg.run.seed == 7
    assert cfg.run.workers == 3


def test_set_override_parses_yaml_values(tmp_path: Path) -> None:
    child = write(tmp_path / "c.yaml", "run:\n  seed: 1\n")
    cfg = load_config(child, ["run.seed=42", "run.device=cpu"])
    assert cfg.run.seed == 42
    assert cfg.run.device == "cpu"


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ("run:\n  sed: 1\n", "run.sed", "unknown key"),
        ("run:\n  seed: many\n", "run.seed", "integer"),
        ("run:\n  device: tpu\n", "run.device", "'auto', 'cpu' or 'cuda'"),
        ("rnu:\n  seed: 1\n", "rnu", "unknown section"),
        ("run: 3\n", "run", "expected a mapping"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, text: str, key: str, fragment: str) -> None:
    path = write(tmp_path / "bad.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == key
    assert str(path) in str(info.value)
    assert fragment in str(info.value)


def test_error_names_the_file_that_set_the_key(tmp_path: Path) -> None:
    base = write(tmp_path / "base.yaml", "run:\n  workers: -1\n")
    child = write(tmp_path / "child.yaml", "extends: base.yaml\nrun:\n  seed: 2\n")
    with pytest.raises(ConfigError) as info:
        load_config(child)
    assert info.value.file == str(base.resolve())
    assert info.value.key == "run.workers"


def test_missing_and_circular_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")
    write(tmp_path / "a.yaml", "extends: b.yaml\n")
    write(tmp_path / "b.yaml", "extends: a.yaml\n")
    with pytest.raises(ConfigError, match="circular"):
        load_config(tmp_path / "a.yaml")
    missing_parent = write(tmp_path / "c.yaml", "extends: gone.yaml\n")
    with pytest.raises(ConfigError, match="extended file not found"):
        load_config(missing_parent)


def test_bad_override_is_reported_as_set(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "run:\n  seed: 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, ["run.seed=abc"])
    assert info.value.file == "--set"
    with pytest.raises(ConfigError, match=r"KEY\.PATH=VALUE"):
        load_config(path, ["run.seed"])


def test_cli_misspelt_key_exits_2_with_one_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", "run:\n  seeed: 3\n")
    proc = subprocess.run(
        [sys.executable, "-m", "streid.cli", "config", "validate", str(path)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(path) in lines[0] and "run.seeed" in lines[0] and "unknown key" in lines[0]


def test_every_shipped_config_validates(repo: Path) -> None:
    models = repo / "configs" / "detector" / "models"  # ultralytics architecture yamls: built by ultralytics
    configs = sorted(p for p in (repo / "configs").rglob("*.yaml") if models not in p.parents)
    assert configs, "configs/ holds no YAML"
    for path in configs:
        load_config(path)


def test_detector_architecture_yamls_build_offline(repo: Path, no_network: None) -> None:
    """The detector architectures under configs/detector/models build with ultralytics, nothing downloaded."""
    from streid.offline import import_ultralytics

    archs = sorted((repo / "configs" / "detector" / "models").glob("*.yaml"))
    assert archs
    for arch in archs:
        model = import_ultralytics().YOLO(str(arch))
        assert len(model.names) == 1 and sum(p.numel() for p in model.model.parameters()) > 1e6


def test_ultralytics_through_streid_leaves_torch_every_core() -> None:
    """ultralytics sets OMP_NUM_THREADS=1 on import; through import_ultralytics torch keeps all cores (a user's
    OMP_NUM_THREADS still wins)."""
    code = ("import os; from streid.offline import import_ultralytics; import_ultralytics(); import torch; "
            "print(torch.get_num_threads(), len(os.sched_getaffinity(0)))")
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    threads, cores = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                    check=True).stdout.split()
    assert threads == cores
    env["OMP_NUM_THREADS"] = "1"
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.split()[0] == "1"


def test_cli_show_prints_resolved_defaults(repo: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "streid.cli", "config", "show", str(repo / "configs/base/run.yaml"),
         "--set", "run.seed=5"],
        capture_output=True, text=True, check=True,
    )
    assert "seed: 5" in proc.stdout
    assert "workers: 2" in proc.stdout
