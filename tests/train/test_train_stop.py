"""`streid train` on a new user's path: exact resume after Ctrl-C inside an epoch, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from typer.testing import CliRunner

from streid.cli import app
from streid.config import Config, load_config
from streid.train.engine import Trainer, seed_everything
from streid.train.models import build_model
from streid.train.models.criteria import build_criterion
from streid.train.run import build_train_data

REPO = Path(__file__).resolve().parents[2]
SMALL = REPO / "configs" / "train" / "nl3d_synthetic_small.yaml"
STT = REPO / "configs" / "train" / "stt_gt_synthetic_small.yaml"


def _items(root: Path, out: Path, epochs: int) -> list[str]:
    return [f"data.root={root}", "data.height=32", "data.width=16", "data.seq_len=4", "data.p=3", "data.k=2",
            "data.workers=0", f"train.epochs={epochs}", "train.iters_per_epoch=3", "train.eval_every=0",
            "train.log_every=1", "run.device=cpu", f"train.out={out}"]


def _sets(items: list[str]) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


class SigintAt:
    """The real loader, with a real SIGINT sent to this process just before batch ``at`` (counted over epochs)."""

    def __init__(self, loader: Any, at: int) -> None:
        self.loader, self.at, self.served = loader, at, 0

    def __iter__(self) -> Iterator[Any]:
        for batch in self.loader:
            if self.served == self.at:
                os.kill(os.getpid(), signal.SIGINT)
            self.served += 1
            yield batch


def _trainer(cfg: Config, out: Path, sigint_at: int | None = None) -> Trainer:
    """What ``train_from_config`` builds, as a new process would (seeded, fresh loaders and workers)."""
    seed_everything(cfg.run.seed)
    data = build_train_data(cfg)
    if sigint_at is not None:
        data.loader = SigintAt(data.loader, sigint_at)
    model = build_model(cfg.model, data.num_classes)
    return Trainer(cfg, model, build_criterion(cfg.model, data.num_classes), data, out, log=lambda s: None)


def _train_rows(run: Path) -> list[tuple[int, int, float]]:
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return [(r["epoch"], r["step"], r["loss"]) for r in rows if r["kind"] == "train"]


def test_resume_after_sigint_inside_an_epoch_gives_the_uninterrupted_weights(tiny_reid: Path, tmp_path: Path) -> None:
    cfg = load_config(SMALL, _items(tiny_reid, tmp_path, 3))
    full = _trainer(cfg, tmp_path / "full")
    full.fit(progress=False)
    stopped = _trainer(cfg, tmp_path / "part", sigint_at=3)  # the 2nd batch of epoch 2 (6 identities / P=3: 2 batches)
    stopped.fit(progress=False)
    assert stopped.interrupted and stopped.curves is None and not (tmp_path / "part" / "curves.png").exists()
    torch.manual_seed(12345)  # a new process starts with unrelated RNG state
    resumed = _trainer(cfg, tmp_path / "part")
    resumed.resume(tmp_path / "part" / "last.pt")
    assert resumed.state.epoch == 1  # the last epoch boundary
    resumed.fit(progress=False)
    assert resumed.state.step == full.state.step == 6
    for (name, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert _train_rows(tmp_path / "part") == _train_rows(tmp_path / "full")  # no step twice, same losses


def test_cli_exits_130_after_ctrl_c_and_resumes_from_the_run_folder(tiny_reid: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "streid.cli", "train", "--config", str(SMALL), "--no-progress",
           *_sets(_items(tiny_reid, run, 10_000))]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not (run / "metrics.jsonl").is_file() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "curves.png" not in out and not (run / "curves.png").exists()
    assert "--resume" in err and len(err.strip().splitlines()) == 1
    # --resume without --config takes the run folder's config.yaml; 1 epoch is done or nearly: it finishes
    res = CliRunner().invoke(app, ["train", "--out", str(run), "--resume", "--no-progress", "--set", "train.epochs=1"])
    assert res.exit_code == 0, res.output
    assert "curves.png" in res.output and (run / "curves.png").is_file()


def test_resume_without_config_or_run_says_so_in_one_line(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["train", "--out", str(tmp_path / "none"), "--resume"])
    assert res.exit_code == 2
    assert "--config FILE is required" in res.output and "Usage" not in res.output


def test_fewer_identities_than_p_is_one_line_naming_the_key(tiny_reid: Path, tmp_path: Path) -> None:
    items = [*_items(tiny_reid, tmp_path / "run", 1), "data.p=8"]
    res = CliRunner().invoke(app, ["train", "--config", str(SMALL), "--no-progress", *_sets(items)])
    assert res.exit_code == 2, res.output
    assert "fewer than data.p=8" in res.output and "--set data.p=6" in res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1


def test_missing_synthetic_data_says_how_to_make_it(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)  # the config's relative data.root does not exist here
    res = CliRunner().invoke(app, ["train", "--config", str(SMALL), "--no-progress"])
    assert res.exit_code == 2
    assert "not a folder" in res.output
    assert "make it with: streid synth --config configs/synth/target.yaml --out runs/synth/target --only reid" \
        in res.output


def test_ablation_of_a_non_stt_config_says_it_needs_stt_gt(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["ablation", "--config", str(SMALL), "--out", str(tmp_path / "abl")])
    assert res.exit_code == 2
    assert "needs an STT+GT config" in res.output and "model.transformers" not in res.output
    assert STT.is_file() and "stt_gt_synthetic_small.yaml" in res.output
