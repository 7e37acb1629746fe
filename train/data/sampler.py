"""P identities x K tracklets per batch, deterministic from (seed, epoch) so a resumed run matches."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np


class PKSampler:
    """Yields flat index lists of P*K dataset indices per batch; K tracklets drawn with replacement if fewer.

    ``state_dict`` records epoch and batches already served in that epoch, so ``load_state_dict`` then
    iterating resumes at exactly the next batch. A DataLoader with workers draws batches ahead of the
    training step, so an engine should save ``state_dict(consumed=steps_done_this_epoch)``.
    """

    def __init__(self, pids: Sequence[int], p: int, k: int, seed: int = 0) -> None:
        self.p, self.k, self.seed = p, k, seed
        by_pid: dict[int, list[int]] = defaultdict(list)
        for i, pid in enumerate(pids):
            by_pid[int(pid)].append(i)
        self.by_pid = dict(sorted(by_pid.items()))
        if len(self.by_pid) < p:
            raise ValueError(f"PKSampler needs at least P={p} identities, dataset has {len(self.by_pid)}")
        self.epoch = 0
        self._served = 0

    def _batches(self, epoch: int) -> list[list[int]]:
        rng = np.random.default_rng([self.seed, epoch])
        pids = list(self.by_pid)
        order = rng.permutation(len(pids))
        batches = []
        for start in range(0, len(order) - self.p + 1, self.p):
            batch: list[int] = []
            for j in order[start : start + self.p]:
                idx = self.by_pid[pids[j]]
                pick = rng.choice(len(idx), size=self.k, replace=len(idx) < self.k)
                batch.extend(idx[int(c)] for c in pick)
            batches.append(batch)
        return batches

    def __len__(self) -> int:
        return len(self.by_pid) // self.p

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._batches(self.epoch)
        while self._served < len(batches):
            b = batches[self._served]
            self._served += 1
            yield b
        self.epoch += 1
        self._served = 0

    def state_dict(self, consumed: int | None = None) -> dict[str, Any]:
        """Resume point; ``consumed`` overrides the served count with batches the caller actually used."""
        return {"epoch": self.epoch, "served": self._served if consumed is None else consumed, "seed": self.seed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self._served, self.seed = int(state["epoch"]), int(state["served"]), int(state["seed"])


class DrawKeys:
    """A PKSampler's batches as ``(index, (epoch, batch, slot))`` keys for :class:`TrainClips`.

    A clip's random frames and augmentation then follow from where it sits in the epoch's batch list, not from
    which worker drew it or how many items that worker drew before: a run resumed at an epoch boundary, in a
    new process with new workers, draws the same clips as an uninterrupted one.
    """

    def __init__(self, sampler: PKSampler) -> None:
        self.sampler = sampler

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[list[tuple[int, tuple[int, int, int]]]]:
        epoch, first = self.sampler.epoch, self.sampler._served
        for b, batch in enumerate(self.sampler, first):
            yield [(i, (epoch, b, slot)) for slot, i in enumerate(batch)]
