"""From a validated config to a finished run: data, model, criterion, trainer (`streid train`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from streid.config import Config
from streid.train import distributed as dist
from streid.train.engine import TrainData, Trainer, seed_everything


class RankBatches:
    """This process's share of an identity sampler's batches under DDP (every world_size-th batch).

    All ranks draw the same (seed, epoch) batch list, so together they see each batch once.
    """

    def __init__(self, sampler: Any) -> None:
        self.sampler = sampler

    def __len__(self) -> int:
        return len(self.sampler) // dist.world_size()

    def __iter__(self) -> Iterator[list[int]]:
        n, r = dist.world_size(), dist.rank()
        usable = len(self)*n
        for i, batch in enumerate(self.sampler):
            if i >= usable:
                break
            if i % n == r:
                yield batch


def build_train_data(cfg: Config) -> TrainData:
    """Loaders and evaluator for the `data:` section (reader, P x K sampler, clip sampling)."""
    from torch.utils.data import DataLoader

    from streid.train.data.datasets import build_dataloaders
    from streid.train.data.sampler import DrawKeys, nearest_identities
    from streid.train.eval.features import evaluate_model

    loaders = build_dataloaders(cfg.data, seed=cfg.run.seed)
    train_loader: Any = loaders.train
    if dist.is_distributed():
        workers = cfg.data.workers
        train_loader = DataLoader(
            loaders.train.dataset,
            batch_sampler=RankBatches(DrawKeys(loaders.sampler)),
            num_workers=workers,
            persistent_workers=workers > 0,
        )

    def set_epoch(epoch: int) -> None:
        loaders.sampler.load_state_dict({"epoch": epoch, "served": 0, "seed": loaders.sampler.seed})

    def evaluate(model: torch.nn.Module) -> dict[str, Any]:
        device = next(model.parameters()).device
        return evaluate_model(model, loaders.query, loaders.gallery, protocol=cfg.data.protocol, device=device)

    refresh = None
    if cfg.data.hard_identities > 0:

        def refresh(model: torch.nn.Module) -> None:
            loaders.sampler.set_neighbours(nearest_identities(classifier_weight(model)))

    return TrainData(loader=train_loader, num_classes=loaders.num_train_pids, set_epoch=set_epoch, evaluate=evaluate,
                     refresh=refresh)


def classifier_weight(model: torch.nn.Module) -> Any:
    """The identity classifier's (classes, dim) weight as numpy: row i is train pid i."""
    head = getattr(model, "classifier", None)
    weight = getattr(head, "weight", None)
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2:
        raise ValueError(f"data.hard_identities needs a model with one identity classifier; {type(model).__name__} "
                         "has no `classifier` weight")
    return weight.detach().float().cpu().numpy()


@dataclass
class TrainOutcome:
    """Where the run is, and how it ended: a signal leaves ``last.pt`` at the last epoch boundary, no curves."""

    run_dir: Path
    interrupted: bool
    epoch: int  # epochs done (last.pt's boundary)
    outputs: list[str]  # files of the run folder that exist, for the final message


def train_from_config(cfg: Config, out: Path | None = None, resume: bool = False,
                      progress: bool = True) -> TrainOutcome:
    """Train the configured model (or resume it); says where the run is and whether a signal stopped it."""
    from streid.train.models import build_model
    from streid.train.models.criteria import build_criterion

    cfg.require("model", "data", "train")
    dist.init_from_env()
    out_dir = Path(out or cfg.train.out)
    last = out_dir / "last.pt"
    if not resume and last.exists():
        raise FileExistsError(f"{out_dir} already holds a run (last.pt): pass --resume to continue it or another --out")
    if resume and not last.exists():
        raise FileNotFoundError(f"--resume: {last} does not exist")
    seed_everything(cfg.run.seed + dist.rank())
    data = build_train_data(cfg)
    model = build_model(cfg.model, data.num_classes)
    criterion = build_criterion(cfg.model, data.num_classes)
    trainer = Trainer(cfg, model, criterion, data, out_dir)
    if resume:
        trainer.resume(last)
    elif cfg.train.init.checkpoint:
        trainer.init_from(cfg.train.init.checkpoint, cfg.train.init.skip_heads)
    out_dir.mkdir(parents=True, exist_ok=True)
    if dist.rank() == 0:
        tmp = out_dir / "config.yaml.part"
        tmp.write_text(cfg.to_yaml(), encoding="utf-8")
        tmp.replace(out_dir / "config.yaml")
    try:
        trainer.fit(progress=progress)
    finally:
        trainer.close()
    names = ("best.pt", "last.pt", "metrics.jsonl", "curves.png", "config.yaml")
    outputs = [n for n in names if (out_dir / n).is_file() and (n != "curves.png" or trainer.curves is not None)]
    return TrainOutcome(out_dir, trainer.interrupted, trainer.state.epoch, outputs)
