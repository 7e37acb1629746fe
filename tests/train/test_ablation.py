"""`streid ablation`: every STT+GT variant trains under one budget on a tiny world; tables; resumable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from streid.cli import app
from streid.config import load_config
from streid.train.ablation import VARIANTS, run_finished, variant_overrides
from streid.train.checkpoint import read_checkpoint, save_checkpoint
from streid.train.models import build_model
from streid.train.synth.build import synthesize

REPO = Path(__file__).resolve().parents[2]
SMALL = REPO / "configs" / "train" / "stt_gt_synthetic_small.yaml"


def _sets(root: Path) -> list[str]:
    items = [
        f"data.root={root}", "data.height=32", "data.width=16", "data.seq_len=3", "data.p=3", "data.k=2",
        "data.workers=0", "train.epochs=1", "train.iters_per_epoch=1", "run.device=cpu",
        "model.width=0.125", "model.dim=24", "model.heads=3", "model.global_layers=1", "model.parts=2",
        "model.input_size=[32, 16]",
    ]
    return [arg for item in items for arg in ("--set", item)]


def test_variants_are_the_paper_rows() -> None:
    cfgs = {n: load_config(SMALL, variant_overrides(n, 2.0, Path("p.pt"))) for n in VARIANTS}
    terms = {n: set(c.model.active_terms()) for n, c in cfgs.items()}
    assert terms["cnn"] == {"tem_xent", "tem_trip"} and not cfgs["cnn"].model.transformers
    assert terms["vanilla"] == {"tem_xent", "tem_trip"} and cfgs["vanilla"].model.transformers
    assert terms["spatial"] == terms["vanilla"] | {"spa_xent", "spa_part_xent"}
    assert terms["temporal"] == terms["spatial"] | {"tem_attn"}
    assert terms["gt"] == terms["temporal"] | {"global_xent"} == terms["gt_pretrained"]
    assert all(c.train.max_minutes == 2.0 for c in cfgs.values())
    assert cfgs["gt_pretrained"].train.init.checkpoint == "p.pt" and cfgs["gt"].train.init.checkpoint is None
    with pytest.raises(ValueError, match="needs --pretrained"):
        variant_overrides("gt_pretrained", None, None)


def test_ablation_runs_every_variant_and_resumes(tmp_path: Path) -> None:
    world = load_config(REPO / "configs" / "synth" / "tiny.yaml", ["synth.reid.height=32", "synth.reid.width=16"])
    synthesize(world.synth, 5, tmp_path / "world", parts=["reid"])
    sets = _sets(tmp_path / "world" / "reid")
    pre_cfg = load_config(SMALL, [item for item in sets if item != "--set"])
    pretrained = save_checkpoint(tmp_path / "pre.pt", {
        "config": pre_cfg.to_dict(), "model": build_model(pre_cfg.model, 9).state_dict(), "num_classes": 9,
        "epoch": 1, "metrics": {},
    })
    out = tmp_path / "ablation"
    args = ["ablation", "--config", str(SMALL), "--out", str(out), "--pretrained", str(pretrained),
            "--minutes", "1", "--no-progress", *sets]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    table = json.loads((out / "ablation.json").read_text())
    assert [r["variant"] for r in table["rows"]] == list(VARIANTS)
    for row in table["rows"]:
        assert 0.0 <= row["mAP"] <= 1.0 and 0.0 <= row["R1"] <= row["R5"] <= 1.0
        assert row["epochs"] == 1 and run_finished(Path(row["run"]))
    md = (out / "ablation.md").read_text()
    assert "| variant | mAP | rank-1 | rank-5 |" in md and "+ GT, synthetic pre-training" in md
    assert md.count("\n| ") == 1 + len(VARIANTS)  # header + one row per variant
    cfg = json.loads(json.dumps(torch.load(out / "gt_pretrained" / "last.pt", weights_only=False)["config"]))
    assert cfg["train"]["init"]["checkpoint"] == str(pretrained) and cfg["train"]["eval_every"] == 0

    # a finished variant is skipped; one stopped inside its second epoch (of 2) is resumed, the rest kept
    stamp = (out / "cnn" / "last.pt").stat().st_mtime_ns
    (out / "vanilla" / "result.json").unlink()
    _as_if_stopped(out / "vanilla", epochs=2)
    assert not run_finished(out / "vanilla")
    res = CliRunner().invoke(app, [*args, "--set", "train.epochs=2"])
    assert res.exit_code == 0, res.output
    assert (out / "cnn" / "last.pt").stat().st_mtime_ns == stamp
    rows = {r["variant"]: r for r in json.loads((out / "ablation.json").read_text())["rows"]}
    assert rows["vanilla"]["epochs"] == 2 and rows["cnn"]["epochs"] == 1


def _as_if_stopped(run: Path, epochs: int) -> None:
    """Rewrite a finished 1-epoch run as a stopped run of ``epochs``: last.pt after epoch 1, a step logged after."""
    ckpt = read_checkpoint(run / "last.pt")
    ckpt["config"]["train"]["epochs"] = epochs
    save_checkpoint(run / "last.pt", ckpt)
    with open(run / "metrics.jsonl", "a") as fh:
        fh.write(json.dumps({"kind": "train", "epoch": 1, "step": 2, "loss": 1.0}) + "\n")


def test_run_finished_reads_the_end_of_a_run(tmp_path: Path) -> None:
    def case(epoch: int, last_kind: str) -> bool:
        run = tmp_path / f"{epoch}{last_kind}"
        save_checkpoint(run / "last.pt", {"config": {"model": {}, "train": {"epochs": 3}}, "model": {},
                                          "num_classes": 2, "state": {"epoch": epoch}})
        rows = [{"kind": "train", "epoch": 0}, {"kind": "eval", "epoch": 1}, {"kind": last_kind, "epoch": epoch}]
        (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        return run_finished(run)

    assert case(3, "eval")  # all epochs
    assert case(2, "eval")  # time budget: evaluated and saved after epoch 2
    assert not case(2, "train")  # stopped by a signal inside epoch 3
    assert not run_finished(tmp_path / "none")
