"""Batch pending tracklets into the re-id embedder (the export stage's backends) with a small wait bound.

Any object with ``embed(clips uint8 (N, L, H, W, 3) BGR) -> float32 (N, D)`` and ``meta`` (``seq_len``,
``height``, ``width``) works; with no embedder, tracklets pass through without embeddings.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import numpy as np

from streid.records import Tracklet


class Embedder(Protocol):
    meta: dict[str, Any]

    def embed(self, clips: np.ndarray) -> np.ndarray: ...


class EmbedBatcher:
    """Collects tracklets; ``poll`` returns them embedded once a batch is full or the oldest waited too long."""

    def __init__(self, embedder: Embedder | None, max_batch: int = 16, max_wait_s: float = 0.05) -> None:
        self.embedder, self.max_batch, self.max_wait_s = embedder, max_batch, max_wait_s
        self.pending: list[Tracklet] = []
        self._oldest = 0.0

    def add(self, tracklets: list[Tracklet]) -> None:
        if tracklets and not self.pending:
            self._oldest = time.monotonic()
        self.pending.extend(tracklets)

    def poll(self, force: bool = False) -> list[Tracklet]:
        """Tracklets ready to publish (in the order they were added)."""
        if not self.pending:
            return []
        waited = time.monotonic() - self._oldest
        if self.embedder is not None and not force and len(self.pending) < self.max_batch and waited < self.max_wait_s:
            return []
        ready, self.pending = self.pending, []
        if self.embedder is not None:
            for start in range(0, len(ready), self.max_batch):
                chunk = ready[start:start + self.max_batch]
                vectors = np.asarray(self.embedder.embed(np.stack([t.crops for t in chunk])), np.float32)
                if vectors.shape[0] != len(chunk):
                    raise RuntimeError(f"embedder returned {vectors.shape[0]} vectors for {len(chunk)} clips")
                for tracklet, vector in zip(chunk, vectors, strict=True):
                    tracklet.embedding = vector
        return ready
