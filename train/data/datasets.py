"""torch Datasets over ``TrackletRecord`` lists, and ``build_dataloaders`` for the training engine."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from streid.train.data.clips import (
    ClipAugment,
    dense_clips,
    load_frame,
    sample_chunks,
    sample_evenly,
    sample_window,
    to_tensor,
)
from streid.train.data.config import DataConfig
from streid.train.data.records import DatasetError, TrackletRecord, VideoDataset
from streid.train.data.registry import read_training_sets
from streid.train.data.sampler import DrawKeys, PKSampler


class TrainClips(Dataset):
    """One random augmented clip per item; randomness from (seed, index, draw count) so workers agree."""

    def __init__(self, records: list[TrackletRecord], cfg: DataConfig, seed: int = 0) -> None:
        self.records, self.cfg, self.seed = records, cfg, seed
        self.augment = ClipAugment(cfg.flip, cfg.crop_pad, cfg.random_erasing, cfg.low_res, cfg.low_res_height)
        self._draws = 0

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: int | tuple[int, tuple[int, int, int]]) -> tuple[torch.Tensor, int, int]:
        """``key``: an index, or ``(index, (epoch, batch, slot))`` from :class:`DrawKeys` (reproducible on resume)."""
        if isinstance(key, tuple):
            index, draw = key
            rng = np.random.default_rng([self.seed, index, *draw])
        else:
            index = key
            self._draws += 1
            rng = np.random.default_rng([self.seed, index, self._draws, torch.initial_seed() % (2**32)])
        rec = self.records[index]
        n, c = len(rec.frames), self.cfg
        idx = sample_chunks(n, c.seq_len, rng) if c.train_sampling == "chunks" else sample_window(
            n, c.seq_len, c.window, rng
        )
        clip = np.stack([load_frame(rec.frames[i], c.height, c.width) for i in idx])
        return to_tensor(self.augment(clip, rng)), rec.pid, rec.camid


class TestClips(Dataset):
    """Deterministic clips; in dense mode one item per clip and ``owner[i]`` gives its tracklet index."""

    def __init__(self, records: list[TrackletRecord], cfg: DataConfig) -> None:
        self.records, self.cfg = records, cfg
        self.items: list[tuple[int, list[int]]] = []
        for t, rec in enumerate(records):
            n = len(rec.frames)
            clips = dense_clips(n, cfg.seq_len) if cfg.test_sampling == "dense" else [sample_evenly(n, cfg.seq_len)]
            self.items.extend((t, c) for c in clips)
        self.owner = np.array([t for t, _ in self.items], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        t, idx = self.items[index]
        rec, c = self.records[t], self.cfg
        clip = np.stack([load_frame(rec.frames[i], c.height, c.width) for i in idx])
        return to_tensor(clip), rec.pid, rec.camid


@dataclass
class Loaders:
    """What the engine needs: loaders, the dataset they read, and the class count for the classifier."""

    train: DataLoader
    query: DataLoader
    gallery: DataLoader
    sampler: PKSampler
    dataset: VideoDataset
    num_train_pids: int


def build_dataloaders(cfg: DataConfig, seed: int = 0, dataset: VideoDataset | None = None) -> Loaders:
    """Read the dataset (unless given) and build a PK train loader and query/gallery loaders per the protocol."""
    from streid.train.eval.protocol import protocol_indices

    ds = dataset if dataset is not None else read_training_sets(cfg.format, cfg.root, cfg.extra_train, cfg.split)
    identities = len({r.pid for r in ds.train})
    if identities < cfg.p:
        raise DatasetError(cfg.root, f"{identities} training identities, fewer than data.p={cfg.p} per batch: "
                                     f"lower it (--set data.p={max(2, identities)}) or use a data set with more people")
    sampler = PKSampler([r.pid for r in ds.train], cfg.p, cfg.k, seed, hard_share=cfg.hard_identities)
    common = {"num_workers": cfg.workers, "persistent_workers": cfg.workers > 0}
    gen = torch.Generator().manual_seed(seed)
    train = DataLoader(TrainClips(ds.train, cfg, seed), batch_sampler=DrawKeys(sampler), generator=gen, **common)
    query, gallery = protocol_indices(ds, cfg.protocol)
    bs = cfg.p * cfg.k
    q = DataLoader(TestClips(query, cfg), batch_size=bs, shuffle=False, **common)
    g = DataLoader(TestClips(gallery, cfg), batch_size=bs, shuffle=False, **common)
    return Loaders(train, q, g, sampler, ds, ds.num_train_pids)
