"""scripts/gpu_models.sh: the one device call that trains the built-in re-id model on a borrowed GPU.

That call is paid for before it starts and cannot be retried within a session's device time, so what can be checked
here is: its configs validate with the schedule fitted to the time budget, and the training path, imported the way
the script imports it there (STREID linked, not installed; no working-directory import), renders and trains with
none of the packages that machine lacks. The whole rehearsal (GPU_SMOKE=1, a few minutes) is in the script's header.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streid.config import load_config


@pytest.mark.parametrize("name, freeze, init", [("mnv2_gpu", 11, "runs/reid_small_from_onnx.pt"),
                                                 ("mnv2_gpu_open", 4, None)])
def test_gpu_arms_validate_and_fit_their_schedule_to_the_budget(repo: Path, name: str, freeze: int,
                                                                 init: str | None) -> None:
    """Arm a continues the shipped model (rebuilt from its ONNX), arm b starts from the packaged ImageNet trunk."""
    cfg = load_config(repo / "configs/train" / f"{name}.yaml")
    assert cfg.train.schedule.fit_to_time and cfg.train.max_minutes
    assert cfg.model.pretrained == "packaged" and cfg.train.init.checkpoint == init and cfg.train.init.skip_heads
    assert cfg.model.freeze == freeze and cfg.data.hard_identities > 0 and cfg.data.low_res > 0
    assert [Path(p).name for p in cfg.data.extra_train] == ["reid"] * 3


def _device_env(repo: Path, tmp_path: Path) -> dict[str, str]:
    """STREID linked by the script's own link_streid, the import blocker of GPU_SMOKE, no cwd on sys.path."""
    site = tmp_path / "site"
    fn = subprocess.run(["sed", "-n", "/^link_streid()/,/^}/p", "scripts/gpu_models.sh"], cwd=repo,
                        capture_output=True, text=True, check=True).stdout
    subprocess.run(["bash", "-c", f'{fn}\nlink_streid "$1"', "link", str(site)], cwd=repo, check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env.update(PYTHONPATH=f"{site}:{repo / 'scripts/gpu_smoke'}", PYTHONSAFEPATH="1")
    return env


def test_training_path_runs_with_only_what_the_device_has(repo: Path, tmp_path: Path) -> None:
    env = _device_env(repo, tmp_path)
    blocked = subprocess.run([sys.executable, "-c", "import ultralytics"], cwd=repo, env=env, capture_output=True,
                             text=True)
    assert blocked.returncode != 0 and "absent on the device machine" in blocked.stderr
    where = subprocess.run([sys.executable, "-c", "import streid.train.engine as e; print(e.__file__)"], cwd=repo,
                           env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(tmp_path / "site"))  # the link, not the checkout's streid/ (which has no train)
    cli = [sys.executable, "-m", "streid.cli"]
    data = tmp_path / "synth"
    subprocess.run([*cli, "synth", "--config", "configs/synth/tiny.yaml", "--out", str(data), "--seed", "401",
                    "--only", "reid", "--set", "synth.population.identities=8", "--set", "run.workers=1",
                    "--set", "synth.reid.tracklets_per_camera=[1,1]", "--set", "synth.reid.frames=[8,8]"],
                   cwd=repo, env=env, capture_output=True, text=True, check=True, timeout=300)
    rebuilt = tmp_path / "reid_small_from_onnx.pt"
    subprocess.run([sys.executable, "scripts/reid_pt_from_onnx.py", "--images", str(data / "reid/bbox_train"),
                    "--count", "64", "--out", str(rebuilt)], cwd=repo, env=env, capture_output=True, text=True,
                   check=True, timeout=300)
    for arm, extra in (("a", ["--set", f"train.init.checkpoint={rebuilt}"]), ("b", [])):
        config = "configs/train/mnv2_gpu.yaml" if arm == "a" else "configs/train/mnv2_gpu_open.yaml"
        run = tmp_path / f"run_{arm}"
        proc = subprocess.run([*cli, "train", "--config", config, *extra, "--out", str(run), "--no-progress",
                               "--set", "run.device=cpu", "--set", f"data.root={data / 'reid'}",
                               "--set", "data.extra_train=[]", "--set", "data.p=2", "--set", "data.k=2",
                               "--set", "data.workers=0", "--set", "data.hard_identities=0.5",
                               "--set", "train.iters_per_epoch=1", "--set", "train.epochs=2",
                               "--set", "train.max_minutes=0.5"], cwd=repo, env=env, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert (run / "best.pt").is_file() and "epoch 2: mAP" in proc.stdout
        assert ("initialised from" in proc.stdout) == (arm == "a")


def test_the_script_names_its_verbs(repo: Path) -> None:
    proc = subprocess.run(["bash", "scripts/gpu_models.sh"], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 2 and "wheels | train | finish DIR" in proc.stderr
    proc = subprocess.run(["bash", "scripts/gpu_models.sh", "train"], cwd=repo, capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "OUT"})
    assert proc.returncode != 0 and "OUT must name the folder" in proc.stderr
