"""`streid train` end to end on a tiny synthetic world, then `streid eval` on its checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from streid.cli import app

REPO = Path(__file__).resolve().parents[2]
SMALL = REPO / "configs" / "train" / "nl3d_synthetic_small.yaml"


def _sets(root: Path, out: Path, epochs: int) -> list[str]:
    items = [
        f"data.root={root}", "data.height=32", "data.width=16", "data.seq_len=4", "data.p=3", "data.k=2",
        "data.workers=0", f"train.epochs={epochs}", "train.iters_per_epoch=2", "train.eval_every=1",
        "train.log_every=1", "run.device=cpu", f"train.out={out}",
    ]
    return [arg for item in items for arg in ("--set", item)]


def test_train_eval_resume(tiny_reid: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    run = tmp_path / "run"
    res = runner.invoke(app, ["train", "--config", str(SMALL), "--no-progress", *_sets(tiny_reid, run, 1)])
    assert res.exit_code == 0, res.output
    for name in ("best.pt", "last.pt", "metrics.jsonl", "curves.png", "config.yaml"):
        assert (run / name).is_file(), name
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows if r["kind"] == "eval"] == [1]

    # A second run into the same folder must not clobber it; --resume continues to the new epoch count.
    res = runner.invoke(app, ["train", "--config", str(SMALL), "--no-progress", *_sets(tiny_reid, run, 2)])
    assert res.exit_code == 2 and "--resume" in res.output
    res = runner.invoke(
        app, ["train", "--config", str(SMALL), "--no-progress", "--resume", *_sets(tiny_reid, run, 2)]
    )
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows if r["kind"] == "eval"] == [1, 2]

    # The checkpoint carries its config: eval needs nothing else (data section from the checkpoint).
    res = runner.invoke(app, ["eval", "--checkpoint", str(run / "best.pt"), "--out", str(tmp_path / "ev")])
    assert res.exit_code == 0, res.output
    result = json.loads((tmp_path / "ev" / "eval.json").read_text())
    assert result["model"] == "nl3d" and result["protocol"] == "torchreid"
    assert 0.0 <= result["mAP"] <= 1.0 and result["num_query"] > 0
    assert (tmp_path / "ev" / "ranked.png").stat().st_size > 1000


def test_eval_missing_checkpoint(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["eval", "--checkpoint", str(tmp_path / "nope.pt")])
    assert res.exit_code != 0
    assert "nope.pt" in res.output


def test_hard_identities_follow_the_model_classifier(tiny_reid: Path, tmp_path: Path) -> None:
    from streid.config import load_config
    from streid.train.data.sampler import nearest_identities
    from streid.train.models import build_model
    from streid.train.run import build_train_data

    items = [s for s in _sets(tiny_reid, tmp_path / "run", 1) if s != "--set"] + ["data.hard_identities=0.5"]
    cfg = load_config(SMALL, items)
    data = build_train_data(cfg)
    model = build_model(cfg.model, data.num_classes)
    assert data.refresh is not None
    data.refresh(model)
    sampler = data.loader.batch_sampler.sampler
    assert sampler.neighbours == nearest_identities(model.classifier.weight.detach().numpy())
    res = CliRunner().invoke(app, ["train", "--config", str(SMALL), "--no-progress",
                                   *_sets(tiny_reid, tmp_path / "run", 2), "--set", "data.hard_identities=0.5"])
    assert res.exit_code == 0, res.output
