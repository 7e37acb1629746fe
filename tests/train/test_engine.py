"""The training loop: schedules, exact resume, signal stop, and DDP ranks staying in sync."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

from streid.config import validate
from streid.train.config import ScheduleConfig
from streid.train.engine import TrainData, Trainer
from streid.train.losses import batch_hard_triplet
from streid.train.optim import lr_factor


class ClipNet(nn.Module):
    """A small real video model that keeps the model contract (dropout included, so RNG matters)."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(3, 8, (1, 3, 3), padding=(0, 1, 1))
        self.drop = nn.Dropout(0.3)
        self.classifier = nn.Linear(8, num_classes)
        self.embedding_dim = 8

    def forward(self, clips: torch.Tensor) -> dict[str, torch.Tensor] | torch.Tensor:
        x = self.conv(clips.permute(0, 2, 1, 3, 4)).relu().mean(dim=(2, 3, 4))
        if not self.training:
            return F.normalize(x, dim=1)
        return {"embedding": x, "logits": self.classifier(self.drop(x))}


def criterion(outputs: dict[str, torch.Tensor], pids: torch.Tensor) -> dict[str, torch.Tensor]:
    xent = F.cross_entropy(outputs["logits"], pids)
    trip = batch_hard_triplet(outputs["embedding"], pids)
    return {"loss": xent + trip, "xent": xent, "triplet": trip}


def make_data(num_classes: int = 4) -> TrainData:
    g = torch.Generator().manual_seed(0)
    pids = torch.arange(num_classes).repeat_interleave(4)
    clips = torch.randn(len(pids), 4, 3, 16, 8, generator=g) + pids.view(-1, 1, 1, 1, 1).float()
    dataset = TensorDataset(clips, pids)
    sampler_gen = torch.Generator()
    loader = DataLoader(dataset, batch_size=8, sampler=RandomSampler(dataset, generator=sampler_gen))
    return TrainData(loader=loader, num_classes=num_classes, set_epoch=lambda e: sampler_gen.manual_seed(100 + e))


def make_cfg(tmp_path: Path, epochs: int) -> object:
    return validate(
        {
            "run": {"seed": 3, "device": "cpu"},
            "train": {"epochs": epochs, "eval_every": 0, "log_every": 1, "out": str(tmp_path),
                      "optim": {"lr": 0.01}, "schedule": {"warmup_epochs": 1, "milestones": [2]}},
        }
    )


def fresh_trainer(tmp_path: Path, epochs: int) -> Trainer:
    torch.manual_seed(3)
    return Trainer(make_cfg(tmp_path, epochs), ClipNet(4), criterion, make_data(), tmp_path, log=lambda s: None)


def test_schedule_warmup_then_step() -> None:
    cfg = ScheduleConfig(warmup_epochs=2, warmup_factor=0.1, decay="step", milestones=[4], gamma=0.5)
    assert [round(lr_factor(e, cfg, 6), 3) for e in range(6)] == [0.1, 0.55, 1.0, 1.0, 0.5, 0.5]
    cos = ScheduleConfig(decay="cosine", milestones=[])
    assert lr_factor(0, cos, 10) == pytest.approx(1.0)
    assert lr_factor(10, cos, 10) == pytest.approx(0.0)


def test_resume_reproduces_next_step_loss(tmp_path: Path) -> None:
    full = fresh_trainer(tmp_path / "full", epochs=3)
    full.fit(progress=False)
    # Interrupted run: 2 epochs, then a new process-like Trainer resumes for the third.
    part = fresh_trainer(tmp_path / "part", epochs=3)
    part.tcfg.epochs = 2
    part.fit(progress=False)
    torch.manual_seed(12345)  # a resumed process starts with unrelated RNG state
    resumed = Trainer(make_cfg(tmp_path / "part", 3), ClipNet(4), criterion, make_data(), tmp_path / "part",
                      log=lambda s: None)
    resumed.resume(tmp_path / "part" / "last.pt")
    resumed.fit(progress=False)
    for a, b in zip(full.model.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    import json

    def losses(path: Path) -> list[float]:
        rows = [json.loads(x) for x in (path / "metrics.jsonl").read_text().splitlines()]
        return [r["loss"] for r in rows if r["kind"] == "train"]

    assert losses(tmp_path / "full") == losses(tmp_path / "part")
    assert (tmp_path / "part" / "curves.png").is_file()


def _ddp_worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    torch.distributed.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(0)  # same initial weights on both ranks (DDP also broadcasts them)
    data = make_data()
    # each rank sees different batches: shift its data so gradients differ before all-reduce
    data.loader = [(c + rank, p) for c, p in data.loader]
    trainer = Trainer(make_cfg(Path(out), 2), ClipNet(4), criterion, data, Path(out), log=lambda s: None)
    trainer.fit(progress=False)
    flat = torch.cat([p.detach().flatten() for p in trainer.model.parameters()])
    gathered = [torch.zeros_like(flat) for _ in range(world)]
    torch.distributed.all_gather(gathered, flat)
    if rank == 0:
        torch.save(torch.stack(gathered), Path(out) / "params.pt")
    torch.distributed.destroy_process_group()


def test_ddp_two_cpu_processes_stay_in_sync(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    torch.multiprocessing.spawn(_ddp_worker, args=(2, port, str(tmp_path)), nprocs=2, join=True)
    params = torch.load(tmp_path / "params.pt")
    assert torch.allclose(params[0], params[1])
    assert not torch.allclose(params[0], torch.zeros_like(params[0]))
