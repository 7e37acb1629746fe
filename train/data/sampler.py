"""P identities x K tracklets per batch, deterministic from (seed, epoch) so a resumed run matches.

With ``hard_share`` and a neighbour table (:func:`nearest_identities`, refreshed from the classifier every epoch),
part of each batch is the nearest identity of another member: look-alikes, which a random batch of P out of
thousands almost never holds together, then meet in the batch-hard triplet (hard identity mining, as in Ge et
al., "Deep Metric Learning with Hierarchical Triplet Loss", ECCV 2018).
"""

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

    def __init__(self, pids: Sequence[int], p: int, k: int, seed: int = 0, hard_share: float = 0.0) -> None:
        if not 0.0 <= hard_share < 1.0:
            raise ValueError(f"hard_share must be in [0, 1), got {hard_share}")
        self.p, self.k, self.seed, self.hard_share = p, k, seed, hard_share
        self.neighbours: dict[int, int] | None = None
        by_pid: dict[int, list[int]] = defaultdict(list)
        for i, pid in enumerate(pids):
            by_pid[int(pid)].append(i)
        self.by_pid = dict(sorted(by_pid.items()))
        if len(self.by_pid) < p:
            raise ValueError(f"PKSampler needs at least P={p} identities, dataset has {len(self.by_pid)}")
        self.epoch = 0
        self._served = 0

    def set_neighbours(self, neighbours: dict[int, int] | None) -> None:
        """Each identity's nearest other identity (by pid); used from the next epoch's batches on."""
        self.neighbours = neighbours

    def _batches(self, epoch: int) -> list[list[int]]:
        rng = np.random.default_rng([self.seed, epoch])
        pids = list(self.by_pid)
        order = rng.permutation(len(pids))
        if self.hard_share > 0 and self.neighbours:
            groups = self._hard_groups(pids, order, rng)
        else:
            groups = [[pids[j] for j in order[s : s + self.p]] for s in range(0, len(order) - self.p + 1, self.p)]
        batches = []
        for group in groups:
            batch: list[int] = []
            for pid in group:
                idx = self.by_pid[pid]
                pick = rng.choice(len(idx), size=self.k, replace=len(idx) < self.k)
                batch.extend(idx[int(c)] for c in pick)
            batches.append(batch)
        return batches

    def _hard_groups(self, pids: list[int], order: np.ndarray, rng: np.random.Generator) -> list[list[int]]:
        """Same number of batches as plain PK; each: anchors from the epoch's order, then their neighbours."""
        assert self.neighbours is not None
        anchors = max(1, self.p - round(self.p * self.hard_share))
        groups = []
        for b in range(len(self)):
            group = [pids[j] for j in order[b * anchors : (b + 1) * anchors]]
            for pid in list(group):
                nb = self.neighbours.get(pid)
                if len(group) < self.p and nb is not None and nb in self.by_pid and nb not in group:
                    group.append(nb)
            while len(group) < self.p:  # neighbours already in the batch: fill with random others
                pid = pids[int(rng.integers(len(pids)))]
                if pid not in group:
                    group.append(pid)
            groups.append(group)
        return groups

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


def nearest_identities(weight: np.ndarray, pids: Sequence[int] | None = None) -> dict[int, int]:
    """Each class's most similar other class by the cosine of its classifier weight row (class i = pid i)."""
    w = np.asarray(weight, dtype=np.float64)
    w = w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-12)
    sim = w @ w.T
    np.fill_diagonal(sim, -np.inf)
    nearest = sim.argmax(axis=1)
    labels = list(range(len(w))) if pids is None else list(pids)
    return {labels[i]: labels[int(j)] for i, j in enumerate(nearest)}
